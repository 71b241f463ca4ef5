//! Behind a real reverse proxy (Debian's nginx, started here): the client address comes from
//! `X-Forwarded-For` only when the peer is a configured trusted proxy, so one client's failed
//! sign-ins do not lock out the others, and a forged header changes nothing.
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};

use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, PASSWORD, TestApp, spawn_app_with};

/// nginx in the foreground with a config of its own; stopped when dropped.
struct Nginx {
    child: Child,
    port: u16,
    _dir: std::path::PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_nginx(upstream_port: u16) -> Nginx {
    let dir = std::env::temp_dir().join(format!("canopy-nginx-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let port = free_port();
    let conf = format!(
        "daemon off;\nmaster_process off;\nerror_log {dir}/logs/error.log;\npid {dir}/nginx.pid;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n  proxy_temp_path {dir}/proxy;\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n\
             proxy_pass http://127.0.0.1:{upstream_port};\n      proxy_set_header Host $host:$server_port;\n\
             proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n      proxy_set_header X-Forwarded-Proto $scheme;\n\
           }}\n  }}\n}}\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new("nginx")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nginx (Debian package nginx) must be installed");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Nginx {
        child,
        port,
        _dir: dir,
    }
}

/// A browser whose connections leave from `source` (an address of 127.0.0.0/8).
fn browser_from(base: &str, source: Ipv4Addr) -> Browser {
    let mut b = Browser::new(base);
    b.client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(IpAddr::V4(source))
        .build()
        .unwrap();
    b
}

/// Bob's sign-in with extra request headers (a client forging where it comes from).
async fn sign_in_with_headers(b: &mut Browser, headers: &[(&str, &str)]) -> StatusCode {
    b.get("/login").await;
    let mut request = b.client.post(format!("{}/login", b.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request
        .form(&[
            ("email", "bob@acme.example"),
            ("password", PASSWORD),
            ("csrf_token", b.csrf.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

fn sign_in_addresses(app: &TestApp) -> Vec<String> {
    use canopy::db::schema::audit_events::dsl;
    use diesel::prelude::*;
    dsl::audit_events
        .filter(dsl::action.eq("session.sign_in"))
        .order(dsl::id.asc())
        .select(dsl::client_addr)
        .load::<Option<String>>(&mut app.conn())
        .unwrap()
        .into_iter()
        .flatten()
        .collect()
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_clients_failures_do_not_lock_out_another() {
    let app = spawn_app_with(&[("CANOPY_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let acme = app.root("Acme");
    app.user("bob@acme.example", &acme, Role::Admin);
    let nginx = start_nginx(app.port).await;
    let proxied = format!("http://127.0.0.1:{}", nginx.port);
    let mut mallory = browser_from(&proxied, Ipv4Addr::new(127, 0, 0, 2));
    let mut bob = browser_from(&proxied, Ipv4Addr::new(127, 0, 0, 3));

    let mut refused = 0;
    for i in 0..60 {
        let r = mallory
            .login(&format!("guess{i}@acme.example"), "guess guess guess")
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    let signed_in = bob.login("bob@acme.example", PASSWORD).await;

    assert_eq!(refused, 10, "the address bucket holds 50 failures");
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{}",
        signed_in.body
    );
    assert_eq!(sign_in_addresses(&app), ["127.0.0.3"]);
    // Mallory cannot escape her block by naming another address: nginx appends hers.
    let mut forged = browser_from(&proxied, Ipv4Addr::new(127, 0, 0, 2));
    let status = sign_in_with_headers(&mut forged, &[("X-Forwarded-For", "127.0.0.9")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_forwarded_address_from_a_peer_that_is_not_trusted_changes_nothing() {
    // Only 127.0.0.1 is trusted; this client connects directly from 127.0.0.4.
    let app = spawn_app_with(&[("CANOPY_TRUSTED_PROXIES", "127.0.0.1")]).await;
    let acme = app.root("Acme");
    app.user("bob@acme.example", &acme, Role::Admin);
    let mut direct = browser_from(&app.base, Ipv4Addr::new(127, 0, 0, 4));

    let status = sign_in_with_headers(
        &mut direct,
        &[
            ("X-Forwarded-For", "203.0.113.66"),
            ("Forwarded", "for=203.0.113.67"),
        ],
    )
    .await;

    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(sign_in_addresses(&app), ["127.0.0.4"]);
}

#[tokio::test]
async fn with_no_trusted_proxy_configured_forwarded_headers_are_ignored() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("bob@acme.example", &acme, Role::Admin);
    let nginx = start_nginx(app.port).await;
    let mut bob = browser_from(
        &format!("http://127.0.0.1:{}", nginx.port),
        Ipv4Addr::new(127, 0, 0, 3),
    );

    assert_eq!(
        bob.login("bob@acme.example", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // The peer is nginx; what it forwards is not believed without configuration.
    assert_eq!(sign_in_addresses(&app), ["127.0.0.1"]);
}
