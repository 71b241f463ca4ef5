//! Invitations end to end, reading what actually arrived at a real SMTP server.
use std::time::{Duration, Instant};

use canopy::domain::audit::Actor;
use canopy::domain::ids::InvitationId;
use canopy::domain::invitations::{self, InviteOutcome, Mail};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use canopy::domain::users::Email;
use diesel::Connection;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{PASSWORD, TestApp, spawn_app_with};
use crate::smtp::{SmtpServer, link};

const NEW_PASSWORD: &str = "a fresh long passphrase";

/// An invitation made without HTTP or email, for tests about other routes.
pub fn invite_directly(app: &TestApp, tenant: &Tenant, email: &str) -> InvitationId {
    let mail = Mail {
        base_url: &app.base,
        ttl: Duration::from_secs(3600),
        inviter_name: "Test",
        limits: Default::default(),
    };
    let email = Email::parse(email).unwrap();
    match invitations::create(
        &mut app.conn(),
        &Actor::system(),
        tenant,
        &email,
        &Role::Viewer.grant(),
        &mail,
    )
    .unwrap()
    {
        InviteOutcome::Sent(inv) => inv.id,
        other => panic!("{other:?}"),
    }
}

async fn app_with_smtp(smtp: &SmtpServer, extra: &[(&str, &str)]) -> TestApp {
    let url = smtp.url();
    let mut all = vec![("CANOPY_SMTP_URL", url.as_str())];
    all.extend_from_slice(extra);
    spawn_app_with(&all).await
}

async fn invite(
    b: &mut crate::helpers::Browser,
    tenant: Uuid,
    email: &str,
    role: &str,
) -> crate::helpers::Reply {
    b.get(&format!("/tenants/{tenant}/invitations")).await;
    b.post(
        &format!("/tenants/{tenant}/invitations"),
        &[("email", email), ("role", role)],
    )
    .await
}

