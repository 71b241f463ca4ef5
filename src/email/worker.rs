//! The outbox worker: claims due messages and sends them over SMTP (or, with no SMTP
//! configured, keeps them in the local mailbox), each send bounded by a timeout, failures
//! retried with exponential backoff until the last attempt.
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::config::MailSettings;
use crate::db::{self, DbPool};
use crate::domain::error::DomainError;
use crate::domain::password_resets;
use crate::email::outbox::{self, Message};

enum Delivery {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The embedded default: nothing leaves the machine; the portal shows the mailbox.
    LocalMailbox,
}

pub struct Worker {
    pool: DbPool,
    delivery: Delivery,
    from: Mailbox,
    settings: MailSettings,
}

const BATCH: i64 = 10;

/// `smtp://` means STARTTLS, required; `?tls=none` opts out (a relay on the same host);
/// `smtps://` is TLS from the first byte.
pub fn transport_url(url: &str) -> String {
    let plain = ["?tls=none&", "&tls=none", "?tls=none"];
    if let Some(p) = plain.iter().find(|p| url.contains(**p)) {
        return url.replacen(p, if p.ends_with('&') { "?" } else { "" }, 1);
    }
    if url.starts_with("smtp://") && !url.contains("tls=") {
        let sep = if url.contains('?') { '&' } else { '?' };
        return format!("{url}{sep}tls=required");
    }
    url.to_string()
}

impl Worker {
    pub fn new(pool: DbPool, settings: &MailSettings) -> Result<Self, DomainError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| DomainError::failed("CANOPY_MAIL_FROM", e))?;
        let delivery = match &settings.smtp_url {
            None => Delivery::LocalMailbox,
            Some(url) => Delivery::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(&transport_url(url.expose()))
                    .map_err(|e| DomainError::failed("CANOPY_SMTP_URL", e))?
                    .timeout(Some(settings.timeout))
                    .build(),
            ),
        };
        Ok(Self {
            pool,
            delivery,
            from,
            settings: settings.clone(),
        })
    }

    /// Runs until the process stops.
    pub async fn run(self) {
        let mut last_purge: Option<std::time::Instant> = None;
        loop {
            // Housekeeping once a minute: expired import files.
            if last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                last_purge = Some(std::time::Instant::now());
                if let Err(e) =
                    db::run_with(&self.pool, crate::domain::devices::jobs::purge_expired).await
                {
                    tracing::warn!(error = %e, "purging expired imports");
                }
            }
            match self.tick().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox worker"),
            }
            actix_web::rt::time::sleep(self.settings.poll).await;
        }
    }

    /// Claims and handles one batch; returns how many messages it handled.
    pub async fn tick(&self) -> Result<usize, DomainError> {
        // Forgot-password requests become emails (or nothing) here, off the request path.
        let (base, ttl) = (self.settings.base_url.clone(), self.settings.reset_ttl);
        db::run_with(&self.pool, move |c| {
            password_resets::fulfil_pending(c, &base, ttl, BATCH)
        })
        .await?;
        // The lease outlives the send timeout, so no other worker takes a message mid-send.
        let lease = self.settings.timeout.as_secs() as i64 + 30;
        let batch = db::run_with(&self.pool, move |c| outbox::claim(c, BATCH, lease)).await?;
        let handled = batch.len();
        for message in batch {
            let result = self.deliver(&message).await;
            let max = self.settings.max_attempts;
            let retry_in = self.backoff(message.attempts);
            db::run_with(&self.pool, move |c| match result {
                Ok(()) => outbox::mark_sent(c, message.id),
                Err(e) => {
                    tracing::warn!(message_id = message.id, attempt = message.attempts, error = %e, "email not sent");
                    outbox::mark_failed(c, &message, &e, max, retry_in)
                }
            })
            .await?;
        }
        Ok(handled)
    }

    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let factor = 2u32.saturating_pow(attempts.clamp(1, 16) as u32 - 1);
        let delay = self
            .settings
            .retry_base
            .saturating_mul(factor)
            .min(Duration::from_secs(3600));
        chrono::Duration::milliseconds(delay.as_millis() as i64)
    }

    async fn deliver(&self, message: &Message) -> Result<(), String> {
        let transport = match &self.delivery {
            Delivery::LocalMailbox => return Ok(()),
            Delivery::Smtp(t) => t,
        };
        let to: Mailbox = message
            .to_email
            .parse()
            .map_err(|e| format!("bad recipient address: {e}"))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                message.text_body.clone(),
                message.html_body.clone(),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))?;
        match tokio::time::timeout(self.settings.timeout, transport.send(email)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("SMTP: {e}")),
            Err(_) => Err(format!(
                "SMTP: no answer within {} seconds",
                self.settings.timeout.as_secs()
            )),
        }
    }
}
