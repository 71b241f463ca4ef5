//! Check-ins beyond the scheduler: the check-in URL is the only key, moves take alerts and
//! schedules along (or let them go), and a selection of devices gets a schedule.
use canopy::domain::roles::Role;
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::checkins::*;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_check_in_url_is_the_only_key_and_bad_bodies_store_nothing() {
    let app = spawn_app().await;
    let w = watched(&app);
    app.user("ann@acme.example", &w.acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let made = ann
        .post(
            &format!("{}/check-in-url", crate::devices::page(&app, w.phone)),
            &[],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK);
    let url = made
        .body
        .split("value=\"")
        .find_map(|p| p.split('"').next().filter(|u| u.contains("/check-in/")))
        .unwrap()
        .to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 bits in hex");
    // Only its hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE token_hash = '{token}'"
        )),
        0
    );
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>, path: String| {
        let client = client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            let res = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            res.status()
        }
    };
    let path = format!("/check-in/{token}");
    let checkins = || app.count("SELECT count(*) AS n FROM checkins");
    // A terminal with no cookie and no CSRF token checks in; replays are more check-ins.
    assert_eq!(
        post(b"message=ok&lat=51.5&lon=-0.12".to_vec(), path.clone()).await,
        StatusCode::OK
    );
    assert_eq!(post(Vec::new(), path.clone()).await, StatusCode::OK);
    assert_eq!(checkins(), 2);
    // Malformed, half a position, out of range, NUL, huge: refused, nothing stored.
    for bad in [
        b"latitude=91&longitude=0".to_vec(),
        b"latitude=10".to_vec(),
        b"latitude=abc&longitude=1".to_vec(),
        b"message=a%00b".to_vec(),
        format!("message={}", "x".repeat(600)).into_bytes(),
        format!("message={}", "x".repeat(70_000)).into_bytes(),
    ] {
        let status = post(bad, path.clone()).await;
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!(checkins(), 2);
    // A wrong token is unknown.
    let wrong = format!("/check-in/{}", "0".repeat(64));
    assert_eq!(post(Vec::new(), wrong).await, StatusCode::NOT_FOUND);
    // A new URL kills the old one.
    ann.post(
        &format!("{}/check-in-url", crate::devices::page(&app, w.phone)),
        &[],
    )
    .await;
    assert_eq!(post(Vec::new(), path.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(checkins(), 2);
    let page = ann.get(&crate::devices::page(&app, w.phone)).await;
    assert!(page.body.contains("check-in URL"), "{}", page.body);
    assert!(page.body.contains("51.5, -0.12"));
}

#[tokio::test]
async fn a_device_that_moves_away_resolves_its_alert_and_drops_a_schedule_it_cannot_use() {
    let app = spawn_app().await;
    let w = watched(&app);
    let other = app.child(&w.acme, "Acme UK");
    app.user("ann@acme.example", &w.acme, Role::Admin);
    advance(&app, 271);
    pass(&app);
    let mut ann = app.signed_in("ann@acme.example").await;
    let preview = ann
        .get(&format!(
            "/tenants/{}/devices/move?ids={}&to={}",
            w.acme.id, w.phone, other.id
        ))
        .await;
    assert!(
        preview.body.contains("id=\"move-schedules\""),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("id=\"move-alerts\""));
    let phone = w.phone.to_string();
    let to = other.id.to_string();
    let res = ann
        .post(
            &format!("/tenants/{}/devices/move", w.acme.id),
            &[("ids", phone.as_str()), ("to", to.as_str())],
        )
        .await;
    assert!(res.status.is_redirection(), "{}", res.body);
    assert_eq!(state_of(&app, w.phone), ["resolved"]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE device_id = '{}' \
             AND own_schedule_id IS NULL AND next_due_at IS NULL",
            w.phone
        )),
        1
    );
}

