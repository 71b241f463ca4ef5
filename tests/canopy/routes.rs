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
    app.user("otto@other.example", &other, Role::Admin);
    let mut stranger = app.browser();
    stranger.get("/login").await;
    let mut ann = app.signed_in("ann@acme.example").await;

    for r in ROUTES.iter().filter(|r| !r.public) {
        let path = r.path.replace("{id}", &other.id.to_string());
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

        if path.contains(&other.id.to_string()) {
            let res = match r.method {
                "get" => ann.get(&path).await,
                _ => {
                    ann.post(
                        &path,
                        &[
                            ("name", "x"),
                            ("parent_id", &acme.id.to_string()),
                            ("status", "suspended"),
                        ],
                    )
                    .await
                }
            };
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "{} {} for another tenant",
                r.method,
                r.path
            );
            assert!(!res.body.contains("Other Co"));
            ann.get("/tenants").await;
        }
    }
    assert_eq!(app.tenant(other.id).name, "Other Co");
    assert_eq!(app.tenant(other.id).status, "active");
}
