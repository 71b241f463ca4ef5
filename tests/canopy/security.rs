//! CSRF refusals, security headers, cookies, static assets and htmx-aware errors.
use canopy::domain::roles::Role;
use reqwest::StatusCode;
use sha2::Digest;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn unsafe_requests_without_the_right_csrf_token_are_refused() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.signed_in("ann@acme.example").await;
    let path = format!("/tenants/{}/children", acme.id);

    let missing = b.post_raw(&path, &[("name", "Missing")], &[]).await;
    let wrong = b
        .post_raw(&path, &[("name", "Wrong"), ("csrf_token", "00ff")], &[])
        .await;
    let token = b.csrf.clone();
    let cross_site = b
        .post_raw(
            &path,
            &[("name", "Cross"), ("csrf_token", &token)],
            &[("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    let by_header = b
        .post_raw(&path, &[("name", "Header")], &[("X-CSRF-Token", &token)])
        .await;

    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert_eq!(by_header.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM tenants WHERE parent_id IS NOT NULL"),
        1
    );
}

/// Upload forms carry the token as their first field: in a URL it would be kept by history,
/// logs and Referer headers, so a token in the query string is no token at all.
#[tokio::test]
async fn upload_forms_carry_the_token_in_their_body_never_in_a_url() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.signed_in("ann@acme.example").await;
    let path = format!("/tenants/{}/branding", acme.id);
    let form = || reqwest::multipart::Form::new().text("name", "Acme");
    let in_url = b
        .client
        .post(format!("{}{path}?csrf_token={}", b.base, b.csrf))
        .multipart(form())
        .send()
        .await
        .unwrap();
    assert_eq!(in_url.status(), StatusCode::FORBIDDEN, "a token in the URL");
    let wrong = b
        .client
        .post(format!("{}{path}", b.base))
        .multipart(
            reqwest::multipart::Form::new()
                .text("csrf_token", "00ff")
                .text("name", "x"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN, "a wrong token");
    let saved = b.post_multipart(&path, &[("name", "Acme")], &[]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    // No page puts the token in an address.
    for page in [path.clone(), format!("/tenants/{}/devices/import", acme.id)] {
        let body = b.get(&page).await.body;
        assert!(body.contains("name=\"csrf_token\""), "{page}");
        assert!(
            !body.contains("csrf_token="),
            "{page} puts the token in a URL"
        );
    }
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token_too() {
    let app = spawn_app().await;
    let res = app
        .browser()
        .post_raw(
            "/login",
            &[("email", "a@b.example"), ("password", "x")],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_security_headers() {
    let app = spawn_app().await;
    let res = app.browser().get("/login").await;
    let h = |name: &str| res.headers.get(name).unwrap().to_str().unwrap().to_string();

    let csp = h("content-security-policy");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "same-origin");
    assert!(!res.body.contains("<script>"), "no inline script");
    assert!(!res.body.contains("style="), "no inline style");
}

#[tokio::test]
async fn with_secure_cookies_the_session_cookie_is_host_prefixed_secure_and_httponly() {
    let app = spawn_app_with(&[("CANOPY_SECURE_COOKIES", "true")]).await;
    let res = app.browser().get("/login").await;
    let cookie = res.headers.get("set-cookie").unwrap().to_str().unwrap();
    assert!(cookie.starts_with("__Host-canopy_session="), "{cookie}");
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Domain="));
}

#[tokio::test]
async fn htmx_is_served_from_the_binary_as_recorded_with_long_lived_caching() {
    let app = spawn_app().await;
    let page = app.browser().get("/login").await;
    let start = page.body.find("/static/htmx.min.js").unwrap();
    let url: String = page.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();

    let res = reqwest::get(format!("{}{url}", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    let bytes = res.bytes().await.unwrap();
    let recorded = std::fs::read_to_string("static/htmx.min.js.sha256").unwrap();
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        recorded.split_whitespace().next().unwrap()
    );
}

#[tokio::test]
async fn a_refused_htmx_request_shows_its_message_in_place() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.signed_in("ann@acme.example").await;

    let partial = b.get_htmx(&format!("/tenants/{}/children", other.id)).await;
    let page = b.get(&format!("/tenants/{}", other.id)).await;

    assert_eq!(partial.status, StatusCode::NOT_FOUND);
    assert_eq!(partial.headers["hx-retarget"], "#flash");
    assert!(!partial.body.contains("<html"));
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("<html") && page.body.contains("Not found"));
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    assert_eq!(app.browser().get("/healthz").await.status, StatusCode::OK);
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.body, "ready");
}

#[tokio::test]
async fn the_sign_in_page_explains_how_to_bootstrap_an_empty_installation() {
    let app = spawn_app().await;
    let empty = app.browser().get("/login").await;
    app.root("Acme");
    let later = app.browser().get("/login").await;
    assert!(empty.body.contains("canopy bootstrap"));
    assert!(!later.body.contains("canopy bootstrap"));
}

struct Fixture {
    app: crate::helpers::TestApp,
    device: canopy::domain::ids::DeviceId,
    ids: Vec<(&'static str, String)>,
}

async fn fixture() -> Fixture {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let victor = app.user("victor@acme.example", &acme, Role::Viewer);
    let device = crate::devices::device_in(&app, &acme, "ACME-1");
    let invitation = crate::invitations::invite_directly(&app, &acme, "inv@acme.example");
    let job = canopy::domain::devices::jobs::create(
        &mut app.conn(),
        &acme,
        Some(victor),
        "serial,name\nX-1,x\n",
        1,
    )
    .unwrap();
    let _ = uk;
    Fixture {
        device,
        ids: vec![
            ("{id}", acme.id.to_string()),
            ("{user}", victor.to_string()),
            ("{invitation}", invitation.to_string()),
            ("{job}", job.to_string()),
            ("{token}", "0123456789abcdef".into()),
            ("{message}", "1".into()),
            ("{file}", "app.css".into()),
            ("{color}", "1f6f5c".into()),
            ("{hash}", "0".repeat(64)),
        ],
        app,
    }
}

impl Fixture {
    fn path(&self, template: &str) -> String {
        let mut path = template.to_string();
        path = path.replace("{device}", &self.device.to_string());
        for (k, v) in &self.ids {
            path = path.replace(k, v);
        }
        path
    }
}

#[tokio::test]
async fn every_unsafe_route_refuses_a_missing_or_wrong_token_and_cross_site_posts() {
    let f = fixture().await;
    let mut ann = f.app.signed_in("ann@acme.example").await;
    let token = ann.csrf.clone();
    let before = f.app.fingerprint();
    let fields = [
        ("name", "x"),
        ("status", "suspended"),
        ("role", "admin"),
        ("email", "x@example.com"),
    ];
    // A check-in URL is called by terminals with no session at all: its token is the
    // credential (`checkins::the_check_in_url_is_the_only_key…` covers it).
    for r in canopy::web::routes::ROUTES
        .iter()
        .filter(|r| r.method == "post")
        .filter(|r| !r.path.starts_with(canopy::web::csrf::CHECK_IN_PREFIX))
    {
        let path = f.path(r.path);
        let mut with_wrong = fields.to_vec();
        with_wrong.push(("csrf_token", "00ff"));
        let mut with_right = fields.to_vec();
        with_right.push(("csrf_token", &token));
        for (label, res) in [
            ("missing", ann.post_raw(&path, &fields, &[]).await),
            ("wrong", ann.post_raw(&path, &with_wrong, &[]).await),
            (
                "cross-site",
                ann.post_raw(&path, &with_right, &[("Sec-Fetch-Site", "cross-site")])
                    .await,
            ),
        ] {
            assert_eq!(
                res.status,
                StatusCode::FORBIDDEN,
                "{label} token: POST {}",
                r.path
            );
        }
    }
    assert_eq!(
        before,
        f.app.fingerprint(),
        "a refused post changed something"
    );
}

#[tokio::test]
async fn no_get_request_changes_anything() {
    let f = fixture().await;
    let mut ann = f.app.signed_in("ann@acme.example").await;
    let mut stranger = f.app.browser();
    let before = f.app.fingerprint();
    for r in canopy::web::routes::ROUTES
        .iter()
        .filter(|r| r.method == "get")
    {
        let path = f.path(r.path);
        let res = ann.get(&path).await;
        assert!(res.status.as_u16() < 500, "GET {path}: {}", res.status);
        stranger.get(&path).await;
    }
    assert_eq!(before, f.app.fingerprint(), "a GET changed stored state");
}
