//! CSRF: a synchronizer token kept in the session. Forms carry it as `csrf_token` (upload
//! forms too, as their first field: never in a URL, where history, logs and Referer headers
//! would keep it); htmx sends it as `X-CSRF-Token`, which `static/app.js` adds from the
//! page's `csrf-token` meta. Unsafe requests without the right token, or that the browser
//! marks as cross-site, are refused with 403.
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
        // An upload form cannot set a header: the token is its first field. The body is read
        // here (bounded by the largest upload) and handed on to the handler unchanged.
        let boundary = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .and_then(multipart_boundary);
        let body = match read_upload(&mut req).await {
            Ok(body) => body,
            Err(e) => {
                use actix_web::ResponseError;
                return Ok(req.into_response(e.error_response()));
            }
        };
        // The token is the form's first field: only the head of the body is searched.
        let head = &body[..body.len().min(crate::web::input::FORM_LIMIT)];
        presented = boundary.and_then(|b| multipart_field(head, &b, FIELD));
        req.set_payload(Payload::from(body));
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

/// The largest upload body: an import file with room for the form around it.
const UPLOAD_LIMIT: usize = crate::domain::devices::import::MAX_BYTES + 64 * 1024;

async fn read_upload(req: &mut ServiceRequest) -> Result<actix_web::web::Bytes, AppError> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let mut payload = req.take_payload();
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::BadRequest(format!("The upload failed: {e}")))?;
        if body.len() + chunk.len() > UPLOAD_LIMIT {
            return Err(AppError::TooLarge(format!(
                "The upload is larger than {} MB, more than any form here accepts.",
                UPLOAD_LIMIT / (1024 * 1024)
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// `boundary=` of a `multipart/form-data` content type.
fn multipart_boundary(content_type: &str) -> Option<String> {
    content_type.split(';').find_map(|p| {
        let v = p.trim().strip_prefix("boundary=")?;
        Some(v.trim_matches('"').to_string())
    })
}

/// A text field of a multipart body, by name.
fn multipart_field(body: &[u8], boundary: &str, name: &str) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let wanted = format!("name=\"{name}\"");
    let text = String::from_utf8_lossy(body);
    text.split(delimiter.as_str()).find_map(|part| {
        let (headers, value) = part.split_once("\r\n\r\n")?;
        let disposition = headers
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        if !disposition.split(';').any(|p| p.trim() == wanted) {
            return None;
        }
        Some(value.strip_suffix("\r\n").unwrap_or(value).to_string())
    })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_an_upload_forms_own_field_only() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc123\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\
                    Content-Type: text/csv\r\n\r\nname=\"csrf_token\"\r\n--XyZ--\r\n";
        let b = multipart_boundary("multipart/form-data; boundary=XyZ").unwrap();
        assert_eq!(
            multipart_field(body.as_bytes(), &b, FIELD).as_deref(),
            Some("abc123")
        );
        assert_eq!(multipart_field(body.as_bytes(), &b, "missing"), None);
        assert_eq!(
            multipart_boundary("multipart/form-data; boundary=\"q q\"").as_deref(),
            Some("q q")
        );
    }
}
