//! The audit log page and the usage report: filters, pages, CSV, and figures computed from a
//! known history.
use canopy::domain::roles::Role;
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn the_audit_log_filters_pages_and_exports_a_subtrees_events() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let globex = app.child(&rent, "Globex");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("oscar@acme.example", &acme, Role::Operator);
    app.user("gil@globex.example", &globex, Role::Admin);
    crate::devices::device_in(&app, &globex, "GLOBEX-1");

    let mut oscar = app.signed_in("oscar@acme.example").await;
    for n in 0..55 {
        oscar
            .get(&format!("/tenants/{}/devices/new", acme.id))
            .await;
        let res = oscar
            .post(
                &format!("/tenants/{}/devices", acme.id),
                &[
                    ("serial", &format!("SER-{n:03}")),
                    ("name", &format!("Unit {n}")),
                    ("kind", "tracker"),
                    ("status", "active"),
                ],
            )
            .await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    }
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    ann.post(
        &format!("/tenants/{}/invitations", acme.id),
        &[("email", "new@acme.example"), ("role", "viewer")],
    )
    .await;

    let base = format!("/tenants/{}/audit", acme.id);
    let page = ann.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.body.matches("<tr>").count(),
        1 + 50,
        "a page holds 50 events"
    );
    let first_row = page.body.find("<tbody>").unwrap();
    assert!(
        page.body[first_row..first_row + 600].contains("invitation.create"),
        "newest first"
    );
    assert!(
        !page.body.contains("GLOBEX-1"),
        "a sibling's events stay out"
    );
    let older = page.body.find("id=\"audit-older\"").expect("a next page");
    let href_start = page.body[..older].rfind("href=\"").unwrap() + 6;
    let href = page.body[href_start..older - 2].replace("&amp;", "&");
    let second = ann.get(&href).await;
    // 55 devices + 1 invitation (+ its grant-less outbox) → the rest on page two.
    assert!(second.body.matches("<tr>").count() >= 6);
    assert!(second.body.contains("SER-000"));

    let only_invites = ann.get(&format!("{base}?action=invitation.create")).await;
    assert_eq!(only_invites.body.matches("<tr>").count(), 2);
    let by_actor = ann.get(&format!("{base}?actor=OSCAR&type=device")).await;
    assert_eq!(by_actor.body.matches("<tr>").count(), 51);
    assert!(!by_actor.body.contains(">invitation.create</span>"));
    let future = ann.get(&format!("{base}?from=2099-01-01")).await;
    assert!(future.body.contains("No events match"));
    let today = chrono::Utc::now().date_naive().to_string();
    let dated = ann
        .get(&format!(
            "{base}?from={today}&to={today}&action=invitation.create"
        ))
        .await;
    assert_eq!(dated.body.matches("<tr>").count(), 2);

    let bad = ann
        .get(&format!("{base}?from=yesterday&object=42&action=drop"))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Give a date as YYYY-MM-DD."));
    assert!(bad.body.contains("id as shown in its address"));
    assert!(bad.body.contains("Choose an action from the list."));

    let csv = ann.get(&format!("{base}/export.csv?actor=oscar")).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("audit-")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(lines[0].starts_with("time (UTC),actor,actor email,action"));
    assert_eq!(lines.len(), 1 + 55);
    assert!(
        lines
            .iter()
            .skip(1)
            .all(|l| l.contains("oscar@acme.example") && l.contains("device.create"))
    );

    // Operators do not read the audit log; other customers do not even see it exists.
    assert_eq!(oscar.get(&base).await.status, StatusCode::FORBIDDEN);
    let mut gil = app.signed_in("gil@globex.example").await;
    assert_eq!(gil.get(&base).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gil.get(&format!("{base}/export.csv")).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Rewrites the ownership and membership history to known dates.
fn history(app: &crate::helpers::TestApp, sql: &str) {
    diesel::sql_query(sql).execute(&mut app.conn()).unwrap();
}

#[tokio::test]
async fn usage_counts_device_days_and_members_per_month_from_the_history() {
    let app = spawn_app().await;
    let r = app.root("Rentals");
    let a = app.child(&r, "Alpha");
    let a1 = app.child(&a, "Alpha One");
    let b = app.child(&r, "Beta");
    app.user("boss@rentals.example", &r, Role::Admin);
    app.user("al@alpha.example", &a, Role::Admin);
    let d1 = crate::devices::device_in(&app, &b, "D-1");
    let d2 = crate::devices::device_in(&app, &r, "D-2");
    history(&app, "DELETE FROM device_moves");
    history(
        &app,
        &format!(
            "INSERT INTO device_moves (device_id, from_tenant_id, to_tenant_id, moved_at, customer_id)
             SELECT v.d, v.f, v.t, v.at, d.customer_id FROM (VALUES
             ('{d1}'::uuid, NULL::uuid, '{a}'::uuid, '2026-01-10 10:00+00'::timestamptz),
             ('{d1}', '{a}', '{a1}', '2026-02-15 12:00+00'),
             ('{d1}', '{a1}', '{b}', '2026-03-01 00:00+00'),
             ('{d2}', NULL, '{r}', '2025-12-20 08:00+00')) v(d, f, t, at)
             JOIN devices d ON d.id = v.d",
            a = a.id,
            a1 = a1.id,
            b = b.id,
            r = r.id
        ),
    );
    history(
        &app,
        &format!(
            "INSERT INTO membership_spans (user_id, tenant_id, started_at, ended_at) VALUES
             (gen_random_uuid(), '{a}', '2026-01-05+00', '2026-02-10+00'),
             (gen_random_uuid(), '{a}', '2026-02-20+00', NULL),
             (gen_random_uuid(), '{b}', '2025-06-01+00', NULL)",
            a = a.id,
            b = b.id
        ),
    );

    let mut boss = app.signed_in("boss@rentals.example").await;
    let page = boss
        .get(&format!("/tenants/{}/usage?from=2026-01&to=2026-03", r.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let row = |name: &str| -> Vec<String> {
        let start = page.body.find(name).unwrap_or_else(|| panic!("{name}"));
        let end = start + page.body[start..].find("</tr>").unwrap();
        page.body[start..end]
            .split("<td class=\"num\">")
            .skip(1)
            .map(|c| {
                c.split("</td>")
                    .next()
                    .unwrap()
                    .replace("<strong>", "")
                    .replace("</strong>", "")
            })
            .collect()
    };
    // Own figures of the root; each child with everything below it; the total.
    assert_eq!(row("Rentals <span"), ["31 · 0", "28 · 0", "31 · 0"]);
    assert_eq!(row(">Alpha</a>"), ["22 · 1", "27 · 2", "0 · 1"]);
    assert_eq!(row(">Beta</a>"), ["0 · 1", "1 · 1", "31 · 1"]);
    assert_eq!(row(">Total<"), ["53 · 2", "56 · 3", "62 · 2"]);

    let csv = boss
        .get(&format!(
            "/tenants/{}/usage/export.csv?from=2026-01&to=2026-03",
            r.id
        ))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.starts_with("month,tenant id,tenant,path,device-days,device-days with sub-tenants,members,members with sub-tenants"));
    assert!(csv.body.contains(&format!(
        "2026-02,{},Alpha One,Rentals / Alpha / Alpha One,13,13,0,0",
        a1.id
    )));
    assert!(
        csv.body
            .contains(&format!("2026-02,{},Alpha,Rentals / Alpha,14,27,2,2", a.id))
    );
    assert_eq!(csv.body.lines().count(), 1 + 4 * 3);

    // The customer sees its own subtree only.
    let mut al = app.signed_in("al@alpha.example").await;
    let page = al
        .get(&format!("/tenants/{}/usage?from=2026-02&to=2026-02", a.id))
        .await;
    assert!(page.body.contains("Alpha One"));
    assert!(!page.body.contains("Beta") && !page.body.contains("Rentals"));
    assert_eq!(
        al.get(&format!("/tenants/{}/usage", r.id)).await.status,
        StatusCode::NOT_FOUND
    );

    let bad = boss
        .get(&format!("/tenants/{}/usage?from=2026-05&to=2026-01", r.id))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("The last month comes before the first."));
    let bad = boss
        .get(&format!("/tenants/{}/usage?from=2020-01&to=2026-01", r.id))
        .await;
    assert!(bad.body.contains("at most 24 months"));
    // The default is the current month and the two before it.
    let default = boss.get(&format!("/tenants/{}/usage", r.id)).await;
    assert!(default.body.contains("(to date)"));
}
