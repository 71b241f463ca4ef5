//! Creating sub-tenants (htmx form) and renaming.
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Nodes, Subtenants, TenantPage, load_page, unprocessable};
use crate::db;
use crate::domain::permissions::perm;
use crate::domain::tenants::{self, TenantError, TenantName};
use crate::error::AppError;
use crate::web::htmx::is_htmx;
use crate::web::reach::Reach;
use crate::web::render::{html, see_other};

#[derive(Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// A failed name: shown beside the field; anything else is a real error.
fn name_error(e: TenantError) -> Result<String, AppError> {
    match e {
        TenantError::Domain(a) => Err(a.into()),
        other => Ok(other.to_string()),
    }
}

pub async fn create_child(
    req: HttpRequest,
    r: Reach<perm::TenantCreate>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let raw = form.into_inner().name;
    let parsed = TenantName::parse(&raw);
    let (data, error) = db::run(&pool, move |conn| {
        let error = match parsed {
            Err(m) => Some(m),
            Ok(name) => match tenants::create_child(conn, &access.actor, &reached, &name) {
                Ok(_) => None,
                Err(e) => Some(name_error(e)?),
            },
        };
        // Read again: the change may have renamed it.
        let reached = access.tenant(conn, id)?;
        Ok((load_page(conn, &access, reached)?, error))
    })
    .await?;
    let value = if error.is_some() { raw } else { String::new() };
    if is_htmx(&req) {
        let partial = Subtenants {
            tenant_id: id,
            csrf: chrome.csrf.clone(),
            nodes: Nodes::list(data.children),
            can_create: true,
            name_value: value,
            name_error: error.clone(),
        };
        return match error {
            Some(_) => unprocessable(&partial),
            None => html(&partial),
        };
    }
    if error.is_none() {
        return Ok(see_other(&format!("/tenants/{id}")));
    }
    let mut page = TenantPage::new(chrome, data);
    page.subtenants.name_value = value;
    page.subtenants.name_error = error;
    unprocessable(&page)
}

pub async fn rename(
    session: actix_session::Session,
    r: Reach<perm::TenantRename>,
    form: web::Form<NameForm>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let raw = form.into_inner().name;
    let parsed = TenantName::parse(&raw);
    let (data, error) = db::run(&pool, move |conn| {
        let error = match parsed {
            Err(m) => Some(m),
            Ok(name) => match tenants::rename(conn, &access.actor, reached.tenant(), &name) {
                Ok(_) => None,
                Err(e) => Some(name_error(e)?),
            },
        };
        // Read again: the change may have renamed it.
        let reached = access.tenant(conn, id)?;
        Ok((load_page(conn, &access, reached)?, error))
    })
    .await?;
    if error.is_none() {
        crate::web::flash::set(&session, format!("Renamed to {}.", data.reached_name()))?;
        return Ok(see_other(&format!("/tenants/{id}")));
    }
    let mut page = TenantPage::new(chrome, data);
    page.rename_value = raw;
    page.rename_error = error;
    unprocessable(&page)
}
