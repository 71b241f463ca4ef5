//! One device: its page with ownership history, create, edit, retire.
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::db;
use crate::domain::checkins;
use crate::domain::devices::fields::{KINDS, STATUSES};
use crate::domain::devices::{self, Device, DeviceError, DeviceInput, FieldErrors};
use crate::domain::ids::TenantId;
use crate::domain::permissions::Permission;
use crate::domain::permissions::perm;
use crate::domain::states::{DeviceKind, DeviceStatus};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::{DeviceReach, Reach};
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "devices/form.html")]
struct FormPage {
    chrome: Chrome,
    tenant: Tenant,
    /// None when creating.
    device: Option<Device>,
    input: DeviceInput,
    errors: FieldErrors,
    kinds: &'static [(&'static str, &'static str)],
    statuses: &'static [(&'static str, &'static str)],
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    fn action(&self) -> String {
        match &self.device {
            Some(d) => crate::web::devices::address(d),
            None => format!("/tenants/{}/devices", self.tenant.id),
        }
    }
}

fn form(
    chrome: Chrome,
    tenant: Tenant,
    device: Option<Device>,
    input: DeviceInput,
    errors: FieldErrors,
) -> FormPage {
    FormPage {
        chrome,
        tenant,
        device,
        input,
        errors,
        kinds: KINDS,
        statuses: STATUSES,
    }
}

pub async fn new_form(r: Reach<perm::DevicesCreate>) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, _) = r.into_parts();
    let input = DeviceInput {
        status: DeviceStatus::InStock.to_string(),
        kind: DeviceKind::SatellitePhone.to_string(),
        ..Default::default()
    };
    html(&form(
        chrome,
        reached.into_tenant(),
        None,
        input,
        FieldErrors::new(),
    ))
}

/// A failed save: the form again, 422, with each message beside its field.
fn refused(
    chrome: Chrome,
    tenant: Tenant,
    device: Option<Device>,
    input: DeviceInput,
    e: Result<FieldErrors, DeviceError>,
) -> Result<HttpResponse, AppError> {
    let errors = match e {
        Ok(errors) => errors,
        Err(DeviceError::Duplicate) => FieldErrors::from([(
            if input.imei.trim().is_empty() {
                "serial"
            } else {
                "imei"
            },
            DeviceError::Duplicate.to_string(),
        )]),
        Err(DeviceError::Domain(a)) => return Err(a.into()),
    };
    html_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &form(chrome, tenant, device, input, errors),
    )
}

pub async fn create(
    session: actix_session::Session,
    r: Reach<perm::DevicesCreate>,
    input: web::Form<DeviceInput>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let input = input.into_inner();
    let i = input.clone();
    let (tenant, outcome) = db::run(&pool, move |conn| {
        let outcome = match i.parse() {
            Err(errors) => Err(Ok(errors)),
            Ok(fields) => devices::create(conn, &access.actor, id, &fields).map_err(Err),
        };
        Ok((reached.into_tenant(), outcome))
    })
    .await?;
    match outcome {
        Ok(device) => {
            crate::web::flash::set(
                &session,
                format!("{} added to {}.", device.name, tenant.name),
            )?;
            Ok(see_other(&crate::web::devices::address(&device)))
        }
        Err(e) => refused(chrome, tenant, None, input, e),
    }
}

pub async fn edit_form(r: DeviceReach<perm::DevicesEdit>) -> Result<HttpResponse, AppError> {
    let input = r.device.input();
    html(&form(
        r.chrome,
        r.tenant.into_tenant(),
        Some(r.device),
        input,
        FieldErrors::new(),
    ))
}

