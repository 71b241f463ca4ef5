//! Every statement a customer's pages and changes cause names the customer, so that a
//! distributed database routes it to that customer's shard: recorded through diesel's
//! instrumentation, apart from a short named list of statements that span customers.
use canopy::domain::audit::Actor;
use canopy::domain::devices::{self, moves::move_all};
use canopy::domain::tenants::Tenant;
use reqwest::StatusCode;

use crate::checkins::{advance, pass};
use crate::customers::{DATA_TABLES, furnish};
use crate::helpers::spawn_app;

/// Statements that span customers by their nature (why, and a fragment of the statement).
pub(crate) const ACROSS_CUSTOMERS: [(&str, &str); 7] = [
    (
        "a person's grants, in every tenant they belong to, with their groups",
        "AS second_factor",
    ),
    (
        "the usage report: days held, from the history of every device ever in the subtree \
         (a device's history moves with it)",
        "moves AS (",
    ),
    (
        "the scheduler's claim of due devices, every customer's",
        "\"checkin_states\".\"alert_at\" <=",
    ),
    (
        "the scheduler's claim of alerts due a next step, every customer's",
        "\"alerts\".\"next_step_at\" <=",
    ),
    (
        "the import sweeper: dry runs of every customer past their day are dropped",
        "\"device_imports\".\"created_at\" <",
    ),
    (
        "the import sweeper: finished imports of every customer let go of their file",
        "UPDATE \"device_imports\" SET \"csv\" = $1",
    ),
    (
        "the webhook sender's claim of due deliveries, every customer's",
        "FOR UPDATE SKIP LOCKED) RETURNING d.id, d.customer_id",
    ),
];

/// Whether `sql` compares customer_id with a value it is given (`= $n`, `= ANY($n)`), or, an
/// insert, writes it.
fn names_customer(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    if lower.trim_start().starts_with("insert") {
        return lower.contains("customer_id");
    }
    lower.match_indices("customer_id").any(|(i, m)| {
        let rest = lower[i + m.len()..].trim_start_matches('"').trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            return false;
        };
        let rest = rest.trim_start();
        let rest = rest
            .strip_prefix("any")
            .map(|r| r.trim_start().trim_start_matches('(').trim_start())
            .unwrap_or(rest);
        rest.starts_with('$')
    })
}

/// Whether `sql` is an UPDATE whose SET clause subscripts an array (`x = y[$2:]`).
fn sets_a_subscript(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    if !lower.trim_start().starts_with("update") {
        return false;
    }
    let Some(set) = lower.find(" set ") else {
        return false;
    };
    let rest = &lower[set..];
    let clause = rest.find(" where ").map_or(rest, |w| &rest[..w]);
    // `x[...]` subscripts; `uuid[]` names an array type.
    clause
        .match_indices('[')
        .any(|(i, _)| !clause[i + 1..].starts_with(']'))
}

/// Whether `sql` reads or writes one of the data tables.
pub(crate) fn touches_data(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    DATA_TABLES.iter().any(|t| {
        lower.match_indices(t).any(|(i, _)| {
            let before = lower[..i].chars().last().unwrap_or(' ');
            let after = lower[i + t.len()..].chars().next().unwrap_or(' ');
            !(before.is_alphanumeric() || before == '_' || after.is_alphanumeric() || after == '_')
        })
    })
}

