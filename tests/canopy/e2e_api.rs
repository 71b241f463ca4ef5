//! The README's API example in headless Chromium: an admin makes a key on the API keys page,
//! copies the secret shown once, and a program lists devices and creates one with it.
use canopy::domain::roles::Role;
use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use crate::api::Api;
use crate::browser::{browser, click, sign_in, snapshot, type_into, wait_for_text};

#[tokio::test]
async fn an_admin_makes_a_key_in_the_browser_and_a_program_uses_it() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme Haulage Ltd");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "SAT-PHONE-7");

    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    c.goto(&format!("{}/tenants/{}", app.base, acme.id))
        .await
        .unwrap();
    click(&c, "a[href$='/api-keys']").await;
    assert!(wait_for_text(&c, "h1", "API keys").await);
    type_into(&c, "name", "ERP sync").await;
    let role = c.find(Locator::Id("role")).await.unwrap();
    let operator = role
        .find(Locator::XPath("option[.='Operator']"))
        .await
        .unwrap();
    let value = operator.attr("value").await.unwrap().unwrap();
    role.select_by_value(&value).await.unwrap();
    click(&c, "#key-form button[type=submit]").await;
    assert!(wait_for_text(&c, "#new-key", "shown this once").await);
    let secret = c
        .find(Locator::Id("secret"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(secret.starts_with("cnp_"), "{secret}");
    snapshot(&c, "api-keys").await;

    let api = Api::new(&app, &secret);
    let list = api
        .get(&format!("/api/v1/tenants/{}/devices", acme.id))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.json["items"][0]["identifier"], "SAT-PHONE-7");
    let made = api
        .post(
            &format!("/api/v1/tenants/{}/devices", acme.id),
            &json!({"imei": "356601000000047", "name": "Olly's phone", "kind": "phone"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

    // Back in the browser: the key is listed by its prefix, used, and revocable; after the
    // confirmation it is refused.
    c.goto(&format!("{}/tenants/{}/api-keys", app.base, acme.id))
        .await
        .unwrap();
    assert!(wait_for_text(&c, "table", &secret[..12]).await);
    assert!(!c.source().await.unwrap().contains(&secret), "shown once");
    c.execute("window.confirm = () => true;", vec![])
        .await
        .unwrap();
    click(&c, "table button.danger").await;
    assert!(wait_for_text(&c, "#flash", "revoked").await);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    crate::browser::assert_clean_console(&c).await;
}
