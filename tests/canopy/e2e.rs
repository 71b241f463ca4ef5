//! Journeys in headless Chromium (Debian's chromium + chromium-driver), driven by WebDriver.
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use canopy::domain::roles::Role;
use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{PASSWORD, spawn_app};

/// chromedriver on a free port, in a process group of its own; when dropped (also when a
/// test fails), the whole group goes — the driver and every Chromium it started — before the
/// profile is removed.
pub(crate) struct Driver {
    child: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub(crate) async fn browser() -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
    let profile =
        std::env::temp_dir().join(format!("canopy-chromium-{}", uuid::Uuid::now_v7().simple()));
    let driver = Driver {
        child,
        port,
        profile,
    };
    let mut caps = serde_json::Map::new();
    // The console is kept, so that a journey can fail on any error in it.
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                format!("--user-data-dir={}", driver.profile.display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(client) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return (driver, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not start a Chromium session");
}

/// ChromeDriver's command for the browser's console since it was last read.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }
    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// The errors in the browser's console since it was last read: a script error, a CSP
/// violation, a resource that failed to load. An answer the journey asked for on purpose (a
/// form refused with 4xx, shown in place) is not one.
pub(crate) async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(ConsoleLog).await.unwrap();
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .filter(|m| {
            !(m.contains("the server responded with a status of 4")
                && m.contains("Failed to load resource"))
        })
        .collect()
}

/// Every journey ends here: nothing went wrong in the browser on the way.
pub(crate) async fn assert_clean_console(c: &Client) {
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "the browser's console: {errors:#?}");
}