pub async fn update(
    session: actix_session::Session,
    r: DeviceReach<perm::DevicesEdit>,
    input: web::Form<DeviceInput>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, device, reached, pool) = r.into_parts();
    let address = crate::web::devices::address(&device);
    let input = input.into_inner();
    let i = input.clone();
    let (device, tenant, outcome) = db::run(&pool, move |conn| {
        let outcome = match i.parse() {
            Err(errors) => Err(Ok(errors)),
            Ok(fields) => devices::update(conn, &access.actor, &device, &fields)
                .map(|_| ())
                .map_err(Err),
        };
        Ok((device, reached.into_tenant(), outcome))
    })
    .await?;
    match outcome {
        Ok(()) => {
            crate::web::flash::set(&session, "Changes saved.")?;
            Ok(see_other(&address))
        }
        Err(e) => refused(chrome, tenant, Some(device), input, e),
    }
}

/// Retiring keeps the device and its history; there is no hard delete.
pub async fn retire(
    req: actix_web::HttpRequest,
    session: actix_session::Session,
    r: DeviceReach<perm::DevicesRetire>,
) -> Result<HttpResponse, AppError> {
    let (access, _, device, _, pool) = r.into_parts();
    let address = crate::web::devices::address(&device);
    let name = device.name.clone();
    db::run(&pool, move |conn| {
        let mut input = device.input();
        input.status = DeviceStatus::Retired.to_string();
        let fields = input
            .parse()
            .map_err(|_| AppError::Internal("stored device fails its own rules".into()))?;
        devices::update(conn, &access.actor, &device, &fields).map_err(|e| match e {
            DeviceError::Domain(a) => a.into(),
            other => AppError::Conflict(other.to_string()),
        })
    })
    .await?;
    crate::web::flash::set(&session, format!("{name} retired; its history is kept."))?;
    // The retire button posts through htmx (for its confirmation): it needs HX-Redirect.
    Ok(crate::web::htmx::redirect(&req, &address))
}

/// One history row as the viewer may see it: tenants outside their reach are not named.
pub struct Held {
    pub from: Option<String>,
    pub to: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "devices/show.html")]
struct ShowPage {
    chrome: Chrome,
    tenant: Tenant,
    device: Device,
    history: Vec<Held>,
    can_edit: bool,
    can_retire: bool,
    watch: checkins::Watch,
    checkins: Vec<checkins::Checkin>,
    /// The schedules this device may follow, when the reader may assign one.
    schedules: Option<Vec<crate::domain::schedules::Schedule>>,
    can_check_in: bool,
}

impl ShowPage {
    fn follows(&self, id: &crate::domain::ids::ScheduleId) -> bool {
        self.watch.own && self.watch.schedule.as_ref().is_some_and(|s| s.id == *id)
    }
}

pub async fn show(r: DeviceReach<perm::DevicesView>) -> Result<HttpResponse, AppError> {
    let (access, chrome, device, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let rows = devices::history(conn, &device)?;
        let mut ids: Vec<TenantId> = rows
            .iter()
            .flat_map(|r| [r.from_tenant_id, Some(r.to_tenant_id)])
            .flatten()
            .collect();
        ids.sort();
        ids.dedup();
        // Only tenants in the caller's reach are named; the history starts where it arrived.
        let names = access.names_in_reach(conn, &ids)?;
        let name = |id: TenantId| names.get(&id).cloned();
        let history = rows
            .iter()
            .filter_map(|r| {
                let to = name(r.to_tenant_id)?;
                Some(Held {
                    from: r
                        .from_tenant_id
                        .map(|f| name(f).unwrap_or_else(|| "another organisation".into())),
                    to,
                    by: r.moved_by.clone().unwrap_or_else(|| "the system".into()),
                    at: r.moved_at,
                })
            })
            .collect();
        let schedules = if reached.may(Permission::SchedulesManage) {
            Some(crate::domain::schedules::list(conn, &reached)?)
        } else {
            None
        };
        Ok(ShowPage {
            chrome,
            watch: checkins::watch(conn, &device)?,
            checkins: checkins::history(conn, &device, 20)?,
            schedules,
            can_check_in: reached.may(Permission::DevicesCheckIn),
            can_edit: reached.may(Permission::DevicesEdit),
            can_retire: reached.may(Permission::DevicesRetire),
            tenant: reached.into_tenant(),
            device,
            history,
        })
    })
    .await?;
    html(&page)
}
