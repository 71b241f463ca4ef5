//! The local mailbox of the embedded default (no CANOPY_SMTP_URL): the portal shows the
//! messages it would have sent, so that a newcomer can open an invitation in the browser.
//! Those messages hold live invitation and password-reset links, so the mailbox is for the
//! person at the terminal only: it exists only while the base URL and the listen address are
//! this machine's, and it opens only with the key printed at start-up (`/mailbox?key=…`,
//! then a cookie). A reverse proxy on the same host makes every request come from loopback,
//! so where a request comes from proves nothing. Otherwise these routes answer 404.
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db;
use crate::email::outbox::{self, Message};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::render::html;

#[derive(Template)]
#[template(path = "mailbox/list.html")]
struct MailboxPage {
    messages: Vec<Message>,
}

#[derive(Template)]
#[template(path = "mailbox/show.html")]
struct MessagePage {
    message: Message,
    links: Vec<String>,
}

/// Only without SMTP, only while the portal listens on this machine alone and only while its
/// own address (`CANOPY_BASE_URL`) is this machine's: a public base URL means people
/// elsewhere use it, whatever the listen address says.
pub fn enabled_for(settings: &crate::config::Settings) -> bool {
    settings.mail.smtp_url.is_none()
        && settings.listen.ip().is_loopback()
        && is_loopback_url(&settings.base_url)
}

/// Whether a URL's host is this machine (`localhost`, `127.x.x.x`, `[::1]`).
pub fn is_loopback_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The key that opens the mailbox, derived from the portal's secret: the same for every
/// instance sharing it, printed in the terminal at start-up and nowhere else.
pub fn key(secret: &[u8]) -> String {
    let bytes = crate::crypto::sha512_pair(secret, b"mailbox");
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

const COOKIE: &str = "canopy_mailbox";

#[derive(Debug, serde::Deserialize)]
pub struct KeyQuery {
    #[serde(default)]
    key: Option<String>,
}

/// The mailbox's key when it is enabled and the request carries it in its cookie.
fn admitted(state: &AppState, req: &HttpRequest) -> Result<(), AppError> {
    let expected = state.mailbox_key.as_deref().ok_or(AppError::NotFound)?;
    match req.cookie(COOKIE) {
        Some(c) if crate::crypto::constant_time_eq(c.value(), expected) => Ok(()),
        _ => Err(AppError::NotFound),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<KeyQuery>,
) -> Result<HttpResponse, AppError> {
    if let Some(given) = &query.key {
        // The printed link: trade the key for a cookie, and drop it from the address bar
        // (and so from history and Referer headers).
        let expected = state.mailbox_key.as_deref().ok_or(AppError::NotFound)?;
        if !crate::crypto::constant_time_eq(given, expected) {
            return Err(AppError::NotFound);
        }
        let cookie = Cookie::build(COOKIE, expected.to_string())
            .path("/mailbox")
            .http_only(true)
            .same_site(SameSite::Strict)
            .finish();
        return Ok(HttpResponse::SeeOther()
            .cookie(cookie)
            .insert_header((header::LOCATION, "/mailbox"))
            .finish());
    }
    admitted(&state, &req)?;
    let messages = db::run(&state.pool, |conn| Ok(outbox::recent(conn, 100)?)).await?;
    html(&MailboxPage { messages })
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    admitted(&state, &req)?;
    let id = id.into_inner();
    let message = db::run(&state.pool, move |conn| Ok(outbox::find(conn, id)?)).await?;
    let base = format!("{}/", state.settings.base_url);
    // Only our own links become clickable.
    let links = message
        .text_body
        .split_whitespace()
        .filter(|w| w.starts_with(&base))
        .map(str::to_string)
        .collect();
    html(&MessagePage { message, links })
}