#[tokio::test]
async fn every_statement_a_customer_causes_names_its_customer() {
    crate::recorder::install();
    let app = spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    let setup = crate::recorder::sent(&app.database_url).len();
    for who in ["ann@acme.example", "olly@acme.example"] {
        let mut b = app.browser();
        b.login(who, &demo.password).await;
        crate::html::crawl(&mut b).await;
        // Pages behind forms: the search, every kind.
        for q in [
            "a",
            "35",
            "o&kind=devices",
            "o&kind=contacts",
            "o&kind=people",
        ] {
            assert_eq!(
                b.get(&format!("/search?q={q}")).await.status,
                StatusCode::OK
            );
            b.get_htmx(&format!("/search/quick?q={q}")).await;
        }
    }
    // And the writes: everything a tenant can hold is made, falls due, is told, checked in,
    // moved within the customer, changed and deleted.
    let acme: Tenant = {
        use canopy::db::schema::tenants;
        use diesel::prelude::*;
        tenants::table
            .filter(tenants::name.eq("Acme Haulage Ltd"))
            .select(Tenant::as_select())
            .first(&mut app.conn())
            .unwrap()
    };
    let uk = app.child(&acme, "Acme West");
    let north = app.child(&acme, "Acme North");
    let (phone, token) = furnish(&app, &uk, "WX", "wendy@acme.example");
    advance(&app, 61);
    pass(&app);
    // The alert is acknowledged through the link in its email, as a contact would.
    #[derive(diesel::QueryableByName)]
    struct Body {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text_body: String,
    }
    let body: Body = diesel::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT text_body FROM outbox WHERE position('acknowledge/' in text_body) > 0 LIMIT 1",
        ),
        &mut app.conn(),
    )
    .unwrap();
    let link = body
        .text_body
        .lines()
        .find(|l| l.contains("/alerts/acknowledge/"))
        .unwrap()
        .trim()
        .trim_start_matches(&app.base)
        .to_string();
    let mut contact = app.browser();
    assert_eq!(contact.get(&link).await.status, StatusCode::OK);
    let done = contact.post(&link, &[("note", "on it")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let res = reqwest::Client::new()
        .post(format!("{}/check-in/{token}", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=ok")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // An import into the tenant: one device new, one changed.
    let mut b = app.browser();
    b.login("ann@acme.example", &demo.password).await;
    b.get(&format!("/tenants/{}/devices/import", uk.id)).await;
    let csv = format!(
        "{}{},,Imported phone,,phone,active,,\n,WX-SPARE,Spare renamed,,tracker,active,,\n",
        crate::import::HEADER,
        canopy::domain::devices::fields::imei_from("35222222000001")
    );
    let dry = b
        .upload(
            &format!("/tenants/{}/devices/import", uk.id),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let url = crate::import::job_url(&dry.body);
    b.get(&format!("/tenants/{}/devices/import", uk.id)).await;
    assert_eq!(b.post(&url, &[]).await.status, StatusCode::SEE_OTHER);
    let done = crate::import::finish(&mut b, &url).await;
    assert!(done.contains("1 created, 1 updated"), "{done}");
    let ann = app.admin_access(&[&acme]);
    move_all(
        &mut app.conn(),
        &ann,
        &app.reach(acme.id),
        &[phone],
        &app.reach(acme.id),
    )
    .unwrap();
    canopy::domain::restructure::move_subtree(
        &mut app.conn(),
        &ann,
        &app.reach(uk.id),
        &app.reach(north.id),
    )
    .unwrap();
    let device = crate::devices::load(&app, phone);
    let mut input = device.input();
    input.status = "retired".into();
    devices::update(
        &mut app.conn(),
        &Actor::system(),
        &device,
        &input.parse().unwrap(),
    )
    .unwrap();
    let west = app.reach(uk.id);
    for g in canopy::domain::groups::list(&mut app.conn(), &west).unwrap() {
        canopy::domain::groups::delete(&mut app.conn(), &ann, &west, g.group.id).unwrap();
    }
    let schedules = canopy::domain::schedules::list(&mut app.conn(), &west).unwrap();
    for s in schedules.into_iter().filter(|s| s.tenant_id == uk.id) {
        canopy::domain::schedules::delete(&mut app.conn(), &ann, &west, s.id).unwrap();
    }
    let (contacts, _) = canopy::domain::contacts::list(&mut app.conn(), &west, "", 0).unwrap();
    for c in contacts {
        canopy::domain::contacts::delete(&mut app.conn(), &ann, &west, c.id).unwrap();
    }
    canopy::domain::webhooks::remove(&mut app.conn(), &ann, &west).unwrap();

    let sent: Vec<String> = crate::recorder::sent(&app.database_url)
        .into_iter()
        .skip(setup)
        .collect();
    // Citus 13's coordinator fails on an UPDATE whose SET subscripts an array.
    let subscripted: Vec<&String> = sent.iter().filter(|s| sets_a_subscript(s)).collect();
    assert!(subscripted.is_empty(), "{subscripted:?}");
    assert!(
        sent.iter().any(|s| s.contains("canopy_rebased(")),
        "the workload moves a subtree"
    );
    let mut missing: Vec<String> = sent
        .into_iter()
        .filter(|s| touches_data(s) && !names_customer(s) && !s.contains("WHERE 1=0"))
        .filter(|s| !ACROSS_CUSTOMERS.iter().any(|(_, f)| s.contains(f)))
        .collect();
    missing.sort();
    missing.dedup();
    for m in &missing {
        println!("NO CUSTOMER: {}", &m[..m.len().min(400)]);
    }
    assert!(missing.is_empty(), "{} statements", missing.len());
}

#[test]
fn the_subscript_check_tells_the_old_path_rewrite_from_the_new() {
    let old = "UPDATE devices SET tenant_path = $1 || tenant_path[$2:] \
               WHERE tenant_path >= $3 AND tenant_path < $4 AND customer_id = $5";
    let new = "UPDATE devices SET tenant_path = canopy_rebased(tenant_path, $2, $1) \
               WHERE tenant_path >= $3 AND tenant_path < $4 AND customer_id = $5";
    assert!(sets_a_subscript(old));
    assert!(!sets_a_subscript(new));
    assert!(!sets_a_subscript("SELECT path[2] FROM tenants"));
    assert!(!sets_a_subscript(
        "UPDATE checkin_states SET alert_at = v.a FROM unnest($1::uuid[]) AS v(a) WHERE true"
    ));
    assert!(names_customer(new));
    assert!(!names_customer(
        "SELECT * FROM devices WHERE customer_id IS NOT NULL"
    ));
}
