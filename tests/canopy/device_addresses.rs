//! A device's address names its tenant (`/tenants/{id}/devices/{device}`, the API's alike):
//! the tenant says which customer's rows the device is read from, and both ids go through the
//! access layer.
use canopy::domain::roles::Role;
use canopy::web::api::routes::API_ROUTES;
use canopy::web::routes::ROUTES;
use reqwest::StatusCode;
use serde_json::json;

use crate::api::{Api, key_for};
use crate::helpers::spawn_app;

#[tokio::test]
async fn a_device_is_reached_only_under_a_tenant_in_reach_of_its_own_customer() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let x = app.child(&acme, "Acme X");
    let y = app.child(&acme, "Acme Y");
    let globex = app.child(&rent, "Globex");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("yves@acme.example", &y, Role::Admin);
    app.user("gil@globex.example", &globex, Role::Admin);
    app.user("olly@rent.example", &rent, Role::Admin);
    let d = crate::devices::device_in(&app, &x, "X-1");
    let theirs = crate::devices::device_in(&app, &globex, "G-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut yves = app.signed_in("yves@acme.example").await;
    let mut gil = app.signed_in("gil@globex.example").await;
    let mut olly = app.signed_in("olly@rent.example").await;

    let at = |t: &canopy::domain::tenants::Tenant| format!("/tenants/{}/devices/{d}", t.id);
    let page = ann.get(&at(&x)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Device X-1"));
    assert_eq!(
        olly.get(&at(&x)).await.status,
        StatusCode::OK,
        "the operator"
    );
    // Another tenant of the same customer, in reach: the device is found where it is.
    assert_eq!(ann.get(&at(&acme)).await.status, StatusCode::OK);
    // A tenant in reach, a device not: 404. A tenant out of reach: 404 whatever the device.
    assert_eq!(yves.get(&at(&y)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(yves.get(&at(&x)).await.status, StatusCode::NOT_FOUND);
    // Another customer's tenant names another customer's rows: not found there.
    assert_eq!(gil.get(&at(&globex)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(gil.get(&at(&x)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(olly.get(&at(&globex)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(olly.get(&at(&rent)).await.status, StatusCode::NOT_FOUND);

    // Every device route, under Ann's own tenant, with Globex's device: 404, nothing changed.
    let before = app.count("SELECT count(*) AS n FROM audit_events");
    let mut tried = 0;
    for r in ROUTES.iter().filter(|r| r.path.contains("{device}")) {
        let path = r
            .path
            .replace("{id}", &acme.id.to_string())
            .replace("{device}", &theirs.to_string());
        let res = match r.method {
            "get" => ann.get(&path).await,
            _ => {
                ann.get(&at(&x)).await;
                ann.post(
                    &path,
                    &[
                        ("serial", "G-1"),
                        ("name", "Taken"),
                        ("kind", "tracker"),
                        ("status", "active"),
                        ("message", "ok"),
                        ("schedule", ""),
                    ],
                )
                .await
            }
        };
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{} {}", r.method, r.path);
        tried += 1;
    }
    assert!(tried >= 7, "{tried} device routes");
    assert_eq!(app.count("SELECT count(*) AS n FROM audit_events"), before);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices WHERE name = 'Taken'"),
        0
    );

    // The API alike: Ann's key, her own tenant, Globex's device.
    let api = Api::new(
        &app,
        &key_for(&app, "ann@acme.example", acme.id, "admin").await,
    );
    for r in API_ROUTES.iter().filter(|r| r.path.contains("{device}")) {
        let path = r
            .path
            .replace("{id}", &acme.id.to_string())
            .replace("{device}", &theirs.to_string());
        let body = json!({"name": "Taken", "message": "ok"});
        let res = api
            .send(r.method, &path, (r.method != "get").then_some(&body), &[])
            .await;
        res.assert_problem(StatusCode::NOT_FOUND, &format!("{} {}", r.method, r.path));
    }
    let mine = api
        .get(&format!("/api/v1/tenants/{}/devices/{d}", x.id))
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.json["tenant_id"], x.id.to_string());
    assert_eq!(app.count("SELECT count(*) AS n FROM checkins"), 0);
}

#[tokio::test]
async fn a_device_moved_within_its_customer_is_found_at_its_old_address_and_links_to_its_new() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let x = app.child(&acme, "Acme X");
    let y = app.child(&acme, "Acme Y");
    app.user("ann@acme.example", &acme, Role::Admin);
    let d = crate::devices::device_in(&app, &x, "X-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let old = format!("/tenants/{}/devices/{d}", x.id);
    let list = ann
        .get(&format!("/tenants/{}/devices?sub=1", acme.id))
        .await;
    assert!(list.body.contains(&old), "the list links the address");

    ann.get(&format!("/tenants/{}/devices", x.id)).await;
    let moved = ann
        .post(
            &format!("/tenants/{}/devices/move", x.id),
            &[("ids", d.to_string().as_str()), ("to", &y.id.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let new = format!("/tenants/{}/devices/{d}", y.id);
    assert_eq!(crate::devices::page(&app, d), new);
    let page = ann.get(&old).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(&format!("{new}/edit")),
        "its actions use where it is now"
    );
    // Edited through its new address, it says so there.
    let saved = ann
        .post(
            &new,
            &[
                ("serial", "X-1"),
                ("name", "Moved one"),
                ("kind", "tracker"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(saved.location(), Some(new.as_str()));

    // Moved to another customer, the old address names the old customer: not found there.
    let globex = app.child(&rent, "Globex");
    app.user("olly@rent.example", &rent, Role::Admin);
    let mut olly = app.signed_in("olly@rent.example").await;
    olly.get(&format!("/tenants/{}/devices", y.id)).await;
    let moved = olly
        .post(
            &format!("/tenants/{}/devices/move", y.id),
            &[
                ("ids", d.to_string().as_str()),
                ("to", &globex.id.to_string()),
            ],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(olly.get(&new).await.status, StatusCode::NOT_FOUND);
    let there = crate::devices::page(&app, d);
    assert_eq!(olly.get(&there).await.status, StatusCode::OK);
}
