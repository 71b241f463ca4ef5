//! The signed-in person's own page: their name, password, time zone, sessions and
//! memberships. It names no tenant and no other person: every change acts on the caller.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::access::Access;
use crate::db;
use crate::domain::account::{self, FieldErrors, PasswordChange, SID_KEY, SessionRow};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::render::{html_status, see_other};

#[derive(Template)]
#[template(path = "account/account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    display_name: String,
    zone: String,
    zones: Vec<&'static str>,
    sessions: Vec<SessionRow>,
    current: String,
    errors: FieldErrors,
    notice: Option<&'static str>,
    two_factor: crate::domain::two_factor::Status,
    /// The present moment, shown in the chosen zone.
    now: chrono::DateTime<chrono::Utc>,
}

impl AccountPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    ended: Option<String>,
}

impl Done {
    fn notice(&self) -> Option<&'static str> {
        if self.password.is_some() {
            Some("Password changed; your other sessions have ended.")
        } else if self.ended.is_some() {
            Some("That session has ended.")
        } else {
            self.saved.as_ref().map(|_| "Saved.")
        }
    }
}

/// This session's handle (empty for a session begun before handles existed).
fn current(session: &Session) -> String {
    session
        .get::<String>(SID_KEY)
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn page(
    state: &web::Data<AppState>,
    session: &Session,
    access: Access,
    chrome: Chrome,
    errors: FieldErrors,
    notice: Option<&'static str>,
) -> Result<AccountPage, AppError> {
    let idle = state.settings.session_idle;
    let user = access.user.clone();
    let (sessions, two_factor) = db::run(&state.pool, move |conn| {
        Ok((
            account::sessions_of(conn, &user, idle)?,
            crate::domain::two_factor::status(conn, user.id)?,
        ))
    })
    .await?;
    Ok(AccountPage {
        email: access.user.email.clone(),
        display_name: access.user.display_name.clone(),
        zone: access.user.time_zone.clone().unwrap_or_default(),
        zones: crate::domain::account::zone_names().collect(),
        sessions,
        current: current(session),
        errors,
        notice,
        two_factor,
        now: chrono::Utc::now(),
        chrome,
    })
}

pub async fn show(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let p = page(
        &state,
        &session,
        access,
        chrome,
        FieldErrors::new(),
        done.notice(),
    )
    .await?;
    html_status(StatusCode::OK, &p)
}

/// The page again with a message beside the field that was refused.
async fn refused(
    state: &web::Data<AppState>,
    session: &Session,
    access: Access,
    chrome: Chrome,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let p = page(state, session, access, chrome, errors, None).await?;
    html_status(StatusCode::UNPROCESSABLE_ENTITY, &p)
}

#[derive(Debug, serde::Deserialize)]
pub struct NameForm {
    #[serde(default)]
    display_name: String,
}

pub async fn rename(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let a = access.clone();
    let outcome = db::run(&state.pool, move |conn| {
        Ok(account::rename(
            conn,
            &a.actor,
            &a.user,
            &form.display_name,
        )?)
    })
    .await?;
    match outcome {
        Ok(()) => Ok(see_other("/account?saved=1")),
        Err(why) => {
            refused(
                &state,
                &session,
                access,
                chrome,
                FieldErrors::from([("display_name", why)]),
            )
            .await
        }
    }
}

pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    form: web::Form<PasswordChange>,
) -> Result<HttpResponse, AppError> {
    let a = access.clone();
    let keep = current(&session);
    let outcome = db::run(&state.pool, move |conn| {
        Ok(account::change_password(
            conn, &a.actor, &a.user, &form, &keep,
        )?)
    })
    .await?;
    match outcome {
        Ok(_) => Ok(see_other("/account?password=1")),
        Err(errors) => refused(&state, &session, access, chrome, errors).await,
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct ZoneForm {
    #[serde(default)]
    time_zone: String,
}

pub async fn set_time_zone(
    state: web::Data<AppState>,
    session: Session,
    access: Access,
    chrome: Chrome,
    form: web::Form<ZoneForm>,
) -> Result<HttpResponse, AppError> {
    let zone = match account::parse_zone(&form.time_zone) {
        Ok(z) => z,
        Err(why) => {
            return refused(
                &state,
                &session,
                access,
                chrome,
                FieldErrors::from([("time_zone", why)]),
            )
            .await;
        }
    };
    let user = access.user.clone();
    db::run(&state.pool, move |conn| {
        Ok(account::set_time_zone(conn, &user, zone)?)
    })
    .await?;
    Ok(see_other("/account?saved=1"))
}

#[derive(Debug, serde::Deserialize)]
pub struct EndForm {
    #[serde(default)]
    sid: String,
}

/// Ends one of the person's other sessions (their own is ended by signing out).
pub async fn end_session(
    state: web::Data<AppState>,
    access: Access,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, AppError> {
    let sid = form.into_inner().sid;
    db::run(&state.pool, move |conn| {
        Ok(account::end_session(
            conn,
            &access.actor,
            &access.user,
            &sid,
        )?)
    })
    .await?;
    Ok(see_other("/account?ended=1"))
}
