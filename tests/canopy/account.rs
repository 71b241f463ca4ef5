//! The account page: a person changes their own name, password and time zone, sees where
//! they are signed in and ends a session — theirs only.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::{PASSWORD, spawn_app};

/// The handle of one of `email`'s sessions other than the one `except` names.
fn handles_of(app: &crate::helpers::TestApp, email: &str) -> Vec<String> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sid: String,
    }
    diesel::sql_query(
        "SELECT (s.state->>'sid')::jsonb #>> '{}' AS sid FROM sessions s \
         JOIN users u ON u.id = s.user_id WHERE u.email = $1 AND s.state ? 'sid' \
         ORDER BY s.created_at",
    )
    .bind::<diesel::sql_types::Text, _>(email)
    .load::<H>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|h| h.sid)
    .collect()
}

#[tokio::test]
async fn a_person_sees_their_sessions_and_ends_one_but_never_someone_elses() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Viewer);
    app.user("otto@other.example", &other, Role::Admin);
    let mut laptop = app.signed_in("ann@acme.example").await;
    let mut phone = app.signed_in("ann@acme.example").await;
    let mut otto = app.signed_in("otto@other.example").await;

    let page = laptop.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("ann@acme.example"));
    assert_eq!(
        page.body.matches("this browser").count(),
        1,
        "{}",
        page.body
    );
    assert_eq!(
        page.body
            .matches("action=\"/account/sessions/end\"")
            .count(),
        1
    );
    assert!(page.body.contains("127.0.0.1"), "the address is shown");
    assert!(page.body.contains("Acme"), "memberships are listed");

    // Otto cannot end Ann's session by naming it: 404, and it lives on.
    let ann_sessions = handles_of(&app, "ann@acme.example");
    assert_eq!(ann_sessions.len(), 2);
    for sid in &ann_sessions {
        let res = otto.post("/account/sessions/end", &[("sid", sid)]).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(phone.get("/tenants").await.status, StatusCode::OK);

    // Ann ends the phone's session from the laptop.
    let phone_sid = &ann_sessions[1];
    let ended = laptop
        .post("/account/sessions/end", &[("sid", phone_sid)])
        .await;
    assert_eq!(ended.location(), Some("/account?ended=1"));
    let after = phone.get("/tenants").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert_eq!(after.location(), Some("/login"));
    assert_eq!(laptop.get("/tenants").await.status, StatusCode::OK);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'session.end'"),
        1
    );
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Viewer);
    let mut laptop = app.signed_in("ann@acme.example").await;
    let mut phone = app.signed_in("ann@acme.example").await;
    laptop.get("/account").await;

    let wrong = laptop
        .post(
            "/account/password",
            &[
                ("current", "not it at all"),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("id=\"current-error\""),
        "{}",
        wrong.body
    );
    let weak = laptop
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(weak.body.contains("id=\"password-error\""), "{}", weak.body);
    assert_eq!(
        phone.get("/tenants").await.status,
        StatusCode::OK,
        "nothing changed"
    );

    let done = laptop
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(done.location(), Some("/account?password=1"));
    assert_eq!(
        laptop.get("/tenants").await.status,
        StatusCode::OK,
        "this one stays"
    );
    assert_eq!(
        phone.get("/tenants").await.status,
        StatusCode::SEE_OTHER,
        "the other ended"
    );
    let mut fresh = app.browser();
    assert_eq!(
        fresh.login("ann@acme.example", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        fresh
            .login("ann@acme.example", "a brand new passphrase")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'user.password_change'"),
        1
    );
}

#[tokio::test]
async fn name_and_time_zone_are_the_persons_own_and_times_follow_the_zone() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "ZONE-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get("/account").await;

    let empty = ann.post("/account/name", &[("display_name", "  ")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.body.contains("id=\"display_name-error\""));
    let named = ann
        .post("/account/name", &[("display_name", "Ann Example")])
        .await;
    assert_eq!(named.location(), Some("/account?saved=1"));
    assert!(ann.get("/tenants").await.body.contains("Ann Example"));

    let bad = ann
        .post("/account/time-zone", &[("time_zone", "Mars/Olympus_Mons")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("is not a time zone"), "{}", bad.body);
    let audit = ann.get(&format!("/tenants/{}/audit", acme.id)).await;
    assert!(
        audit.body.contains(" UTC\">"),
        "UTC until chosen: {}",
        audit.body
    );

    let set = ann
        .post("/account/time-zone", &[("time_zone", "Asia/Tokyo")])
        .await;
    assert_eq!(set.location(), Some("/account?saved=1"));
    let audit = ann.get(&format!("/tenants/{}/audit", acme.id)).await;
    assert!(audit.body.contains(" JST\">"), "{}", audit.body);
    // The machine-readable value stays UTC, whole seconds (a valid `datetime`).
    let start = audit.body.find("<time datetime=\"").unwrap() + 16;
    let value: String = audit.body[start..]
        .chars()
        .take_while(|c| *c != '"')
        .collect();
    assert_eq!(value.len(), 20, "{value}");
    assert!(value.ends_with('Z'), "{value}");
    // Empty goes back to UTC.
    ann.post("/account/time-zone", &[("time_zone", "")]).await;
    let audit = ann.get(&format!("/tenants/{}/audit", acme.id)).await;
    assert!(audit.body.contains(" UTC\">"));
}
