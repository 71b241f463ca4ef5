//! Check-ins, schedules and alerts over the API: what a tracker's gateway sends and what a
//! customer's dispatch software reads.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db;
use crate::domain::alerts::{self, AlertRow, Show};
use crate::domain::checkins::{self, CheckinInput, Source};
use crate::domain::error::DomainError;
use crate::domain::ids::AlertId;
use crate::domain::permissions::perm;
use crate::web::api::body::{self, Body, Query};
use crate::web::api::caller::{ApiDevice, ApiReach, path_id};
use crate::web::api::problem::{Problem, ProblemBody};

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AlertOut {
    pub id: Uuid,
    pub device_id: Uuid,
    pub device: String,
    pub identifier: String,
    pub tenant_id: Uuid,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    pub due_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub note: String,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_reason: Option<String>,
    /// Who has been told, in order.
    pub told: Vec<String>,
}

impl From<AlertRow> for AlertOut {
    fn from(r: AlertRow) -> Self {
        let a = r.alert;
        Self {
            id: a.id.uuid(),
            device_id: a.device_id.uuid(),
            device: r.device,
            identifier: r.identifier,
            tenant_id: a.tenant_id.uuid(),
            state: a.state,
            due_at: a.due_at,
            opened_at: a.opened_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by,
            note: a.ack_note,
            resolved_at: a.resolved_at,
            resolved_reason: a.resolved_reason,
            told: r.told,
        }
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct AlertPage {
    pub items: Vec<AlertOut>,
    /// The next page's number, `null` on the last.
    pub next_page: Option<i64>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// `unresolved` (default), `open`, `acknowledged`, `resolved` or `all`.
    pub show: Option<String>,
    /// From 0.
    pub page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/alerts", tag = "alerts",
    params(("id" = Uuid, Path, description = "Tenant id"), AlertParams),
    responses((status = 200, body = AlertPage), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn list(
    r: ApiReach<perm::AlertsView>,
    params: Query<AlertParams>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let params = params.get()?;
    let show = match params.show.as_deref().unwrap_or("unresolved") {
        s @ ("unresolved" | "open" | "acknowledged" | "resolved" | "all") => Show::parse(s),
        _ => {
            return Err(Problem::invalid([(
                "show".to_string(),
                "Use unresolved, open, acknowledged, resolved or all.".to_string(),
            )]));
        }
    };
    let page = params.page.unwrap_or(0);
    if !(0..=100_000).contains(&page) {
        return Err(Problem::invalid([(
            "page".to_string(),
            "Use 0 to 100000.".to_string(),
        )]));
    }
    let (rows, more) = db::run(&caller.pool, move |conn| {
        Ok(alerts::list(conn, &tenant, show, page)?)
    })
    .await?;
    body::json(
        StatusCode::OK,
        &AlertPage {
            items: rows.into_iter().map(AlertOut::from).collect(),
            next_page: more.then_some(page + 1),
        },
    )
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeIn {
    /// What is being done about it (at most 500 characters).
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/alerts/{alert}/acknowledge", tag = "alerts",
    params(("id" = Uuid, Path, description = "Tenant id"),
           ("alert" = Uuid, Path, description = "Alert id")),
    request_body = AcknowledgeIn,
    responses((status = 204, description = "Acknowledged"), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn acknowledge(
    req: HttpRequest,
    r: ApiReach<perm::AlertsAcknowledge>,
    input: Body<AcknowledgeIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let id: AlertId = path_id(&req, "alert")?;
    let access = caller.access.clone();
    let by = format!(
        "{} (API key {})",
        access.user.display_name, caller.key.prefix
    );
    let note = input.value()?.0.note;
    db::run_with(&caller.pool, move |conn| {
        let alert = alerts::find(conn, &access, &tenant, id)?;
        alerts::acknowledge(conn, &alert, &by, &note, &access.actor).map_err(|e| match e {
            DomainError::Invalid(m) => Problem::field("note", m),
            other => other.into(),
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScheduleOut {
    pub id: Uuid,
    pub name: String,
    /// An IANA zone, such as `Europe/London`.
    pub time_zone: String,
    /// Due every this many minutes; `null` for set times.
    pub interval_minutes: Option<i32>,
    /// Set times as minutes after midnight, on `weekdays`.
    pub times_of_day: Option<Vec<i16>>,
    /// Monday = 1, Tuesday = 2, … Sunday = 64, added up.
    pub weekdays: i16,
    pub grace_minutes: i32,
    pub tier2_after_minutes: Option<i32>,
    pub repeat_minutes: Option<i32>,
    pub enabled: bool,
    pub shared_below: bool,
    /// Defined at a tenant above and shared down to this one.
    pub inherited: bool,
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/schedules", tag = "alerts",
    params(("id" = Uuid, Path, description = "Tenant id")),
    responses((status = 200, body = Vec<ScheduleOut>),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn schedules(r: ApiReach<perm::SchedulesView>) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let here = tenant.id();
    let found = db::run(&caller.pool, move |conn| {
        Ok(crate::domain::schedules::list(conn, &tenant)?)
    })
    .await?;
    let out: Vec<ScheduleOut> = found
        .into_iter()
        .map(|s| ScheduleOut {
            id: s.id.uuid(),
            inherited: s.tenant_id != here,
            name: s.name,
            time_zone: s.time_zone,
            interval_minutes: s.interval_minutes,
            times_of_day: s.times_of_day,
            weekdays: s.weekdays,
            grace_minutes: s.grace_minutes,
            tier2_after_minutes: s.tier2_after_minutes,
            repeat_minutes: s.repeat_minutes,
            enabled: s.enabled,
            shared_below: s.shared_below,
        })
        .collect();
    body::json(StatusCode::OK, &out)
}

#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInIn {
    /// At most 500 characters.
    pub message: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckInOut {
    pub device_id: Uuid,
    pub at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/devices/{device}/check-ins", tag = "alerts",
    params(("id" = Uuid, Path, description = "The device's tenant"),
           ("device" = Uuid, Path, description = "Device id")),
    request_body = CheckInIn,
    responses((status = 201, body = CheckInOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
              (status = 415, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn check_in(
    r: ApiDevice<perm::DevicesCheckIn>,
    input: Body<CheckInIn>,
) -> Result<HttpResponse, Problem> {
    let ApiDevice { caller, device, .. } = r;
    let v = input.value()?.0;
    let said = CheckinInput {
        message: v.message.unwrap_or_default(),
        latitude: v.latitude.map(|l| l.to_string()).unwrap_or_default(),
        longitude: v.longitude.map(|l| l.to_string()).unwrap_or_default(),
    }
    .parse()
    .map_err(|m| Problem::field("message", m))?;
    let access = caller.access.clone();
    let id = device.id;
    let at = db::run(&caller.pool, move |conn| {
        Ok(checkins::record(
            conn,
            &device,
            Source::Api,
            access.actor.user_id,
            &said,
            &access.actor,
        )?)
    })
    .await?;
    body::json(
        StatusCode::CREATED,
        &CheckInOut {
            device_id: id.uuid(),
            at,
        },
    )
}
