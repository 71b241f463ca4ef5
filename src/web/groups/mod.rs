//! A tenant's groups: the list with a form for a new one, a group's page (its devices and
//! members, renaming), deletion after a confirmation, and in `contents` what goes in and out.
//! Every rule is the domain's (`domain::groups`); these handlers read forms and render.
mod contents;

pub use contents::{
    add_device, add_devices, add_member, add_preview, options, remove_device, remove_member,
};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::access::Reached;
use crate::db;
use crate::domain::devices::Device;
use crate::domain::groups::{
    self, FieldErrors, Group, GroupError, GroupInput, GroupMember, GroupRow,
};
use crate::domain::ids::{GroupId, TenantId};
use crate::domain::permissions::{Permission, perm};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

/// How many of a group's devices its page lists; the device list filtered by the group
/// pages through the rest.
pub const SHOWN: i64 = 100;

#[derive(Template)]
#[template(path = "groups/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    groups: Vec<GroupRow>,
    can_manage: bool,
    limited: bool,
    input: GroupInput,
    errors: FieldErrors,
    notice: Option<&'static str>,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// What the page after a change says about it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
    #[serde(default)]
    added: Option<usize>,
    #[serde(default)]
    removed: Option<String>,
}

impl Done {
    fn notice(&self) -> Option<String> {
        if let Some(n) = self.added {
            return Some(match n {
                0 => "Those devices were in the group already.".to_string(),
                1 => "1 device added to the group.".to_string(),
                n => format!("{n} devices added to the group."),
            });
        }
        if self.removed.is_some() {
            return Some("Removed from the group.".into());
        }
        self.saved.as_ref().map(|_| "Group saved.".to_string())
    }
}

fn list_page(
    conn: &mut diesel::PgConnection,
    chrome: Chrome,
    reached: Reached,
    input: GroupInput,
    errors: FieldErrors,
) -> Result<ListPage, AppError> {
    Ok(ListPage {
        chrome,
        groups: groups::list(conn, &reached)?,
        can_manage: reached.may(Permission::GroupsManage),
        limited: reached.limited_to_groups().is_some(),
        input,
        errors,
        notice: None,
        tenant: reached.into_tenant(),
    })
}

pub async fn list(
    r: Reach<perm::GroupsView>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let notice = done.deleted.as_ref().map(|_| "Group deleted.");
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        list_page(
            conn,
            chrome,
            reached,
            GroupInput::default(),
            FieldErrors::new(),
        )
    })
    .await?;
    html(&ListPage { notice, ..page })
}

/// A refused change: the form again with the reason beside the field, 422 or 403.
fn refused(e: GroupError) -> Result<(StatusCode, FieldErrors), AppError> {
    use crate::domain::error::DomainError;
    match e {
        GroupError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        GroupError::Domain(DomainError::NotAllowed(why)) => {
            Ok((StatusCode::FORBIDDEN, FieldErrors::from([("name", why)])))
        }
        GroupError::Domain(other) => Err(other.into()),
    }
}

pub async fn create(
    r: Reach<perm::GroupsManage>,
    form: web::Form<GroupInput>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let input = form.into_inner();
    let outcome = db::run(&pool, move |conn| {
        match groups::create(conn, &access, &reached, &input) {
            Ok(group) => Ok(Ok(group.id)),
            Err(e) => {
                let (status, errors) = refused(e)?;
                Ok(Err((
                    status,
                    list_page(conn, chrome, reached, input, errors)?,
                )))
            }
        }
    })
    .await?;
    match outcome {
        Ok(group) => Ok(see_other(&format!("/tenants/{id}/groups/{group}?saved=1"))),
        Err((status, page)) => html_status(status, &page),
    }
}

#[derive(Template)]
#[template(path = "groups/group.html")]
struct GroupPage {
    chrome: Chrome,
    tenant: Tenant,
    group: Group,
    devices: Vec<Device>,
    device_total: i64,
    members: Vec<GroupMember>,
    candidates: Vec<GroupMember>,
    can_manage: bool,
    input: GroupInput,
    errors: FieldErrors,
    notice: Option<String>,
    /// The schedules the group may follow, when the reader may set one.
    schedules: Option<Vec<crate::domain::schedules::Schedule>>,
}

impl GroupPage {
    fn follows(&self, id: &crate::domain::ids::ScheduleId) -> bool {
        self.group.schedule_id == Some(*id)
    }
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

/// The group's page; `input` and `errors` when a form on it was refused.
fn group_page(
    conn: &mut diesel::PgConnection,
    chrome: Chrome,
    reached: Reached,
    id: GroupId,
    input: Option<GroupInput>,
    errors: FieldErrors,
) -> Result<GroupPage, AppError> {
    let group = groups::find(conn, &reached, id)?;
    let can_manage = reached.may(Permission::GroupsManage);
    let devices = groups::devices_of(conn, &group, SHOWN + 1)?;
    let device_total = if devices.len() as i64 > SHOWN {
        groups::sizes(conn, &group)?.0
    } else {
        devices.len() as i64
    };
    let schedules = if reached.may(Permission::SchedulesManage) {
        Some(crate::domain::schedules::list(conn, &reached)?)
    } else {
        None
    };
    Ok(GroupPage {
        chrome,
        schedules,
        devices: devices.into_iter().take(SHOWN as usize).collect(),
        device_total,
        members: groups::members_of(conn, &group)?,
        candidates: if can_manage {
            groups::candidates(conn, &group)?
        } else {
            Vec::new()
        },
        can_manage,
        input: input.unwrap_or_else(|| GroupInput {
            name: group.name.clone(),
            description: group.description.clone(),
        }),
        errors,
        notice: None,
        group,
        tenant: reached.into_tenant(),
    })
}

pub async fn show(
    r: Reach<perm::GroupsView>,
    path: web::Path<(TenantId, GroupId)>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        group_page(conn, chrome, reached, id, None, FieldErrors::new())
    })
    .await?;
    html(&GroupPage {
        notice: done.notice(),
        ..page
    })
}

pub async fn update(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<GroupInput>,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let input = form.into_inner();
    let outcome = db::run(&pool, move |conn| {
        match groups::update(conn, &access, &reached, id, &input) {
            Ok(_) => Ok(None),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let page = group_page(conn, chrome, reached, id, Some(input), errors)?;
                Ok(Some((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        None => Ok(see_other(&format!("/tenants/{tenant}/groups/{id}?saved=1"))),
        Some((status, page)) => html_status(status, &page),
    }
}

#[derive(Template)]
#[template(path = "groups/delete.html")]
struct DeletePage {
    chrome: Chrome,
    tenant: Tenant,
    group: GroupRow,
}

pub async fn delete_form(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        groups::find(conn, &reached, id)?;
        let group = groups::list(conn, &reached)?
            .into_iter()
            .find(|g| g.group.id == id)
            .ok_or(AppError::NotFound)?;
        Ok(DeletePage {
            chrome,
            group,
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

pub async fn delete(
    r: Reach<perm::GroupsManage>,
    path: web::Path<(TenantId, GroupId)>,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    db::run(&pool, move |conn| {
        Ok(groups::delete(conn, &access, &reached, id)?)
    })
    .await?;
    Ok(see_other(&format!("/tenants/{tenant}/groups?deleted=1")))
}
