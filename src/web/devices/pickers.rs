//! The tenant pickers of the device list (the tenant filter and the move target), loaded
//! when a person reaches for them rather than with every page: on a tree of thousands of
//! tenants they were most of the list page's bytes and a read of the subtree per request.
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{ListQuery, TARGETS};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::tenants::{self, Tenant};
use crate::error::AppError;
use crate::web::reach::Reach;
use crate::web::render::html;

#[derive(Debug, Deserialize)]
pub struct PickerQuery {
    /// `filter` (with "Any" first) or `move` (with a prompt first).
    #[serde(default, rename = "for")]
    purpose: String,
    #[serde(flatten)]
    list: ListQuery,
}

#[derive(Template)]
#[template(path = "devices/_tenant_options.html")]
struct Options {
    /// The first, empty choice: "Any" for the filter, a prompt for a move.
    blank: &'static str,
    /// The select's id and field name, as the page had them.
    select: (&'static str, &'static str),
    tenants: Vec<Tenant>,
    selected: Option<TenantId>,
}

/// A tenant picker, filled: the first `TARGETS` tenants of the page's subtree in tree order,
/// the chosen filter (if any, resolved like the list's own) marked. Admins only. It replaces
/// the empty picker whole, so that it loads once: a second load could undo a choice made
/// meanwhile.
pub async fn tenant_options(
    r: Reach<perm::DevicesView>,
    query: web::Query<PickerQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, _, tenant, pool) = r.into_parts();
    let query = query.into_inner();
    let (blank, select) = if query.purpose == "move" {
        ("Choose a tenant…", ("move-to", "to"))
    } else {
        ("Any", ("tenant-filter", "tenant"))
    };
    let list = query.list.clean();
    let (tenants, selected) = db::run(&pool, move |conn| {
        let view = list.resolve(conn, &access, tenant)?;
        if !view.reached.sees_below() {
            return Err(AppError::Forbidden(
                "Only the tenant's admins choose among its sub-tenants.".into(),
            ));
        }
        let tenants =
            tenants::subtree_limited(conn, &view.reached.tenant().traversal_ids, TARGETS)?;
        Ok((tenants, view.chosen.map(|c| c.id())))
    })
    .await?;
    html(&Options {
        blank,
        select,
        tenants,
        selected,
    })
}
