//! Journeys in headless Chromium: custom roles, groups and two-factor sign-in.
use canopy::domain::roles::Role;
use fantoccini::{Client, Locator};

use crate::browser::*;
use crate::helpers::{PASSWORD, spawn_app};

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
    crate::browser::assert_clean_console(&admin).await;
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
    tess.goto(&format!(
        "{}{}/edit",
        app.base,
        crate::devices::page(&app, truck)
    ))
    .await
    .unwrap();
    let name = tess.find(Locator::Id("name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("Truck one").await.unwrap();
    click(&tess, "#device-form button[type=submit]").await;
    assert!(wait_for_path(&tess, &crate::devices::page(&app, truck)).await);
    assert!(wait_for_text(&tess, "h1", "Truck one").await);
    // …and the members page, typed by hand, is closed to her and says why.
    tess.goto(&format!("{}/tenants/{}/members", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&tess, "h1", "Not allowed").await);
    assert!(wait_for_text(&tess, "main", "Members: view").await);
    crate::browser::assert_clean_console(&tess).await;
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
    crate::browser::assert_clean_console(&c).await;
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
    crate::browser::assert_clean_console(&d).await;
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
    crate::browser::assert_clean_console(&c).await;
    c.close().await.unwrap();
}
