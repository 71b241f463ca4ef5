//! Static files embedded in the binary. URLs carry a content hash, so they may be cached
//! for a year.
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "static/"]
struct Static;

/// The versioned URL of an embedded file, for templates.
pub fn url(name: &str) -> String {
    match Static::get(name) {
        Some(file) => format!(
            "/static/{name}?v={}",
            hex::encode(&file.metadata.sha256_hash()[..6])
        ),
        None => format!("/static/{name}"),
    }
}

pub async fn serve(path: web::Path<String>) -> HttpResponse {
    let name = path.into_inner();
    match Static::get(&name) {
        Some(file) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, content_type(&name)))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(file.data.into_owned()),
        None => HttpResponse::NotFound().finish(),
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// `/favicon.ico`, which browsers ask for whatever a page links: the same icon as the page's.
pub async fn favicon() -> HttpResponse {
    serve(web::Path::from("favicon.svg".to_string())).await
}
