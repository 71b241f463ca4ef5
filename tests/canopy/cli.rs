//! The `canopy` binary: bootstrap and demo, as an operator runs them.
use std::io::Write;
use std::process::{Command, Output, Stdio};

use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::{fresh_database, spawn_app_on};

fn canopy(database_url: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_canopy"))
        .args(args)
        .env("CANOPY_DATABASE_URL", database_url)
        .env("CANOPY_DATA_DIR", "/tmp/canopy-test-data")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The demo accounts' password, as `canopy demo` prints it.
fn password_in(out: &str) -> String {
    out.split("password is: ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .to_string()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn bootstrap_creates_a_root_admin_and_refuses_weak_passwords_and_taken_emails() {
    let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
    let args = [
        "bootstrap",
        "--tenant",
        "Rent-a-fone",
        "--email",
        "alice@rentafone.example",
    ];

    let weak = canopy(&url, &args, "short\n");
    let ok = canopy(&url, &args, "a sufficiently long secret\n");
    let again = canopy(
        &url,
        &[
            "bootstrap",
            "--tenant",
            "Another",
            "--email",
            "alice@rentafone.example",
        ],
        "a sufficiently long secret\n",
    );

    assert_eq!(weak.status.code(), Some(2), "{}", text(&weak));
    assert!(text(&weak).contains("at least 12 characters"));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("already exists"));
    let app = spawn_app_on(&url, &[]).await;
    assert_eq!(
        app.count("SELECT count(*) AS n FROM tenants"),
        1,
        "nothing half-written"
    );
    let mut b = app.browser();
    let res = b
        .login("alice@rentafone.example", "a sufficiently long secret")
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(crate::helpers::tree_of(&b.get("/tenants").await.body).contains("Rent-a-fone"));
}

#[tokio::test]
async fn demo_fills_an_empty_database_with_the_example_tree_once() {
    let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();

    let first = canopy(&url, &["demo"], "");
    let second = canopy(&url, &["demo"], "");

    assert!(first.status.success(), "{}", text(&first));
    assert!(!second.status.success());
    let out = text(&first);
    let password = password_in(&out);
    assert!(out.contains("ann@acme.example") && out.contains(Role::Admin.as_str()));
    let app = spawn_app_on(&url, &[]).await;
    assert_eq!(app.count("SELECT count(*) AS n FROM tenants"), 7);
    let mut ann = app.browser();
    assert_eq!(
        ann.login("ann@acme.example", &password).await.status,
        StatusCode::SEE_OTHER
    );
    let tree = ann.get("/tenants").await;
    let listed = crate::helpers::tree_of(&tree.body);
    assert!(listed.contains("Acme Haulage Ltd") && !tree.body.contains("Great Expeditions"));
}

#[tokio::test]
async fn the_large_demo_at_a_thousandth_writes_its_share_and_its_admins_sign_in() {
    let url = tokio::task::spawn_blocking(fresh_database).await.unwrap();
    let out = canopy(&url, &["demo", "--size", "large", "--scale", "1000"], "");
    assert!(out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("11 tenants, 1000 devices, 20 users, 50 invitations."),
        "{said}"
    );
    let password = password_in(&said);
    let app = spawn_app_on(&url, &[]).await;
    assert_eq!(app.count("SELECT count(*) AS n FROM tenants"), 11);
    assert_eq!(app.count("SELECT count(*) AS n FROM devices"), 1000);
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM devices WHERE customer_id <> canopy_customer(tenant_path)"
        ),
        0,
        "every device is its customer's"
    );
    assert_eq!(crate::counts::miscounted(&app), 0);
    let mut mid = app.browser();
    assert_eq!(
        mid.login("user00001@large.example", &password).await.status,
        StatusCode::SEE_OTHER
    );
    // Loaded once: a second run refuses a database that is not empty.
    let again = canopy(&url, &["demo", "--size", "large", "--scale", "1000"], "");
    assert!(!again.status.success());
}
