//! "Forgot password" and the reset link (public). The answer to a request never says
//! whether the address has an account.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::domain::password::Password;
use crate::domain::password_resets::{self, ResetError};
use crate::error::AppError;
use crate::web::current::client_addr;
use crate::web::render::html_status;
use crate::web::{AppState, csrf};

#[derive(Template)]
#[template(path = "password/forgot.html")]
struct ForgotPage {
    csrf: String,
    sent: bool,
}

pub async fn forgot_form(session: Session) -> Result<HttpResponse, AppError> {
    html_status(
        StatusCode::OK,
        &ForgotPage {
            csrf: csrf::token(&session),
            sent: false,
        },
    )
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    state: web::Data<AppState>,
    session: Session,
    form: web::Form<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    let email = form.into_inner().email;
    db::run(&state.pool, move |conn| {
        Ok(password_resets::ask(conn, &email)?)
    })
    .await?;
    html_status(
        StatusCode::OK,
        &ForgotPage {
            csrf: csrf::token(&session),
            sent: true,
        },
    )
}

#[derive(Template)]
#[template(path = "password/reset.html")]
struct ResetPage {
    csrf: String,
    token: String,
    error: Option<String>,
    invalid: Option<String>,
    done: bool,
}

pub async fn reset_form(
    state: web::Data<AppState>,
    session: Session,
    token: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let t = token.clone();
    let checked = db::run(&state.pool, move |conn| {
        match password_resets::check(conn, &t) {
            Ok(_) => Ok(None),
            Err(ResetError::Invalid) => Ok(Some(ResetError::Invalid.to_string())),
            Err(ResetError::Domain(e)) => Err(e.into()),
        }
    })
    .await?;
    let status = if checked.is_some() {
        StatusCode::GONE
    } else {
        StatusCode::OK
    };
    html_status(
        status,
        &ResetPage {
            csrf: csrf::token(&session),
            token,
            error: None,
            invalid: checked,
            done: false,
        },
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

pub async fn reset(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    token: web::Path<String>,
    form: web::Form<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let token = token.into_inner();
    let form = form.into_inner();
    let addr = client_addr(&req);
    let t = token.clone();
    let outcome = db::run(&state.pool, move |conn| {
        let user = match password_resets::check(conn, &t) {
            Ok(u) => u,
            Err(ResetError::Invalid) => return Ok(Err((StatusCode::GONE, None))),
            Err(ResetError::Domain(e)) => return Err(e.into()),
        };
        if form.password != form.password_confirm {
            return Ok(Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("The two passwords differ.".to_string()),
            )));
        }
        let password = match Password::parse(&form.password, &user.email) {
            Ok(p) => p,
            Err(m) => return Ok(Err((StatusCode::UNPROCESSABLE_ENTITY, Some(m)))),
        };
        match password_resets::reset(conn, &t, &password, addr) {
            Ok(_) => Ok(Ok(())),
            Err(ResetError::Invalid) => Ok(Err((StatusCode::GONE, None))),
            Err(ResetError::Domain(e)) => Err(e.into()),
        }
    })
    .await?;
    let csrf = csrf::token(&session);
    match outcome {
        Ok(()) => html_status(
            StatusCode::OK,
            &ResetPage {
                csrf,
                token,
                error: None,
                invalid: None,
                done: true,
            },
        ),
        Err((status, error)) => {
            let invalid = error.is_none().then(|| ResetError::Invalid.to_string());
            html_status(
                status,
                &ResetPage {
                    csrf,
                    token,
                    error,
                    invalid,
                    done: false,
                },
            )
        }
    }
}
