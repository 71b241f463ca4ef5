//! htmx-aware responses: an error answering an htmx request becomes a message shown in
//! place (retargeted to #flash), while a full page load gets the whole error page.
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use askama::Template;

use crate::error::ErrorInfo;

pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("hx-request")
}

#[derive(Template)]
#[template(path = "_flash.html")]
struct Flash<'a> {
    title: &'a str,
    message: &'a str,
}

pub async fn errors_in_place(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let htmx = req.headers().contains_key("hx-request");
    // Where the person was: a sign-in forced by an htmx request brings them back there.
    let current = current_page(&req);
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // The session store could not reach the database: the same 503 page as any other
        // request that needs it, instead of actix-session's bare 500.
        Err(e) if is_session_store_error(&e) => {
            tracing::warn!(error = %e, "session store unavailable");
            return Err(crate::error::AppError::Unavailable.into());
        }
        Err(e) => return Err(e),
    };
    if !htmx {
        return Ok(res);
    }
    // A redirect answering htmx (an ended session, a second factor to set up): htmx 4's
    // fetch would follow a 3xx itself and swap the page it finds into the fragment's place,
    // ignoring HX-Redirect; a 2xx with HX-Redirect makes the browser go there instead.
    if res.status().is_redirection()
        && let Some(to) = res
            .headers()
            .get("hx-redirect")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    {
        let to = match (to.as_str(), current) {
            ("/login", Some(back)) if back.starts_with('/') && back != "/login" => {
                format!("/login?next={}", crate::web::render::url_encode(&back))
            }
            _ => to,
        };
        return Ok(res.into_response(
            HttpResponse::Ok()
                .insert_header(("HX-Redirect", to))
                .finish(),
        ));
    }
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    let Some(info) = info else {
        return Ok(res);
    };
    let body = Flash {
        title: info.title,
        message: &info.message,
    }
    .render()
    .unwrap_or_default();
    let status = res.status();
    Ok(res.into_response(
        HttpResponse::build(status)
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ))
            .insert_header(("HX-Retarget", "#flash"))
            .insert_header(("HX-Reswap", "innerHTML"))
            .body(body),
    ))
}

/// A 403 answering an htmx action from a page (most often: the person's role changed since
/// the page was drawn, so it offers what they may no longer do) reloads that page, which then
/// shows what they may do, with the reason in its live region. Runs inside the session
/// middleware so that the message it keeps is saved; forms that explain a refusal beside
/// their fields answer without `ErrorInfo` and are left alone.
pub async fn reload_when_forbidden(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    use actix_session::SessionExt;
    // Actions only: a fragment a page loads by itself is refused in place, so that a page can
    // never reload itself in a loop.
    let action = req.method() != actix_web::http::Method::GET;
    let current = (action && req.headers().contains_key("hx-request"))
        .then(|| current_page(&req))
        .flatten()
        // This site's own paths only (a browser reads `/\host` as another site).
        .filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains('\\'));
    let res = next.call(req).await?.map_into_boxed_body();
    let Some(back) = current else {
        return Ok(res);
    };
    if res.status() != actix_web::http::StatusCode::FORBIDDEN {
        return Ok(res);
    }
    let Some(info) = res.response().extensions().get::<ErrorInfo>().cloned() else {
        return Ok(res);
    };
    let session = res.request().get_session();
    if crate::web::flash::set(&session, format!("Not done: {}", info.message)).is_err() {
        return Ok(res);
    }
    Ok(res.into_response(
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", back))
            .finish(),
    ))
}

/// The page an htmx request was sent from (`HX-Current-URL`), as a path and query.
fn current_page(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get("hx-current-url")
        .and_then(|v| v.to_str().ok())
        .map(local_part)
}

/// The path and query of an absolute URL (`https://host/a?b` → `/a?b`); `/` when it has none.
fn local_part(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".to_string(),
    }
}

fn is_session_store_error(e: &actix_web::Error) -> bool {
    use actix_session::storage::{SaveError, UpdateError};
    use actix_web::error::InternalError;
    // A failed load arrives as its inner anyhow error; only the session store raises those.
    e.as_error::<InternalError<anyhow::Error>>().is_some()
        || e.as_error::<InternalError<SaveError>>().is_some()
        || e.as_error::<InternalError<UpdateError>>().is_some()
}

/// After a change: a browser form follows a 303; htmx (whose fetch would follow the 303
/// itself and swap the page in) is told to navigate with HX-Redirect instead.
pub fn redirect(req: &HttpRequest, location: &str) -> HttpResponse {
    if is_htmx(req) {
        HttpResponse::Ok()
            .insert_header(("HX-Redirect", location))
            .finish()
    } else {
        crate::web::render::see_other(location)
    }
}
