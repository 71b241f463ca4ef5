//! Two-factor sign-in, with codes computed by an implementation nobody here wrote: `pyotp`
//! (Debian's python3-pyotp), called as a small helper. Enrolment, the code step, replay,
//! recovery codes, the throttle, remembered browsers and a reset by an admin.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app};

/// The code pyotp computes for `secret` now (or at a Unix time).
pub fn pyotp(secret: &str, at: Option<i64>) -> String {
    let script = match at {
        Some(t) => format!("import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).at({t}))"),
        None => "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).now())".to_string(),
    };
    // Debian's Python, which has python3-pyotp (as the SMTP server uses its aiosmtpd).
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", &script, secret])
        .output()
        .expect("python3 with pyotp (scripts/test installs python3-pyotp)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The code of the next time step (accepted as a clock a little ahead), for a sign-in right
/// after enrolment has used up the current one.
fn next_code(secret: &str) -> String {
    pyotp(secret, Some(chrono::Utc::now().timestamp() + 30))
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body.find(start).map(|i| i + start.len()).unwrap_or(0);
    let to = body[from..].find(end).map_or(body.len(), |i| from + i);
    &body[from..to]
}

/// Switches two-factor sign-in on for the signed-in browser; returns the secret and the
/// recovery codes.
pub async fn enrol(b: &mut Browser) -> (String, Vec<String>) {
    let page = b.get("/account/two-factor").await;
    assert_eq!(page.status, StatusCode::OK);
    let secret = between(&page.body, "id=\"totp-secret\" class=\"mono\">", "<").to_string();
    assert!(secret.len() >= 32, "{}", page.body);
    let on = b
        .post("/account/two-factor", &[("code", &pyotp(&secret, None))])
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    let list = between(&on.body, "id=\"recovery-codes\" class=\"mono\">", "</ul>");
    let codes: Vec<String> = list
        .split("<li>")
        .skip(1)
        .map(|c| c.split("</li>").next().unwrap().to_string())
        .collect();
    (secret, codes)
}

/// Signs in with the password only: the answer (a redirect to the code step, or in).
async fn password_step(app: &TestApp, b: &mut Browser, email: &str) -> crate::helpers::Reply {
    let _ = app;
    b.get("/login").await;
    b.post("/login", &[("email", email), ("password", PASSWORD)])
        .await
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_needs_a_right_code_before_it_is_on() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;
    let page = ann.get("/account/two-factor").await;
    assert!(
        page.body.contains("<svg") && page.body.contains("QR code"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>"), "no inline script");
    let wrong = ann.post("/account/two-factor", &[("code", "000000")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("id=\"enrol-error\""));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE totp_secret IS NOT NULL"),
        0
    );
    let (_, codes) = enrol(&mut ann).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(app.count("SELECT count(*) AS n FROM recovery_codes"), 10);
    assert!(
        ann.get("/account")
            .await
            .body
            .contains("10 recovery codes left"),
        "the account page says it is on"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'user.two_factor_enable'"),
        1
    );
}

#[tokio::test]
async fn sign_in_takes_a_code_once_a_recovery_code_once_and_throttles_guessing() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Viewer);
    let mut first = app.signed_in("ann@acme.example").await;
    let (secret, codes) = enrol(&mut first).await;

    // The password alone does not sign in: it leads to the code step.
    let mut b = app.browser();
    let step = password_step(&app, &mut b, "ann@acme.example").await;
    assert_eq!(step.location(), Some("/login/code"));
    assert_eq!(
        b.get("/tenants").await.status,
        StatusCode::SEE_OTHER,
        "not in yet"
    );
    let form = b.get("/login/code").await;
    assert_eq!(form.status, StatusCode::OK);
    let wrong = b.post("/login/code", &[("code", "123456")]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("id=\"code-error\""));
    // Enrolment used up this step's code: the next step's is the one to type.
    let code = next_code(&secret);
    let ok = b.post("/login/code", &[("code", &code)]).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(b.get("/tenants").await.status, StatusCode::OK);

    // The same code again, from another browser: a replay, refused.
    let mut thief = app.browser();
    password_step(&app, &mut thief, "ann@acme.example").await;
    thief.get("/login/code").await;
    let replay = thief.post("/login/code", &[("code", &code)]).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    // A recovery code works once.
    let recovery = &codes[0];
    let used = thief.post("/login/code", &[("code", recovery)]).await;
    assert_eq!(used.status, StatusCode::SEE_OTHER);
    let mut again = app.browser();
    password_step(&app, &mut again, "ann@acme.example").await;
    again.get("/login/code").await;
    let twice = again.post("/login/code", &[("code", recovery)]).await;
    assert_eq!(twice.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'session.recovery_code_used'"
        ),
        1
    );
    let reasons = app.count(
        "SELECT count(DISTINCT detail->>'reason') AS n FROM audit_events \
         WHERE action = 'session.code_refused'",
    );
    assert_eq!(
        reasons, 3,
        "wrong, replayed and used recovery codes are audited apart"
    );

    // Guessing is throttled like passwords: past the limit even the right code waits.
    for _ in 0..canopy::domain::throttle::MAX_CODES {
        again.post("/login/code", &[("code", "000000")]).await;
    }
    let fresh = pyotp(&secret, Some(chrono::Utc::now().timestamp() + 30));
    let blocked = again.post("/login/code", &[("code", &fresh)]).await;
    assert_eq!(
        blocked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        blocked.body
    );
}

#[tokio::test]
async fn a_remembered_browser_skips_the_code_until_the_password_changes() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;
    let (secret, _) = enrol(&mut ann).await;
    ann.get("/tenants").await;
    ann.post("/logout", &[]).await;

    password_step(&app, &mut ann, "ann@acme.example").await;
    ann.get("/login/code").await;
    let ok = ann
        .post(
            "/login/code",
            &[("code", &next_code(&secret)), ("remember", "1")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    ann.get("/tenants").await;
    ann.post("/logout", &[]).await;
    let skipped = password_step(&app, &mut ann, "ann@acme.example").await;
    assert_ne!(skipped.location(), Some("/login/code"), "remembered");
    assert_eq!(ann.get("/tenants").await.status, StatusCode::OK);

    // A password change forgets every remembered browser.
    ann.get("/account").await;
    let changed = ann
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a brand new passphrase"),
                ("password_confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    ann.post("/logout", &[]).await;
    ann.get("/login").await;
    let asked = ann
        .post(
            "/login",
            &[
                ("email", "ann@acme.example"),
                ("password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(asked.location(), Some("/login/code"));
}

#[tokio::test]
async fn an_admin_above_resets_a_lost_second_factor_and_the_person_is_told() {
    let app = spawn_app().await;
    app.start_worker();
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let other = app.root("Other Co");
    app.user("alice@rent.example", &rent, Role::Admin);
    app.user("otto@other.example", &other, Role::Admin);
    let ann = app.user("ann@acme.example", &acme, Role::Viewer);
    let mut ann_b = app.signed_in("ann@acme.example").await;
    enrol(&mut ann_b).await;

    // Another tree's admin cannot even see her.
    let mut otto = app.signed_in("otto@other.example").await;
    let refused = otto
        .post(
            &format!("/tenants/{}/members/{ann}/two-factor", acme.id),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // She cannot reset her own through the admin route either (her account page does that).
    let own = ann_b
        .post(
            &format!("/tenants/{}/members/{ann}/two-factor", acme.id),
            &[],
        )
        .await;
    assert!(own.status == StatusCode::FORBIDDEN || own.status == StatusCode::NOT_FOUND);

    let mut alice = app.signed_in("alice@rent.example").await;
    let page = alice
        .get(&format!("/tenants/{}/members/{ann}/role", acme.id))
        .await;
    assert!(page.body.contains("reset-two-factor-form"), "{}", page.body);
    let title = page
        .body
        .split("<title>")
        .nth(1)
        .unwrap()
        .split("</title>")
        .next()
        .unwrap();
    assert!(!title.contains('<'), "the title is text only: {title}");
    assert_eq!(page.body.matches("reset-two-factor-form").count(), 1);
    let reset = alice
        .post(
            &format!("/tenants/{}/members/{ann}/two-factor", acme.id),
            &[],
        )
        .await;
    assert_eq!(reset.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM users WHERE totp_secret IS NOT NULL"),
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM outbox WHERE to_email = 'ann@acme.example' \
             AND subject LIKE '%two-factor sign-in was reset%'"
        ),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'user.two_factor_reset'"),
        1
    );
    let mut fresh = app.browser();
    let res = password_step(&app, &mut fresh, "ann@acme.example").await;
    assert_ne!(res.location(), Some("/login/code"));
}

#[tokio::test]
async fn the_code_step_without_a_right_password_first_leads_back_to_sign_in() {
    let app = spawn_app().await;
    let mut b = app.browser();
    let res = b.get("/login/code").await;
    assert_eq!(res.location(), Some("/login"));
    b.get("/login").await;
    let posted = b.post("/login/code", &[("code", "123456")]).await;
    assert_eq!(posted.location(), Some("/login"));
}
