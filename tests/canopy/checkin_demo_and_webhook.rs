//! The demo's check-in data, and the webhook that tells another system of every alert, signed,
//! once, even when that system was down.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::checkins::*;
use crate::helpers::spawn_app;

#[tokio::test]
async fn the_demo_shows_a_schedule_an_overdue_device_and_an_open_alert() {
    let app = spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    assert_eq!(app.count("SELECT count(*) AS n FROM schedules"), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alerts WHERE state = 'open'"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states WHERE schedule_id IS NOT NULL"),
        3
    );
    let acme = app.count("SELECT count(*) AS n FROM tenants WHERE name = 'Acme Haulage Ltd'");
    assert_eq!(acme, 1);
    let mut ann = app.browser();
    ann.login("ann@acme.example", &demo.password).await;
    let home = ann.get("/").await;
    let dash_url = home
        .location()
        .map(str::to_string)
        .unwrap_or_else(|| "/".into());
    let dash = ann.get(&dash_url).await;
    let card = dash
        .body
        .split("data-hx-get=\"")
        .find_map(|p| {
            p.split('"')
                .next()
                .filter(|u| u.ends_with("/alerts/overdue"))
        })
        .unwrap()
        .to_string();
    let card = ann.get(&card).await;
    assert!(
        card.body
            .contains("<span class=\"number\">1</span> overdue"),
        "{}",
        card.body
    );
    // The scheduler picks the demo's alert up like any other: its next reminder goes out.
    assert!(pass(&app).steps >= 1);
    assert!(
        alert_mail(&app)
            .iter()
            .any(|(to, _)| to == "olly@acme.example")
    );
}

/// A local HTTP receiver: answers 200 to every request and keeps (headers, body) of each.
async fn receiver(port: u16) -> std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break (head.to_string(), body.to_string());
                    }
                }
            };
            kept.lock().unwrap().push((head, body));
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    got
}

#[tokio::test]
async fn the_webhook_gets_each_alert_signed_and_a_receiver_that_was_down_gets_it_later_once() {
    use hmac::Mac;
    let app = spawn_app().await;
    let w = watched(&app);
    app.user("ann@acme.example", &w.acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let port = crate::smtp::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let saved = ann
        .post(
            &format!("/tenants/{}/webhook", w.acme.id),
            &[("url", url.as_str()), ("enabled", "1")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let secret = saved
        .body
        .split("value=\"")
        .find_map(|p| p.split('"').next().filter(|v| v.starts_with("whsec_")))
        .unwrap()
        .to_string();
    // Not an https address on a portal reached from elsewhere, nor nonsense.
    let bad = ann
        .post(
            &format!("/tenants/{}/webhook", w.acme.id),
            &[("url", "ftp://x"), ("enabled", "1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    advance(&app, 271);
    pass(&app);
    let sender = canopy::hooks::Sender::new(app.pool.clone()).unwrap();
    // The receiver is down: the delivery waits for its next try.
    assert_eq!(sender.tick().await.unwrap(), 1);
    assert_eq!(sender.tick().await.unwrap(), 0, "not before its backoff");
    let log = ann.get(&format!("/tenants/{}/webhook", w.acme.id)).await;
    assert!(log.body.contains("cannot connect"), "{}", log.body);
    let got = receiver(port).await;
    advance(&app, 1);
    assert_eq!(sender.tick().await.unwrap(), 1);
    assert_eq!(sender.tick().await.unwrap(), 0);
    advance(&app, 60);
    assert_eq!(
        sender.tick().await.unwrap(),
        0,
        "delivered once, never again"
    );
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (head, body) = &got[0];
    assert!(head.starts_with("POST /hook HTTP/1.1"), "{head}");
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["event"], "alert.opened");
    assert_eq!(event["device"]["identifier"], "PHONE-1");
    // The signature, checked with an HMAC of nobody's here but the hmac crate's.
    let header = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("canopy-signature:")
                .then(|| l.split_once(':').unwrap().1.trim().to_string())
        })
        .unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.trim_start_matches("t=");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1);
    let log = ann.get(&format!("/tenants/{}/webhook", w.acme.id)).await;
    assert!(log.body.contains("delivered"), "{}", log.body);
}
