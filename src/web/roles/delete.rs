//! Deleting one of a tenant's own roles: the page saying who holds it and where they go, and
//! the deletion, which moves them in the same transaction (`domain::roles::edit::delete`).
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::offered;
use crate::access::{Access, Reached};
use crate::db;
use crate::domain::error::DomainError;
use crate::domain::ids::{RoleId, TenantId};
use crate::domain::permissions::perm;
use crate::domain::roles::custom::{self, Holder, RoleDef};
use crate::domain::roles::{self, edit};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "roles/delete.html")]
struct DeletePage {
    chrome: Chrome,
    tenant: Tenant,
    role: RoleDef,
    holders: Vec<Holder>,
    others: Vec<RoleDef>,
    error: Option<String>,
}

fn delete_page(
    conn: &mut diesel::PgConnection,
    access: &Access,
    chrome: Chrome,
    reached: Reached,
    role: RoleDef,
    error: Option<String>,
) -> Result<DeletePage, AppError> {
    let holders = custom::holders(conn, role.id)?;
    let others = custom::grantable(conn, access, &reached)?
        .into_iter()
        .filter(|r| r.id != role.id)
        .collect();
    Ok(DeletePage {
        chrome,
        tenant: reached.into_tenant(),
        role,
        holders,
        others,
        error,
    })
}

/// What deleting the role would do: who holds it, and the role to move them to.
pub async fn delete_form(
    r: Reach<perm::RolesManage>,
    path: web::Path<(TenantId, RoleId)>,
) -> Result<HttpResponse, AppError> {
    let (_, role) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let def = offered(conn, &reached, role)?;
        if !def.is_own(reached.tenant()) {
            return Err(AppError::NotFound);
        }
        delete_page(conn, &access, chrome, reached, def, None)
    })
    .await?;
    html(&page)
}

pub async fn delete(
    r: Reach<perm::RolesManage>,
    path: web::Path<(TenantId, RoleId)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (id, role) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let to = form
        .iter()
        .find(|(k, _)| k == "to")
        .and_then(|(_, v)| roles::choice(v));
    let outcome = db::run(&pool, move |conn| {
        let def = offered(conn, &reached, role)?;
        match edit::delete(conn, &access, &reached, role, to) {
            Ok(()) => Ok(None),
            Err(DomainError::Conflict(why)) => {
                let page = delete_page(conn, &access, chrome, reached, def, Some(why))?;
                Ok(Some((StatusCode::CONFLICT, page)))
            }
            Err(DomainError::Invalid(why)) => {
                let page = delete_page(conn, &access, chrome, reached, def, Some(why))?;
                Ok(Some((StatusCode::UNPROCESSABLE_ENTITY, page)))
            }
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    match outcome {
        None => Ok(see_other(&format!("/tenants/{id}/roles?deleted=1"))),
        Some((status, page)) => html_status(status, &page),
    }
}
