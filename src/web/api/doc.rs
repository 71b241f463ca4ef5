//! The API's OpenAPI 3.1 document, generated from the handlers' annotations (utoipa), and a
//! server-rendered page listing its endpoints (no third-party script: the CSP stays strict).
use actix_web::HttpResponse;
use askama::Template;
use utoipa::OpenApi;

use crate::error::AppError;
use crate::web::api::{alerts, audit, devices, moves, people, problem, tenants};
use crate::web::render::html;

struct BearerKey;

impl utoipa::Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`cnp_…`), made on the portal's API keys page.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Canopy API", version = "1",
         description = "Tenants, devices, people, alerts and the audit log of a Canopy portal. \
                        Every request carries `Authorization: Bearer <key>`; a key acts with its \
                        own role, within its creator's present role at the key's tenant. Ids \
                        outside the key's reach answer 404, actions its role does not allow 403. \
                        Errors are RFC 9457 problem details."),
    modifiers(&BearerKey),
    security(("key" = [])),
    paths(
        tenants::me, tenants::show, tenants::rename, tenants::children, tenants::create_child,
        tenants::move_subtree, tenants::set_status,
        devices::list, devices::create, devices::show, devices::update, devices::retire,
        moves::move_many, alerts::check_in,
        people::members, people::invitations, people::invite, people::revoke, people::roles,
        alerts::list, alerts::acknowledge, alerts::schedules, audit::audit,
    ),
    components(schemas(problem::ProblemBody, problem::FieldProblem)),
    tags(
        (name = "keys", description = "The key itself"),
        (name = "tenants", description = "The tree"),
        (name = "devices", description = "Devices, their moves and check-ins"),
        (name = "people", description = "Members, invitations and roles"),
        (name = "alerts", description = "Check-in schedules and missed check-ins"),
        (name = "audit", description = "Who did what"),
    ),
)]
pub struct ApiDoc;

/// The document as JSON.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_default()
}

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

/// One endpoint as the page lists it.
struct Endpoint {
    method: String,
    path: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "api/docs.html")]
struct DocsPage {
    groups: Vec<(String, Vec<Endpoint>)>,
}

pub async fn page() -> Result<HttpResponse, AppError> {
    let doc = ApiDoc::openapi();
    let mut groups: Vec<(String, Vec<Endpoint>)> = doc
        .tags
        .iter()
        .flatten()
        .map(|t| (t.name.clone(), Vec::new()))
        .collect();
    for (path, item) in &doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let tag = op.tags.iter().flatten().next().cloned().unwrap_or_default();
            let summary = op
                .summary
                .clone()
                .or_else(|| op.description.clone())
                .unwrap_or_default();
            let endpoint = Endpoint {
                method: method.into(),
                path: path.clone(),
                summary,
            };
            match groups.iter_mut().find(|(name, _)| *name == tag) {
                Some((_, list)) => list.push(endpoint),
                None => groups.push((tag, vec![endpoint])),
            }
        }
    }
    html(&DocsPage { groups })
}