#[tokio::test]
async fn an_invited_new_person_accepts_from_the_email_and_is_signed_into_the_tenant() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    app.start_worker();
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;

    let sent = invite(
        &mut ann,
        acme.id.uuid(),
        "new.person@example.com",
        "operator",
    )
    .await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(
        sent.body
            .contains("Invitation sent to new.person@example.com")
    );
    let messages = smtp.wait_for(1).await;
    assert!(messages[0].contains("To: new.person@example.com"));
    assert!(messages[0].contains("Acme Haulage Ltd") && messages[0].contains("text/html"));
    let url = link(&messages[0], &app.base, "/invitations/");

    let mut invitee = app.browser();
    let page = invitee.get(url.trim_start_matches(&app.base)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Acme Haulage Ltd") && page.body.contains("ann"));
    let accepted = invitee
        .post(
            url.trim_start_matches(&app.base),
            &[
                ("display_name", "New Person"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        accepted.location(),
        Some(format!("/tenants/{}/dashboard", acme.id).as_str())
    );
    let tenant_page = invitee.get(&format!("/tenants/{}", acme.id)).await;
    assert!(
        tenant_page
            .body
            .contains("Your role here: <strong>Operator</strong>")
    );
    // The link is spent.
    let again = app.browser().get(url.trim_start_matches(&app.base)).await;
    assert_eq!(again.status, StatusCode::GONE);
    assert!(again.body.contains("already been used"));
}

#[tokio::test]
async fn an_existing_person_signs_in_and_accepts_and_gains_the_membership() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    app.start_worker();
    let acme = app.root("Acme");
    let great = app.root("Great Expeditions");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("gina@great.example", &great, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;

    invite(&mut ann, acme.id.uuid(), "gina@great.example", "viewer").await;
    let url = link(&smtp.wait_for(1).await[0], &app.base, "/invitations/");
    let path = url.trim_start_matches(&app.base).to_string();
    let mut gina = app.browser();
    let anonymous = gina.get(&path).await;
    assert!(
        anonymous.body.contains(&format!("/login?next={path}")),
        "asks to sign in first"
    );
    gina.get(&format!("/login?next={path}")).await;
    let signed = gina
        .post(
            "/login",
            &[
                ("email", "gina@great.example"),
                ("password", PASSWORD),
                ("next", &path),
            ],
        )
        .await;
    assert_eq!(signed.location(), Some(path.as_str()));
    gina.get(&path).await;
    let accepted = gina.post(&path, &[]).await;

    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!("SELECT count(*) AS n FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'gina@great.example' AND m.tenant_id = '{}' AND m.role_id = '00000000-0000-7000-8000-000000000003'", acme.id)),
        1
    );
    assert_eq!(
        gina.get(&format!("/tenants/{}", acme.id)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expired_revoked_and_resent_links_say_what_happened() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    app.start_worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;

    invite(&mut ann, acme.id.uuid(), "late@example.com", "viewer").await;
    invite(&mut ann, acme.id.uuid(), "revoked@example.com", "viewer").await;
    invite(&mut ann, acme.id.uuid(), "resent@example.com", "viewer").await;
    let first = smtp.wait_for(3).await;
    let url_for = |messages: &[String], to: &str| {
        let m = messages
            .iter()
            .rfind(|m| m.contains(&format!("To: {to}")))
            .unwrap()
            .clone();
        link(&m, &app.base, "/invitations/")
            .trim_start_matches(&app.base)
            .to_string()
    };
    let (late, revoked, old) = (
        url_for(&first, "late@example.com"),
        url_for(&first, "revoked@example.com"),
        url_for(&first, "resent@example.com"),
    );
    app.count("WITH u AS (UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE email = 'late@example.com' RETURNING 1) SELECT count(*) AS n FROM u");
    let list = ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    let rows: Vec<(String, String)> = list
        .body
        .split("<tr id=\"invitation-")
        .skip(1)
        .map(|r| {
            (
                r.chars().take(36).collect(),
                r.split("</tr>").next().unwrap().to_string(),
            )
        })
        .collect();
    let id = |email: &str| {
        rows.iter()
            .find(|(_, r)| r.contains(email))
            .unwrap()
            .0
            .clone()
    };
    ann.post(
        &format!(
            "/tenants/{}/invitations/{}/revoke",
            acme.id,
            id("revoked@example.com")
        ),
        &[],
    )
    .await;
    ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    ann.post(
        &format!(
            "/tenants/{}/invitations/{}/resend",
            acme.id,
            id("resent@example.com")
        ),
        &[],
    )
    .await;
    let all = smtp.wait_for(4).await;
    // Maildir names do not sort by arrival: take the resent link that is not the first one.
    let resent: Vec<String> = all
        .iter()
        .filter(|m| m.contains("To: resent@example.com"))
        .map(|m| {
            link(m, &app.base, "/invitations/")
                .trim_start_matches(&app.base)
                .to_string()
        })
        .collect();
    assert_eq!(resent.len(), 2, "the resend sent a second message");
    let new = resent
        .iter()
        .find(|u| **u != old)
        .cloned()
        .unwrap_or_default();

    let expired = app.browser().get(&late).await;
    let withdrawn = app.browser().get(&revoked).await;
    let dead = app.browser().get(&old).await;
    let fresh = app.browser().get(&new).await;
    let unknown = app
        .browser()
        .get(&format!("/invitations/{}", "ab".repeat(32)))
        .await;

    assert_eq!(expired.status, StatusCode::GONE);
    assert!(
        expired.body.contains("expired") && expired.body.contains("Ask ann (ann@acme.example)")
    );
    assert_eq!(withdrawn.status, StatusCode::GONE);
    assert!(withdrawn.body.contains("withdrawn"));
    assert_ne!(old, new);
    assert_eq!(
        dead.status,
        StatusCode::NOT_FOUND,
        "the old link of a resent invitation is dead"
    );
    assert_eq!(fresh.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let page = ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    for state in ["expired", "revoked", "pending"] {
        assert!(
            page.body
                .contains(&format!("<span class=\"badge state\">{state}</span>")),
            "{state}"
        );
    }
}

#[tokio::test]
async fn inviting_twice_does_not_duplicate_and_inviting_a_member_says_so() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("olly@acme.example", &acme, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;

    invite(&mut ann, acme.id.uuid(), "twice@example.com", "viewer").await;
    let second = invite(&mut ann, acme.id.uuid(), "TWICE@example.com", "viewer").await;
    let member = invite(&mut ann, acme.id.uuid(), "olly@acme.example", "viewer").await;
    let bad = invite(&mut ann, acme.id.uuid(), "not-an-email", "viewer").await;
    let no_role = invite(&mut ann, acme.id.uuid(), "x@example.com", "superuser").await;

    assert!(second.body.contains("already has a pending invitation"));
    assert_eq!(member.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(member.body.contains("already a member") && member.body.contains("email-error"));
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Enter a valid email address"));
    assert_eq!(no_role.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_role.body.contains("role-error"));
    assert_eq!(app.count("SELECT count(*) AS n FROM invitations"), 1);
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 1);
}

#[tokio::test]
async fn a_forged_host_header_does_not_change_the_link() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    app.start_worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    let token = ann.csrf.clone();

    ann.post_raw(
        &format!("/tenants/{}/invitations", acme.id),
        &[
            ("email", "victim@example.com"),
            ("role", "viewer"),
            ("csrf_token", &token),
        ],
        &[
            ("Host", "evil.example"),
            ("X-Forwarded-Host", "evil.example"),
        ],
    )
    .await;

    let m = &smtp.wait_for(1).await[0];
    assert!(!m.contains("evil.example"));
    assert!(m.contains(&format!("{}/invitations/", app.base)));
}

#[tokio::test]
async fn when_smtp_is_down_the_invitation_is_kept_and_delivered_once_it_comes_up() {
    let mut smtp = SmtpServer::start();
    smtp.stop();
    let app = app_with_smtp(&smtp, &[("CANOPY_MAIL_MAX_ATTEMPTS", "50")]).await;
    app.start_worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;

    let res = invite(&mut ann, acme.id.uuid(), "patient@example.com", "viewer").await;
    assert_eq!(res.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.count("SELECT max(attempts)::bigint AS n FROM outbox") >= 1,
        "it tried"
    );
    let page = ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    assert!(page.body.contains("retrying"));

    smtp.restart();
    let messages = smtp.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(smtp.messages().len(), 1, "delivered exactly once");
    assert!(messages[0].contains("patient@example.com"));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL"),
        1
    );
}

#[tokio::test]
async fn after_the_last_attempt_the_invitation_shows_delivery_failed_and_can_be_retried() {
    let mut smtp = SmtpServer::start();
    smtp.stop();
    let app = app_with_smtp(&smtp, &[("CANOPY_MAIL_MAX_ATTEMPTS", "2")]).await;
    let worker = app.worker();
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    invite(&mut ann, acme.id.uuid(), "unlucky@example.com", "viewer").await;

    worker.tick().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.tick().await.unwrap();
    let page = ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    assert!(
        page.body.contains("delivery failed")
            && page.body.contains("not delivered after 2 attempts")
    );
    let id: String = page
        .body
        .split("<tr id=\"invitation-")
        .nth(1)
        .unwrap()
        .chars()
        .take(36)
        .collect();

    smtp.restart();
    let retried = ann
        .post(&format!("/tenants/{}/invitations/{id}/retry", acme.id), &[])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    worker.tick().await.unwrap();
    assert_eq!(smtp.wait_for(1).await.len(), 1);
}

#[tokio::test]
async fn a_stalled_smtp_server_does_not_hang_the_worker_past_its_timeout() {
    // Accepts connections and never says a word.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "smtp://127.0.0.1:{}?tls=none",
        stalled.local_addr().unwrap().port()
    );
    let app = spawn_app_with(&[("CANOPY_SMTP_URL", &url), ("CANOPY_MAIL_TIMEOUT_SECS", "1")]).await;
    let acme = app.root("Acme");
    invite_directly(&app, &acme, "someone@example.com");

    let started = Instant::now();
    let handled = tokio::time::timeout(Duration::from_secs(10), app.worker().tick()).await;

    assert!(matches!(handled, Ok(Ok(1))), "{handled:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM outbox WHERE last_error IS NOT NULL AND sent_at IS NULL"
        ),
        1
    );
    drop(stalled);
}

