//! The web's error type: HTTP status and the page a person sees are decided here (domain
//! errors, `domain::error::DomainError`, are mapped in `From` below), and `web::htmx` turns
//! error pages into in-place messages for htmx requests.
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::domain::error::{DomainError, chain};

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Missing, or outside the caller's reach: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    /// Within reach but not allowed; the message says why.
    #[error("{0}")]
    Forbidden(String),
    #[error("sign-in required")]
    Unauthenticated,
    /// A tenant of the caller requires two-factor sign-in, which they have yet to set up.
    #[error("two-factor sign-in to set up")]
    MustEnrol,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    TooMany(String),
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

/// Marks an error response so that the htmx middleware can show it in place.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub title: &'static str,
    pub message: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl AppError {
    fn title_and_message(&self) -> (&'static str, String) {
        match self {
            Self::NotFound => (
                "Not found",
                "This page does not exist, or you do not have access to it.".into(),
            ),
            Self::Forbidden(m) => ("Not allowed", m.clone()),
            Self::Unauthenticated => ("Sign-in required", "Please sign in.".into()),
            Self::MustEnrol => (
                "Two-factor sign-in required",
                "Set up two-factor sign-in first.".into(),
            ),
            Self::BadRequest(m) => ("Bad request", m.clone()),
            Self::Conflict(m) => ("Conflict", m.clone()),
            Self::TooLarge(m) => ("Too large", m.clone()),
            Self::TooMany(m) => ("Please wait", m.clone()),
            Self::Unavailable => (
                "Service unavailable",
                "The database is unavailable right now. Please try again in a moment.".into(),
            ),
            Self::Internal(_) => (
                "Something went wrong",
                "An unexpected error occurred. It has been logged.".into(),
            ),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthenticated | Self::MustEnrol => StatusCode::SEE_OTHER,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(detail) = self {
            tracing::error!(error = %detail, "internal error");
        }
        let to = match self {
            Self::Unauthenticated => Some("/login"),
            Self::MustEnrol => Some(crate::web::two_factor::ENROL_PATH),
            _ => None,
        };
        if let Some(to) = to {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, to))
                .insert_header(("HX-Redirect", to))
                .finish();
        }
        let status = self.status_code();
        let (title, message) = self.title_and_message();
        let body = ErrorPage {
            status: status.as_u16(),
            title,
            message: &message,
        }
        .render()
        .unwrap_or_else(|_| message.clone());
        // The page's own security headers: an error raised by a middleware skips the
        // header middleware on its way out.
        let mut response = HttpResponse::build(status)
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ))
            .insert_header((header::CONTENT_SECURITY_POLICY, crate::web::middleware::CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body);
        response
            .extensions_mut()
            .insert(ErrorInfo { title, message });
        response
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        DomainError::from(e).into()
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound => Self::NotFound,
            DomainError::NotAllowed(m) => Self::Forbidden(m),
            DomainError::Invalid(m) => Self::BadRequest(m),
            DomainError::Conflict(m) => Self::Conflict(m),
            DomainError::Unavailable => Self::Unavailable,
            failed @ DomainError::Failed { .. } => Self::Internal(chain(&failed)),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        Self::Internal(format!("template: {e}"))
    }
}
