//! CSRF: a synchronizer token kept in the session. Forms carry it as `csrf_token`; htmx
//! sends it as `X-CSRF-Token` (from `hx-headers` on <body>). Unsafe requests without the
//! right token, or that the browser marks as cross-site, are refused with 403.
use actix_session::{Session, SessionExt};
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;

use crate::crypto;
use crate::error::AppError;

const SESSION_KEY: &str = "csrf";
pub const HEADER: &str = "x-csrf-token";
pub const FIELD: &str = "csrf_token";
/// The check-in URLs (`/check-in/{token}`), which need no token of ours.
pub const CHECK_IN_PREFIX: &str = "/check-in/";

/// The session's token, created on first use.
pub fn token(session: &Session) -> String {
    if let Ok(Some(t)) = session.get::<String>(SESSION_KEY) {
        return t;
    }
    let t = crypto::random_hex(32);
    // Failing to store it only means the next form is refused and re-rendered.
    let _ = session.insert(SESSION_KEY, &t);
    t
}

/// A fresh token, at sign-in (a token seen before sign-in is not trusted after it).
pub fn rotate(session: &Session) -> String {
    session.remove(SESSION_KEY);
    token(session)
}

/// Answered as a response (not an `Err`) so that the htmx layer can show it in place.
fn refused(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    use actix_web::ResponseError;
    req.into_response(
        AppError::Forbidden(
            "This form has expired or did not come from this site. Reload the page and try again."
                .into(),
        )
        .error_response(),
    )
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // A device's check-in URL is called by terminals and gateways, with no session and no
    // cookie: the secret token in its path is the credential, so there is no forgery to stop.
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.path().starts_with(CHECK_IN_PREFIX)
        // The API reads no cookie, only a Bearer key a browser never sends on its own.
        || req.path().starts_with(crate::web::api::PREFIX)
    {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site");
    if cross_site {
        return Ok(refused(req));
    }
    let expected = req.get_session().get::<String>(SESSION_KEY).ok().flatten();
    let Some(expected) = expected else {
        return Ok(refused(req));
    };
    let mut presented = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    let is_multipart = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if presented.is_none() && is_multipart {
        // An upload form cannot set a header and its body is a stream: the token rides in
        // the query string (same-origin only: Referrer-Policy keeps it from other sites).
        presented = form_field(req.query_string().as_bytes(), FIELD);
    }
    if presented.is_none() && is_form {
        // Read the form to find the token, then hand the same bytes on to the handler.
        let body = match crate::web::input::form_body(&mut req).await {
            Ok(body) => body,
            Err(e) => {
                use actix_web::ResponseError;
                return Ok(req.into_response(e.error_response()));
            }
        };
        presented = form_field(&body, FIELD);
        req.set_payload(Payload::from(body));
    }
    match presented {
        Some(p) if crypto::constant_time_eq(&p, &expected) => {
            Ok(next.call(req).await?.map_into_boxed_body())
        }
        _ => Ok(refused(req)),
    }
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn serde_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    actix_web::web::Query::<Vec<(String, String)>>::from_query(&String::from_utf8_lossy(body))
        .map(|q| q.into_inner())
        .unwrap_or_default()
}
