//! Members and invitations over the API.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db;
use crate::domain::ids::InvitationId;
use crate::domain::invitations::{self, ChangeError, Invitation, InviteOutcome};
use crate::domain::memberships;
use crate::domain::permissions::perm;
use crate::domain::roles;
use crate::domain::users::Email;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::api::body::{self, Body};
use crate::web::api::caller::{ApiReach, path_id};
use crate::web::api::problem::{Problem, ProblemBody};

/// The most members or invitations one answer lists.
const LIMIT: i64 = 500;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MemberOut {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
    pub role_id: Uuid,
    pub role: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/members", tag = "people",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<MemberOut>), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn members(r: ApiReach<perm::MembersView>) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let found = db::run(&caller.pool, move |conn| {
        Ok(memberships::members_of(conn, tenant.id(), LIMIT)?)
    })
    .await?;
    let out: Vec<MemberOut> = found
        .into_iter()
        .map(|m| MemberOut {
            user_id: m.user_id.uuid(),
            email: m.email,
            name: m.display_name,
            status: m.status.as_str().into(),
            role_id: m.role_id.uuid(),
            role: m.role_name,
            last_sign_in_at: m.last_sign_in_at,
        })
        .collect();
    body::json(StatusCode::OK, &out)
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct InvitationOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub email: String,
    pub role_id: Uuid,
    pub role: String,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl InvitationOut {
    fn of(inv: &Invitation, role: String) -> Self {
        Self {
            id: inv.id.uuid(),
            tenant_id: inv.tenant_id.uuid(),
            email: inv.email.clone(),
            role_id: inv.role_id.uuid(),
            role,
            state: inv.shown_state().into(),
            expires_at: inv.expires_at,
            created_at: inv.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/invitations", tag = "people",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<InvitationOut>), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn invitations(r: ApiReach<perm::MembersInvite>) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let found = db::run(&caller.pool, move |conn| {
        Ok(invitations::list(conn, tenant.id(), LIMIT)?)
    })
    .await?;
    let out: Vec<InvitationOut> = found
        .iter()
        .map(|(inv, role)| InvitationOut::of(inv, role.clone()))
        .collect();
    body::json(StatusCode::OK, &out)
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteIn {
    pub email: String,
    /// `admin`, `operator`, `viewer` or a custom role's id on offer at this tenant; never
    /// more than the key's own role.
    pub role: String,
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/invitations", tag = "people",
    params(("id" = Uuid, Path, description = "Tenant id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely")),
    request_body = InviteIn,
    responses((status = 201, body = InvitationOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn invite(
    req: HttpRequest,
    r: ApiReach<perm::MembersInvite>,
    state: web::Data<AppState>,
    input: Body<InviteIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let (value, raw) = input.value()?;
    let email = Email::parse(&value.email).map_err(|m| Problem::field("email", m))?;
    let role = roles::choice(&value.role).ok_or_else(|| {
        Problem::field(
            "role",
            "Use admin, operator, viewer or the id of a role on offer here.",
        )
    })?;
    let access = caller.access.clone();
    let tenant_id = tenant.id();
    body::once(&req, &caller, &raw, move |conn| {
        let grantable = access.grantable(conn, &tenant, role)?;
        let mail = crate::web::invitations::mail(&state, &access.user.display_name);
        let inv = match invitations::invite(conn, &access, &tenant, &email, &grantable, &mail)? {
            InviteOutcome::Sent(inv) => inv,
            InviteOutcome::AlreadyPending(inv) => {
                return Err(AppError::Conflict(format!(
                    "{} already has a pending invitation ({}).",
                    inv.email, inv.id
                ))
                .into());
            }
            InviteOutcome::AlreadyMember => {
                return Err(AppError::Conflict(format!(
                    "{} is already a member of this tenant.",
                    email.as_str()
                ))
                .into());
            }
            InviteOutcome::Limited(why) => return Err(AppError::TooMany(why).into()),
            InviteOutcome::OutsideDomains(why) => return Err(Problem::field("email", why)),
        };
        body::created(
            format!("/api/v1/tenants/{tenant_id}/invitations"),
            &InvitationOut::of(&inv, grantable.role().name.clone()),
        )
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/invitations/{invitation}/revoke",
    tag = "people",
    params(("id" = Uuid, Path, description = "Tenant id"),
           ("invitation" = Uuid, Path, description = "Invitation id")),
    responses((status = 204, description = "Revoked"), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 409, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn revoke(
    req: HttpRequest,
    r: ApiReach<perm::MembersInvite>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let id: InvitationId = path_id(&req, "invitation")?;
    let actor = caller.access.actor.clone();
    db::run_with(&caller.pool, move |conn| {
        invitations::revoke(conn, &actor, tenant.tenant(), id).map_err(|e| match e {
            ChangeError::Domain(d) => Problem::from(d),
            other => AppError::Conflict(other.to_string()).into(),
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RoleOut {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// Catalogue keys, such as `devices.edit`.
    pub permissions: Vec<String>,
    /// `tenant` or `subtree`.
    pub reach: String,
    /// One of the built-in roles (Admin, Operator, Viewer).
    pub preset: bool,
    /// Defined at a tenant above and shared down to this one.
    pub inherited: bool,
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/roles", tag = "people",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<RoleOut>),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn roles(r: ApiReach<perm::RolesView>) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let here = tenant.id();
    let found = db::run(&caller.pool, move |conn| {
        Ok(roles::custom::available_at(conn, tenant.tenant())?)
    })
    .await?;
    let out: Vec<RoleOut> = found
        .into_iter()
        .map(|r| {
            let grant = r.grant();
            RoleOut {
                id: r.id.uuid(),
                preset: grant.preset().is_some(),
                inherited: r.tenant_id.is_some_and(|t| t != here),
                name: r.name,
                description: r.description,
                permissions: grant.permissions.keys(),
                reach: grant.reach.as_str().into(),
            }
        })
        .collect();
    body::json(StatusCode::OK, &out)
}
