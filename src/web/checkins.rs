//! Check-ins over the web: "Check in now" and a new check-in URL on a device's page, a device's
//! or a group's schedule, and the public check-in URL itself (the token in its path is the
//! credential; a wrong one is 404 like any unknown path).
use actix_session::Session;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::audit::Actor;
use crate::domain::checkins::{self, CheckinInput, Source};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{GroupId, ScheduleId, TenantId};
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::{DeviceReach, Reach};
use crate::web::render::{html, see_other};

/// The largest body a check-in URL reads: a message and a position fit many times over.
pub const CHECKIN_LIMIT: usize = 4 * 1024;

pub async fn check_in(
    r: DeviceReach<perm::DevicesCheckIn>,
    form: web::Form<CheckinInput>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, _, device, reached, pool) = r.into_parts();
    let address = crate::web::devices::address(&device);
    let said = form
        .parse()
        .map_err(|why| AppError::BadRequest(format!("Not checked in: {why}")))?;
    let name = device.name.clone();
    db::run(&pool, move |conn| {
        Ok(checkins::check_in_now(
            conn, &access, &reached, &device, &said,
        )?)
    })
    .await?;
    flash::set(&session, format!("{name} checked in."))?;
    Ok(see_other(&address))
}

#[derive(Template)]
#[template(path = "checkins/url.html")]
struct UrlPage {
    chrome: Chrome,
    tenant: Tenant,
    device: Device,
    url: String,
}

pub async fn new_url(
    r: DeviceReach<perm::DevicesEdit>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, device, reached, pool) = r.into_parts();
    let base = state.settings.base_url.trim_end_matches('/').to_string();
    let page = db::run(&pool, move |conn| {
        let token = checkins::issue_token(conn, &access, &reached, &device)?;
        Ok(UrlPage {
            chrome,
            url: format!("{base}/check-in/{token}"),
            device,
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

#[derive(Debug, serde::Deserialize)]
pub struct Choice {
    #[serde(default, deserialize_with = "crate::web::input::empty_as_none")]
    schedule: Option<ScheduleId>,
}

pub async fn set_schedule(
    r: DeviceReach<perm::SchedulesManage>,
    form: web::Form<Choice>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, _, device, reached, pool) = r.into_parts();
    let address = crate::web::devices::address(&device);
    let schedule = form.schedule;
    db::run(&pool, move |conn| {
        Ok(checkins::assign(
            conn,
            &access,
            &reached,
            &[device],
            schedule,
        )?)
    })
    .await?;
    let said = match schedule {
        Some(_) => "Schedule set; the device is due from now.",
        None => "The device's own schedule is cleared.",
    };
    flash::set(&session, said)?;
    Ok(see_other(&address))
}

pub async fn set_group_schedule(
    r: Reach<perm::SchedulesManage>,
    path: web::Path<(TenantId, GroupId)>,
    form: web::Form<Choice>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, group) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let schedule = form.schedule;
    db::run(&pool, move |conn| {
        Ok(checkins::assign_group(
            conn, &access, &reached, group, schedule,
        )?)
    })
    .await?;
    flash::set(
        &session,
        "The group's schedule is set; devices with their own keep theirs.",
    )?;
    Ok(see_other(&format!("/tenants/{tenant}/groups/{group}")))
}

/// `POST /check-in/{token}`: a form (`message`, `latitude`, `longitude`) or an empty body.
/// Answers in plain text, for terminals and gateways rather than people.
pub async fn by_url(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    if body.len() > CHECKIN_LIMIT {
        return Err(AppError::TooLarge(
            "A check-in carries at most a short message and a position.".into(),
        ));
    }
    let input: CheckinInput = if body.is_empty() {
        CheckinInput::default()
    } else {
        serde_urlencoded::from_bytes(&body).map_err(|_| {
            AppError::BadRequest("Send message, latitude and longitude as a form.".into())
        })?
    };
    let said = input.parse().map_err(AppError::BadRequest)?;
    let actor = Actor {
        api_key: None,
        user_id: None,
        client_addr: crate::web::current::client_addr(&req),
    };
    let at = db::run(&state.pool, move |conn| {
        let device = checkins::by_token(conn, &token)?;
        if device.status == crate::domain::states::DeviceStatus::Retired {
            return Err(DomainError::NotFound.into());
        }
        Ok(checkins::record(
            conn,
            &device,
            Source::Url,
            None,
            &said,
            &actor,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "checked in at {}\n",
            at.format("%Y-%m-%dT%H:%M:%SZ")
        )))
}
