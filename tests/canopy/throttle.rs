//! The sign-in throttle at the domain level: several addresses, several accounts, device
//! cookies, and failures of different ages (backdated rows: the clock is the database's).
use canopy::domain::throttle::{self, MAX_PER_ACCOUNT, MAX_PER_ADDRESS, Verdict, WINDOW_SECS};
use diesel::prelude::*;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

fn fail(app: &TestApp, addr: &str, email: &str, device: Option<Uuid>) {
    throttle::record_failure(&mut app.conn(), addr, email, device).unwrap();
}

fn verdict(app: &TestApp, addr: &str, email: &str, device: Option<Uuid>) -> Verdict {
    throttle::check(&mut app.conn(), addr, email, device).unwrap()
}

/// Moves every recorded failure `secs` into the past.
fn age_all(app: &TestApp, secs: i64) {
    diesel::sql_query(format!(
        "UPDATE login_failures SET at = at - interval '{secs} seconds'"
    ))
    .execute(&mut app.conn())
    .unwrap();
}

fn rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM login_failures")
}

#[tokio::test]
async fn an_address_that_fails_too_often_is_blocked_and_other_addresses_are_not() {
    let app = spawn_app().await;
    for i in 0..MAX_PER_ADDRESS {
        fail(&app, "198.51.100.1", &format!("u{i}@x.example"), None);
    }

    assert!(matches!(
        verdict(&app, "198.51.100.1", "fresh@x.example", None),
        Verdict::Blocked { .. }
    ));
    assert_eq!(
        verdict(&app, "198.51.100.2", "fresh@x.example", None),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn an_account_that_fails_too_often_is_blocked_from_everywhere_and_other_accounts_are_not() {
    let app = spawn_app().await;
    for i in 0..MAX_PER_ACCOUNT {
        fail(&app, &format!("203.0.113.{i}"), "Ann@Acme.example", None);
    }

    assert!(matches!(
        verdict(&app, "192.0.2.99", "ann@acme.example ", None),
        Verdict::Blocked { .. }
    ));
    assert_eq!(
        verdict(&app, "192.0.2.99", "bob@acme.example", None),
        Verdict::Allowed
    );
    // One short of the limit still tries.
    let app2 = spawn_app().await;
    for i in 0..MAX_PER_ACCOUNT - 1 {
        fail(&app2, &format!("203.0.113.{i}"), "ann@acme.example", None);
    }
    assert_eq!(
        verdict(&app2, "192.0.2.99", "ann@acme.example", None),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn a_known_browser_is_judged_by_its_own_failures_only() {
    let app = spawn_app().await;
    let device = Uuid::now_v7();
    for i in 0..MAX_PER_ADDRESS {
        fail(&app, "127.0.0.1", &format!("u{i}@x.example"), None);
    }
    for _ in 0..MAX_PER_ACCOUNT {
        fail(&app, "127.0.0.1", "ann@acme.example", None);
    }
    assert!(matches!(
        verdict(&app, "127.0.0.1", "ann@acme.example", None),
        Verdict::Blocked { .. }
    ));

    assert_eq!(
        verdict(&app, "127.0.0.1", "ann@acme.example", Some(device)),
        Verdict::Allowed
    );
    for _ in 0..throttle::MAX_PER_DEVICE {
        fail(&app, "127.0.0.1", "ann@acme.example", Some(device));
    }
    assert!(matches!(
        verdict(&app, "127.0.0.1", "ann@acme.example", Some(device)),
        Verdict::Blocked { .. }
    ));
    assert_eq!(
        verdict(&app, "127.0.0.1", "ann@acme.example", Some(Uuid::now_v7())),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn failures_count_for_fifteen_minutes_and_the_wait_ends_when_the_oldest_expires() {
    let app = spawn_app().await;
    assert_eq!(WINDOW_SECS, 15 * 60);
    for _ in 0..MAX_PER_ACCOUNT {
        fail(&app, "192.0.2.1", "ann@acme.example", None);
    }
    // Ten minutes ago: still counted, and free again in about five minutes.
    age_all(&app, 10 * 60);
    match verdict(&app, "192.0.2.2", "ann@acme.example", None) {
        Verdict::Blocked { retry_after_secs } => {
            assert!(
                (295..=300).contains(&retry_after_secs),
                "{retry_after_secs}"
            )
        }
        Verdict::Allowed => panic!("ten-minute-old failures must still count"),
    }
    // Fourteen minutes ago: still counted, about a minute to wait.
    age_all(&app, 4 * 60);
    match verdict(&app, "192.0.2.2", "ann@acme.example", None) {
        Verdict::Blocked { retry_after_secs } => {
            assert!((55..=60).contains(&retry_after_secs), "{retry_after_secs}")
        }
        Verdict::Allowed => panic!("fourteen-minute-old failures must still count"),
    }
    // Past the window: forgotten.
    age_all(&app, 61);
    assert_eq!(
        verdict(&app, "192.0.2.2", "ann@acme.example", None),
        Verdict::Allowed
    );
}

#[tokio::test]
async fn purging_drops_expired_failures_and_keeps_current_ones() {
    let app = spawn_app().await;
    fail(&app, "192.0.2.1", "old@x.example", None);
    age_all(&app, WINDOW_SECS + 5);
    fail(&app, "192.0.2.9", "new@x.example", None);
    assert_eq!(rows(&app), 4);

    throttle::purge_expired(&mut app.conn()).unwrap();

    assert_eq!(rows(&app), 2);
    // Recording a failure also drops the expired rows of its own keys.
    age_all(&app, WINDOW_SECS + 5);
    fail(&app, "192.0.2.9", "new@x.example", None);
    assert_eq!(rows(&app), 2);
}
