//! Heavy reads on a real streaming replica: a primary and a standby made from it with
//! `pg_basebackup -R`, both from Debian's PostgreSQL. Exports come from the replica (with its
//! replay paused they lack what was just written, once it catches up they equal the list the
//! primary shows); pages that show one's own change read the primary; with the replica stopped
//! every page still works.
use std::process::Command;

use canopy::db::embedded::{EmbeddedPostgres, Options};
use canopy::domain::roles::Role;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;

use crate::helpers::{spawn_app_on, stop_when_we_exit};

/// Runs a PostgreSQL program as the `postgres` user when we are root (as `EmbeddedPostgres`).
fn postgres_tool(program: &str) -> Command {
    let bin = canopy::db::embedded::find_bin_dir().expect("postgres binaries");
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
    cmd
}

fn sql(url: &str, statement: &str) {
    let mut conn = PgConnection::establish(&crate::helpers::tests_own(url)).expect("connect");
    diesel::sql_query(statement)
        .execute(&mut conn)
        .expect(statement);
}

/// The device rows of an export (its header left out), sorted.
fn rows(csv: &str) -> Vec<String> {
    let mut rows: Vec<String> = csv.lines().skip(1).map(str::to_string).collect();
    rows.sort();
    rows
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("never: {what}");
}

#[tokio::test]
async fn exports_come_from_the_replica_and_every_page_works_without_it() {
    let root =
        std::env::temp_dir().join(format!("canopy-replica-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&root).unwrap();
    let _ = Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&root)
        .status();
    let options = Options {
        fast_unsafe: true,
        statement_stats: false,
    };
    let primary = EmbeddedPostgres::start(&root.join("primary"), &options).unwrap();
    stop_when_we_exit(&primary);
    sql(&primary.url("postgres"), "CREATE DATABASE canopy");
    let url = primary.url("canopy");
    canopy::db::migrate(&mut PgConnection::establish(&crate::helpers::tests_own(&url)).unwrap())
        .unwrap();
    let made = postgres_tool("pg_basebackup")
        .arg("-D")
        .arg(root.join("replica"))
        .args([
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "-U",
            "canopy",
            "-h",
        ])
        .arg(primary.dir())
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    // The primary's socket lives in its folder, so the copy holds its lock file too.
    std::fs::remove_file(root.join("replica/.s.PGSQL.5432.lock")).unwrap();
    let replica = EmbeddedPostgres::start(&root.join("replica"), &options).unwrap();
    stop_when_we_exit(&replica);
    let replica_url = replica.url("canopy");

    let app = spawn_app_on(&url, &[("CANOPY_READ_DATABASE_URL", &replica_url)]).await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "FIRST-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let export = format!("/tenants/{}/devices/export.csv", acme.id);
    let list = format!("/tenants/{}/devices", acme.id);
    until("the replica has the first device", async || {
        ann.get(&export).await.body.contains("FIRST-1")
    })
    .await;

    // The replica falls behind: what Ann adds now, her list shows at once (the primary), and
    // the export does not (the replica) — which is how we know where each was read.
    sql(&replica.url("postgres"), "SELECT pg_wal_replay_pause()");
    ann.get(&format!("/tenants/{}/devices/new", acme.id)).await;
    let added = ann
        .post(
            &format!("/tenants/{}/devices", acme.id),
            &[
                ("serial", "SECOND-2"),
                ("name", "Second"),
                ("kind", "tracker"),
                ("status", "active"),
            ],
        )
        .await;
    assert!(added.status.is_redirection(), "{}", added.body);
    assert!(ann.get(&list).await.body.contains("SECOND-2"));
    let behind = ann.get(&export).await;
    assert!(behind.body.contains("FIRST-1") && !behind.body.contains("SECOND-2"));

    // Caught up, the export from the replica has exactly the rows the primary has.
    sql(&replica.url("postgres"), "SELECT pg_wal_replay_resume()");
    until("the replica caught up", async || {
        ann.get(&export).await.body.contains("SECOND-2")
    })
    .await;
    let from_replica = rows(&ann.get(&export).await.body);
    assert_eq!(from_replica.len(), 2);

    // The replica stops: the same reads go to the primary, and nothing fails.
    replica.stop().unwrap();
    let from_primary = rows(&ann.get(&export).await.body);
    assert_eq!(from_primary, from_replica);
    for page in [
        format!("/tenants/{}/dashboard", acme.id),
        format!("/tenants/{}/audit", acme.id),
        format!("/tenants/{}/audit/export.csv", acme.id),
        format!("/tenants/{}/usage", acme.id),
        format!("/tenants/{}/usage/export.csv", acme.id),
        list.clone(),
        export.clone(),
    ] {
        let res = ann.get(&page).await;
        assert_eq!(res.status, StatusCode::OK, "{page}: {}", res.body);
    }
    primary.stop().unwrap();
    let _ = std::fs::remove_dir_all(&root);
}
