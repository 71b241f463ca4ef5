//! The API's errors as RFC 9457 problem details (`application/problem+json`): the web's one
//! error type (`AppError`) with, where input was wrong, the fields it was wrong in.
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::domain::error::DomainError;
use crate::error::AppError;

/// One field that was wrong, named as a JSON pointer into the body (`/name`) or as the query
/// parameter.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub detail: String,
}

/// The body of every error answer.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{error}")]
pub struct Problem {
    pub error: AppError,
    /// Overrides the status `error` maps to (415).
    pub status: Option<StatusCode>,
    pub errors: Vec<FieldProblem>,
    pub retry_after: Option<u32>,
}

impl Problem {
    /// Missing, unknown, expired or revoked key: one answer for all, so a guess learns nothing.
    pub fn unauthenticated() -> Self {
        AppError::Unauthenticated.into()
    }

    pub fn unsupported_media() -> Self {
        Self {
            status: Some(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ..AppError::BadRequest("Send the body as `Content-Type: application/json`.".into())
                .into()
        }
    }

    pub fn too_many(seconds: u32) -> Self {
        Self {
            retry_after: Some(seconds),
            ..AppError::TooMany(format!(
                "This key has made more requests this minute than it may. Try again in \
                 {seconds} s."
            ))
            .into()
        }
    }

    /// Input refused, with the fields it was refused for.
    pub fn invalid(fields: impl IntoIterator<Item = (String, String)>) -> Self {
        let errors: Vec<FieldProblem> = fields
            .into_iter()
            .map(|(field, detail)| FieldProblem { field, detail })
            .collect();
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.detail),
            _ => "Some fields are not valid; `errors` says which and why.".into(),
        };
        Self {
            errors,
            ..AppError::BadRequest(detail).into()
        }
    }

    /// One body field (`name` → `/name`) refused.
    pub fn field(name: &str, detail: impl Into<String>) -> Self {
        Self::invalid([(format!("/{name}"), detail.into())])
    }

    fn body(&self) -> ProblemBody {
        let status = self.status_code();
        let detail = match &self.error {
            AppError::NotFound => "Nothing with this id exists within your reach.".into(),
            AppError::Unauthenticated | AppError::MustEnrol => {
                "Send a valid API key as `Authorization: Bearer cnp_…`: this one is missing, \
                 unknown, expired or revoked."
                    .into()
            }
            AppError::Internal(_) => "An unexpected error occurred. It has been logged.".into(),
            AppError::Unavailable => {
                "The database is unavailable right now. Try again in a moment.".into()
            }
            other => other.to_string(),
        };
        ProblemBody {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            detail,
            errors: self.errors.clone(),
        }
    }
}

impl From<AppError> for Problem {
    fn from(error: AppError) -> Self {
        Self {
            error,
            status: None,
            errors: Vec::new(),
            retry_after: None,
        }
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        AppError::from(e).into()
    }
}

impl From<diesel::result::Error> for Problem {
    fn from(e: diesel::result::Error) -> Self {
        DomainError::from(e).into()
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.status.unwrap_or_else(|| match &self.error {
            // Never a redirect: a program has no sign-in page to go to.
            AppError::Unauthenticated | AppError::MustEnrol => StatusCode::UNAUTHORIZED,
            other => other.status_code(),
        })
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(detail) = &self.error {
            tracing::error!(error = %detail, "internal error");
        }
        let body = self.body();
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if body.status == 401 {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"canopy\""));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}
