//! What an API request carries besides its path: a JSON body (at most `LIMIT` bytes, no
//! unknown fields, no NUL characters: PostgreSQL text cannot hold them) and a query string;
//! and how an answer goes back, once (`Idempotency-Key`) where it creates something.
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};
use diesel::PgConnection;
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db;
use crate::domain::api_keys::replay::{self, Answer};
use crate::error::AppError;
use crate::web::api::caller::Caller;
use crate::web::api::problem::Problem;

/// The largest body the API reads (the same as a form's).
pub const LIMIT: usize = crate::web::input::FORM_LIMIT;

/// A JSON body with its bytes (an idempotent retry must be the same request). It is read
/// here but judged by `value`, which a handler calls after its `ApiReach`: another tenant's id
/// is 404 whatever the body says.
pub struct Body<T> {
    read: Result<Bytes, Problem>,
    json: bool,
    kind: std::marker::PhantomData<T>,
}

impl<T: DeserializeOwned> Body<T> {
    /// The body as `T`, or why not: 415 unless JSON, 413 past `LIMIT`, 400 with the field.
    pub fn value(&self) -> Result<(T, Bytes), Problem> {
        if !self.json {
            return Err(Problem::unsupported_media());
        }
        let raw = self.read.clone()?;
        Ok((parse(&raw)?, raw))
    }
}

/// The first NUL character in any key or string of `v`, as a JSON pointer.
fn nul_at(v: &serde_json::Value, at: &str) -> Option<String> {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(at.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, &format!("{at}/{i}"))),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(k, item)| {
            let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
            if k.contains('\0') {
                Some(here)
            } else {
                nul_at(item, &here)
            }
        }),
        _ => None,
    }
}

/// A serde path (`ids[2]`, `name`) as a JSON pointer (`/ids/2`, `/name`).
fn pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => out.push_str(&format!("/{key}")),
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    if out.is_empty() { "/".into() } else { out }
}

/// Reads `raw` as `T`, with the field it fails at.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Problem> {
    let value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
        Problem::invalid([("/".to_string(), format!("The body is not valid JSON: {e}."))])
    })?;
    if !value.is_object() {
        return Err(Problem::invalid([(
            "/".to_string(),
            "Send a JSON object.".to_string(),
        )]));
    }
    if let Some(at) = nul_at(&value, "") {
        return Err(Problem::invalid([(
            at,
            "Contains a NUL character, which no field accepts.".to_string(),
        )]));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let at = pointer(e.path());
        Problem::invalid([(at, e.into_inner().to_string())])
    })
}

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = Problem;
    type Future = LocalBoxFuture<'static, Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let read = bytes.await.map_err(|_| {
                Problem::from(AppError::TooLarge(format!(
                    "The body is larger than {} KB, more than any request here needs.",
                    LIMIT / 1024
                )))
            });
            Ok(Body {
                read,
                json,
                kind: std::marker::PhantomData,
            })
        })
    }
}

/// A query string read as `T` (no unknown parameters, no NUL, valid UTF-8); judged by `get`,
/// after the handler's `ApiReach`, like `Body`.
pub struct Query<T>(Result<T, Problem>);

impl<T> Query<T> {
    pub fn get(self) -> Result<T, Problem> {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Query<T> {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let qs = req.query_string();
        let parsed = match crate::web::input::refusal(qs.as_bytes()) {
            Some(why) => Err(Problem::invalid([("query".to_string(), why.to_string())])),
            None => serde_urlencoded::from_str::<T>(qs)
                .map_err(|e| Problem::invalid([("query".to_string(), e.to_string())])),
        };
        std::future::ready(Ok(Query(parsed)))
    }
}

/// `value` as a JSON answer.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<HttpResponse, Problem> {
    let body =
        serde_json::to_string(value).map_err(|e| AppError::Internal(format!("json: {e}")))?;
    Ok(HttpResponse::build(status)
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// A created object's answer: 201, its address and itself.
pub fn created<T: Serialize>(location: String, value: &T) -> Result<Answer, Problem> {
    Ok(Answer {
        status: 201,
        location: Some(location),
        body: serde_json::to_string(value).map_err(|e| AppError::Internal(format!("json: {e}")))?,
    })
}

/// Runs `create` and answers what it made — once per `Idempotency-Key`, if the request has
/// one: a retry with the same key (and the same request) gets the first answer again.
pub async fn once<F>(
    req: &HttpRequest,
    caller: &Caller,
    raw: &Bytes,
    create: F,
) -> Result<HttpResponse, Problem>
where
    F: FnOnce(&mut PgConnection) -> Result<Answer, Problem> + Send + 'static,
{
    let idem_key = match req.headers().get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str().ok().filter(|k| replay::valid_key(k)) {
            Some(k) => Some(k.to_string()),
            None => {
                return Err(Problem::invalid([(
                    "Idempotency-Key".to_string(),
                    "Use 1 to 255 printable ASCII characters, such as a UUID.".to_string(),
                )]));
            }
        },
    };
    let request_hash = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(req.method().as_str().as_bytes());
        h.update([0]);
        h.update(req.path().as_bytes());
        h.update([0]);
        h.update(raw);
        h.finalize().to_vec()
    };
    let key_id = caller.key.id;
    let answer = db::run_with(&caller.pool, move |conn| match idem_key {
        Some(k) => replay::once(conn, key_id, &k, &request_hash, create),
        None => create(conn),
    })
    .await?;
    let mut response =
        HttpResponse::build(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::CREATED));
    response
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(location) = answer.location {
        response.insert_header((header::LOCATION, location));
    }
    Ok(response.body(answer.body))
}
