//! Sign-in, sign-out, throttling, session revocation and timeouts.
use canopy::domain::audit::Actor;
use canopy::domain::roles::Role;
use canopy::domain::{throttle, users};
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, spawn_app};

#[tokio::test]
async fn signing_in_with_the_right_password_shows_the_users_tenant() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);

    let mut b = app.browser();
    let res = b.login("ann@acme.example", PASSWORD).await;

    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let tree = b.get("/tenants").await;
    assert_eq!(tree.status, StatusCode::OK);
    assert!(crate::helpers::tree_of(&tree.body).contains("Acme"));
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);

    let wrong = app
        .browser()
        .login("ann@acme.example", "not the password")
        .await;
    let unknown = app.browser().login("nobody@acme.example", PASSWORD).await;

    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong.status);
    let message = "The email address or password is incorrect.";
    assert!(wrong.body.contains(message) && unknown.body.contains(message));
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.browser();
    let before = b.get("/login").await;
    let planted = cookie_value(&before.headers).expect("a session before sign-in");

    let res = b
        .post(
            "/login",
            &[("email", "ann@acme.example"), ("password", PASSWORD)],
        )
        .await;

    let after = cookie_value(&res.headers).expect("a new session cookie");
    assert_ne!(planted, after);
    // The key planted before sign-in does not carry the sign-in.
    let attacker = with_cookie(&app.base, &planted).await;
    assert_eq!(attacker.status(), StatusCode::SEE_OTHER);
    assert_eq!(attacker.headers()["location"], "/login");
}

pub fn cookie_value(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("canopy_session=") && !c.starts_with("canopy_session=;"))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// A request that presents a saved cookie, as a thief replaying it would.
pub async fn with_cookie(base: &str, cookie: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{base}/tenants"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn signed_in_cookie(app: &crate::helpers::TestApp, email: &str) -> (Browser, String) {
    let mut b = app.browser();
    b.get("/login").await;
    let res = b
        .post("/login", &[("email", email), ("password", PASSWORD)])
        .await;
    let cookie = cookie_value(&res.headers).unwrap();
    b.get("/tenants").await;
    (b, cookie)
}

#[tokio::test]
async fn a_cookie_saved_before_sign_out_is_refused_afterwards() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let (mut b, cookie) = signed_in_cookie(&app, "ann@acme.example").await;
    assert_eq!(
        with_cookie(&app.base, &cookie).await.status(),
        StatusCode::OK
    );

    let out = b.post("/logout", &[]).await;

    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(
        with_cookie(&app.base, &cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM sessions WHERE user_id IS NOT NULL"),
        0
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'session.sign_out'"),
        1
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_at_once() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    let (_b, cookie) = signed_in_cookie(&app, "ann@acme.example").await;

    let user = users::find(&mut app.conn(), ann).unwrap().unwrap();
    users::set_active(
        &mut app.conn(),
        &Actor::system(),
        &user,
        false,
        &acme.traversal_ids,
    )
    .unwrap();

    assert_eq!(
        with_cookie(&app.base, &cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    let again = app.browser().login("ann@acme.example", PASSWORD).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn signing_out_everywhere_ends_the_other_sessions_too() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let (_phone, phone_cookie) = signed_in_cookie(&app, "ann@acme.example").await;
    let (mut laptop, _) = signed_in_cookie(&app, "ann@acme.example").await;

    let res = laptop.post("/logout/everywhere", &[]).await;

    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        with_cookie(&app.base, &phone_cookie).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn an_idle_session_expires_and_so_does_an_old_one() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let (_a, idle) = signed_in_cookie(&app, "ann@acme.example").await;

    // The clock is the database's: move the idle deadline into the past.
    app.count("WITH u AS (UPDATE sessions SET expires_at = now() - interval '1 second' RETURNING 1) SELECT count(*) AS n FROM u");
    assert_eq!(
        with_cookie(&app.base, &idle).await.status(),
        StatusCode::SEE_OTHER
    );

    let (_b, old) = signed_in_cookie(&app, "ann@acme.example").await;
    assert_eq!(with_cookie(&app.base, &old).await.status(), StatusCode::OK);
    app.count("WITH u AS (UPDATE sessions SET created_at = now() - interval '12 hours 1 minute' RETURNING 1) SELECT count(*) AS n FROM u");
    assert_eq!(
        with_cookie(&app.base, &old).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn repeated_failures_throttle_the_account_but_not_its_owners_known_browser() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    // Ann signed in before from her own browser, which keeps a device cookie.
    let mut owner = app.signed_in("ann@acme.example").await;
    owner.post("/logout", &[]).await;

    let mut attacker = app.browser();
    for _ in 0..throttle::MAX_PER_ACCOUNT {
        let r = attacker
            .login("ann@acme.example", "guess guess guess")
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let blocked = attacker.login("ann@acme.example", PASSWORD).await;
    let owner_again = owner.login("ann@acme.example", PASSWORD).await;

    assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(blocked.body.contains("Too many failed attempts"));
    assert_eq!(owner_again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn many_failures_from_one_address_throttle_that_address() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut conn = app.conn();
    for i in 0..throttle::MAX_PER_ADDRESS {
        throttle::record_failure(&mut conn, "127.0.0.1", &format!("u{i}@x.example"), None).unwrap();
    }

    let res = app.browser().login("ann@acme.example", PASSWORD).await;

    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn members_of_a_suspended_tenant_cannot_sign_in() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("uma@acme.example", &uk, Role::Admin);
    canopy::domain::tenants::set_suspended(&mut app.conn(), &Actor::system(), &acme, true).unwrap();

    let res = app.browser().login("uma@acme.example", PASSWORD).await;

    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.body.contains("suspended"));
}

/// The device cookie a sign-in set, if any.
fn device_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("canopy_device="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

#[tokio::test]
async fn a_device_cookie_is_a_random_token_stored_hashed_and_dies_with_sign_out_everywhere() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut owner = app.browser();
    owner.get("/login").await;
    let first = owner.login("ann@acme.example", PASSWORD).await;
    let token = device_cookie(&first.headers).expect("a device cookie");
    assert_eq!(token.len(), 64);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM device_tokens WHERE token_hash = '{}'",
            canopy::crypto::sha256_hex(token.as_bytes())
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM device_tokens WHERE token_hash = '{token}'"
        )),
        0
    );
    owner.get("/tenants").await;

    owner.post("/logout/everywhere", &[]).await;

    assert_eq!(app.count("SELECT count(*) AS n FROM device_tokens"), 0);
    let mut attacker = app.browser();
    for _ in 0..throttle::MAX_PER_ACCOUNT {
        attacker
            .login("ann@acme.example", "guess guess guess")
            .await;
    }
    // The old cookie no longer vouches for the browser: it waits like everyone else.
    let owner_again = owner.login("ann@acme.example", PASSWORD).await;
    assert_eq!(owner_again.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn another_accounts_device_cookie_does_not_vouch_for_this_one() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("eve@acme.example", &acme, Role::Viewer);
    // Eve's own browser is known, but only for Eve.
    let mut eve = app.signed_in("eve@acme.example").await;
    eve.post("/logout", &[]).await;
    for _ in 0..throttle::MAX_PER_ACCOUNT {
        let r = eve.login("ann@acme.example", "guess guess guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }

    let res = eve.login("ann@acme.example", PASSWORD).await;

    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}