#[tokio::test]
async fn a_rolled_back_invitation_sends_nothing() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    let acme = app.root("Acme");
    let mail = Mail {
        base_url: &app.base,
        ttl: Duration::from_secs(3600),
        inviter_name: "Test",
        limits: Default::default(),
    };
    let email = Email::parse("ghost@example.com").unwrap();

    let result: Result<(), diesel::result::Error> = app.conn().transaction(|conn| {
        invitations::create(
            conn,
            &Actor::system(),
            &acme,
            &email,
            &Role::Viewer.grant(),
            &mail,
        )
        .unwrap();
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    let handled = app.worker().tick().await.unwrap();

    assert_eq!(handled, 0);
    assert_eq!(app.count("SELECT count(*) AS n FROM invitations"), 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(smtp.messages().is_empty());
}

#[tokio::test]
async fn two_workers_at_once_deliver_every_message_exactly_once() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    let acme = app.root("Acme");
    for i in 0..30 {
        invite_directly(&app, &acme, &format!("person{i}@example.com"));
    }
    let (a, b) = (app.worker(), app.worker());

    let drain =
        |w: canopy::email::worker::Worker| async move { while w.tick().await.unwrap() > 0 {} };
    tokio::join!(drain(a), drain(b));

    let messages = smtp.wait_for(30).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 30);
    for i in 0..30 {
        let to = format!("To: person{i}@example.com");
        assert_eq!(
            messages.iter().filter(|m| m.contains(&to)).count(),
            1,
            "{to}"
        );
    }
}

