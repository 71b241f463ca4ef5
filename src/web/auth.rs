//! Sign-in, sign-out and "sign out everywhere".
use actix_session::Session;
use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::Access;
use crate::db;
use crate::domain::audit::Actor;
use crate::domain::auth::{self, SignIn};
use crate::domain::ids::UserId;
use crate::domain::{device_tokens, tenants};
use crate::error::AppError;
use crate::web::current::client_addr;
use crate::web::render::{html_status, see_other};
use crate::web::session_store::USER_ID_KEY;
use crate::web::{AppState, csrf};

pub const DEVICE_COOKIE: &str = "canopy_device";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    needs_bootstrap: bool,
    /// Where to go after signing in (a local path only).
    next: String,
    mailbox: bool,
}

/// Only local paths: never `//host` or `/\host`, which browsers treat as other sites.
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 500
        && !next.chars().any(char::is_control);
    if ok { next.to_string() } else { String::new() }
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

pub async fn login_form(
    state: web::Data<AppState>,
    session: Session,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    let next = safe_next(&query.next);
    if session.get::<UserId>(USER_ID_KEY).ok().flatten().is_some() {
        return Ok(see_other("/"));
    }
    let has_tenants = db::run(&state.pool, |c| Ok(tenants::any_exists(c)?)).await?;
    html_status(
        StatusCode::OK,
        &LoginPage {
            csrf: csrf::token(&session),
            email: String::new(),
            error: None,
            needs_bootstrap: !has_tenants,
            next,
            mailbox: crate::web::mailbox::enabled_for(&state.settings),
        },
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let addr = client_addr(&req).unwrap_or_default();
    let cookie = req.cookie(DEVICE_COOKIE).map(|c| c.value().to_string());
    let remembered = req
        .cookie(crate::web::two_factor::REMEMBER_COOKIE)
        .map(|c| c.value().to_string());
    let key = state.remember_key.clone();
    let (email, pw) = (form.email.clone(), form.password);
    let outcome = db::run(&state.pool, move |conn| {
        Ok(auth::sign_in(
            conn,
            auth::Attempt {
                email: &email,
                password: &pw,
                client_addr: &addr,
                device_token: cookie.as_deref(),
                remembered: remembered.as_deref(),
                remember_key: &key,
            },
        )?)
    })
    .await?;
    let (status, error) = match outcome {
        SignIn::SignedIn(user_id, issued) => {
            begin_session(&session, &req, user_id)?;
            return signed_in(&state, &safe_next(&form.next), issued, None);
        }
        SignIn::NeedsCode(user_id) => {
            crate::web::two_factor::await_code(&session, user_id, &safe_next(&form.next))?;
            return Ok(see_other("/login/code"));
        }
        SignIn::Invalid => (
            StatusCode::UNAUTHORIZED,
            "The email address or password is incorrect.".to_string(),
        ),
        SignIn::Suspended => (
            StatusCode::FORBIDDEN,
            "Your organisation's access is suspended. Please contact your administrator.".into(),
        ),
        SignIn::Throttled {
            retry_after_secs: secs,
        } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many failed attempts. Please wait {} minute(s) and try again.",
                (secs + 59) / 60
            ),
        ),
    };
    html_status(
        status,
        &LoginPage {
            csrf: csrf::token(&session),
            email: form.email.chars().take(254).collect(),
            error: Some(error),
            needs_bootstrap: false,
            next: safe_next(&form.next),
            mailbox: crate::web::mailbox::enabled_for(&state.settings),
        },
    )
}

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    if let Ok(Some(user_id)) = session.get::<UserId>(USER_ID_KEY) {
        let actor = Actor {
            api_key: None,
            user_id: Some(user_id),
            client_addr: client_addr(&req),
        };
        db::run(&state.pool, move |conn| Ok(auth::sign_out(conn, &actor)?)).await?;
    }
    session.purge();
    Ok(see_other("/login"))
}

/// Ends every session of the caller, on every device and instance.
pub async fn logout_everywhere(
    access: Access,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let actor = access.actor;
    db::run(&state.pool, move |conn| {
        Ok(auth::sign_out_everywhere(conn, &actor)?)
    })
    .await?;
    session.purge();
    Ok(see_other("/login"))
}

/// The answer to a completed sign-in: on to `next`, with the device cookie for a browser new
/// to the account and the "remember this browser" cookie when it was asked for.
pub fn signed_in(
    state: &AppState,
    next: &str,
    device_token: Option<String>,
    remember: Option<String>,
) -> Result<HttpResponse, AppError> {
    let mut res = see_other(if next.is_empty() { "/" } else { next });
    let cookies = [
        device_token.map(|t| (DEVICE_COOKIE, t, device_tokens::LIFETIME_DAYS)),
        remember.map(|t| {
            (
                crate::web::two_factor::REMEMBER_COOKIE,
                t,
                crate::domain::two_factor::REMEMBER_DAYS,
            )
        }),
    ];
    for (name, value, days) in cookies.into_iter().flatten() {
        let cookie = Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(state.settings.secure_cookies)
            .same_site(SameSite::Lax)
            .max_age(Duration::days(days))
            .finish();
        res.add_cookie(&cookie)
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(res)
}

/// Signs `user_id` in on this session: a new session id (a key planted before is worthless
/// after it), a fresh CSRF token, and what the account page shows about the session — a
/// random handle to end it by, the browser and the address it began from.
pub fn begin_session(
    session: &Session,
    req: &HttpRequest,
    user_id: UserId,
) -> Result<(), AppError> {
    use crate::domain::account::{ADDR_KEY, AGENT_KEY, SID_KEY};
    let fail = |e: actix_session::SessionInsertError| AppError::Internal(e.to_string());
    session.renew();
    session.insert(USER_ID_KEY, user_id).map_err(fail)?;
    session
        .insert(SID_KEY, crate::crypto::random_hex(12))
        .map_err(fail)?;
    let agent: String = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect();
    session.insert(AGENT_KEY, agent).map_err(fail)?;
    session
        .insert(ADDR_KEY, client_addr(req).unwrap_or_default())
        .map_err(fail)?;
    csrf::rotate(session);
    Ok(())
}
