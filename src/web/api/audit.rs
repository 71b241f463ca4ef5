//! The audit log over the API: who did what, naming only tenants within the key's reach.
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db;
use crate::domain::audit::log;
use crate::domain::permissions::perm;
use crate::web::api::body::{self, Query};
use crate::web::api::caller::ApiReach;
use crate::web::api::problem::{Problem, ProblemBody};
use crate::web::audit::AuditQuery;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEventOut {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub tenant_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// What happened, naming only tenants within the key's reach.
    pub summary: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventOut>,
    /// Send as `before` for the next page; `null` on the last.
    pub next_before: Option<i64>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Part of the actor's email or name.
    pub actor: Option<String>,
    /// An action, such as `device.create`.
    pub action: Option<String>,
    /// An object type, such as `device`.
    pub r#type: Option<String>,
    /// An object's id.
    pub object: Option<Uuid>,
    /// From this day (YYYY-MM-DD).
    pub from: Option<String>,
    /// To this day, inclusive.
    pub to: Option<String>,
    /// Events older than this id.
    pub before: Option<i64>,
    /// 1 to 200; 50 if absent.
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/audit", tag = "audit",
    params(("id" = Uuid, Path, description = "Tenant id"), AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn audit(
    r: ApiReach<perm::AuditView>,
    params: Query<AuditParams>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let p = params.get()?;
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::invalid([(
            "limit".to_string(),
            "Use 1 to 200.".to_string(),
        )]));
    }
    let query = AuditQuery {
        actor: p.actor.unwrap_or_default(),
        action: p.action.unwrap_or_default(),
        r#type: p.r#type.unwrap_or_default(),
        object: p.object.map(|o| o.to_string()).unwrap_or_default(),
        from: p.from.unwrap_or_default(),
        to: p.to.unwrap_or_default(),
        before: p.before,
    };
    let filter = query
        .filter()
        .map_err(|errors| Problem::invalid(errors.into_iter().map(|(f, m)| (f.to_string(), m))))?;
    let access = caller.access.clone();
    let mut entries = db::run(&caller.pool, move |conn| {
        let found = log::search(conn, &tenant, &filter, limit + 1)?;
        crate::web::audit::told(conn, &access, found)
    })
    .await?;
    let next_before = if entries.len() as i64 > limit {
        entries.truncate(limit as usize);
        entries.last().map(|t| t.entry.id)
    } else {
        None
    };
    let items = entries
        .into_iter()
        .map(
            |crate::web::audit::Told {
                 entry: e,
                 sentence: summary,
                 ..
             }| AuditEventOut {
                id: e.id,
                at: e.at,
                tenant_id: e.tenant_id.map(|t| t.uuid()),
                action: e.action.as_str().into(),
                target_type: e.target_type.as_str().into(),
                target_id: e.target_id,
                actor_email: e.actor_email,
                summary,
            },
        )
        .collect();
    body::json(StatusCode::OK, &AuditPage { items, next_before })
}
