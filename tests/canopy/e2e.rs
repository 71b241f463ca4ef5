//! Journeys in headless Chromium: an admin's tree, invitations, moving phones, switching
//! tenants.
use canopy::domain::roles::Role;
use fantoccini::Locator;

use crate::browser::*;
use crate::helpers::spawn_app;

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
    crate::browser::assert_clean_console(&c).await;
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
    crate::browser::assert_clean_console(&admin).await;
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
    crate::browser::assert_clean_console(&invitee).await;
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
    crate::browser::assert_clean_console(&c).await;
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
    crate::browser::assert_clean_console(&uma).await;
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
    crate::browser::assert_clean_console(&c).await;
    c.close().await.unwrap();
}
