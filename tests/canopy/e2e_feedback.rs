//! Every action answers, in headless Chromium: the success message after each kind of change,
//! a double click that sends a form once, and a request the network dropped that says so and
//! goes through when tried again.
use canopy::domain::roles::Role;
use fantoccini::{Client, Locator};

use crate::browser::{
    assert_clean_console, browser, click, console_errors, sign_in, type_into, wait_for_text,
};

/// ChromeDriver's own command to take the browser off the network, or back on.
#[derive(Debug)]
struct Offline(bool);

impl fantoccini::wd::WebDriverCompatibleCommand for Offline {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/chromium/network_conditions",
            session.unwrap_or_default()
        ))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "network_conditions": {
            "offline": self.0, "latency": 0, "download_throughput": -1, "upload_throughput": -1,
        }});
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn enabled(c: &Client, id: &str) -> bool {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap()
}

async fn visit(c: &Client, base: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
}

#[tokio::test]
async fn each_kind_of_change_says_it_happened_in_the_live_region() {
    let app = crate::helpers::spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme Haulage Ltd");
    app.user("alice@rentafone.example", &root, Role::Admin);
    for i in 0..3 {
        crate::devices::device_in(&app, &root, &format!("SAT-{i}"));
    }
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "alice@rentafone.example").await;

    // Rename.
    visit(&c, &app.base, &format!("/tenants/{}", acme.id)).await;
    let field = c.find(Locator::Id("rename")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("Acme Haulage").await.unwrap();
    click(&c, "#rename ~ button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Renamed to Acme Haulage.").await);
    crate::browser::snapshot(&c, "success-message").await;

    // Invite.
    visit(&c, &app.base, &format!("/tenants/{}/invitations", acme.id)).await;
    type_into(&c, "email", "dana@example.com").await;
    click(&c, "#invite-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Invitation sent to dana@example.com.").await);

    // Branding.
    visit(&c, &app.base, &format!("/tenants/{}/branding", acme.id)).await;
    type_into(&c, "brand-name", "Acme").await;
    click(&c, "#branding-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Branding saved").await);

    // A device move: its buttons wait for a ticked device, and the hint counts them.
    visit(&c, &app.base, &format!("/tenants/{}/devices", root.id)).await;
    for id in ["move-preview", "add-to-group-preview", "schedule-preview"] {
        assert!(!enabled(&c, id).await, "{id} is live with nothing ticked");
    }
    click(&c, "input[aria-label='Select Device SAT-1']").await;
    click(&c, "input[aria-label='Select Device SAT-2']").await;
    assert!(wait_for_text(&c, "#selection-hint", "2 devices ticked.").await);
    click(&c, "input[aria-label='Select Device SAT-1']").await;
    click(&c, "input[aria-label='Select Device SAT-2']").await;
    assert!(wait_for_text(&c, "#selection-hint", "Tick the devices").await);
    assert!(!enabled(&c, "move-preview").await);
    click(&c, "input[aria-label='Select Device SAT-0']").await;
    assert!(enabled(&c, "move-preview").await);
    click(&c, "#move-to").await;
    assert!(wait_for_text(&c, "#move-to", "Acme Haulage").await);
    c.find(Locator::Id("move-to"))
        .await
        .unwrap()
        .select_by_label("Acme Haulage")
        .await
        .unwrap();
    click(&c, "#move-preview").await;
    assert!(wait_for_text(&c, "h1", "Move 1 device to Acme Haulage").await);
    click(&c, "#confirm-move").await;
    assert!(wait_for_text(&c, "#flash", "1 device moved to Acme Haulage.").await);

    // An import: checked, then run; the progress page says what it did.
    let csv = std::env::temp_dir().join(format!("canopy-import-{}.csv", app.port));
    std::fs::write(
        &csv,
        "imei,serial,name,model,kind,status,phone,notes\n,NEW-1,New one,,tracker,active,,\n",
    )
    .unwrap();
    visit(
        &c,
        &app.base,
        &format!("/tenants/{}/devices/import", acme.id),
    )
    .await;
    c.find(Locator::Id("file"))
        .await
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#import-form button[type=submit]").await;
    click(&c, "#run-import").await;
    assert!(wait_for_text(&c, "#import-done", "1 created").await);
    // The history of all that, as sentences.
    visit(&c, &app.base, &format!("/tenants/{}/audit", root.id)).await;
    assert!(
        wait_for_text(
            &c,
            "#audit-table",
            "renamed a tenant from “Acme Haulage Ltd” to “Acme Haulage”"
        )
        .await
    );
    crate::browser::snapshot(&c, "audit-log").await;
    assert_clean_console(&c).await;
}

#[tokio::test]
async fn a_double_click_sends_a_form_once() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    visit(&c, &app.base, &format!("/tenants/{}/contacts", acme.id)).await;
    type_into(&c, "contact-name", "Olly Dispatch").await;
    type_into(&c, "contact-email", "olly@acme.example").await;
    // Two clicks as a hand does them: the second once the first request is on its way, before
    // its answer has replaced the page.
    c.execute(
        "const b = document.querySelector('#contact-form button[type=submit]'); \
         b.click(); setTimeout(() => b.click(), 5);",
        vec![],
    )
    .await
    .unwrap();
    assert!(wait_for_text(&c, "#flash", "Olly Dispatch added").await);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM contacts WHERE name = 'Olly Dispatch'"),
        1,
        "one contact for a double click"
    );
    assert_clean_console(&c).await;
}

#[tokio::test]
async fn a_request_the_network_dropped_says_so_and_goes_through_when_tried_again() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    for serial in ["SAT-1", "SAT-2", "ROUTER-1"] {
        crate::devices::device_in(&app, &acme, serial);
    }
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    visit(&c, &app.base, &format!("/tenants/{}/devices", acme.id)).await;
    assert!(wait_for_text(&c, "#device-total", "3 devices").await);

    c.issue_cmd(Offline(true)).await.unwrap();
    type_into(&c, "q", "sat").await;
    assert!(
        wait_for_text(&c, "#flash", "could not be reached").await,
        "the failure is said"
    );
    assert!(
        wait_for_text(&c, "#device-total", "3 devices").await,
        "nothing changed"
    );
    c.issue_cmd(Offline(false)).await.unwrap();
    click(&c, "#flash-retry").await;
    assert!(
        wait_for_text(&c, "#device-total", "2 devices").await,
        "tried again, it went through"
    );
    // The only errors in the console are the requests the network dropped.
    for e in console_errors(&c).await {
        assert!(
            e.contains("ERR_INTERNET_DISCONNECTED") || e.contains("Failed to fetch"),
            "{e}"
        );
    }
}