#[tokio::test]
async fn invitations_outside_reach_answer_404_and_roles_cannot_be_escalated() {
    let smtp = SmtpServer::start();
    let app = app_with_smtp(&smtp, &[]).await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    let great = app.child(&root, "Great");
    app.user("ann@acme.example", &acme, Role::Admin);
    let olly_id = app.user("olly@acme.example", &acme, Role::Operator);
    let theirs = invite_directly(&app, &great, "g@example.com");
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut olly = app.signed_in("olly@acme.example").await;

    let into_other = invite(&mut ann, great.id.uuid(), "x@example.com", "viewer").await;
    let list_other = ann.get(&format!("/tenants/{}/invitations", great.id)).await;
    ann.get("/tenants").await;
    let revoke_other = ann
        .post(
            &format!("/tenants/{}/invitations/{theirs}/revoke", great.id),
            &[],
        )
        .await;
    let revoke_via_own = ann
        .post(
            &format!("/tenants/{}/invitations/{theirs}/revoke", acme.id),
            &[],
        )
        .await;
    let by_operator = invite(&mut olly, acme.id.uuid(), "y@example.com", "viewer").await;
    olly.get("/tenants").await;
    let operator_promotes_self = olly
        .post(
            &format!("/tenants/{}/members/{olly_id}/role", acme.id),
            &[("role", "admin")],
        )
        .await;

    assert_eq!(into_other.status, StatusCode::NOT_FOUND);
    assert_eq!(list_other.status, StatusCode::NOT_FOUND);
    assert_eq!(revoke_other.status, StatusCode::NOT_FOUND);
    assert_eq!(revoke_via_own.status, StatusCode::NOT_FOUND);
    assert_eq!(by_operator.status, StatusCode::FORBIDDEN);
    assert_eq!(operator_promotes_self.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM invitations WHERE state = 'pending'"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM memberships WHERE role_id = '00000000-0000-7000-8000-000000000001'"),
        1
    );
}

#[test]
fn smtp_urls_require_starttls_unless_told_otherwise() {
    use canopy::email::worker::transport_url;
    assert_eq!(
        transport_url("smtp://mail.example:587"),
        "smtp://mail.example:587?tls=required"
    );
    assert_eq!(
        transport_url("smtp://u:p@mail.example"),
        "smtp://u:p@mail.example?tls=required"
    );
    assert_eq!(transport_url("smtp://relay:25?tls=none"), "smtp://relay:25");
    assert_eq!(
        transport_url("smtp://relay:25?tls=none&x=1"),
        "smtp://relay:25?x=1"
    );
    assert_eq!(
        transport_url("smtps://mail.example"),
        "smtps://mail.example"
    );
    assert_eq!(
        transport_url("smtp://m?tls=opportunistic"),
        "smtp://m?tls=opportunistic"
    );
}

#[tokio::test]
async fn the_text_part_of_an_email_carries_names_as_typed_and_the_html_part_escapes_them() {
    use canopy::db::schema::outbox;
    use diesel::prelude::*;
    let app = crate::helpers::spawn_app().await;
    let tenant = app.root("O'Brien & Sons <Ltd>");
    invite_directly(&app, &tenant, "new@obrien.example");

    let (text, html): (String, String) = outbox::table
        .select((outbox::text_body, outbox::html_body))
        .first(&mut app.conn())
        .unwrap();

    assert!(text.contains("O'Brien & Sons <Ltd>"), "{text}");
    assert!(!text.contains("&#") && !text.contains("&amp;") && !text.contains("&lt;"));
    assert!(!html.contains("O'Brien & Sons <Ltd>"));
    assert!(
        html.contains("&lt;Ltd&gt;") || html.contains("&#60;Ltd&#62;"),
        "{html}"
    );
}

fn state_of(app: &TestApp, email: &str) -> String {
    use canopy::db::schema::invitations::dsl;
    use diesel::prelude::*;
    dsl::invitations
        .filter(dsl::email.eq(email))
        .select(dsl::state)
        .first(&mut app.conn())
        .unwrap()
}

/// The invitation link in the (local mailbox) email sent to `email`.
fn link_for(app: &TestApp, email: &str) -> String {
    use canopy::db::schema::outbox::dsl;
    use diesel::prelude::*;
    let text: String = dsl::outbox
        .filter(dsl::to_email.eq(email))
        .order(dsl::id.desc())
        .select(dsl::text_body)
        .first(&mut app.conn())
        .unwrap();
    let start = text.find("/invitations/").unwrap();
    text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect()
}

