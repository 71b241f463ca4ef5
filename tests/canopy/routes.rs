//! Route inventory: every route is public on purpose, or behind the access layer.
use canopy::domain::roles::Role;
use canopy::web::routes::ROUTES;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The routes that answer without sign-in, by decision. A new public route must be added here.
const PUBLIC_ON_PURPOSE: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/static/{file}"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    // The token in the path is the credential.
    ("get", "/password/forgot"),
    ("post", "/password/forgot"),
    ("get", "/password/reset/{token}"),
    ("post", "/password/reset/{token}"),
    ("get", "/invitations/{token}"),
    ("post", "/invitations/{token}"),
    // Only without SMTP (the embedded default); 404 otherwise.
    ("get", "/mailbox"),
    ("get", "/mailbox/{message}"),
    // Content-addressed brand resources: they name no tenant, and emails link to logos.
    ("get", "/brand/accent/{color}"),
    ("get", "/logos/{hash}"),
];

#[test]
fn every_public_route_is_public_on_purpose() {
    for r in ROUTES.iter().filter(|r| r.public) {
        assert!(
            PUBLIC_ON_PURPOSE.contains(&(r.method, r.path)),
            "{} {} is public",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn every_other_route_sends_strangers_to_sign_in_and_hides_other_tenants() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Admin);
    let otto = app.user("otto@other.example", &other, Role::Admin);
    let invitation = crate::invitations::invite_directly(&app, &other, "x@other.example");
    let device = crate::devices::device_in(&app, &other, "OTHER-001");
    let job =
        canopy::domain::devices::jobs::create(&mut app.conn(), other.id, Some(otto), "imei\n", 0)
            .unwrap();
    let mut stranger = app.browser();
    stranger.get("/login").await;
    let mut ann = app.signed_in("ann@acme.example").await;

    for r in ROUTES.iter().filter(|r| !r.public) {
        let object = if r.path.starts_with("/devices/") {
            device
        } else {
            other.id
        };
        let path = r
            .path
            .replace("{id}", &object.to_string())
            .replace("{user}", &otto.to_string())
            .replace("{invitation}", &invitation.to_string())
            .replace("{job}", &job.to_string());
        let anonymous = match r.method {
            "get" => stranger.get(&path).await,
            _ => stranger.post(&path, &[]).await,
        };
        assert_eq!(
            anonymous.status,
            StatusCode::SEE_OTHER,
            "{} {}",
            r.method,
            r.path
        );
        assert_eq!(
            anonymous.location(),
            Some("/login"),
            "{} {}",
            r.method,
            r.path
        );

        if path.contains(&object.to_string()) {
            let res = match r.method {
                "get" => ann.get(&path).await,
                _ => {
                    // A well-formed request, so that only the access rule can refuse it.
                    let parent = acme.id.to_string();
                    let status = if r.path.contains("/members/") {
                        "disabled"
                    } else {
                        "suspended"
                    };
                    let fields = [
                        ("name", "x"),
                        ("parent_id", parent.as_str()),
                        ("status", status),
                        ("role", "viewer"),
                        ("email", "x@example.com"),
                    ];
                    ann.post(&path, &fields).await
                }
            };
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "{} {} for another tenant: {}",
                r.method,
                r.path,
                res.body
            );
            assert!(!res.body.contains("Other Co"));
            ann.get("/tenants").await;
        }
    }
    assert_eq!(app.tenant(other.id).name, "Other Co");
    assert_eq!(app.tenant(other.id).status, "active");
}
