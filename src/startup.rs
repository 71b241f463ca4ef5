//! Builds the application from settings: pool, middleware stack, routes, listener.
use std::net::TcpListener;
use std::path::Path;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, SessionLifecycle, TtlExtensionPolicy};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::config::Settings;
use crate::crypto;
use crate::db::DbPool;
use crate::web::session_store::PgSessionStore;
use crate::web::{AppState, csrf, htmx, middleware, routes};

pub struct Application {
    port: u16,
    server: Server,
    mailbox_key: Option<String>,
}

/// The secret behind cookie keys: configured, or generated once and kept in the data folder.
pub fn secret_key(settings: &Settings) -> std::io::Result<Vec<u8>> {
    if let Some(k) = &settings.secret_key {
        return Ok(k.expose().as_bytes().to_vec());
    }
    let path = settings.data_dir.join("secret_key");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= 64
    {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    std::fs::create_dir_all(&settings.data_dir)?;
    let fresh = crypto::random_hex(64);
    write_private(&path, &fresh)?;
    Ok(fresh.into_bytes())
}

/// The key of alert emails' acknowledge links: the portal signs them, the scheduler too.
pub fn alert_key(secret: &[u8]) -> Vec<u8> {
    crypto::sha512_pair(secret, b"alert-links")
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

impl Application {
    pub fn build(settings: Settings, pool: DbPool) -> std::io::Result<Self> {
        let secret = secret_key(&settings)?;
        let cookie_key = Key::from(crypto::sha512_pair(&secret, b"session").as_slice());
        let listener = TcpListener::bind(settings.listen)?;
        let port = listener.local_addr()?.port();
        let workers = settings.workers;
        let mailbox_key =
            crate::web::mailbox::enabled_for(&settings).then(|| crate::web::mailbox::key(&secret));
        let read_pool = settings
            .read_database_url
            .as_ref()
            .map(|url| crate::db::replica::ReadPool::new(url.expose(), settings.pool_size));
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            read_pool,
            settings: settings.clone(),
            mailbox_key: mailbox_key.clone(),
            remember_key: crypto::sha512_pair(&secret, b"two-factor-remember"),
            alert_key: alert_key(&secret),
        });
        let server = HttpServer::new(move || {
            let cookie_name = if settings.secure_cookies {
                "__Host-canopy_session"
            } else {
                "canopy_session"
            };
            let sessions = SessionMiddleware::builder(
                PgSessionStore::new(
                    pool.clone(),
                    settings.session_idle,
                    settings.session_absolute,
                ),
                cookie_key.clone(),
            )
            .cookie_name(cookie_name.to_string())
            .cookie_secure(settings.secure_cookies)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_string())
            .session_lifecycle(SessionLifecycle::BrowserSession(
                // Every request pushes the idle deadline forward in the store.
                BrowserSession::default()
                    .state_ttl(actix_web::cookie::time::Duration::seconds(
                        settings.session_idle.as_secs() as i64,
                    ))
                    // The store extends the idle deadline while loading (one statement).
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            ))
            .build();
            // Last wrapped runs first: logging, headers, htmx errors, session,
            // a refused htmx action's reload, CSRF, then input.
            App::new()
                .app_data(state.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(crate::web::input::FORM_LIMIT)
                        .error_handler(|e, _| unreadable("The form", &e.to_string())),
                )
                // What the CSRF and input middlewares read a form's body with.
                .app_data(web::PayloadConfig::new(crate::web::input::FORM_LIMIT))
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|e, _| unreadable("The address", &e.to_string())),
                )
                .configure(routes::config)
                .wrap(from_fn(crate::web::input::guard))
                .wrap(from_fn(csrf::guard))
                .wrap(from_fn(htmx::reload_when_forbidden))
                .wrap(sessions)
                .wrap(from_fn(htmx::errors_in_place))
                .wrap(middleware::security_headers())
                .wrap(from_fn(middleware::request_log))
        })
        .listen(listener)?;
        let server = if workers > 0 {
            server.workers(workers)
        } else {
            server
        };
        Ok(Self {
            port,
            server: server.run(),
            mailbox_key,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The key that opens the local mailbox, when it is enabled: for the terminal only.
    pub fn mailbox_key(&self) -> Option<&str> {
        self.mailbox_key.as_deref()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn server(self) -> Server {
        self.server
    }
}

/// A form or query string that does not fit its fields: a 400 page that says so, like every
/// other refusal (actix's own answer is a bare line of text).
fn unreadable(what: &str, why: &str) -> actix_web::Error {
    crate::error::AppError::BadRequest(format!(
        "{what} has a value that does not fit its field ({why}). Go back, correct it and try again."
    ))
    .into()
}
