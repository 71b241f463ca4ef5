//! Faults: the database going away and coming back, and the server killed (SIGKILL) in the
//! middle of a subtree move and of a CSV import. Afterwards each change is whole or absent.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use canopy::db;
use canopy::db::embedded::{EmbeddedPostgres, Options};
use canopy::domain::roles::Role;
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app, spawn_app_on};

#[tokio::test]
async fn when_postgres_restarts_pages_answer_503_and_the_portal_recovers_by_itself() {
    let dir = std::env::temp_dir().join(format!("canopy-fault-{}", uuid::Uuid::now_v7().simple()));
    let options = Options {
        fast_unsafe: true,
        statement_stats: false,
    };
    let pg = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || {
            EmbeddedPostgres::start(
                &dir,
                &Options {
                    fast_unsafe: true,
                    statement_stats: false,
                },
            )
            .unwrap()
        }
    })
    .await
    .unwrap();
    crate::helpers::stop_when_we_exit(&pg);
    let url = pg.url("postgres");
    db::migrate(&mut PgConnection::establish(&crate::helpers::tests_own(&url)).unwrap()).unwrap();
    let app = spawn_app_on(&url, &[]).await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let dashboard = format!("/tenants/{}/dashboard", acme.id);
    assert_eq!(ann.get(&dashboard).await.status, StatusCode::OK);

    let stopper = pg.clone();
    tokio::task::spawn_blocking(move || stopper.stop().unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    let down = ann.get(&dashboard).await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.body
    );
    assert!(
        down.body.contains("<html") && down.body.contains("try again"),
        "{}",
        down.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a clean answer, not a hang"
    );
    let ready = app.browser().get("/readyz").await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.browser().get("/healthz").await.status, StatusCode::OK);

    let starter = pg.clone();
    tokio::task::spawn_blocking(move || starter.restart(&options).unwrap())
        .await
        .unwrap();
    // No restart of the portal: the pool reconnects and the same session carries on.
    let mut recovered = false;
    for _ in 0..100 {
        if ann.get(&dashboard).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the portal came back on its own");
    assert_eq!(app.browser().get("/readyz").await.status, StatusCode::OK);
    tokio::task::spawn_blocking(move || {
        let _ = pg.stop();
        let _ = std::fs::remove_dir_all(dir);
    })
    .await
    .unwrap();
}

/// `canopy serve` as its own process on the test's database, so that it can be killed.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn serve(app: &TestApp) -> Server {
    let port = crate::smtp::free_port();
    let base = format!("http://127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_canopy"))
        .arg("serve")
        .env("CANOPY_DATABASE_URL", &app.database_url)
        .env("CANOPY_LISTEN", format!("127.0.0.1:{port}"))
        .env("CANOPY_BASE_URL", &base)
        .env("CANOPY_SECURE_COOKIES", "false")
        .env("CANOPY_SECRET_KEY", "k".repeat(64))
        .env("CANOPY_SMTP_URL", "smtp://127.0.0.1:9?tls=none")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("canopy serve");
    let server = Server { child, base };
    for _ in 0..200 {
        if reqwest::get(format!("{}/healthz", server.base))
            .await
            .is_ok()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("canopy serve did not start");
}

/// Holds a row lock from the test, so that the server's transaction stops half-way.
fn lock_device(app: &TestApp, serial: &str) -> PgConnection {
    let mut conn = PgConnection::establish(&crate::helpers::tests_own(&app.database_url)).unwrap();
    diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
    diesel::sql_query(format!(
        "SELECT id FROM devices WHERE identifier = '{serial}' FOR UPDATE"
    ))
    .execute(&mut conn)
    .unwrap();
    conn
}

