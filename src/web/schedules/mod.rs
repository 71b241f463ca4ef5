//! Check-in schedules: the list, the form for a new one, a schedule's page (its form, or a
//! read-only summary for one shared from above), and deletion after a confirmation. Every
//! rule is the domain's (`domain::schedules`). `assign` sets a device list selection's.
mod assign;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
pub use assign::{assign_devices, assign_preview};

use crate::access::Reached;
use crate::db;
use crate::domain::contacts::{self, Contact};
use crate::domain::error::DomainError;
use crate::domain::ids::{ScheduleId, TenantId};
use crate::domain::permissions::{Permission, perm};
use crate::domain::schedules::timing::WEEKDAYS;
use crate::domain::schedules::{self, FieldErrors, Schedule, ScheduleError, ScheduleInput};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

/// A schedule as the list shows it.
pub struct Row {
    pub schedule: Schedule,
    pub devices: i64,
    pub inherited: bool,
}

#[derive(Template)]
#[template(path = "schedules/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    rows: Vec<Row>,
    can_manage: bool,
}

pub async fn list(r: Reach<perm::SchedulesView>) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let found = schedules::list(conn, &reached)?;
        let ids: Vec<ScheduleId> = found.iter().map(|s| s.id).collect();
        let usage = schedules::usage(conn, &reached, &ids)?;
        let rows = found
            .into_iter()
            .map(|s| Row {
                devices: usage.iter().find(|(i, _)| *i == s.id).map_or(0, |u| u.1),
                inherited: s.tenant_id != reached.id(),
                schedule: s,
            })
            .collect();
        Ok(ListPage {
            chrome,
            rows,
            can_manage: reached.may(Permission::SchedulesManage),
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

#[derive(Template)]
#[template(path = "schedules/form.html")]
struct FormPage {
    chrome: Chrome,
    tenant: Tenant,
    /// None for a new schedule.
    schedule: Option<Schedule>,
    /// Shared from above: shown, not editable here.
    inherited: bool,
    can_manage: bool,
    contacts: Vec<Contact>,
    input: ScheduleInput,
    errors: FieldErrors,
    tier1: Vec<String>,
    tier2: Vec<String>,
}

impl FormPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    fn weekdays(&self) -> Vec<(usize, &'static str)> {
        WEEKDAYS.iter().copied().enumerate().collect()
    }
    fn zones(&self) -> impl Iterator<Item = &'static str> {
        crate::domain::account::zone_names()
    }
    fn action(&self) -> String {
        match &self.schedule {
            Some(s) => format!("/tenants/{}/schedules/{}", self.tenant.id, s.id),
            None => format!("/tenants/{}/schedules", self.tenant.id),
        }
    }
}

fn form_page(
    conn: &mut diesel::PgConnection,
    chrome: Chrome,
    reached: Reached,
    schedule: Option<Schedule>,
    input: Option<ScheduleInput>,
    errors: FieldErrors,
) -> Result<FormPage, AppError> {
    let inherited = schedule
        .as_ref()
        .is_some_and(|s| s.tenant_id != reached.id());
    let (tier1, tier2) = match &schedule {
        Some(s) if !inherited => schedules::contacts_of(conn, s)?,
        _ => (Vec::new(), Vec::new()),
    };
    let input = input.unwrap_or_else(|| match &schedule {
        Some(s) => s.input(
            &tier1.iter().map(|c| c.id).collect::<Vec<_>>(),
            &tier2.iter().map(|c| c.id).collect::<Vec<_>>(),
        ),
        None => ScheduleInput::blank(chrome.zone.name()),
    });
    Ok(FormPage {
        chrome,
        inherited,
        can_manage: reached.may(Permission::SchedulesManage) && !inherited,
        contacts: if inherited {
            Vec::new()
        } else {
            contacts::all_of(conn, &reached)?
        },
        input,
        errors,
        tier1: tier1.into_iter().map(|c| c.name).collect(),
        tier2: tier2.into_iter().map(|c| c.name).collect(),
        schedule,
        tenant: reached.into_tenant(),
    })
}

fn refused(e: ScheduleError) -> Result<(StatusCode, FieldErrors), AppError> {
    match e {
        ScheduleError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        ScheduleError::Domain(DomainError::NotAllowed(why)) => {
            Ok((StatusCode::FORBIDDEN, FieldErrors::from([("name", why)])))
        }
        ScheduleError::Domain(other) => Err(other.into()),
    }
}

pub async fn new_form(r: Reach<perm::SchedulesManage>) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        form_page(conn, chrome, reached, None, None, FieldErrors::new())
    })
    .await?;
    html(&page)
}

pub async fn create(
    r: Reach<perm::SchedulesManage>,
    form: web::Form<Vec<(String, String)>>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let tenant = reached.id();
    let input = ScheduleInput::from_pairs(&form);
    let outcome = db::run(&pool, move |conn| {
        match schedules::create(conn, &access, &reached, &input) {
            Ok(s) => Ok(Ok((s.id, s.name))),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let page = form_page(conn, chrome, reached, None, Some(input), errors)?;
                Ok(Err((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        Ok((id, name)) => {
            flash::set(&session, format!("Schedule “{name}” created."))?;
            Ok(see_other(&format!("/tenants/{tenant}/schedules/{id}")))
        }
        Err((status, page)) => html_status(status, &page),
    }
}

pub async fn show(
    r: Reach<perm::SchedulesView>,
    path: web::Path<(TenantId, ScheduleId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let schedule = schedules::find(conn, &reached, id)?;
        form_page(
            conn,
            chrome,
            reached,
            Some(schedule),
            None,
            FieldErrors::new(),
        )
    })
    .await?;
    html(&page)
}

pub async fn update(
    r: Reach<perm::SchedulesManage>,
    path: web::Path<(TenantId, ScheduleId)>,
    form: web::Form<Vec<(String, String)>>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let input = ScheduleInput::from_pairs(&form);
    let outcome = db::run(&pool, move |conn| {
        match schedules::update(conn, &access, &reached, id, &input) {
            Ok(_) => Ok(None),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let schedule = schedules::find(conn, &reached, id)?;
                let page = form_page(conn, chrome, reached, Some(schedule), Some(input), errors)?;
                Ok(Some((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        None => {
            flash::set(
                &session,
                "Schedule saved; its devices' due times follow it.",
            )?;
            Ok(see_other(&format!("/tenants/{tenant}/schedules/{id}")))
        }
        Some((status, page)) => html_status(status, &page),
    }
}

#[derive(Template)]
#[template(path = "schedules/delete.html")]
struct DeletePage {
    chrome: Chrome,
    tenant: Tenant,
    schedule: Schedule,
    devices: usize,
}

pub async fn delete_form(
    r: Reach<perm::SchedulesManage>,
    path: web::Path<(TenantId, ScheduleId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let schedule = schedules::find(conn, &reached, id)?;
        Ok(DeletePage {
            chrome,
            devices: crate::domain::checkins::following(conn, reached.scope(), id)?.len(),
            schedule,
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

pub async fn delete(
    r: Reach<perm::SchedulesManage>,
    path: web::Path<(TenantId, ScheduleId)>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let name = db::run(&pool, move |conn| {
        Ok(schedules::delete(conn, &access, &reached, id)?)
    })
    .await?;
    flash::set(&session, format!("Schedule “{name}” deleted."))?;
    Ok(see_other(&format!("/tenants/{tenant}/schedules")))
}
