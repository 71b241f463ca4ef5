//! Members, password reset and the local mailbox.
use canopy::domain::password_resets;
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::auth::{cookie_value, with_cookie};
use crate::helpers::{PASSWORD, spawn_app, spawn_app_with};
use crate::smtp::{SmtpServer, link};

#[tokio::test]
async fn the_members_page_searches_pages_and_includes_sub_tenants_for_admins_only() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("olly@acme.example", &acme, Role::Viewer);
    for i in 0..55 {
        app.user(&format!("driver{i:02}@acme.example"), &acme, Role::Viewer);
    }
    app.user("uma@acme.example", &uk, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut olly = app.signed_in("olly@acme.example").await;
    let base = format!("/tenants/{}/members", acme.id);

    let first = ann.get(&base).await;
    let second = ann.get(&format!("{base}?page=2")).await;
    let search = ann.get(&format!("{base}?q=DRIVER0")).await;
    let with_sub = ann.get(&format!("{base}?sub=1&q=uma")).await;
    let viewer_sub = olly.get(&format!("{base}?sub=1&q=uma")).await;
    let nobody = ann.get(&format!("{base}?q=%25%5F")).await;

    assert!(first.body.contains("57 members") && first.body.contains("Page 1 of 2"));
    assert!(second.body.contains("Page 2 of 2"));
    assert!(search.body.contains("10 members matching"));
    assert!(with_sub.body.contains("uma@acme.example") && with_sub.body.contains("Acme UK"));
    assert!(
        !viewer_sub.body.contains("uma@acme.example"),
        "a viewer never sees sub-tenants"
    );
    assert!(
        nobody.body.contains("Nobody matches"),
        "% and _ are searched literally"
    );
}

#[tokio::test]
async fn an_admin_changes_a_role_removes_a_membership_and_disabling_ends_sessions() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let ann_id = app.user("ann@acme.example", &acme, Role::Admin);
    let olly = app.user("olly@acme.example", &acme, Role::Viewer);
    let vic = app.user("vic@acme.example", &acme, Role::Viewer);
    let mut victim = app.browser();
    victim.get("/login").await;
    let res = victim
        .post(
            "/login",
            &[("email", "vic@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let vic_cookie = cookie_value(&res.headers).unwrap();
    let mut ann = app.signed_in("ann@acme.example").await;
    let base = format!("/tenants/{}/members", acme.id);
    ann.get(&base).await;

    let promoted = ann
        .post(&format!("{base}/{olly}/role"), &[("role", "operator")])
        .await;
    let bad_role = ann
        .post(&format!("{base}/{olly}/role"), &[("role", "owner")])
        .await;
    let disabled = ann
        .post(&format!("{base}/{vic}/status"), &[("status", "disabled")])
        .await;
    let removed = ann.post(&format!("{base}/{olly}/remove"), &[]).await;
    ann.get(&base).await;
    let self_remove = ann.post(&format!("{base}/{ann_id}/remove"), &[]).await;

    assert_eq!(promoted.status, StatusCode::SEE_OTHER);
    assert_eq!(bad_role.status, StatusCode::BAD_REQUEST);
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        with_cookie(&app.base, &vic_cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        self_remove.status,
        StatusCode::FORBIDDEN,
        "nobody removes themselves by accident"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM memberships WHERE user_id = '{olly}'"
        )),
        0
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM audit_events WHERE action IN ('membership.grant', 'user.disable', 'membership.revoke') AND actor_id IS NOT NULL"), 3);
}

#[tokio::test]
async fn a_customer_admin_cannot_disable_someone_who_also_works_above_them() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let staff = app.user("staff@rentafone.example", &root, Role::Operator);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        staff,
        &acme,
        Role::Viewer,
    )
    .unwrap();
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/members", acme.id)).await;

    let res = ann
        .post(
            &format!("/tenants/{}/members/{staff}/status", acme.id),
            &[("status", "disabled")],
        )
        .await;

    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE status = 'disabled'"),
        0
    );
}

