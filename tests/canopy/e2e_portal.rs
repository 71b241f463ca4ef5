//! Chromium journeys through the portal as people use it: finding things from the header's
//! search with the keyboard alone.
use fantoccini::Locator;
use fantoccini::key::Key;

use canopy::domain::roles::Role;

use crate::browser::{
    assert_clean_console, browser, sign_in, snapshot, wait_for_path, wait_for_text,
};

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
        Some(crate::devices::page(&app, van).as_str())
    );
    focused.send_keys(&key(Key::Enter)).await.unwrap();
    assert!(wait_for_path(&c, &crate::devices::page(&app, van)).await);

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

/// The document's width beyond the window's: what a person would have to scroll sideways.
async fn sideways(c: &fantoccini::Client) -> i64 {
    c.execute(
        "return document.documentElement.scrollWidth - window.innerWidth;",
        vec![],
    )
    .await
    .unwrap()
    .as_i64()
    .unwrap()
}

#[tokio::test]
async fn at_phone_width_no_page_scrolls_sideways_and_every_device_value_is_labelled() {
    let app = crate::helpers::spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    // The pages an admin reaches by following links, found over HTTP.
    let mut b = app.browser();
    b.login("ann@acme.example", &demo.password).await;
    let pages = crate::html::crawl(&mut b).await;
    assert!(pages.len() > 20, "{}", pages.len());

    let (_driver, c) = browser().await;
    c.set_window_size(390, 844).await.unwrap();
    c.goto(&format!("{}/login", app.base)).await.unwrap();
    crate::browser::type_into(&c, "email", "ann@acme.example").await;
    crate::browser::type_into(&c, "password", &demo.password).await;
    crate::browser::click(&c, "form button[type=submit]").await;
    assert!(wait_for_text(&c, "h1", "Acme").await);
    let width = c
        .execute("return window.innerWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_i64().unwrap() <= 400,
        "the window is phone-sized: {width}"
    );
    let mut wide = Vec::new();
    for (url, _) in &pages {
        c.goto(&format!("{}{url}", app.base)).await.unwrap();
        let over = sideways(&c).await;
        if over > 0 {
            wide.push(format!("{url}: {over} px"));
        }
    }
    assert!(
        wide.is_empty(),
        "pages wider than a phone:\n{}",
        wide.join("\n")
    );

    // The device list: rows are cards, and every value says which column it is.
    let devices = pages
        .iter()
        .find(|(u, _)| u.ends_with("/devices"))
        .map(|(u, _)| u.clone())
        .unwrap();
    c.goto(&format!("{}{devices}", app.base)).await.unwrap();
    let unlabelled = c
        .execute(
            "const cells = [...document.querySelectorAll('#device-results td')];
             return [cells.length, cells.filter(td => {
               const label = getComputedStyle(td, '::before').content;
               return !label || label === 'none' || label === '\"\"';
             }).length];",
            vec![],
        )
        .await
        .unwrap();
    let counts: Vec<i64> = unlabelled
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert!(counts[0] > 10, "{counts:?}");
    assert_eq!(
        counts[1], 0,
        "cells without their column's name: {counts:?}"
    );
    snapshot(&c, "phone-devices").await;
    // Its actions stay within reach: the move button is on screen width-wise.
    let right = c
        .execute(
            "return document.getElementById('move-preview').getBoundingClientRect().right;",
            vec![],
        )
        .await
        .unwrap();
    assert!(right.as_f64().unwrap() <= 390.0, "{right}");
    assert_clean_console(&c).await;
}

/// What has the keyboard focus: its id, or its tag when it has none.
async fn focused(c: &fantoccini::Client) -> String {
    c.execute(
        "const e = document.activeElement; return e.id || e.tagName.toLowerCase();",
        vec![],
    )
    .await
    .unwrap()
    .as_str()
    .unwrap_or_default()
    .to_string()
}

#[tokio::test]
async fn after_an_update_in_place_the_focus_stays_where_the_change_happened() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let (_driver, c) = browser().await;
    sign_in(&c, &app.base, "ann@acme.example").await;
    c.goto(&format!("{}/tenants/{}", app.base, acme.id))
        .await
        .unwrap();
    // A refused name: the field that needs fixing has the focus.
    crate::browser::type_into(&c, "new-name", "---").await;
    crate::browser::click(&c, "#subtenants button[type=submit]").await;
    assert!(wait_for_text(&c, "#new-name-error", "letter or digit").await);
    assert_eq!(focused(&c).await, "new-name");
    // A created one: the focus is in the updated list, not lost to the page.
    let field = c.find(Locator::Id("new-name")).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys("Acme North").await.unwrap();
    crate::browser::click(&c, "#subtenants button[type=submit]").await;
    assert!(wait_for_text(&c, "#subtenants .nodes", "Acme North").await);
    assert_eq!(focused(&c).await, "subtenants-title");
    assert_clean_console(&c).await;
}
