//! Times as each reader reads them: their own zone, else their tenant's default (the nearest
//! one set on its path), else UTC; always named, and as a valid `<time datetime>`.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_device_created_at_noon_utc_reads_in_each_readers_zone() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let globex = app.root("Globex");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("nina@acme.example", &uk, Role::Viewer);
    app.user("uma@acme.example", &uk, Role::Viewer);
    app.user("gus@globex.example", &globex, Role::Viewer);
    let device = crate::devices::device_in(&app, &uk, "TZ-1");
    let other = crate::devices::device_in(&app, &globex, "TZ-2");
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE devices SET created_at = '2026-01-15 12:00:00+00'"),
        &mut app.conn(),
    )
    .unwrap();
    let added = |body: &str| {
        body.split("id=\"device-added\">")
            .nth(1)
            .and_then(|s| s.split("</dd>").next())
            .unwrap_or_default()
            .to_string()
    };

    // Acme sets Paris as its default, on its branding page.
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/branding", acme.id)).await;
    let bad = ann
        .post_multipart(
            &format!("/tenants/{}/branding", acme.id),
            &[("time_zone", "Mars/Olympus_Mons")],
            &[],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"brand-zone-error\""), "{}", bad.body);
    assert_eq!(app.tenant(acme.id).time_zone, None, "nothing saved");
    let saved = ann
        .post_multipart(
            &format!("/tenants/{}/branding", acme.id),
            &[("time_zone", "Europe/Paris")],
            &[],
        )
        .await;
    assert!(saved.status.is_redirection(), "{}", saved.body);

    // Nina chose New York on her account page: 07:00 EST.
    let mut nina = app.signed_in("nina@acme.example").await;
    nina.get("/account").await;
    nina.post("/account/time-zone", &[("time_zone", "America/New_York")])
        .await;
    let page = nina.get(&crate::devices::page(&app, device)).await;
    assert_eq!(
        added(&page.body),
        "<time datetime=\"2026-01-15T12:00:00Z\">2026-01-15 07:00 EST</time>"
    );
    // Uma chose none: Acme UK inherits Paris from Acme.
    let mut uma = app.signed_in("uma@acme.example").await;
    let page = uma.get(&crate::devices::page(&app, device)).await;
    assert!(
        added(&page.body).contains(">2026-01-15 13:00 CET<"),
        "{}",
        added(&page.body)
    );
    // Globex set nothing: UTC.
    let mut gus = app.signed_in("gus@globex.example").await;
    let page = gus.get(&crate::devices::page(&app, other)).await;
    assert!(
        added(&page.body).contains(">2026-01-15 12:00 UTC<"),
        "{}",
        added(&page.body)
    );
}

#[tokio::test]
async fn recent_history_reads_as_a_span_with_the_exact_time_beside_it() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "R-1");
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE audit_events SET at = now() - interval '3 hours 5 minutes'"),
        &mut app.conn(),
    )
    .unwrap();
    let mut ann = app.signed_in("ann@acme.example").await;
    let log = ann.get(&format!("/tenants/{}/audit", acme.id)).await;
    let cell = log
        .body
        .split("<time ")
        .nth(1)
        .and_then(|s| s.split("</time>").next())
        .unwrap();
    assert!(cell.contains(">3 hours ago"), "{cell}");
    assert!(
        cell.contains(" UTC\">"),
        "the exact time in the tooltip: {cell}"
    );
    let iso = cell
        .split("datetime=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(iso).is_ok() && !iso.contains('.'),
        "{iso}"
    );
}
