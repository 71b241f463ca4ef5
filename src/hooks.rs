//! Webhook delivery: claims due deliveries (`domain::webhooks`), POSTs each signed body to its
//! tenant's URL (hyper for HTTP/1.1, rustls with the Mozilla roots for TLS), and settles it —
//! accepted on a 2xx, otherwise tried again with exponential backoff, up to `MAX_ATTEMPTS`.
//! Any number of instances deliver at once; a lease keeps each delivery with one of them.
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::db::{self, DbPool};
use crate::domain::error::DomainError;
use crate::domain::webhooks::{self, Claimed};

/// Attempts before a delivery is given up (the backoff reaches an hour on the way).
pub const MAX_ATTEMPTS: i32 = 10;
/// How long one delivery may take, connection to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
const BATCH: i64 = 20;

pub struct Sender {
    pool: DbPool,
    tls: tokio_rustls::TlsConnector,
}

impl Sender {
    pub fn new(pool: DbPool) -> Result<Self, DomainError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| DomainError::failed("webhook TLS", e))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            pool,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Delivers until the process stops.
    pub async fn run(self, poll: Duration) {
        loop {
            match self.tick().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook deliveries"),
            }
            actix_web::rt::time::sleep(poll).await;
        }
    }

    /// Claims and sends one batch; returns how many deliveries it handled.
    pub async fn tick(&self) -> Result<usize, DomainError> {
        let lease = TIMEOUT.as_secs() as i64 + 30;
        let batch = db::run_with(&self.pool, move |c| webhooks::claim(c, BATCH, lease)).await?;
        let handled = batch.len();
        for d in batch {
            let outcome = self.send(&d).await;
            if let Err(e) = &outcome {
                tracing::warn!(delivery = d.id, attempt = d.attempts, error = %e, "webhook not delivered");
            }
            let retry_in = backoff(d.attempts);
            db::run_with(&self.pool, move |c| {
                webhooks::settle(c, &d, outcome, MAX_ATTEMPTS, retry_in)
            })
            .await?;
        }
        Ok(handled)
    }

    async fn send(&self, d: &Claimed) -> Result<u16, String> {
        match tokio::time::timeout(TIMEOUT, self.exchange(d)).await {
            Ok(result) => result,
            Err(_) => Err(format!("no answer within {} seconds", TIMEOUT.as_secs())),
        }
    }

    async fn exchange(&self, d: &Claimed) -> Result<u16, String> {
        let uri: http::Uri = d.url.parse().map_err(|e| format!("bad URL: {e}"))?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().ok_or("the URL names no host")?.to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        let stream = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let timestamp = chrono::Utc::now().timestamp();
        let request = hyper::Request::post(path)
            .header(hyper::header::HOST, authority(&host, port, https))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header(hyper::header::USER_AGENT, "Canopy-Webhook/1")
            .header("Canopy-Event", d.event.as_str())
            .header("Canopy-Delivery", d.id.to_string())
            .header(
                "Canopy-Signature",
                webhooks::signature(&d.secret, timestamp, &d.body),
            )
            .body(Full::new(Bytes::from(d.body.clone())))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        if https {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| format!("bad host name: {e}"))?;
            let tls = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS with {host}: {e}"))?;
            post(tls, request).await
        } else {
            post(stream, request).await
        }
    }
}

fn authority(host: &str, port: u16, https: bool) -> String {
    match (https, port) {
        (true, 443) | (false, 80) => host.to_string(),
        _ => format!("{host}:{port}"),
    }
}

/// One request over one connection; the answer's status.
async fn post<IO>(io: IO, request: hyper::Request<Full<Bytes>>) -> Result<u16, String>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP: {e}"))?;
    let status = response.status().as_u16();
    // Read (and drop) the answer so the connection ends cleanly.
    let _ = response.into_body().collect().await;
    Ok(status)
}

/// 30 s, doubling, at most an hour.
fn backoff(attempts: i32) -> chrono::Duration {
    let factor = 2i64.saturating_pow(attempts.clamp(1, 16) as u32 - 1);
    chrono::Duration::seconds((30 * factor).min(3600))
}
