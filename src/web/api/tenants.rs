//! Tenants over the API: read one, list its children, create, rename, move, suspend.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::restructure;
use crate::domain::states::TenantStatus;
use crate::domain::tenants::{self, Tenant, TenantError, TenantName};
use crate::error::AppError;
use crate::web::api::body::{self, Body};
use crate::web::api::caller::{ApiReach, Caller};
use crate::web::api::problem::{Problem, ProblemBody};

/// A tenant. `path` lists the tenants from the top of the caller's reach down to this one;
/// `parent_id` is `null` at the top of their reach.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TenantOut {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub path: Vec<Uuid>,
    /// `active` or `suspended`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl TenantOut {
    /// `t` as `access` may see it: nothing above the top of its reach is named.
    pub fn of(access: &Access, t: &Tenant) -> Self {
        let path: Vec<Uuid> = (0..t.traversal_ids.len())
            .filter(|i| access.reaches(&t.traversal_ids[..=*i]))
            .map(|i| t.traversal_ids[i].uuid())
            .collect();
        let parent_id = t
            .parent_id
            .filter(|_| t.traversal_ids.len() > 1)
            .filter(|_| access.reaches(&t.traversal_ids[..t.traversal_ids.len() - 1]))
            .map(TenantId::uuid);
        Self {
            id: t.id.uuid(),
            parent_id,
            name: t.name.clone(),
            path,
            status: t.status.as_str().into(),
            created_at: t.created_at,
        }
    }
}

/// A child tenant as the tree lists it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TenantNode {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    /// Tenants directly inside it.
    pub children: i64,
    /// Members of it (not of those below).
    pub members: i64,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameIn {
    pub name: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// The tenant to move under: one where the key holds `tenant.restructure`.
    pub parent_id: Uuid,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// `active` or `suspended`.
    pub status: String,
}

fn tenant_problem(e: TenantError) -> Problem {
    match e {
        TenantError::Domain(d) => d.into(),
        TenantError::NameTaken => Problem {
            errors: vec![crate::web::api::problem::FieldProblem {
                field: "/name".into(),
                detail: e.to_string(),
            }],
            ..AppError::Conflict(e.to_string()).into()
        },
        other => AppError::Conflict(other.to_string()).into(),
    }
}

fn name(raw: &str) -> Result<TenantName, Problem> {
    TenantName::parse(raw).map_err(|m| Problem::field("name", m))
}

/// The key: its tenant, role and the tenants at the top of its reach.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub key_id: Uuid,
    pub key_name: String,
    pub user_id: Uuid,
    pub email: String,
    pub tenant_id: Uuid,
    /// The role the key acts with: its own, within its creator's present role.
    pub role: String,
    pub permissions: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "keys",
    responses((status = 200, body = Me), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn me(caller: Caller) -> Result<HttpResponse, Problem> {
    // Every grant of a key is re-rooted at the key's tenant: what applies there is their union.
    let path = caller
        .access
        .grants
        .first()
        .map(|g| g.tenant_path.clone())
        .unwrap_or_default();
    let at = caller.access.at(&path);
    body::json(
        StatusCode::OK,
        &Me {
            key_id: caller.key.id.uuid(),
            key_name: caller.key.name.clone(),
            user_id: caller.access.user.id.uuid(),
            email: caller.access.user.email.clone(),
            tenant_id: caller.key.tenant_id.uuid(),
            role: crate::domain::memberships::role_names_at(&caller.access.grants, &path),
            permissions: at.map(|a| a.permissions.keys()).unwrap_or_default(),
            expires_at: caller.key.expires_at,
        },
    )
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = TenantOut), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn show(r: ApiReach<perm::TenantView>) -> Result<HttpResponse, Problem> {
    body::json(
        StatusCode::OK,
        &TenantOut::of(&r.caller.access, r.tenant.tenant()),
    )
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/children", tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<TenantNode>), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn children(r: ApiReach<perm::TenantView>) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    if !tenant.sees_below() {
        return Err(AppError::Forbidden(
            "Only keys whose role reaches the tenants below see them.".into(),
        )
        .into());
    }
    let access = caller.access.clone();
    let nodes = db::run(&caller.pool, move |conn| {
        Ok(access.children(conn, &tenant, 1000)?)
    })
    .await?;
    let out: Vec<TenantNode> = nodes
        .into_iter()
        .map(|n| TenantNode {
            id: n.id.uuid(),
            name: n.name,
            status: n.status.as_str().into(),
            children: n.children,
            members: n.members,
        })
        .collect();
    body::json(StatusCode::OK, &out)
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/children", tag = "tenants",
    params(("id" = Uuid, Path, description = "Parent tenant id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely")),
    request_body = NameIn,
    responses((status = 201, body = TenantOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn create_child(
    req: HttpRequest,
    r: ApiReach<perm::TenantCreate>,
    input: Body<NameIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let (value, raw) = input.value()?;
    let parsed = name(&value.name)?;
    let access = caller.access.clone();
    body::once(&req, &caller, &raw, move |conn| {
        let child =
            tenants::create_child(conn, &access.actor, &tenant, &parsed).map_err(tenant_problem)?;
        body::created(
            format!("/api/v1/tenants/{}", child.id),
            &TenantOut::of(&access, &child),
        )
    })
    .await
}

#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = NameIn,
    responses((status = 200, body = TenantOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn rename(
    r: ApiReach<perm::TenantRename>,
    input: Body<NameIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let parsed = name(&input.value()?.0.name)?;
    let access = caller.access.clone();
    let renamed = db::run_with(&caller.pool, move |conn| {
        tenants::rename(conn, &access.actor, tenant.tenant(), &parsed).map_err(tenant_problem)
    })
    .await?;
    body::json(StatusCode::OK, &TenantOut::of(&caller.access, &renamed))
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/move", tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant to move, with its subtree")),
    request_body = MoveIn,
    responses((status = 200, body = TenantOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn move_subtree(
    r: ApiReach<perm::TenantRestructure>,
    input: Body<MoveIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let parent = TenantId::from(input.value()?.0.parent_id);
    let access = caller.access.clone();
    let moved = db::run_with(&caller.pool, move |conn| {
        let to: Reached = access.move_target(conn, parent)?;
        restructure::move_subtree(conn, &access, &tenant, &to).map_err(tenant_problem)
    })
    .await?;
    body::json(StatusCode::OK, &TenantOut::of(&caller.access, &moved))
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/status", tag = "tenants",
    params(("id" = Uuid, Path, description = "Tenant id")),
    request_body = StatusIn,
    responses((status = 200, body = TenantOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
              (status = 415, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn set_status(
    r: ApiReach<perm::TenantRestructure>,
    input: Body<StatusIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let suspend = match TenantStatus::parse(&input.value()?.0.status) {
        Some(TenantStatus::Suspended) => true,
        Some(TenantStatus::Active) => false,
        None => return Err(Problem::field("status", "Use `active` or `suspended`.")),
    };
    let access = caller.access.clone();
    let updated = db::run(&caller.pool, move |conn| {
        tenants::set_suspended(conn, &access.actor, tenant.tenant(), suspend)?;
        tenants::find(conn, tenant.id())?.ok_or(AppError::NotFound)
    })
    .await?;
    body::json(StatusCode::OK, &TenantOut::of(&caller.access, &updated))
}
