//! The local mailbox of the embedded default (no CANOPY_SMTP_URL): the portal shows the
//! messages it would have sent, so that a newcomer can open an invitation in the browser.
//! With SMTP configured, or when listening beyond loopback, these routes answer 404.
use actix_web::{HttpResponse, web};
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

/// Only without SMTP, and only while the portal listens on this machine alone: the
/// mailbox shows live invitation links to whoever can open it.
pub fn enabled_for(settings: &crate::config::Settings) -> bool {
    settings.mail.smtp_url.is_none() && settings.listen.ip().is_loopback()
}

fn enabled(state: &AppState) -> Result<(), AppError> {
    if enabled_for(&state.settings) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
    let messages = db::run(&state.pool, |conn| Ok(outbox::recent(conn, 100)?)).await?;
    html(&MailboxPage { messages })
}

pub async fn show(
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    enabled(&state)?;
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
