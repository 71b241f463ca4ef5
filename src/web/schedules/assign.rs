//! Setting the check-in schedule of a device list's selection: a confirmation page (which
//! devices, which schedule, and why it cannot be done if it cannot), then the change.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::checkins::{self, MAX_ASSIGN};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{DeviceId, ScheduleId};
use crate::domain::permissions::perm;
use crate::domain::schedules::{self, Schedule};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::{html_status, see_other};

/// The selection (`ids=` repeated) and the chosen schedule (empty: none), bounded before
/// anything is read.
fn selection(pairs: &[(String, String)]) -> Result<(Vec<DeviceId>, Option<ScheduleId>), AppError> {
    let (ids, schedule) = crate::web::input::selection(pairs, "schedule")?;
    if ids.len() > MAX_ASSIGN {
        return Err(AppError::BadRequest(format!(
            "Set at most {MAX_ASSIGN} devices at once."
        )));
    }
    Ok((ids, schedule))
}

#[derive(Template)]
#[template(path = "schedules/assign.html")]
struct AssignPage {
    chrome: Chrome,
    tenant: Tenant,
    devices: Vec<Device>,
    schedules: Vec<Schedule>,
    chosen: Option<ScheduleId>,
    error: Option<String>,
}

impl AssignPage {
    fn is_chosen(&self, id: &ScheduleId) -> bool {
        self.chosen == Some(*id)
    }
}

pub async fn assign_preview(
    r: Reach<perm::SchedulesManage>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (ids, chosen) = selection(&query)?;
    let (access, chrome, reached, pool) = r.into_parts();
    let (status, page) = db::run(&pool, move |conn| {
        if let Some(id) = chosen {
            schedules::find(conn, &reached, id)?;
        }
        let devices = access.devices_seen(conn, &reached, &ids)?;
        let error = checkins::refused(conn, &access, &devices, chosen)?;
        let status = if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        };
        Ok((
            status,
            AssignPage {
                chrome,
                schedules: schedules::list(conn, &reached)?,
                devices,
                chosen,
                error,
                tenant: reached.into_tenant(),
            },
        ))
    })
    .await?;
    html_status(status, &page)
}

pub async fn assign_devices(
    r: Reach<perm::SchedulesManage>,
    form: web::Form<Vec<(String, String)>>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (ids, chosen) = selection(&form)?;
    let (access, chrome, reached, pool) = r.into_parts();
    let tenant = reached.id();
    let outcome = db::run(&pool, move |conn| {
        let devices = access.devices_seen(conn, &reached, &ids)?;
        match checkins::assign(conn, &access, &reached, &devices, chosen) {
            Ok(n) => Ok(Ok(n)),
            Err(DomainError::Invalid(why)) => Ok(Err(AssignPage {
                chrome,
                schedules: schedules::list(conn, &reached)?,
                devices,
                chosen,
                error: Some(why),
                tenant: reached.into_tenant(),
            })),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    match outcome {
        Ok(n) => {
            let what = if chosen.is_some() { "set" } else { "cleared" };
            let devices = if n == 1 { "device" } else { "devices" };
            flash::set(
                &session,
                format!("Check-in schedule {what} for {n} {devices}."),
            )?;
            Ok(see_other(&format!("/tenants/{tenant}/devices")))
        }
        Err(page) => html_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
    }
}
