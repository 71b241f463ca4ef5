//! Refuses requests whose query string or form carries what no field accepts: NUL bytes
//! (PostgreSQL text cannot hold them) and invalid UTF-8 (which would otherwise be replaced
//! silently). One check here instead of one per field; multipart uploads are checked by
//! their readers.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Bytes;

use crate::error::AppError;

/// The percent-decoded bytes of each key and value of `application/x-www-form-urlencoded`.
fn decoded_parts(encoded: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    encoded.split(|b| *b == b'&' || *b == b'=').map(|part| {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            let b = part[i];
            let hex = |c: u8| (c as char).to_digit(16);
            match b {
                b'+' => out.push(b' '),
                b'%' if i + 2 < part.len() => match (hex(part[i + 1]), hex(part[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b),
                },
                _ => out.push(b),
            }
            i += 1;
        }
        out
    })
}

/// Why the encoded form is refused, if it is.
pub fn refusal(encoded: &[u8]) -> Option<&'static str> {
    for part in decoded_parts(encoded) {
        if part.contains(&0) {
            return Some(
                "The request contains a NUL character, which no field accepts. Remove it and try again.",
            );
        }
        if std::str::from_utf8(&part).is_err() {
            return Some(
                "The request is not valid UTF-8 text. Check the values you entered and try again.",
            );
        }
    }
    None
}

/// Forms are small; a body past this is refused with a page before anything reads it.
pub const FORM_LIMIT: usize = 64 * 1024;

/// The whole body of a form, read once by the first middleware that needs it and handed on.
pub async fn form_body(req: &mut ServiceRequest) -> Result<Bytes, AppError> {
    req.extract::<Bytes>().await.map_err(|_| {
        AppError::TooLarge(format!(
            "The form is larger than {} KB, more than any field here accepts. Shorten what you entered and try again.",
            FORM_LIMIT / 1024
        ))
    })
}

fn refused(req: ServiceRequest, why: &str) -> ServiceResponse<BoxBody> {
    use actix_web::ResponseError;
    req.into_response(AppError::BadRequest(why.into()).error_response())
}

pub async fn guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The API reads its own input and answers in problem details (`web::api::body`).
    if req.path().starts_with(crate::web::api::PREFIX) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    if let Some(why) = refusal(req.query_string().as_bytes()) {
        return Ok(refused(req, why));
    }
    let is_form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let body = match form_body(&mut req).await {
            Ok(body) => body,
            Err(e) => {
                use actix_web::ResponseError;
                return Ok(req.into_response(e.error_response()));
            }
        };
        if let Some(why) = refusal(&body) {
            return Ok(refused(req, why));
        }
        req.set_payload(Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// An empty select value means "any": `None`, else the parsed id.
pub fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    let s = String::deserialize(d)?;
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A device list's selection from repeated `ids=` pairs (sorted, each once) and the one other
/// id the form names `key` (empty: none). Anything malformed is a 400: no id is guessed.
pub fn selection<T: std::str::FromStr>(
    pairs: &[(String, String)],
    key: &str,
) -> Result<(Vec<crate::domain::ids::DeviceId>, Option<T>), AppError> {
    let bad = || AppError::BadRequest("The selection is not valid.".into());
    let mut ids = Vec::new();
    let mut other = None;
    for (k, v) in pairs {
        if k == "ids" {
            ids.push(v.parse().map_err(|_| bad())?);
        } else if k == key && !v.is_empty() {
            other = Some(v.parse().map_err(|_| bad())?);
        }
    }
    ids.sort();
    ids.dedup();
    Ok((ids, other))
}

#[cfg(test)]
mod tests {
    use super::refusal;

    #[test]
    fn nul_and_invalid_utf8_are_refused_anywhere_in_a_form() {
        assert!(refusal(b"name=a%00b").is_some());
        assert!(refusal(b"na%00me=x").is_some());
        assert!(refusal(b"name=%FF%FE").is_some());
        assert!(refusal(b"name=%C3").is_some());
        assert!(refusal(b"name=caf%C3%A9+au+lait&q=%25_%27").is_none());
        assert!(refusal(b"name=100%").is_none());
        assert!(refusal(b"").is_none());
    }
}
