//! Moving a selection of devices to another tenant: a preview of what changes, then one
//! transaction. Admins only, and both sides must be in their reach.
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::devices::{self, Device, moves};
use crate::domain::groups;
use crate::domain::ids::{DeviceId, TenantId};
use crate::domain::memberships;
use crate::domain::permissions::Permission;
use crate::domain::permissions::perm;
use crate::domain::tenants::{self, Tenant};
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, see_other};

/// Ids and the target from repeated `ids=` pairs (a query string or a form).
fn selection(pairs: &[(String, String)]) -> Result<(Vec<DeviceId>, Option<TenantId>), AppError> {
    let bad = || AppError::BadRequest("The selection is not valid.".into());
    let mut ids = Vec::new();
    let mut to = None;
    for (k, v) in pairs {
        match k.as_str() {
            "ids" => ids.push(v.parse().map_err(|_| bad())?),
            "to" if !v.is_empty() => to = Some(v.parse().map_err(|_| bad())?),
            _ => {}
        }
    }
    if ids.is_empty() {
        return Err(AppError::BadRequest(
            "Select at least one device to move.".into(),
        ));
    }
    if ids.len() > 1000 {
        return Err(AppError::BadRequest(
            "Move at most 1000 devices at once.".into(),
        ));
    }
    ids.sort();
    ids.dedup();
    Ok((ids, to))
}

/// The selected devices, chosen on a page of `within`, each of which the caller must
/// administer (404 outside reach).
pub(crate) fn load(
    conn: &mut diesel::PgConnection,
    access: &Access,
    within: &Reached,
    ids: &[DeviceId],
) -> Result<Vec<Device>, AppError> {
    Ok(access.devices(conn, within, ids, Permission::DevicesMove)?)
}

#[derive(Template)]
#[template(path = "devices/move.html")]
struct MovePage {
    chrome: Chrome,
    tenant_id: TenantId,
    target: Tenant,
    from: Vec<(String, usize)>,
    moving: Vec<Device>,
    staying: usize,
    /// Members of the target who will see the devices from now on.
    audience: i64,
    /// The groups the devices leave (a group holds its own tenant's devices), by name, with
    /// how many of them leave each.
    groups_left: Vec<(String, i64)>,
    /// Devices that lose their own schedule, and devices whose unresolved alerts resolve.
    checkin_loss: (usize, usize),
}

/// `Reach` first: another tenant's page is 404 whatever the selection says.
pub async fn move_preview(
    r: Reach<perm::DevicesView>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, tenant, pool) = r.into_parts();
    let id = tenant.id();
    let query = query.into_inner();
    let page = db::run(&pool, move |conn| {
        let (ids, to) = selection(&query)?;
        let to =
            to.ok_or_else(|| AppError::BadRequest("Choose where to move the devices.".into()))?;
        let selected = load(conn, &access, &tenant, &ids)?;
        let target = access
            .tenant_for(conn, to, Permission::DevicesMove)?
            .into_tenant();
        let p = moves::preview(selected, &target);
        let groups_left = groups::left_by_moving(conn, &p.moving, target.id)?;
        let checkin_loss =
            crate::domain::checkins::lost_by_moving(conn, &p.moving, &target.traversal_ids)?;
        let names = tenants::find_many(conn, &p.from.iter().map(|(t, _)| *t).collect::<Vec<_>>())?;
        let from = p
            .from
            .iter()
            .map(|(t, n)| {
                (
                    names
                        .iter()
                        .find(|x| x.id == *t)
                        .map_or_else(String::new, |x| x.name.clone()),
                    *n,
                )
            })
            .collect();
        Ok(MovePage {
            chrome,
            tenant_id: id,
            audience: memberships::count_in(conn, target.id)?,
            groups_left,
            checkin_loss,
            target,
            from,
            moving: p.moving,
            staying: p.staying,
        })
    })
    .await?;
    html(&page)
}

pub async fn move_devices(
    session: actix_session::Session,
    r: Reach<perm::DevicesView>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (access, _, tenant, pool) = r.into_parts();
    let id = tenant.id();
    let form = form.into_inner();
    let (moved, to) = db::run(&pool, move |conn| {
        let (ids, to) = selection(&form)?;
        let to =
            to.ok_or_else(|| AppError::BadRequest("Choose where to move the devices.".into()))?;
        load(conn, &access, &tenant, &ids)?;
        let target = access.tenant_for(conn, to, Permission::DevicesMove)?;
        let moved = devices::moves::move_all(conn, &access, &tenant, &ids, &target)?;
        Ok((moved, target.into_tenant().name))
    })
    .await?;
    crate::web::flash::set(
        &session,
        match moved {
            0 => format!("Nothing to move: those devices are in {to} already."),
            1 => format!("1 device moved to {to}."),
            n => format!("{n} devices moved to {to}."),
        },
    )?;
    Ok(see_other(&format!("/tenants/{id}/devices?sub=1")))
}
