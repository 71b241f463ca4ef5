//! What goes in and out of a group: devices by IMEI or serial on the group's page, a device
//! list's selection after a confirmation, members of the tenant; and the lazily loaded group
//! pickers of the device list.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use super::group_page;
use crate::db;
use crate::domain::devices::Device;
use crate::domain::groups::{self, FieldErrors, Group, GroupRow};
use crate::domain::ids::{DeviceId, GroupId, TenantId, UserId};
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Debug, serde::Deserialize)]
pub struct IdentifierForm {
    #[serde(default)]
    identifier: String,
}

/// Adds the tenant's device with this IMEI or serial; a message beside the field otherwise.
pub async fn add_device(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<IdentifierForm>,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let identifier = form.into_inner().identifier.trim().to_string();
    let outcome = db::run(&pool, move |conn| {
        groups::find(conn, &reached, id)?;
        let why = if identifier.is_empty() {
            "Give the IMEI or serial number of a device.".to_string()
        } else {
            match groups::own_device_by_identifier(conn, &reached, &identifier)? {
                Some(device) => {
                    let n = groups::add_devices(conn, &access, &reached, id, &[device])?;
                    return Ok(Ok(n));
                }
                None => format!(
                    "{} has no device with the IMEI or serial {identifier:?}.",
                    reached.tenant().name
                ),
            }
        };
        let page = group_page(
            conn,
            chrome,
            reached,
            id,
            None,
            FieldErrors::from([("identifier", why)]),
        )?;
        Ok(Err(page))
    })
    .await?;
    match outcome {
        Ok(n) => Ok(see_other(&format!(
            "/tenants/{tenant}/groups/{id}?added={n}"
        ))),
        Err(page) => html_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct DeviceForm {
    device: DeviceId,
}

pub async fn remove_device(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<DeviceForm>,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let device = form.device;
    db::run(&pool, move |conn| {
        Ok(groups::remove_device(conn, &access, &reached, id, device)?)
    })
    .await?;
    Ok(see_other(&format!(
        "/tenants/{tenant}/groups/{id}?removed=1"
    )))
}

#[derive(Debug, serde::Deserialize)]
pub struct MemberForm {
    user: UserId,
}

pub async fn add_member(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, AppError> {
    set_member(r, path, form, true).await
}

pub async fn remove_member(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<MemberForm>,
) -> Result<HttpResponse, AppError> {
    set_member(r, path, form, false).await
}

async fn set_member(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<MemberForm>,
    inside: bool,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let user = form.user;
    db::run(&pool, move |conn| {
        Ok(groups::set_member(
            conn, &access, &reached, id, user, inside,
        )?)
    })
    .await?;
    let done = if inside { "saved" } else { "removed" };
    Ok(see_other(&format!(
        "/tenants/{tenant}/groups/{id}?{done}=1"
    )))
}

/// A device list's selection and the chosen group.
fn selection(pairs: &[(String, String)]) -> Result<(Vec<DeviceId>, Option<GroupId>), AppError> {
    crate::web::input::selection(pairs, "group")
}

#[derive(Template)]
#[template(path = "groups/add.html")]
struct AddPage {
    chrome: Chrome,
    tenant: Tenant,
    group: Option<Group>,
    groups: Vec<GroupRow>,
    devices: Vec<Device>,
    error: Option<String>,
}

/// The confirmation before a selection joins a group: which devices, which group, and why
/// it cannot be done if it cannot.
pub async fn add_preview(
    r: Reach<perm::GroupsManage>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (ids, group) = selection(&query)?;
    let (access, chrome, reached, pool) = r.into_parts();
    let (status, page) = db::run(&pool, move |conn| {
        let group = group.map(|g| groups::find(conn, &reached, g)).transpose()?;
        let devices = access.devices_seen(conn, &reached, &ids)?;
        let error = groups::refused_selection(&reached, &devices);
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        Ok((
            status,
            AddPage {
                chrome,
                groups: groups::list(conn, &reached)?,
                group,
                devices,
                error,
                tenant: reached.into_tenant(),
            },
        ))
    })
    .await?;
    html_status(status, &page)
}

pub async fn add_devices(
    r: Reach<perm::GroupsManage>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (ids, group) = selection(&form)?;
    let Some(group) = group else {
        return Err(AppError::BadRequest("Choose a group.".into()));
    };
    let (access, _, reached, pool) = r.into_parts();
    let tenant = reached.id();
    let added = db::run(&pool, move |conn| {
        Ok(groups::add_devices(conn, &access, &reached, group, &ids)?)
    })
    .await?;
    Ok(see_other(&format!(
        "/tenants/{tenant}/groups/{group}?added={added}"
    )))
}

#[derive(Debug, serde::Deserialize)]
pub struct OptionsQuery {
    #[serde(default, rename = "for")]
    purpose: String,
    #[serde(default, deserialize_with = "crate::web::input::empty_as_none")]
    group: Option<GroupId>,
}

#[derive(Template)]
#[template(path = "groups/_options.html")]
struct Options {
    /// The select's id and name, and its empty choice.
    id: &'static str,
    name: &'static str,
    any: &'static str,
    groups: Vec<GroupRow>,
    chosen: Option<GroupId>,
}

/// The groups of a tenant as a select, loaded when a picker is first used.
pub async fn options(
    r: Reach<perm::GroupsView>,
    query: web::Query<OptionsQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, _, reached, pool) = r.into_parts();
    let chosen = query.group;
    let (id, name, any) = match query.purpose.as_str() {
        "add" => ("add-to-group", "group", "Choose a group…"),
        _ => ("group-filter", "group", "Any"),
    };
    let groups = db::run(&pool, move |conn| {
        if let Some(g) = chosen {
            groups::find(conn, &reached, g)?;
        }
        Ok(groups::list(conn, &reached)?)
    })
    .await?;
    html(&Options {
        id,
        name,
        any,
        groups,
        chosen,
    })
}
