//! The check-in journey in headless Chromium: an admin makes a schedule and puts a phone on
//! it, the clock moves past due, the dashboard says so, the contact's email arrives over real
//! SMTP, and the admin acknowledges the alert.
use canopy::domain::roles::Role;
use fantoccini::Locator;

use crate::browser::{browser, click, sign_in, snapshot, type_into, wait_for_text};

#[tokio::test]
async fn an_admin_schedules_a_phone_sees_it_go_overdue_and_acknowledges_the_alert() {
    let smtp = crate::smtp::SmtpServer::start();
    let smtp_url = smtp.url();
    let app = crate::helpers::spawn_app_with(&[("CANOPY_SMTP_URL", &smtp_url)]).await;
    app.start_worker();
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    let phone = crate::devices::device_in(&app, &acme, "SAT-PHONE-7");
    crate::checkins::contact_in(&app, &acme, "Olly Dispatch", "olly@acme.example");

    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    c.goto(&format!("{}/tenants/{}/schedules/new", app.base, acme.id))
        .await
        .unwrap();
    // The form starts at every 4 hours with 30 minutes' grace; it needs a name and a contact.
    type_into(&c, "schedule-name", "Every 4 hours").await;
    click(&c, "#schedule-contacts input[name=tier1]").await;
    click(&c, "#schedule-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Schedule “Every 4 hours” created").await);
    assert!(wait_for_text(&c, "#schedule-facts", "Every 4 hours").await);
    assert!(wait_for_text(&c, "#schedule-facts", "30 minutes").await);

    c.goto(&format!(
        "{}{}",
        app.base,
        crate::devices::page(&app, phone)
    ))
    .await
    .unwrap();
    let select = c.find(Locator::Id("device-schedule")).await.unwrap();
    let option = select
        .find(Locator::XPath("option[contains(., 'Every 4 hours')]"))
        .await
        .unwrap();
    let value = option.attr("value").await.unwrap().unwrap();
    select.select_by_value(&value).await.unwrap();
    click(&c, "#schedule-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Schedule set").await);
    assert!(wait_for_text(&c, "#checkin-state", "OK").await);

    // Four and a half hours later, nobody has heard from the phone.
    crate::checkins::advance(&app, 4 * 60 + 31);
    assert_eq!(crate::checkins::pass(&app).opened, 1);
    c.goto(&format!("{}/tenants/{}/dashboard", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&c, "#card-overdue", "1").await);
    assert!(wait_for_text(&c, "#card-overdue", "overdue").await);
    let message = &smtp.wait_for(1).await[0];
    assert!(message.contains("olly@acme.example"), "{message}");
    assert!(message.contains("SAT-PHONE-7"), "{message}");

    click(&c, "#card-overdue").await;
    assert!(wait_for_text(&c, "#device-total", "1 device").await);
    c.goto(&format!("{}/tenants/{}/alerts", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&c, "#alerts", "Olly Dispatch").await);
    snapshot(&c, "alerts").await;
    let note = c
        .find(Locator::Css("#alerts input[name=note]"))
        .await
        .unwrap();
    note.send_keys("Called the driver: in a valley, fine")
        .await
        .unwrap();
    click(&c, "#alerts form button[type=submit]").await;
    assert!(wait_for_text(&c, "#flash", "Alert acknowledged").await);
    assert!(wait_for_text(&c, "#alerts", "Called the driver").await);
    crate::browser::assert_clean_console(&c).await;
    c.close().await.unwrap();
}
