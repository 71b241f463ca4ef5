//! The one route table. `PUBLIC` lists the routes that answer without sign-in, on purpose;
//! every other route takes `Access` (tests check both).
use actix_web::HttpResponse;
use actix_web::web::{self, ServiceConfig, get, post};

use crate::web::{assets, auth, health, tenants};

/// Routes that answer without a signed-in user.
pub const PUBLIC: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/static/{file}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
];

/// Routes behind the access layer (method, path), for the route inventory test.
pub const PROTECTED: &[(&str, &str)] = &[
    ("GET", "/"),
    ("POST", "/logout/everywhere"),
    ("GET", "/tenants"),
    ("GET", "/tenants/{id}"),
    ("GET", "/tenants/{id}/children"),
    ("POST", "/tenants/{id}/children"),
    ("POST", "/tenants/{id}/rename"),
    ("GET", "/tenants/{id}/move"),
    ("POST", "/tenants/{id}/move"),
    ("GET", "/tenants/{id}/suspend"),
    ("POST", "/tenants/{id}/status"),
    ("GET", "/tenants/{id}/delete"),
    ("POST", "/tenants/{id}/delete"),
];

async fn home(_: crate::access::Access) -> HttpResponse {
    crate::web::render::see_other("/tenants")
}

pub fn config(cfg: &mut ServiceConfig) {
    cfg.route("/healthz", get().to(health::healthz))
        .route("/readyz", get().to(health::readyz))
        .route("/static/{file}", get().to(assets::serve))
        .route("/login", get().to(auth::login_form))
        .route("/login", post().to(auth::login))
        .route("/logout", post().to(auth::logout))
        .route("/logout/everywhere", post().to(auth::logout_everywhere))
        .route("/", get().to(home))
        .service(
            web::scope("/tenants")
                .route("", get().to(tenants::tree))
                .route("/{id}", get().to(tenants::show))
                .route("/{id}/children", get().to(tenants::children))
                .route("/{id}/children", post().to(tenants::create_child))
                .route("/{id}/rename", post().to(tenants::rename))
                .route("/{id}/move", get().to(tenants::move_form))
                .route("/{id}/move", post().to(tenants::move_subtree))
                .route("/{id}/suspend", get().to(tenants::suspend_form))
                .route("/{id}/status", post().to(tenants::set_status))
                .route("/{id}/delete", get().to(tenants::delete_form))
                .route("/{id}/delete", post().to(tenants::delete)),
        );
}