#[tokio::test]
async fn pending_invitations_die_when_their_sender_is_demoted_or_disabled() {
    let app = crate::helpers::spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    let carl = app.user("carl@acme.example", &acme, Role::Admin);
    app.user("boss@rent.example", &rent, Role::Admin);
    let mut ann_b = app.signed_in("ann@acme.example").await;
    let mut carl_b = app.signed_in("carl@acme.example").await;
    invite(&mut ann_b, acme.id.uuid(), "from-ann@x.example", "viewer").await;
    invite(&mut carl_b, acme.id.uuid(), "from-carl@x.example", "viewer").await;
    let mut boss = app.signed_in("boss@rent.example").await;
    boss.get(&format!("/tenants/{}/members", acme.id)).await;

    boss.post(
        &format!("/tenants/{}/members/{ann}/role", acme.id),
        &[("role", "viewer")],
    )
    .await;
    boss.get(&format!("/tenants/{}/members", acme.id)).await;
    boss.post(
        &format!("/tenants/{}/members/{carl}/status", acme.id),
        &[("status", "disabled")],
    )
    .await;

    assert_eq!(state_of(&app, "from-ann@x.example"), "revoked");
    assert_eq!(state_of(&app, "from-carl@x.example"), "revoked");
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'invitation.revoke' \
             AND detail->>'reason' LIKE 'the inviter%'"
        ),
        2
    );
    let page = app
        .browser()
        .get(&link_for(&app, "from-ann@x.example"))
        .await;
    assert_eq!(page.status, StatusCode::GONE);
}

#[tokio::test]
async fn opening_or_accepting_re_checks_that_the_sender_may_still_grant_the_access() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    invite(&mut ann, acme.id.uuid(), "late@x.example", "viewer").await;
    let link = link_for(&app, "late@x.example");
    assert_eq!(app.browser().get(&link).await.status, StatusCode::OK);
    // Ann's admin grant goes without passing through the code that revokes her invitations.
    app.count(
        "WITH u AS (UPDATE memberships SET role_id = '00000000-0000-7000-8000-000000000002' RETURNING 1) SELECT count(*) AS n FROM u",
    );

    let mut invitee = app.browser();
    let opened = invitee.get(&link).await;
    let accepted = invitee
        .post(
            &link,
            &[
                ("display_name", "Late"),
                ("password", NEW_PASSWORD),
                ("password_confirm", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(opened.status, StatusCode::GONE);
    assert!(opened.body.contains("withdrawn"), "{}", opened.body);
    assert_ne!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE email = 'late@x.example'"),
        0
    );
}

#[tokio::test]
async fn invitations_stop_at_the_hourly_limits_with_a_clear_message() {
    let app = crate::helpers::spawn_app_with(&[
        ("CANOPY_INVITATIONS_PER_SENDER_HOUR", "3"),
        ("CANOPY_INVITATIONS_PER_TENANT_HOUR", "4"),
    ])
    .await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("bea@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut bea = app.signed_in("bea@acme.example").await;
    for i in 0..3 {
        let r = invite(
            &mut ann,
            acme.id.uuid(),
            &format!("a{i}@x.example"),
            "viewer",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
    }

    let fourth = invite(&mut ann, acme.id.uuid(), "a3@x.example", "viewer").await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        fourth
            .body
            .contains("You have sent 3 invitations in the last hour")
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM invitations"), 3);
    assert_eq!(app.count("SELECT count(*) AS n FROM outbox"), 3);
    // Another admin may send until the tenant's own limit.
    assert_eq!(
        invite(&mut bea, acme.id.uuid(), "b0@x.example", "viewer")
            .await
            .status,
        StatusCode::OK
    );
    let over = invite(&mut bea, acme.id.uuid(), "b1@x.example", "viewer").await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(over.body.contains("This tenant has sent 4 invitations"));
    // Resending counts too.
    let id: Uuid = {
        use canopy::db::schema::invitations::dsl;
        use diesel::prelude::*;
        dsl::invitations
            .select(dsl::id)
            .first(&mut app.conn())
            .unwrap()
    };
    bea.get(&format!("/tenants/{}/invitations", acme.id)).await;
    let resend = bea
        .post(
            &format!("/tenants/{}/invitations/{id}/resend", acme.id),
            &[],
        )
        .await;
    assert_eq!(resend.status, StatusCode::TOO_MANY_REQUESTS);
    // An hour later the limits are free again.
    app.count("WITH u AS (UPDATE invitation_sends SET at = at - interval '61 minutes' RETURNING 1) SELECT count(*) AS n FROM u");
    assert_eq!(
        invite(&mut ann, acme.id.uuid(), "a3@x.example", "viewer")
            .await
            .status,
        StatusCode::OK
    );
}
