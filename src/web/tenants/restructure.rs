//! Moving a subtree, suspending and deleting: each decided by the admins above the tenant,
//! each behind a page that shows what will happen before it happens.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::unprocessable;
use crate::access::{Access, Reached};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::restructure::{self, MovePreview};
use crate::domain::states::TenantStatus;
use crate::domain::tenants::{self, Tenant, TenantError};
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "tenants/move.html")]
struct MovePage {
    chrome: Chrome,
    tenant: Tenant,
    targets: Vec<Tenant>,
    chosen: Option<Tenant>,
    preview: MovePreview,
    error: Option<String>,
}

impl MovePage {
    fn indent(&self, t: &Tenant) -> String {
        "— ".repeat(t.traversal_ids.len().saturating_sub(1))
    }
}

#[derive(Deserialize)]
pub struct MoveQuery {
    parent_id: Option<TenantId>,
}

fn move_page(
    conn: &mut diesel::PgConnection,
    access: &Access,
    chrome: Chrome,
    reached: Reached,
    parent_id: Option<TenantId>,
    error: Option<String>,
) -> Result<MovePage, AppError> {
    let chosen = match parent_id {
        Some(pid) => Some(access.move_target(conn, pid)?.into_tenant()),
        None => None,
    };
    Ok(MovePage {
        chrome,
        targets: access.move_targets(conn, reached.tenant())?,
        preview: restructure::move_preview(conn, reached.tenant())?,
        tenant: reached.into_tenant(),
        chosen,
        error,
    })
}

/// Choose a new parent; with one chosen, the preview and the confirm button.
pub async fn move_form(
    r: Reach<perm::TenantRestructure>,
    query: web::Query<MoveQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, tenant, pool) = r.into_parts();
    let parent_id = query.parent_id;
    let page = db::run(&pool, move |conn| {
        move_page(conn, &access, chrome, tenant, parent_id, None)
    })
    .await?;
    html(&page)
}

#[derive(Deserialize)]
pub struct MoveForm {
    parent_id: Option<TenantId>,
}

pub async fn move_subtree(
    r: Reach<perm::TenantRestructure>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let parent_id = form
        .parent_id
        .ok_or_else(|| AppError::BadRequest("Choose where to move the tenant.".into()))?;
    let failed = db::run(&pool, move |conn| {
        let to = access.move_target(conn, parent_id)?;
        match restructure::move_subtree(conn, &access, &reached, &to) {
            Ok(_) => Ok(None),
            Err(TenantError::Domain(e)) => Err(e.into()),
            Err(e) => Ok(Some(move_page(
                conn,
                &access,
                chrome,
                reached,
                Some(parent_id),
                Some(e.to_string()),
            )?)),
        }
    })
    .await?;
    match failed {
        None => Ok(see_other(&format!("/tenants/{id}"))),
        Some(page) => unprocessable(&page),
    }
}

#[derive(Template)]
#[template(path = "tenants/confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    tenant: Tenant,
    /// "suspend" or "delete".
    action: &'static str,
    blockers: Vec<String>,
    subtree_size: usize,
}

async fn confirm_page(
    r: Reach<perm::TenantRestructure>,
    action: &'static str,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let blockers = match action {
            "delete" => restructure::blockers(conn, reached.tenant())?,
            _ => Vec::new(),
        };
        let subtree_size = tenants::subtree(conn, &reached.tenant().traversal_ids)?.len();
        Ok(ConfirmPage {
            chrome,
            tenant: reached.into_tenant(),
            action,
            blockers,
            subtree_size,
        })
    })
    .await?;
    let status = if page.blockers.is_empty() {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::CONFLICT
    };
    html_status(status, &page)
}

pub async fn suspend_form(r: Reach<perm::TenantRestructure>) -> Result<HttpResponse, AppError> {
    confirm_page(r, "suspend").await
}

pub async fn delete_form(r: Reach<perm::TenantRestructure>) -> Result<HttpResponse, AppError> {
    confirm_page(r, "delete").await
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(
    r: Reach<perm::TenantRestructure>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    let id = reached.id();
    let suspend = match TenantStatus::parse(&form.status) {
        Some(TenantStatus::Suspended) => true,
        Some(TenantStatus::Active) => false,
        None => return Err(AppError::BadRequest("Unknown status.".into())),
    };
    db::run(&pool, move |conn| {
        Ok(tenants::set_suspended(
            conn,
            &access.actor,
            reached.tenant(),
            suspend,
        )?)
    })
    .await?;
    Ok(see_other(&format!("/tenants/{id}")))
}

pub async fn delete(r: Reach<perm::TenantRestructure>) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    let id = reached.id();
    let parent = db::run(&pool, move |conn| {
        match restructure::delete(conn, &access.actor, id) {
            Ok(()) => Ok(reached.tenant().parent_id),
            Err(TenantError::Domain(e)) => Err(e.into()),
            Err(e) => Err(AppError::Conflict(format!(
                "{e} Move or remove it first; nothing was deleted."
            ))),
        }
    })
    .await?;
    Ok(see_other(&parent.map_or("/tenants".to_string(), |p| {
        format!("/tenants/{p}")
    })))
}
