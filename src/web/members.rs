//! A tenant's members: search and pages; admins change roles, remove memberships and
//! disable or re-enable people.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::db;
use crate::domain::error::DomainError;
use crate::domain::ids::{RoleId, TenantId, UserId};
use crate::domain::memberships::{self, MemberQuery, MemberRow};
use crate::domain::permissions::perm;
use crate::domain::permissions::{Permission, Permissions};
use crate::domain::roles::{self, custom::RoleDef};
use crate::domain::states::UserStatus;
use crate::domain::tenants::Tenant;
use crate::domain::users;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::htmx::redirect;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, url_encode};
use actix_web::http::StatusCode;

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "members/list.html")]
struct MembersPage {
    chrome: Chrome,
    tenant: Tenant,
    may: Permissions,
    sees_below: bool,
    rows: Vec<MemberRow>,
    total: i64,
    q: String,
    sub: bool,
    page: i64,
    pages: i64,
    me: UserId,
    notice: Option<&'static str>,
}

impl MembersPage {
    /// Whether the actions column shows: the caller changes roles or removes people here.
    fn manages(&self) -> bool {
        self.may.has(Permission::MembersChangeRole) || self.may.has(Permission::MembersRemove)
    }

    fn page_link(&self, page: i64) -> String {
        let q: String = url_encode(&self.q);
        format!(
            "/tenants/{}/members?q={q}&sub={}&page={page}",
            self.tenant.id,
            if self.sub { "1" } else { "0" }
        )
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    page: Option<i64>,
    /// Set by the redirect after a role change, so that the page says it happened.
    #[serde(default)]
    changed: Option<String>,
}

pub async fn list(
    r: Reach<perm::MembersView>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let query = query.into_inner();
    let q: String = query.q.chars().take(100).collect();
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let wants_sub = query.sub.as_deref() == Some("1");
    let notice = query.changed.as_ref().map(|_| "Role changed.");
    let me = access.user.id;
    let (reached, rows, total) = db::run(&pool, {
        let q = q.clone();
        move |conn| {
            // Only those who reach below the tenant may include its sub-tenants.
            let sub = wants_sub && reached.sees_below();
            let (rows, total) = memberships::search(
                conn,
                &MemberQuery {
                    tenant: &reached,
                    subtree: sub,
                    search: &q,
                    offset: (page - 1) * PAGE,
                    limit: PAGE,
                },
            )?;
            Ok((reached, rows, total))
        }
    })
    .await?;
    let sees_below = reached.sees_below();
    html(&MembersPage {
        chrome,
        sub: wants_sub && sees_below,
        may: reached.permissions(),
        sees_below,
        tenant: reached.into_tenant(),
        pages: (total + PAGE - 1) / PAGE,
        rows,
        total,
        q,
        page,
        me,
        notice,
    })
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

#[derive(Template)]
#[template(path = "members/role.html")]
struct RolePage {
    chrome: Chrome,
    tenant: Tenant,
    member: MemberRow,
    roles: Vec<RoleDef>,
    /// The groups the member is in here, for the limit's choice.
    groups: Vec<String>,
    /// Whether they sign in with a second factor (which may be reset here).
    two_factor_on: bool,
    error: Option<String>,
}

/// The roles on offer here that the caller may give, with the member as they are.
fn role_page(
    conn: &mut diesel::PgConnection,
    access: &crate::access::Access,
    chrome: Chrome,
    reached: crate::access::Reached,
    user_id: UserId,
    error: Option<String>,
) -> Result<RolePage, AppError> {
    let member = memberships::member(conn, &reached, user_id)?.ok_or(AppError::NotFound)?;
    let roles = roles::custom::grantable(conn, access, &reached)?;
    let groups = memberships::groups_of(conn, user_id, reached.tenant())?;
    let two_factor_on = crate::domain::two_factor::enabled(conn, user_id)?;
    Ok(RolePage {
        chrome,
        tenant: reached.into_tenant(),
        member,
        roles,
        groups,
        two_factor_on,
        error,
    })
}

/// Choose another role for a member: each role on offer with what it allows.
pub async fn role_form(
    r: Reach<perm::MembersChangeRole>,
    path: web::Path<(TenantId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (_, user_id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        role_page(conn, &access, chrome, reached, user_id, None)
    })
    .await?;
    html(&page)
}

pub async fn change_role(
    req: actix_web::HttpRequest,
    r: Reach<perm::MembersChangeRole>,
    path: web::Path<(TenantId, UserId)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let role: Option<RoleId> = roles::choice(&form.role);
    let refused = db::run(&pool, move |conn| {
        let Some(role) = role else {
            let page = role_page(conn, &access, chrome, reached, user_id, None)?;
            return Ok(Some((
                StatusCode::BAD_REQUEST,
                "Choose a role.".to_string(),
                page,
            )));
        };
        match memberships::change_role(conn, &access, &reached, user_id, role) {
            Ok(()) => Ok(None),
            Err(DomainError::NotAllowed(why)) => {
                let page = role_page(conn, &access, chrome, reached, user_id, None)?;
                Ok(Some((StatusCode::FORBIDDEN, why, page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    match refused {
        None => Ok(redirect(&req, &format!("/tenants/{id}/members?changed=1"))),
        Some((status, why, mut page)) => {
            page.error = Some(why);
            html_status(status, &page)
        }
    }
}

#[derive(Deserialize)]
pub struct LimitForm {
    #[serde(default)]
    limited: String,
}

/// Limit a member to the devices of their groups here, or lift the limit.
pub async fn set_limit(
    req: actix_web::HttpRequest,
    r: Reach<perm::MembersChangeRole>,
    path: web::Path<(TenantId, UserId)>,
    form: web::Form<LimitForm>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let limited = match form.limited.as_str() {
        "1" => true,
        "0" => false,
        _ => {
            return Err(AppError::BadRequest(
                "Choose which devices they see.".into(),
            ));
        }
    };
    let refused = db::run(&pool, move |conn| {
        match memberships::set_limit(conn, &access, &reached, user_id, limited) {
            Ok(()) => Ok(None),
            Err(DomainError::NotAllowed(why)) => {
                let page = role_page(conn, &access, chrome, reached, user_id, Some(why))?;
                Ok(Some(page))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    match refused {
        None => Ok(redirect(&req, &format!("/tenants/{id}/members?changed=1"))),
        Some(page) => html_status(StatusCode::FORBIDDEN, &page),
    }
}

pub async fn remove(
    req: actix_web::HttpRequest,
    r: Reach<perm::MembersRemove>,
    path: web::Path<(TenantId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    db::run(&pool, move |conn| {
        access.may_remove(conn, &reached, user_id)?;
        Ok(memberships::revoke(
            conn,
            &access.actor,
            user_id,
            reached.tenant(),
        )?)
    })
    .await?;
    Ok(redirect(&req, &format!("/tenants/{id}/members")))
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

/// Disabling ends the person's sessions at once. Allowed only to an admin who reaches every
/// tenant the person belongs to, so that no customer can lock out their provider's staff.
pub async fn set_status(
    req: actix_web::HttpRequest,
    r: Reach<perm::MembersRemove>,
    path: web::Path<(TenantId, UserId)>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let active = match UserStatus::parse(&form.status) {
        Some(UserStatus::Active) => true,
        Some(UserStatus::Disabled) => false,
        None => return Err(AppError::BadRequest("Unknown status.".into())),
    };
    db::run(&pool, move |conn| {
        access.may_set_status(conn, &reached, user_id)?;
        let user = users::find(conn, user_id)?.ok_or(AppError::NotFound)?;
        Ok(users::set_active(
            conn,
            &access.actor,
            &user,
            active,
            &reached.tenant().traversal_ids,
        )?)
    })
    .await?;
    Ok(redirect(&req, &format!("/tenants/{id}/members")))
}
