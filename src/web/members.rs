//! A tenant's members: search and pages; admins change roles, remove memberships and
//! disable or re-enable people.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::Action;
use crate::db;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::memberships::{self, MemberQuery, MemberRow};
use crate::domain::roles::Role;
use crate::domain::states::UserStatus;
use crate::domain::tenants::Tenant;
use crate::domain::users;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::htmx::redirect;
use crate::web::reach::{Administer, Reach, View};
use crate::web::render::{html, url_encode};

const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "members/list.html")]
struct MembersPage {
    chrome: Chrome,
    tenant: Tenant,
    can_administer: bool,
    rows: Vec<MemberRow>,
    total: i64,
    q: String,
    sub: bool,
    page: i64,
    pages: i64,
    me: UserId,
}

impl MembersPage {
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
}

pub async fn list(r: Reach<View>, query: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let query = query.into_inner();
    let q: String = query.q.chars().take(100).collect();
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let wants_sub = query.sub.as_deref() == Some("1");
    let me = access.user.id;
    let (reached, rows, total) = db::run(&pool, {
        let q = q.clone();
        move |conn| {
            // Only admins reach below their tenant, so only they may include sub-tenants.
            let sub = wants_sub && access.allows(&reached, Action::Administer);
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
    let can_administer = reached.role() == Role::Admin;
    html(&MembersPage {
        chrome,
        sub: wants_sub && can_administer,
        tenant: reached.into_tenant(),
        can_administer,
        pages: (total + PAGE - 1) / PAGE,
        rows,
        total,
        q,
        page,
        me,
    })
}

#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
}

pub async fn change_role(
    req: actix_web::HttpRequest,
    r: Reach<Administer>,
    path: web::Path<(TenantId, UserId)>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let role =
        Role::parse(&form.role).ok_or_else(|| AppError::BadRequest("Choose a role.".into()))?;
    db::run(&pool, move |conn| {
        access.may_change_role(conn, &reached, user_id, role)?;
        Ok(memberships::grant(
            conn,
            &access.actor,
            user_id,
            reached.tenant(),
            role,
        )?)
    })
    .await?;
    Ok(redirect(&req, &format!("/tenants/{id}/members")))
}

pub async fn remove(
    req: actix_web::HttpRequest,
    r: Reach<Administer>,
    path: web::Path<(TenantId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (id, user_id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    db::run(&pool, move |conn| {
        access.may_remove(&reached, user_id)?;
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
    r: Reach<Administer>,
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