#[tokio::test]
async fn a_subtree_that_moves_takes_its_alerts_along_and_lets_go_of_schedules_from_its_old_ancestors()
 {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let beta = app.child(&rent, "Beta");
    let uk = app.child(&acme, "Acme UK");
    app.user("root@rent.example", &rent, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("bob@beta.example", &beta, Role::Admin);
    let shared = schedule_in(&app, &acme, "Acme-wide", 60, 0, None, None);
    diesel::sql_query("UPDATE schedules SET shared_below = true")
        .execute(&mut app.conn())
        .unwrap();
    let phone = crate::devices::device_in(&app, &uk, "UK-PHONE");
    follow(&app, phone, shared);
    advance(&app, 61);
    assert_eq!(pass(&app).opened, 1);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut bob = app.signed_in("bob@beta.example").await;
    assert!(
        ann.get(&format!("/tenants/{}/alerts", acme.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    assert!(
        !bob.get(&format!("/tenants/{}/alerts", beta.id))
            .await
            .body
            .contains("UK-PHONE")
    );

    let mut root = app.signed_in("root@rent.example").await;
    let to = beta.id.to_string();
    let res = root
        .post(
            &format!("/tenants/{}/move", uk.id),
            &[("parent_id", to.as_str())],
        )
        .await;
    assert!(res.status.is_redirection(), "{} {}", res.status, res.body);
    // The alert is Beta's subtree's now, and no longer Acme's.
    assert!(
        !ann.get(&format!("/tenants/{}/alerts", acme.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    assert!(
        bob.get(&format!("/tenants/{}/alerts", beta.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    // Acme's shared schedule is not above Acme UK any more: the phone follows nothing.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE device_id = '{phone}' \
             AND own_schedule_id IS NULL AND schedule_id IS NULL AND next_due_at IS NULL"
        )),
        1
    );
}

#[tokio::test]
async fn a_selection_gets_a_schedule_and_the_overdue_card_and_filter_count_the_same_devices() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let fleet = schedule_in(&app, &acme, "Fleet", 60, 0, None, None);
    let a = crate::devices::device_in(&app, &acme, "SEL-A");
    let b = crate::devices::device_in(&app, &acme, "SEL-B");
    crate::devices::device_in(&app, &acme, "SEL-C");
    let far = crate::devices::device_in(&app, &uk, "UK-FAR");
    let mut ann = app.signed_in("ann@acme.example").await;
    let t = acme.id;
    // A sub-tenant's device cannot follow a schedule Acme keeps to itself: refused, and why.
    let refused = ann
        .get(&format!(
            "/tenants/{t}/schedules/assign?ids={a}&ids={far}&schedule={fleet}"
        ))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("UK-FAR"), "{}", refused.body);
    let (a_s, b_s, f_s) = (a.to_string(), b.to_string(), fleet.to_string());
    let res = ann
        .post(
            &format!("/tenants/{t}/schedules/assign"),
            &[
                ("ids", &a_s),
                ("ids", far.to_string().as_str()),
                ("schedule", &f_s),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states"),
        0,
        "nothing half-done"
    );
    let preview = ann
        .get(&format!(
            "/tenants/{t}/schedules/assign?ids={a}&ids={b}&schedule={fleet}"
        ))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("SEL-A") && preview.body.contains("SEL-B"));
    let res = ann
        .post(
            &format!("/tenants/{t}/schedules/assign"),
            &[("ids", &a_s), ("ids", &b_s), ("schedule", &f_s)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = ann.get(&format!("/tenants/{t}/devices")).await;
    assert!(
        list.body.contains("Check-in schedule set for 2 devices."),
        "{}",
        list.body
    );
    let card = ann.get(&format!("/tenants/{t}/alerts/overdue")).await;
    assert!(
        card.body.contains("<span class=\"number\">0</span>"),
        "{}",
        card.body
    );
    advance(&app, 61);
    assert_eq!(pass(&app).opened, 2);
    let card = ann.get(&format!("/tenants/{t}/alerts/overdue")).await;
    assert!(
        card.body.contains("<span class=\"number\">2</span>"),
        "{}",
        card.body
    );
    let overdue = ann.get(&crate::helpers::first_href(&card.body)).await;
    assert!(overdue.body.contains("SEL-A") && overdue.body.contains("SEL-B"));
    assert!(!overdue.body.contains("SEL-C"), "{}", overdue.body);
    assert!(overdue.body.contains("2 devices"), "{}", overdue.body);
    // The dashboard loads the card.
    let dash = ann.get(&format!("/tenants/{t}/dashboard")).await;
    assert!(dash.body.contains(&format!("/tenants/{t}/alerts/overdue")));
}
