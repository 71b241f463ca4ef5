//! Moving a subtree, suspending and deleting: each decided by the admins above the tenant,
//! each behind a page that shows what will happen before it happens.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::unprocessable;
use crate::access::{Access, Action};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::states::TenantStatus;
use crate::domain::tenants::{self, MovePreview, Tenant, TenantError};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
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
    id: TenantId,
    parent_id: Option<TenantId>,
    error: Option<String>,
) -> Result<MovePage, AppError> {
    let reached = access.tenant_for(conn, id, Action::Restructure)?;
    let chosen = match parent_id {
        Some(pid) => Some(
            access
                .tenant_for(conn, pid, Action::Administer)?
                .into_tenant(),
        ),
        None => None,
    };
    Ok(MovePage {
        chrome,
        targets: access.move_targets(conn, reached.tenant())?,
        preview: tenants::move_preview(conn, reached.tenant())?,
        tenant: reached.into_tenant(),
        chosen,
        error,
    })
}

/// Choose a new parent; with one chosen, the preview and the confirm button.
pub async fn move_form(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
    query: web::Query<MoveQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, parent_id) = (id.into_inner(), query.parent_id);
    let page = db::run(&state.pool, move |conn| {
        move_page(conn, &access, chrome, id, parent_id, None)
    })
    .await?;
    html(&page)
}

#[derive(Deserialize)]
pub struct MoveForm {
    parent_id: Option<TenantId>,
}

pub async fn move_subtree(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let parent_id = form
        .parent_id
        .ok_or_else(|| AppError::BadRequest("Choose where to move the tenant.".into()))?;
    let failed = db::run(&state.pool, move |conn| {
        let moving = access.tenant_for(conn, id, Action::Restructure)?;
        let to = access.tenant_for(conn, parent_id, Action::Administer)?;
        match tenants::move_subtree(conn, &access, &moving, &to) {
            Ok(_) => Ok(None),
            Err(TenantError::Domain(e)) => Err(e.into()),
            Err(e) => Ok(Some(move_page(
                conn,
                &access,
                chrome,
                id,
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
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    id: TenantId,
    action: &'static str,
) -> Result<HttpResponse, AppError> {
    let page = db::run(&state.pool, move |conn| {
        let reached = access.tenant_for(conn, id, Action::Restructure)?;
        let blockers = match action {
            "delete" => tenants::blockers(conn, reached.tenant())?,
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

pub async fn suspend_form(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
) -> Result<HttpResponse, AppError> {
    confirm_page(access, chrome, state, id.into_inner(), "suspend").await
}

pub async fn delete_form(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
) -> Result<HttpResponse, AppError> {
    confirm_page(access, chrome, state, id.into_inner(), "delete").await
}

#[derive(Deserialize)]
pub struct StatusForm {
    status: String,
}

pub async fn set_status(
    access: Access,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let suspend = match TenantStatus::parse(&form.status) {
        Some(TenantStatus::Suspended) => true,
        Some(TenantStatus::Active) => false,
        None => return Err(AppError::BadRequest("Unknown status.".into())),
    };
    db::run(&state.pool, move |conn| {
        let reached = access.tenant_for(conn, id, Action::Restructure)?;
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

pub async fn delete(
    access: Access,
    state: web::Data<AppState>,
    id: web::Path<TenantId>,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let parent = db::run(&state.pool, move |conn| {
        let reached = access.tenant_for(conn, id, Action::Restructure)?;
        match tenants::delete(conn, &access.actor, id) {
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