/// With CANOPY_SCREENSHOTS=<folder>, keeps a picture of the page for people to look at.
pub(crate) async fn snapshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("CANOPY_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

pub(crate) async fn wait_for_text(c: &Client, css: &str, text: &str) -> bool {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await
            && e.text().await.unwrap_or_default().contains(text)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub(crate) async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub(crate) async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(c, "email", email).await;
    type_into(c, "password", PASSWORD).await;
    click(c, "form button[type=submit]").await;
    assert!(wait_for_dashboard(c).await, "landed on a dashboard");
}

async fn wait_for_dashboard(c: &Client) -> bool {
    for _ in 0..100 {
        if c.current_url()
            .await
            .map(|u| u.path().ends_with("/dashboard"))
            .unwrap_or(false)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub(crate) async fn wait_for_path(c: &Client, path: &str) -> bool {
    for _ in 0..100 {
        if c.current_url()
            .await
            .map(|u| u.path() == path)
            .unwrap_or(false)
        {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn an_admin_signs_in_creates_a_sub_tenant_in_place_sees_it_in_the_tree_and_signs_out() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    app.user("alice@rentafone.example", &root, Role::Admin);
    let (_driver, c) = browser().await;

    sign_in(&c, &app.base, "alice@rentafone.example").await;

    c.goto(&format!("{}/tenants/{}", app.base, root.id))
        .await
        .unwrap();
    // A marker that a full page load would wipe out.
    c.execute("window.canopyMarker = 42; return null;", vec![])
        .await
        .unwrap();
    type_into(&c, "new-name", "Acme Haulage Ltd").await;
    click(&c, "#subtenants button[type=submit]").await;

    assert!(
        wait_for_text(&c, "#subtenants .nodes", "Acme Haulage Ltd").await,
        "appears in place"
    );
    snapshot(&c, "tenant-page").await;
    let marker = c
        .execute("return window.canopyMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, serde_json::json!(42), "no full page load");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM tenants WHERE name = 'Acme Haulage Ltd'"),
        1
    );

    // The tree opens lazily in place; the address keeps it open across a reload; it closes.
    c.goto(&format!("{}/tenants", app.base)).await.unwrap();
    c.execute("window.canopyMarker = 7; return null;", vec![])
        .await
        .unwrap();
    let toggle = format!("#node-{} > a.expand", root.id);
    click(&c, &toggle).await;
    assert!(wait_for_text(&c, &format!("#children-{}", root.id), "Acme Haulage Ltd").await);
    let marker = c
        .execute("return window.canopyMarker || null;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, serde_json::json!(7), "opened in place");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with(&format!("/tenants?open={}", root.id))
    );
    snapshot(&c, "tree").await;
    c.refresh().await.unwrap();
    let branch = c
        .find(Locator::Id(&format!("children-{}", root.id)))
        .await
        .unwrap();
    assert!(branch.text().await.unwrap().contains("Acme Haulage Ltd"));
    click(&c, &toggle).await;
    assert!(!branch.is_displayed().await.unwrap(), "closed");
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/tenants")
    );

    click(&c, "header form button").await;
    assert!(wait_for_path(&c, "/login").await, "signed out");
    c.goto(&format!("{}/tenants", app.base)).await.unwrap();
    assert!(
        wait_for_path(&c, "/login").await,
        "the tree needs a new sign-in"
    );
    crate::e2e::assert_clean_console(&c).await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_invites_and_the_invitee_accepts_from_the_email_in_a_fresh_browser() {
    let smtp = crate::smtp::SmtpServer::start();
    let smtp_url = smtp.url();
    let app = crate::helpers::spawn_app_with(&[("CANOPY_SMTP_URL", &smtp_url)]).await;
    app.start_worker();
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "ACME-TRUCK-1");
    crate::devices::device_in(&app, &rent, "RENT-STOCK-1");

    let (_admin_driver, admin) = browser().await;
    sign_in(&admin, &app.base, "ann@acme.example").await;
    admin
        .goto(&format!("{}/tenants/{}/invitations", app.base, acme.id))
        .await
        .unwrap();
    // Acme presents itself under its own brand.
    admin
        .goto(&format!("{}/tenants/{}/branding", app.base, acme.id))
        .await
        .unwrap();
    type_into(&admin, "brand-name", "Acme Haulage").await;
    type_into(&admin, "brand-accent", "#8a2b1d").await;
    click(&admin, "#branding-form button[type=submit]").await;
    assert!(wait_for_text(&admin, "#flash", "Branding saved").await);
    assert!(wait_for_text(&admin, "header .brand", "Acme Haulage").await);
    admin
        .goto(&format!("{}/tenants/{}/invitations", app.base, acme.id))
        .await
        .unwrap();
    type_into(&admin, "email", "dana@example.com").await;
    click(&admin, "#invite-form button[type=submit]").await;
    assert!(wait_for_text(&admin, "#flash", "Invitation sent to dana@example.com").await);
    snapshot(&admin, "invitations").await;
    admin
        .goto(&format!("{}/tenants/{}/dashboard", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&admin, ".activity", "invited someone").await);
    snapshot(&admin, "dashboard-desktop").await;
    admin.set_window_size(390, 1100).await.unwrap();
    snapshot(&admin, "dashboard-phone").await;
    crate::e2e::assert_clean_console(&admin).await;
    admin.close().await.unwrap();

    let message = &smtp.wait_for(1).await[0];
    let url = crate::smtp::link(message, &app.base, "/invitations/");
    let (_invitee_driver, invitee) = browser().await;
    invitee.goto(&url).await.unwrap();
    assert!(wait_for_text(&invitee, "h1", "Join Acme Haulage Ltd").await);
    type_into(&invitee, "display_name", "Dana Driver").await;
    type_into(&invitee, "password", "a long secret of her own").await;
    type_into(&invitee, "password_confirm", "a long secret of her own").await;
    click(&invitee, "#accept-form button[type=submit]").await;

    assert!(
        wait_for_path(&invitee, &format!("/tenants/{}/dashboard", acme.id)).await,
        "lands in the tenant"
    );
    assert!(wait_for_text(&invitee, "h1", "Acme Haulage Ltd").await);
    assert!(wait_for_text(&invitee, "header .who", "Dana Driver").await);
    // Acme's dashboard, under Acme's brand, with Acme's devices only.
    assert!(wait_for_text(&invitee, "header .brand", "Acme Haulage").await);
    assert!(invitee.title().await.unwrap().ends_with("Acme Haulage"));
    assert!(wait_for_text(&invitee, "#card-devices", "device").await);
    let devices = invitee
        .find(Locator::Css("#card-devices .number"))
        .await
        .unwrap();
    assert_eq!(devices.text().await.unwrap(), "1");
    let page = invitee.source().await.unwrap();
    assert!(!page.contains("Rent-a-fone") && !page.contains("RENT-STOCK"));
    snapshot(&invitee, "customer-first-dashboard").await;
    crate::e2e::assert_clean_console(&invitee).await;
    invitee.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_filters_selects_and_moves_phones_to_a_customer_who_then_sees_them() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme Haulage Ltd");
    let uk = app.child(&acme, "Acme UK");
    app.user("alice@rentafone.example", &root, Role::Admin);
    app.user("uma@acme.example", &uk, Role::Viewer);
    for i in 0..4 {
        crate::devices::device_in(&app, &root, &format!("SAT-{i}"));
    }
    crate::devices::device_in(&app, &root, "ROUTER-1");
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "alice@rentafone.example").await;

    c.goto(&format!("{}/tenants/{}/devices", app.base, root.id))
        .await
        .unwrap();
    assert!(wait_for_text(&c, "#device-total", "5 devices").await);
    type_into(&c, "q", "sat").await;
    assert!(
        wait_for_text(&c, "#device-total", "4 devices").await,
        "filtered in place"
    );
    let url = c.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or("").contains("q=sat"),
        "the filter is in the URL: {url}"
    );
    for i in 0..3 {
        let checkbox = format!("input[aria-label='Select Device SAT-{i}']");
        click(&c, &checkbox).await;
    }
    // The move targets load when the picker is reached for.
    click(&c, "#move-to").await;
    assert!(
        wait_for_text(&c, "#move-to", "Acme UK").await,
        "move targets loaded"
    );
    let select = c.find(Locator::Id("move-to")).await.unwrap();
    select.select_by_label("Acme UK").await.unwrap();
    c.find(Locator::Id("move-preview"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(wait_for_text(&c, "h1", "Move 3 devices to Acme UK").await);
    snapshot(&c, "device-move-preview").await;
    c.find(Locator::Id("confirm-move"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(wait_for_text(&c, "#device-total", "5 devices").await);
    // So does the tenant filter; choosing a tenant lists its devices alone.
    click(&c, "#tenant-filter").await;
    assert!(
        wait_for_text(&c, "#tenant-filter", "Acme UK").await,
        "tenant filter loaded"
    );
    c.find(Locator::Id("tenant-filter"))
        .await
        .unwrap()
        .select_by_label("Acme UK")
        .await
        .unwrap();
    // A person's choice fires `input`, which the filter form listens to; chromedriver's option
    // click fires only `change`, so the test sends what the browser would.
    c.execute(
        "document.getElementById('tenant-filter').dispatchEvent(new Event('input', {bubbles: true}))",
        vec![],
    )
    .await
    .unwrap();
    assert!(
        wait_for_text(&c, "#device-total", "3 devices").await,
        "filtered to Acme UK"
    );
    crate::e2e::assert_clean_console(&c).await;
    c.close().await.unwrap();

    let (_driver2, uma) = browser().await;
    sign_in(&uma, &app.base, "uma@acme.example").await;
    uma.goto(&format!("{}/tenants/{}/devices", app.base, uk.id))
        .await
        .unwrap();
    assert!(wait_for_text(&uma, "#device-total", "3 devices").await);
    let list = uma
        .find(Locator::Id("device-results"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for i in 0..3 {
        assert!(list.contains(&format!("SAT-{i}")));
    }
    assert!(!list.contains("SAT-3") && !list.contains("ROUTER-1"));
    snapshot(&uma, "customer-devices").await;
    crate::e2e::assert_clean_console(&uma).await;
    uma.close().await.unwrap();
}

#[tokio::test]
async fn a_user_with_two_memberships_switches_tenants_from_the_header() {
    let app = spawn_app().await;
    let acme = app.root("Acme Haulage Ltd");
    let globex = app.root("Globex");
    let pat = app.user("pat@example.com", &acme, Role::Viewer);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        pat,
        &globex,
        Role::Admin,
    )
    .unwrap();
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "pat@example.com").await;
    assert!(wait_for_text(&c, "h1", "Acme Haulage Ltd").await);

    // Keyboard-free but real: pick the other tenant in the header and press Switch.
    c.find(Locator::Id("switch-tenant"))
        .await
        .unwrap()
        .select_by_value(&globex.id.to_string())
        .await
        .unwrap();
    click(&c, ".switcher button[type=submit]").await;
    assert!(
        wait_for_path(&c, &format!("/tenants/{}/dashboard", globex.id)).await,
        "lands on the other tenant's dashboard"
    );
    assert!(wait_for_text(&c, "h1", "Globex").await);
    assert!(
        wait_for_text(&c, ".meta", "Admin").await,
        "Globex's role applies"
    );
    assert!(wait_for_text(&c, ".main-nav", "Audit log").await);

    // Remembered: a new sign-in lands in Globex.
    c.delete_all_cookies().await.unwrap();
    sign_in(&c, &app.base, "pat@example.com").await;
    assert!(wait_for_text(&c, "h1", "Globex").await);
    crate::e2e::assert_clean_console(&c).await;
    c.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_defines_a_field_technician_whose_invitee_edits_devices_but_not_members() {
    let smtp = crate::smtp::SmtpServer::start();
    let smtp_url = smtp.url();
    let app = crate::helpers::spawn_app_with(&[("CANOPY_SMTP_URL", &smtp_url)]).await;
    app.start_worker();
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    let truck = crate::devices::device_in(&app, &acme, "ACME-TRUCK-1");

    let (_admin_driver, admin) = browser().await;
    sign_in(&admin, &app.base, "ann@acme.example").await;
    click(&admin, ".main-nav a[href$='/roles']").await;
    assert!(wait_for_text(&admin, "h1", "Roles of Acme Haulage Ltd").await);
    click(&admin, "a[href$='/roles/new']").await;
    assert!(wait_for_text(&admin, "h1", "New role").await);
    type_into(&admin, "role-name", "Field technician").await;
    type_into(&admin, "role-description", "Edits and moves devices").await;
    for key in ["devices.view", "devices.edit", "devices.move"] {
        click(&admin, &format!("input[name=permissions][value='{key}']")).await;
    }
    snapshot(&admin, "role-matrix").await;
    click(&admin, "#role-form button[type=submit]").await;
    assert!(wait_for_text(&admin, "h1", "Field technician").await);

    admin
        .goto(&format!("{}/tenants/{}/invitations", app.base, acme.id))
        .await
        .unwrap();
    type_into(&admin, "email", "tess@example.com").await;
    admin
        .find(Locator::Id("role"))
        .await
        .unwrap()
        .select_by_label("Field technician")
        .await
        .unwrap();
    click(&admin, "#invite-form button[type=submit]").await;
    assert!(wait_for_text(&admin, "#flash", "Invitation sent to tess@example.com").await);
    crate::e2e::assert_clean_console(&admin).await;
    admin.close().await.unwrap();

    let message = &smtp.wait_for(1).await[0];
    let url = crate::smtp::link(message, &app.base, "/invitations/");
    let (_driver, tess) = browser().await;
    tess.goto(&url).await.unwrap();
    assert!(wait_for_text(&tess, "main", "Field technician").await);
    type_into(&tess, "display_name", "Tess Technician").await;
    type_into(&tess, "password", "a long secret of her own").await;
    type_into(&tess, "password_confirm", "a long secret of her own").await;
    click(&tess, "#accept-form button[type=submit]").await;
    assert!(wait_for_dashboard(&tess).await, "lands in the tenant");
    assert!(wait_for_text(&tess, ".meta", "Field technician").await);
    let nav = tess
        .find(Locator::Css(".main-nav"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(nav.contains("Devices") && !nav.contains("Members"), "{nav}");

    // She edits a device…
    tess.goto(&format!("{}/devices/{truck}/edit", app.base))
        .await
        .unwrap();
    let name = tess.find(Locator::Id("name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Truck one").await.unwrap();
    click(&tess, "#device-form button[type=submit]").await;
    assert!(wait_for_path(&tess, &format!("/devices/{truck}")).await);
    assert!(wait_for_text(&tess, "h1", "Truck one").await);
    // …and the members page, typed by hand, is closed to her and says why.
    tess.goto(&format!("{}/tenants/{}/members", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&tess, "h1", "Not allowed").await);
    assert!(wait_for_text(&tess, "main", "Members: view").await);
    crate::e2e::assert_clean_console(&tess).await;
    tess.close().await.unwrap();
}

#[tokio::test]
async fn an_admin_groups_selected_phones_and_a_dispatcher_limited_to_the_group_sees_only_them() {
    let app = spawn_app().await;
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    let dina = app.user("dina@acme.example", &acme, Role::Viewer);
    for i in 0..3 {
        crate::devices::device_in(&app, &acme, &format!("NORTH-{i}"));
    }
    crate::devices::device_in(&app, &acme, "SOUTH-1");
    let north = crate::groups::group_in(&app, &acme, "North fleet");
    crate::groups::join(&app, north, acme.id, dina);
    crate::groups::limit(&app, dina, acme.id);

    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    c.goto(&format!("{}/tenants/{}/devices", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&c, "#device-total", "4 devices").await);
    for i in 0..3 {
        click(&c, &format!("input[aria-label='Select Device NORTH-{i}']")).await;
    }
    // The tenant's groups load when the picker is reached for.
    click(&c, "#add-to-group").await;
    assert!(wait_for_text(&c, "#add-to-group", "North fleet").await);
    c.find(Locator::Id("add-to-group"))
        .await
        .unwrap()
        .select_by_label("North fleet")
        .await
        .unwrap();
    click(&c, "#add-to-group-preview").await;
    assert!(wait_for_text(&c, "h1", "Add 3 devices to North fleet").await);
    click(&c, "#add-confirm").await;
    assert!(wait_for_text(&c, "#notice", "3 devices added to the group.").await);
    assert!(wait_for_text(&c, "#group-devices", "NORTH-2").await);
    snapshot(&c, "group-page").await;
    crate::e2e::assert_clean_console(&c).await;
    c.close().await.unwrap();

    let (_driver2, d) = browser().await;
    sign_in(&d, &app.base, "dina@acme.example").await;
    d.goto(&format!("{}/tenants/{}/devices", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&d, "#device-total", "3 devices").await);
    let list = d
        .find(Locator::Id("device-results"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        list.contains("NORTH-0") && !list.contains("SOUTH-1"),
        "{list}"
    );
    crate::e2e::assert_clean_console(&d).await;
    d.close().await.unwrap();
}

/// Signs out through the header's button and waits for the sign-in page.
async fn sign_out(c: &Client) {
    click(c, "form[action='/logout'] button").await;
    assert!(wait_for_path(c, "/login").await);
}

/// Types the password and lands on the code step.
async fn password_then_code_step(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    type_into(c, "email", email).await;
    type_into(c, "password", PASSWORD).await;
    click(c, "form button[type=submit]").await;
    assert!(wait_for_path(c, "/login/code").await, "asked for a code");
}

#[tokio::test]
async fn a_person_enrols_in_two_factor_signs_in_with_a_code_and_uses_a_recovery_code_once() {
    let app = spawn_app().await;
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Viewer);
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;

    click(&c, "#account-link").await;
    assert!(wait_for_text(&c, "h1", "Your account").await);
    click(&c, "#set-up-two-factor").await;
    assert!(wait_for_text(&c, "h1", "Two-factor sign-in").await);
    assert!(
        c.find(Locator::Css("figure.qr svg")).await.is_ok(),
        "the QR code is drawn"
    );
    snapshot(&c, "two-factor-enrol").await;
    let secret = c
        .find(Locator::Id("totp-secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    type_into(&c, "enrol-code", &crate::two_factor::pyotp(&secret, None)).await;
    click(&c, "#enrol-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#notice", "Two-factor sign-in is on.").await);
    let codes = c
        .find(Locator::Id("recovery-codes"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let recovery = codes.lines().next().unwrap().trim().to_string();
    sign_out(&c).await;

    // Password, then the app's code (the next step's: enrolment used this one).
    password_then_code_step(&c, &app.base, "ann@acme.example").await;
    let next = crate::two_factor::pyotp(&secret, Some(chrono::Utc::now().timestamp() + 30));
    type_into(&c, "code", &next).await;
    click(&c, "#code-form button[type=submit]").await;
    assert!(wait_for_dashboard(&c).await, "signed in with the code");
    sign_out(&c).await;

    // A recovery code works once…
    password_then_code_step(&c, &app.base, "ann@acme.example").await;
    type_into(&c, "code", &recovery).await;
    click(&c, "#code-form button[type=submit]").await;
    assert!(
        wait_for_dashboard(&c).await,
        "signed in with a recovery code"
    );
    sign_out(&c).await;
    // …and never again.
    password_then_code_step(&c, &app.base, "ann@acme.example").await;
    type_into(&c, "code", &recovery).await;
    click(&c, "#code-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#code-error", "not right").await);
    crate::e2e::assert_clean_console(&c).await;
    c.close().await.unwrap();
}
