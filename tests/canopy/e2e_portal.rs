//! Chromium journeys through the portal as people use it: finding things from the header's
//! search with the keyboard alone.
use fantoccini::Locator;
use fantoccini::key::Key;

use canopy::domain::roles::Role;

use crate::e2e::{assert_clean_console, browser, sign_in, snapshot, wait_for_path, wait_for_text};

fn key(k: Key) -> String {
    char::from(k).to_string()
}

#[tokio::test]
async fn a_search_from_the_header_finds_a_phone_by_imei_and_opens_it_by_keyboard() {
    let app = crate::helpers::spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage");
    let leeds = app.child(&acme, "Acme Leeds");
    app.user("alice@rentafone.example", &rent, Role::Admin);
    let van = crate::devices::phone_in(&app, &leeds, "356601000000047", "Van 7", "+447700900047");
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "alice@rentafone.example").await;

    // Typing shows results under the box, grouped, with where each lives.
    let box_ = c.find(Locator::Id("search-q")).await.unwrap();
    box_.send_keys("3566010").await.unwrap();
    assert!(wait_for_text(&c, "#search-quick", "Van 7").await);
    assert!(
        wait_for_text(
            &c,
            "#search-quick",
            "Rent-a-fone › Acme Haulage › Acme Leeds"
        )
        .await
    );
    snapshot(&c, "search").await;
    // Tab goes from the box into the results; Enter opens the one in focus.
    box_.send_keys(&key(Key::Tab)).await.unwrap();
    let focused = c.active_element().await.unwrap();
    assert_eq!(
        focused.attr("href").await.unwrap().as_deref(),
        Some(format!("/devices/{van}").as_str())
    );
    focused.send_keys(&key(Key::Enter)).await.unwrap();
    assert!(wait_for_path(&c, &format!("/devices/{van}")).await);

    // Escape closes the results; Enter in the box opens the full results page.
    let box_ = c.find(Locator::Id("search-q")).await.unwrap();
    box_.send_keys("acme").await.unwrap();
    assert!(wait_for_text(&c, "#search-quick", "Acme Leeds").await);
    box_.send_keys(&key(Key::Escape)).await.unwrap();
    let quick = c.find(Locator::Id("search-quick")).await.unwrap();
    assert_eq!(quick.text().await.unwrap(), "");
    // (Escape also empties a search box, as browsers do.)
    box_.send_keys("acme").await.unwrap();
    box_.send_keys(&key(Key::Enter)).await.unwrap();
    assert!(wait_for_path(&c, "/search").await);
    assert!(
        wait_for_text(&c, "#hits-tenants", "Acme Haulage").await,
        "{} {}",
        c.current_url().await.unwrap(),
        c.source().await.unwrap()
    );
    assert_clean_console(&c).await;
}
