//! Two-factor sign-in on the web: the code step after a right password, enrolment and
//! switching off on the account page, and a reset by someone who manages the person. The
//! rules are `domain::two_factor`'s; a half-signed-in browser holds only a pending marker in
//! its (pre-sign-in) session, which the code step turns into a sign-in with a new session id.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::Access;
use crate::db;
use crate::domain::auth::{self, SignIn};
use crate::domain::ids::{TenantId, UserId};
use crate::domain::permissions::perm;
use crate::domain::two_factor::{self, totp};
use crate::error::AppError;
use crate::web::current::{Chrome, client_addr};
use crate::web::reach::Reach;
use crate::web::render::{html_status, see_other};
use crate::web::{AppState, csrf};

pub const REMEMBER_COOKIE: &str = "canopy_2fa";
/// Where someone whose tenant requires two-factor sign-in is sent until they set it up.
pub const ENROL_PATH: &str = "/account/two-factor";
/// What such a person may still reach.
pub const WHILE_ENROLLING: [&str; 3] = [ENROL_PATH, "/logout", "/logout/everywhere"];
const PENDING_USER: &str = "pending_user";
const PENDING_AT: &str = "pending_at";
const PENDING_NEXT: &str = "pending_next";
const ENROL_SECRET: &str = "enrol_secret";
/// A right password waits this long for its code.
const PENDING_SECS: i64 = 300;

fn fail(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

/// Marks this browser as past the password of `user_id`, waiting for the code.
pub fn await_code(session: &Session, user_id: UserId, next: &str) -> Result<(), AppError> {
    session.insert(PENDING_USER, user_id).map_err(fail)?;
    session
        .insert(PENDING_AT, chrono::Utc::now().timestamp())
        .map_err(fail)?;
    session.insert(PENDING_NEXT, next).map_err(fail)
}

/// The person whose password this browser gave, if that was less than five minutes ago.
fn pending(session: &Session) -> Option<UserId> {
    let at = session.get::<i64>(PENDING_AT).ok().flatten()?;
    if chrono::Utc::now().timestamp() - at > PENDING_SECS {
        return None;
    }
    session.get::<UserId>(PENDING_USER).ok().flatten()
}

fn forget_pending(session: &Session) {
    for key in [PENDING_USER, PENDING_AT, PENDING_NEXT] {
        session.remove(key);
    }
}

#[derive(Template)]
#[template(path = "two_factor/code.html")]
struct CodePage {
    csrf: String,
    error: Option<String>,
}

pub async fn code_form(session: Session) -> Result<HttpResponse, AppError> {
    if pending(&session).is_none() {
        return Ok(see_other("/login"));
    }
    html_status(
        StatusCode::OK,
        &CodePage {
            csrf: csrf::token(&session),
            error: None,
        },
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    remember: String,
}

pub async fn code(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let Some(user_id) = pending(&session) else {
        forget_pending(&session);
        return Ok(see_other("/login"));
    };
    let addr = client_addr(&req).unwrap_or_default();
    let device = req
        .cookie(crate::web::auth::DEVICE_COOKIE)
        .map(|c| c.value().to_string());
    let remember = form.remember == "1";
    let key = state.remember_key.clone();
    let typed = form.into_inner().code;
    let (outcome, token) = db::run(&state.pool, move |conn| {
        let outcome = auth::second_factor(conn, user_id, &typed, &addr, device.as_deref())?;
        let token = match (&outcome, remember) {
            (SignIn::SignedIn(..), true) => Some(two_factor::remember_token(conn, &key, user_id)?),
            _ => None,
        };
        Ok((outcome, token))
    })
    .await?;
    let (status, error) = match outcome {
        SignIn::SignedIn(user_id, issued) => {
            let next = session
                .get::<String>(PENDING_NEXT)
                .ok()
                .flatten()
                .unwrap_or_default();
            forget_pending(&session);
            crate::web::auth::begin_session(&session, &req, user_id)?;
            return crate::web::auth::signed_in(
                &state,
                &crate::web::auth::safe_next(&next),
                issued,
                token,
            );
        }
        SignIn::Throttled { retry_after_secs } => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "Too many wrong codes. Please wait {} minute(s) and try again.",
                (retry_after_secs + 59) / 60
            ),
        ),
        _ => (
            StatusCode::UNAUTHORIZED,
            "That code is not right, or was used already. Type the six digits your app shows \
             now, or one of your recovery codes."
                .to_string(),
        ),
    };
    html_status(
        status,
        &CodePage {
            csrf: csrf::token(&session),
            error: Some(error),
        },
    )
}