/// Waits until a server backend is blocked on our lock in the middle of `statement`.
async fn wait_until_blocked(app: &TestApp, statement: &str) {
    let sql = format!(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
         AND query LIKE '{statement}%'"
    );
    for _ in 0..300 {
        if app.count(&sql) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never reached {statement}");
}

/// Kills the server, lets its blocked backend run into the dead connection, and waits until
/// PostgreSQL has rolled it back.
async fn kill_mid_transaction(app: &TestApp, mut server: Server, mut lock: PgConnection) {
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    diesel::sql_query("ROLLBACK").execute(&mut lock).unwrap();
    let others = "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
                  AND pid <> pg_backend_pid() AND state <> 'idle' AND backend_type = 'client backend'";
    for _ in 0..200 {
        if app.count(others) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the killed server's transaction never ended");
}

async fn signed_in_at(base: &str, email: &str) -> Browser {
    let mut b = Browser::new(base);
    let res = b.login(email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    b
}

/// Every stored path agrees with the parent links, for tenants and what they hold.
fn paths_are_consistent(app: &TestApp) {
    let bad = app.count(
        "WITH RECURSIVE p AS (
            SELECT id, ARRAY[id] AS path FROM tenants WHERE parent_id IS NULL
            UNION ALL SELECT t.id, p.path || t.id FROM tenants t JOIN p ON t.parent_id = p.id)
         SELECT (SELECT count(*) FROM tenants t JOIN p USING (id) WHERE t.traversal_ids <> p.path)
              + (SELECT count(*) FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_path <> t.traversal_ids)
              + (SELECT count(*) FROM memberships m JOIN tenants t ON t.id = m.tenant_id WHERE m.tenant_path <> t.traversal_ids)
           AS n",
    );
    assert_eq!(bad, 0, "paths disagree with the tree");
}

#[tokio::test]
async fn a_server_killed_in_the_middle_of_a_subtree_move_leaves_it_unmoved_and_whole() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    let target = app.child(&root, "Globex");
    for n in 0..20 {
        let t = app.child(&acme, &format!("Acme {n}"));
        app.user(&format!("u{n}@acme.example"), &t, Role::Viewer);
        crate::devices::device_in(&app, &t, &format!("ACME-{n}"));
    }
    app.user("alice@rent.example", &root, Role::Admin);

    let server = serve(&app).await;
    let mut alice = signed_in_at(&server.base, "alice@rent.example").await;
    alice.get(&format!("/tenants/{}/move", acme.id)).await;
    let lock = lock_device(&app, "ACME-19");
    let path = format!("/tenants/{}/move", acme.id);
    let target_id = target.id.to_string();
    let request =
        tokio::spawn(async move { alice.post(&path, &[("parent_id", &target_id)]).await });
    wait_until_blocked(&app, "UPDATE devices").await;
    kill_mid_transaction(&app, server, lock).await;
    let _ = request.await;

    assert_eq!(
        app.tenant(acme.id).parent_id,
        Some(root.id),
        "not moved at all"
    );
    paths_are_consistent(&app);

    // After a restart the same move goes through whole.
    let server = serve(&app).await;
    let mut alice = signed_in_at(&server.base, "alice@rent.example").await;
    alice.get(&format!("/tenants/{}/move", acme.id)).await;
    let res = alice
        .post(
            &format!("/tenants/{}/move", acme.id),
            &[("parent_id", &target.id.to_string())],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(app.tenant(acme.id).parent_id, Some(target.id));
    paths_are_consistent(&app);
}

#[tokio::test]
async fn a_server_killed_in_the_middle_of_an_import_imports_nothing_and_says_so() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("olly@acme.example", &acme, Role::Operator);
    crate::devices::device_in(&app, &acme, "LOCKED-1");
    let mut csv = String::from("imei,serial,name,model,kind,status,phone,notes\n");
    for n in 0..1500 {
        csv.push_str(&format!(",NEW-{n:05},Unit {n},,tracker,active,,\n"));
    }
    csv.push_str(",LOCKED-1,Renamed by the import,,tracker,active,,\n");

    let server = serve(&app).await;
    let mut olly = signed_in_at(&server.base, "olly@acme.example").await;
    olly.get(&format!("/tenants/{}/devices/import", acme.id))
        .await;
    let checked = olly
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.into_bytes(),
        )
        .await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    let job = crate::import::job_url(&checked.body);
    let lock = lock_device(&app, "LOCKED-1");
    let started = olly.post(&job, &[]).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    wait_until_blocked(&app, "UPDATE \"devices\"").await;
    kill_mid_transaction(&app, server, lock).await;

    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices WHERE identifier LIKE 'NEW-%'"),
        0,
        "all or nothing"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices WHERE name = 'Renamed by the import'"),
        0
    );
    // After a restart the progress page says what happened instead of spinning for ever.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let server = serve(&app).await;
    let mut olly = signed_in_at(&server.base, "olly@acme.example").await;
    let page = olly.get(&job).await;
    assert!(page.body.contains("Interrupted"), "{}", page.body);
    assert!(page.body.contains("Nothing was imported"));
}

#[tokio::test]
async fn a_refusing_smtp_server_keeps_the_invitation_until_a_willing_one_takes_it_once() {
    use std::io::Write;
    let port = crate::smtp::free_port();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    // Answers the first connection with a permanent-looking refusal, then goes away.
    let refuser = std::thread::spawn(move || {
        if let Some(Ok(mut stream)) = listener.incoming().next() {
            let _ = stream.write_all(b"554 5.7.1 Not accepting mail right now\r\n");
        }
    });
    let url = format!("smtp://127.0.0.1:{port}?tls=none");
    let app = crate::helpers::spawn_app_with(&[
        ("CANOPY_SMTP_URL", url.as_str()),
        ("CANOPY_MAIL_RETRY_BASE_MS", "100"),
    ])
    .await;
    let acme = app.root("Acme");
    crate::invitations::invite_directly(&app, &acme, "kept@example.com");
    let worker = app.worker();
    assert_eq!(worker.tick().await.unwrap(), 1);
    refuser.join().unwrap();
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL \
             AND attempts = 1 AND last_error IS NOT NULL"
        ),
        1,
        "refused, kept, and due again"
    );

    let smtp = crate::smtp::SmtpServer::start_on(port);
    for _ in 0..50 {
        worker.tick().await.unwrap();
        if app.count("SELECT count(*) AS n FROM outbox WHERE sent_at IS NOT NULL") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    smtp.wait_for(1).await;
    for _ in 0..3 {
        worker.tick().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once, not again");
}