#[tokio::test]
async fn members_of_another_tenant_cannot_be_listed_or_changed() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other");
    app.user("ann@acme.example", &acme, Role::Admin);
    let otto = app.user("otto@other.example", &other, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;

    let list = ann.get(&format!("/tenants/{}/members", other.id)).await;
    ann.get("/tenants").await;
    let change = ann
        .post(
            &format!("/tenants/{}/members/{otto}/role", other.id),
            &[("role", "admin")],
        )
        .await;
    let via_own = ann
        .post(
            &format!("/tenants/{}/members/{otto}/role", acme.id),
            &[("role", "admin")],
        )
        .await;

    assert_eq!(list.status, StatusCode::NOT_FOUND);
    assert_eq!(change.status, StatusCode::NOT_FOUND);
    assert_eq!(via_own.status, StatusCode::NOT_FOUND);
    assert!(!list.body.contains("otto@other.example"));
}

#[tokio::test]
async fn password_reset_never_reveals_accounts_and_ends_other_sessions() {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = spawn_app_with(&[("CANOPY_SMTP_URL", &url)]).await;
    app.start_worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut old = app.browser();
    old.get("/login").await;
    let res = old
        .post(
            "/login",
            &[("email", "ann@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let old_cookie = cookie_value(&res.headers).unwrap();

    let mut b = app.browser();
    b.get("/password/forgot").await;
    let known = b
        .post("/password/forgot", &[("email", "ann@acme.example")])
        .await;
    let unknown = b
        .post("/password/forgot", &[("email", "nobody@acme.example")])
        .await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body);
    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    let path = link(&messages[0], &app.base, "/password/reset/")
        .trim_start_matches(&app.base)
        .to_string();

    b.get(&path).await;
    let weak = b
        .post(
            &path,
            &[("password", "short"), ("password_confirm", "short")],
        )
        .await;
    let done = b
        .post(
            &path,
            &[
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    let reused = app.browser().get(&path).await;

    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("signed out everywhere"));
    assert_eq!(reused.status, StatusCode::GONE);
    assert_eq!(
        with_cookie(&app.base, &old_cookie).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.browser()
            .login("ann@acme.example", "a brand new passphrase")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.browser()
            .login("ann@acme.example", PASSWORD)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn reset_requests_are_capped_per_hour() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    for _ in 0..(password_resets::MAX_PER_HOUR + 2) {
        password_resets::request(
            &mut app.conn(),
            "ann@acme.example",
            &app.base,
            std::time::Duration::from_secs(600),
        )
        .unwrap();
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox"),
        password_resets::MAX_PER_HOUR
    );
}

#[tokio::test]
async fn without_smtp_the_portal_shows_its_mail_in_a_local_mailbox() {
    let app = spawn_app().await;
    app.start_worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    ann.post(
        &format!("/tenants/{}/invitations", acme.id),
        &[("email", "new@example.com"), ("role", "viewer")],
    )
    .await;

    let mut newcomer = app.browser();
    // The terminal's link opens it: the key becomes a cookie and leaves the address bar.
    let key = app
        .mailbox_key
        .clone()
        .expect("the mailbox is on by default");
    let opened = newcomer.get(&format!("/mailbox?key={key}")).await;
    assert_eq!(opened.status, StatusCode::SEE_OTHER);
    assert_eq!(opened.location(), Some("/mailbox"));
    let mut list = newcomer.get("/mailbox").await;
    for _ in 0..40 {
        if list.body.contains("delivered") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        list = newcomer.get("/mailbox").await;
    }
    assert!(list.body.contains("new@example.com") && list.body.contains("delivered"));
    let id: String = list
        .body
        .split("href=\"/mailbox/")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let message = newcomer.get(&format!("/mailbox/{id}")).await;
    let path = link(&message.body, &app.base, "/invitations/")
        .trim_start_matches(&app.base)
        .to_string();
    assert_eq!(newcomer.get(&path).await.status, StatusCode::OK);

    let smtp = SmtpServer::start();
    let url = smtp.url();
    let with_smtp = spawn_app_with(&[("CANOPY_SMTP_URL", &url)]).await;
    assert_eq!(
        with_smtp.browser().get("/mailbox").await.status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn the_mailbox_is_shown_only_without_smtp_and_only_on_loopback() {
    use canopy::web::mailbox::{enabled_for, is_loopback_url};
    let url = "postgres://unused";
    assert!(enabled_for(&crate::helpers::test_settings(url, &[])));
    assert!(!enabled_for(&crate::helpers::test_settings(
        url,
        &[("CANOPY_LISTEN", "0.0.0.0:8080")]
    )));
    assert!(!enabled_for(&crate::helpers::test_settings(
        url,
        &[("CANOPY_SMTP_URL", "smtp://mail.example")]
    )));
    // Behind a reverse proxy on the same host: it listens on loopback, but people reach it
    // by its public name.
    assert!(!enabled_for(&crate::helpers::test_settings(
        url,
        &[("CANOPY_BASE_URL", "https://portal.example.com")]
    )));
    for local in [
        "http://127.0.0.1:8080",
        "http://localhost:8080/",
        "http://[::1]:8080",
        "http://127.1.2.3",
        "https://LOCALHOST",
    ] {
        assert!(is_loopback_url(local), "{local}");
    }
    for public in [
        "https://portal.example.com",
        "http://127.0.0.1.example.com",
        "http://localhost.example:8080",
        "http://10.0.0.1:8080",
        "http://user@evil.example",
        "http://[2001:db8::1]",
    ] {
        assert!(!is_loopback_url(public), "{public}");
    }
}

/// The attack of issue 15: with no SMTP and the portal on 127.0.0.1 (the defaults), whoever
/// reached `/mailbox` read the root admin's reset link. Behind a reverse proxy on the same
/// host that was everyone. Now the mailbox answers 404 without the terminal's key, whatever
/// the request says about where it comes from, and the token is never shown.
#[tokio::test]
async fn a_stranger_cannot_read_a_reset_link_from_the_local_mailbox() {
    let app = spawn_app().await;
    app.start_worker();
    let rent = app.root("Rent-a-fone");
    app.user("alice@rentafone.example", &rent, Role::Admin);
    let mut attacker = app.browser();
    attacker.get("/password/forgot").await;
    let asked = attacker
        .post("/password/forgot", &[("email", "alice@rentafone.example")])
        .await;
    assert!(asked.status.is_success() || asked.status.is_redirection());
    let token_link = |app: &crate::helpers::TestApp| -> String {
        use canopy::db::schema::outbox::dsl;
        use diesel::prelude::*;
        let text: String = dsl::outbox
            .order(dsl::id.desc())
            .select(dsl::text_body)
            .first(&mut app.conn())
            .unwrap();
        let start = text.find("/password/reset/").unwrap();
        text[start..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect()
    };
    // The worker queues the email a moment later.
    for _ in 0..100 {
        if app.count("SELECT count(*) AS n FROM outbox") > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let link = token_link(&app);
    let token = link.trim_start_matches("/password/reset/");
    assert!(token.len() >= 32, "{link}");
    let id = app.count("SELECT max(id) AS n FROM outbox");
    for path in [
        "/mailbox".to_string(),
        format!("/mailbox/{id}"),
        "/mailbox?key=".to_string(),
        "/mailbox?key=0000000000000000000000000000000".to_string(),
    ] {
        let res = attacker.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!res.body.contains(token), "{path} shows the token");
    }
    // A forged cookie opens nothing either, whatever the request says it came through.
    let forged = reqwest::Client::new()
        .get(format!("{}/mailbox", app.base))
        .header("cookie", "canopy_mailbox=guess")
        .header("x-forwarded-for", "127.0.0.1")
        .header("forwarded", "for=127.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::NOT_FOUND);
    assert!(!forged.text().await.unwrap().contains(token));

    // With a public base URL and no SMTP the mailbox does not exist, key or not.
    let public = spawn_app_with(&[("CANOPY_BASE_URL", "https://portal.example.com")]).await;
    assert!(public.mailbox_key.is_none());
    let key = canopy::web::mailbox::key(b"any secret");
    let res = public.browser().get(&format!("/mailbox?key={key}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
