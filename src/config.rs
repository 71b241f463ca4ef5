//! Settings from environment variables. Secrets are wrapped so that they never reach a log.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

/// A value that must not be printed; `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: start the embedded PostgreSQL under `data_dir`.
    pub database_url: Option<Secret<String>>,
    /// A streaming replica for heavy reads (`CANOPY_READ_DATABASE_URL`, `db::replica`).
    pub read_database_url: Option<Secret<String>>,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub base_url: String,
    /// `None`: generated once and kept in `data_dir`.
    pub secret_key: Option<Secret<String>>,
    pub secure_cookies: bool,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub workers: usize,
    pub pool_size: u32,
    pub mail: MailSettings,
    /// Peers whose `Forwarded`/`X-Forwarded-For` name the client (`CANOPY_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// API requests one key may make in a minute (`CANOPY_API_RATE_PER_MINUTE`).
    pub api_rate_per_minute: u32,
    /// Months of check-ins kept (`CANOPY_CHECKIN_RETENTION_MONTHS`; 0 keeps them all).
    pub checkin_retention_months: u32,
}

/// Email delivery. Without an SMTP URL, mail goes to the local mailbox shown in the portal.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// Where links in emails point (the portal's base URL).
    pub base_url: String,
    /// Invitation emails per sender and per tenant in an hour.
    pub invitation_limits: crate::domain::invitations::Limits,
    pub smtp_url: Option<Secret<String>>,
    pub from: String,
    pub timeout: Duration,
    pub max_attempts: i32,
    pub retry_base: Duration,
    pub poll: Duration,
    pub invitation_ttl: Duration,
    pub reset_ttl: Duration,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// Reads settings through `lookup` so that tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let listen: SocketAddr = parse(&lookup, "CANOPY_LISTEN", "127.0.0.1:8080")?;
        let base_url = lookup("CANOPY_BASE_URL")
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ConfigError {
                var: "CANOPY_BASE_URL",
                message: "must start with http:// or https://".into(),
            });
        }
        let secret_key = lookup("CANOPY_SECRET_KEY").map(Secret::new);
        if let Some(key) = &secret_key
            && key.expose().len() < 64
        {
            return Err(ConfigError {
                var: "CANOPY_SECRET_KEY",
                message: "must be at least 64 characters".into(),
            });
        }
        let trusted_proxies = crate::proxies::TrustedProxies::parse(
            &lookup("CANOPY_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|message| ConfigError {
            var: "CANOPY_TRUSTED_PROXIES",
            message,
        })?;
        Ok(Self {
            trusted_proxies,
            database_url: lookup("CANOPY_DATABASE_URL").map(Secret::new),
            read_database_url: lookup("CANOPY_READ_DATABASE_URL").map(Secret::new),
            data_dir: lookup("CANOPY_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(default_data_dir),
            listen,
            base_url: base_url.clone(),
            secret_key,
            secure_cookies: parse_bool(&lookup, "CANOPY_SECURE_COOKIES", true)?,
            session_idle: Duration::from_secs(parse(&lookup, "CANOPY_SESSION_IDLE_SECS", "1800")?),
            session_absolute: Duration::from_secs(parse(
                &lookup,
                "CANOPY_SESSION_ABSOLUTE_SECS",
                "43200",
            )?),
            workers: parse(&lookup, "CANOPY_WORKERS", "0")?,
            pool_size: parse(&lookup, "CANOPY_POOL_SIZE", "16")?,
            api_rate_per_minute: parse(&lookup, "CANOPY_API_RATE_PER_MINUTE", "600")?,
            checkin_retention_months: parse(&lookup, "CANOPY_CHECKIN_RETENTION_MONTHS", "13")?,
            mail: MailSettings {
                base_url: base_url.clone(),
                invitation_limits: crate::domain::invitations::Limits {
                    per_sender: parse(&lookup, "CANOPY_INVITATIONS_PER_SENDER_HOUR", "20")?,
                    per_tenant: parse(&lookup, "CANOPY_INVITATIONS_PER_TENANT_HOUR", "60")?,
                },
                smtp_url: lookup("CANOPY_SMTP_URL").map(Secret::new),
                from: lookup("CANOPY_MAIL_FROM")
                    .unwrap_or_else(|| "Canopy <canopy@localhost>".into()),
                timeout: Duration::from_secs(parse(&lookup, "CANOPY_MAIL_TIMEOUT_SECS", "15")?),
                max_attempts: parse(&lookup, "CANOPY_MAIL_MAX_ATTEMPTS", "6")?,
                retry_base: Duration::from_millis(parse(
                    &lookup,
                    "CANOPY_MAIL_RETRY_BASE_MS",
                    "30000",
                )?),
                poll: Duration::from_millis(parse(&lookup, "CANOPY_MAIL_POLL_MS", "1000")?),
                invitation_ttl: Duration::from_secs(
                    3600 * parse::<u64>(&lookup, "CANOPY_INVITATION_TTL_HOURS", "168")?,
                ),
                reset_ttl: Duration::from_secs(
                    60 * parse::<u64>(&lookup, "CANOPY_RESET_TTL_MINUTES", "60")?,
                ),
            },
        })
    }
}

/// Root keeps its data where the `postgres` user can reach it; others in their home.
fn default_data_dir() -> PathBuf {
    let is_root = std::env::var("USER").map(|u| u == "root").unwrap_or(false)
        || std::env::var("HOME").map(|h| h == "/root").unwrap_or(false);
    if is_root {
        return PathBuf::from("/var/lib/canopy");
    }
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|base| base.join("canopy"))
        .unwrap_or_else(|| PathBuf::from("canopy-data"))
}

fn parse<T: std::str::FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let raw = lookup(var).unwrap_or_else(|| default.to_string());
    raw.trim().parse().map_err(|e: T::Err| ConfigError {
        var,
        message: format!("cannot read {raw:?}: {e}"),
    })
}

fn parse_bool(
    lookup: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match lookup(var).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
        Some(v) => Err(ConfigError {
            var,
            message: format!("expected true or false, got {v:?}"),
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn settings_never_print_their_secrets() {
        let key = "s3cr3t-key-".repeat(8);
        let env = std::collections::HashMap::from([
            ("CANOPY_DATABASE_URL", "postgres://u:hunter2-db@h/db"),
            ("CANOPY_SECRET_KEY", key.as_str()),
            ("CANOPY_SMTP_URL", "smtp://mailer:hunter2-smtp@mail.example"),
        ]);
        let settings = Settings::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        let printed = format!("{settings:?}");
        for secret in ["hunter2-db", "s3cr3t-key", "hunter2-smtp"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }
}