#[derive(Template)]
#[template(path = "two_factor/enrol.html")]
struct EnrolPage {
    chrome: Chrome,
    enabled: bool,
    recovery_left: i64,
    secret: String,
    qr: String,
    error: Option<String>,
    /// Shown once, right after switching on.
    codes: Vec<String>,
}

async fn enrol_page(
    state: &web::Data<AppState>,
    session: &Session,
    access: &Access,
    chrome: Chrome,
    error: Option<String>,
    codes: Vec<String>,
) -> Result<EnrolPage, AppError> {
    let user = access.user.id;
    let status = db::run(&state.pool, move |conn| Ok(two_factor::status(conn, user)?)).await?;
    let (secret, qr) = if status.enabled {
        (String::new(), String::new())
    } else {
        let secret = match session.get::<String>(ENROL_SECRET).ok().flatten() {
            Some(s) => s,
            None => {
                let s = two_factor::new_secret();
                session.insert(ENROL_SECRET, &s).map_err(fail)?;
                s
            }
        };
        let uri = totp::otpauth_uri(&chrome.brand.name, &access.user.email, &secret);
        (secret, totp::qr_svg(&uri).unwrap_or_default())
    };
    Ok(EnrolPage {
        chrome,
        enabled: status.enabled,
        recovery_left: status.recovery_left,
        secret,
        qr,
        error,
        codes,
    })
}

pub async fn enrol(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
) -> Result<HttpResponse, AppError> {
    let page = enrol_page(&state, &session, &access, chrome, None, Vec::new()).await?;
    html_status(StatusCode::OK, &page)
}

#[derive(Debug, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    code: String,
}

/// Switches two-factor sign-in on once the app's code matches the secret shown.
pub async fn confirm(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let secret = session
        .get::<String>(ENROL_SECRET)
        .ok()
        .flatten()
        .unwrap_or_default();
    let (a, typed) = (access.clone(), form.into_inner().code);
    let outcome = db::run(&state.pool, move |conn| {
        Ok(two_factor::enable(
            conn, &a.actor, &a.user, &secret, &typed,
        )?)
    })
    .await?;
    match outcome {
        Ok(codes) => {
            session.remove(ENROL_SECRET);
            let page = enrol_page(&state, &session, &access, chrome, None, codes).await?;
            html_status(StatusCode::OK, &page)
        }
        Err(why) => {
            let page = enrol_page(&state, &session, &access, chrome, Some(why), Vec::new()).await?;
            html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct DisableForm {
    #[serde(default)]
    password: String,
}

pub async fn disable(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    form: web::Form<DisableForm>,
) -> Result<HttpResponse, AppError> {
    if let Some(g) = access.grants.iter().find(|g| g.requires_two_factor) {
        let why = format!(
            "The security policy of {} requires two-factor sign-in; it stays on.",
            g.tenant_name
        );
        let page = enrol_page(&state, &session, &access, chrome, Some(why), Vec::new()).await?;
        return html_status(StatusCode::FORBIDDEN, &page);
    }
    let (a, password) = (access.clone(), form.into_inner().password);
    let outcome = db::run(&state.pool, move |conn| {
        Ok(two_factor::disable(conn, &a.actor, &a.user, &password)?)
    })
    .await?;
    match outcome {
        Ok(()) => Ok(see_other("/account?saved=1")),
        Err(why) => {
            let page = enrol_page(&state, &session, &access, chrome, Some(why), Vec::new()).await?;
            html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Someone who manages a member resets their second factor; the member is told by email.
pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    r: Reach<perm::MembersChangeRole>,
    path: web::Path<(TenantId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let base = state.settings.base_url.clone();
    db::run(&pool, move |conn| {
        access.may_reset_second_factor(conn, &reached, user_id)?;
        let user = crate::domain::users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        let brand = crate::domain::branding::tenant_with_brand(conn, reached.id())?
            .map(|(_, b)| b)
            .unwrap_or_default()
            .for_mail(&base);
        let notice = crate::email::messages::two_factor_reset(
            &brand,
            &user.display_name,
            &access.user.display_name,
            &format!("{base}/account/two-factor"),
        )?;
        two_factor::reset(conn, &access.actor, &user, reached.path(), notice)?;
        Ok(())
    })
    .await?;
    Ok(crate::web::htmx::redirect(
        &req,
        &format!("/tenants/{id}/members?changed=1"),
    ))
}
