//! Devices over the API: the list (the page's filters and keyset cursor), read, create,
//! update, retire.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db;
use crate::domain::devices::fields::{FieldErrors, KINDS, STATUSES};
use crate::domain::devices::{self, Device, DeviceError, DeviceInput, list};
use crate::domain::ids::{DeviceId, GroupId, TenantId};
use crate::domain::permissions::perm;
use crate::domain::states::DeviceStatus;
use crate::error::AppError;
use crate::web::api::body::{self, Body, Query};
use crate::web::api::caller::{ApiDevice, ApiReach};
use crate::web::api::problem::{Problem, ProblemBody};
use crate::web::devices::ListQuery;

/// The most devices one page of the list holds.
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The IMEI (15 digits) or serial number.
    pub identifier: String,
    /// `imei` or `serial`.
    pub identifier_kind: String,
    pub name: String,
    pub model: String,
    pub kind: String,
    pub status: String,
    pub phone: Option<String>,
    pub notes: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Device> for DeviceOut {
    fn from(d: &Device) -> Self {
        Self {
            id: d.id.uuid(),
            tenant_id: d.tenant_id.uuid(),
            identifier: d.identifier.clone(),
            identifier_kind: d.id_kind.clone(),
            name: d.name.clone(),
            model: d.model.clone(),
            kind: d.kind.as_str().into(),
            status: d.status.as_str().into(),
            phone: d.phone.clone(),
            notes: d.notes.clone(),
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

/// Where the next page starts: send both back as `after` and `after_id`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Cursor {
    pub after: String,
    pub after_id: Uuid,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DevicePage {
    pub items: Vec<DeviceOut>,
    /// How many match in all; with `total_exact` false, at least this many.
    pub total: i64,
    pub total_exact: bool,
    /// `null` on the last page.
    pub next: Option<Cursor>,
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The start of an IMEI or serial number, or part of a name.
    pub q: Option<String>,
    /// `in_stock`, `active`, `in_repair` or `retired`.
    pub status: Option<String>,
    /// `satellite_phone`, `tracker`, `router`, `phone` or `other`.
    pub kind: Option<String>,
    /// The whole subtree (for keys whose role reaches below).
    pub subtree: Option<bool>,
    /// `name` (default) or `identifier`.
    pub sort: Option<String>,
    /// One tenant of the subtree.
    pub tenant: Option<Uuid>,
    /// One group of this tenant.
    pub group: Option<Uuid>,
    /// Only devices with an open alert.
    pub overdue: Option<bool>,
    pub after: Option<String>,
    pub after_id: Option<Uuid>,
    /// 1 to 200; 50 if absent.
    pub limit: Option<i64>,
}

fn one_of(value: &Option<String>, list: &[(&str, &str)], field: &str) -> Result<String, Problem> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(String::new()),
        Some(v) if list.iter().any(|(k, _)| *k == v) => Ok(v.to_string()),
        Some(_) => {
            let allowed: Vec<&str> = list.iter().map(|(k, _)| *k).collect();
            Err(Problem::invalid([(
                field.to_string(),
                format!("Use one of: {}.", allowed.join(", ")),
            )]))
        }
    }
}

impl ListParams {
    fn page_query(&self) -> Result<(ListQuery, i64), Problem> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid([(
                "limit".to_string(),
                format!("Use 1 to {MAX_LIMIT}."),
            )]));
        }
        let sort = one_of(
            &self.sort,
            &[("name", "name"), ("identifier", "identifier")],
            "sort",
        )?;
        if self.after_id.is_some() != self.after.is_some() {
            return Err(Problem::invalid([(
                "after".to_string(),
                "Send `after` and `after_id` together, as `next` gave them.".to_string(),
            )]));
        }
        let query = ListQuery {
            q: self.q.clone().unwrap_or_default(),
            status: one_of(&self.status, STATUSES, "status")?,
            kind: one_of(&self.kind, KINDS, "kind")?,
            sub: if self.subtree == Some(true) { "1" } else { "" }.into(),
            sort,
            after: self.after.clone().unwrap_or_default(),
            after_id: self.after_id.map(DeviceId::from),
            tenant: self.tenant.map(TenantId::from),
            group: self.group.map(GroupId::from),
            checkin: if self.overdue == Some(true) {
                "overdue"
            } else {
                ""
            }
            .into(),
        };
        Ok((query.clean(), limit))
    }
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/devices", tag = "devices",
    params(("id" = Uuid, Path, description = "Tenant id"), ListParams),
    responses((status = 200, body = DevicePage), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn list(
    r: ApiReach<perm::DevicesView>,
    params: Query<ListParams>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let (query, limit) = params.get()?.page_query()?;
    let access = caller.access.clone();
    let q = query.clone();
    let (rows, total) = db::run(&caller.pool, move |conn| {
        let view = q.resolve(conn, &access, tenant)?;
        Ok(list::page(conn, &q.filter(&view, limit))?)
    })
    .await?;
    let sort = list::Sort::parse(&query.sort);
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .map(|d| Cursor {
            after: sort.key(d),
            after_id: d.id.uuid(),
        });
    body::json(
        StatusCode::OK,
        &DevicePage {
            items: rows.iter().map(DeviceOut::from).collect(),
            total: total.n,
            total_exact: total.exact,
            next,
        },
    )
}

/// A device's fields. On create, `name`, `kind` and one of `imei`/`serial` are needed; on
/// update, what is absent stays as it is.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceIn {
    /// 15 digits with a valid check digit.
    pub imei: Option<String>,
    pub serial: Option<String>,
    pub name: Option<String>,
    pub model: Option<String>,
    /// `satellite_phone`, `tracker`, `router`, `phone` or `other`.
    pub kind: Option<String>,
    /// `in_stock` (default), `active`, `in_repair` or `retired`.
    pub status: Option<String>,
    /// E.164, like `+447700900123`.
    pub phone: Option<String>,
    pub notes: Option<String>,
}

impl DeviceIn {
    /// These fields over `base` (a new device's blanks, or a device as it is).
    fn over(self, mut base: DeviceInput) -> DeviceInput {
        if self.imei.is_some() || self.serial.is_some() {
            base.imei = self.imei.unwrap_or_default();
            base.serial = self.serial.unwrap_or_default();
        }
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut base.name, self.name);
        set(&mut base.model, self.model);
        set(&mut base.kind, self.kind);
        set(&mut base.status, self.status);
        set(&mut base.phone, self.phone);
        set(&mut base.notes, self.notes);
        base
    }
}

fn field_problem(errors: FieldErrors) -> Problem {
    Problem::invalid(errors.into_iter().map(|(f, m)| (format!("/{f}"), m)))
}

fn device_problem(e: DeviceError) -> Problem {
    match e {
        DeviceError::Domain(d) => d.into(),
        DeviceError::Duplicate => Problem {
            errors: vec![crate::web::api::problem::FieldProblem {
                field: "/imei".into(),
                detail: e.to_string(),
            }],
            ..AppError::Conflict(e.to_string()).into()
        },
    }
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/devices", tag = "devices",
    params(("id" = Uuid, Path, description = "Tenant id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retry safely")),
    request_body = DeviceIn,
    responses((status = 201, body = DeviceOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn create(
    req: HttpRequest,
    r: ApiReach<perm::DevicesCreate>,
    input: Body<DeviceIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let (value, raw) = input.value()?;
    let fields = value
        .over(DeviceInput::default())
        .parse()
        .map_err(field_problem)?;
    let actor = caller.access.actor.clone();
    body::once(&req, &caller, &raw, move |conn| {
        let device = devices::create(conn, &actor, tenant.id(), &fields).map_err(device_problem)?;
        body::created(
            format!("/api/v1/tenants/{}/devices/{}", device.tenant_id, device.id),
            &DeviceOut::from(&device),
        )
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/tenants/{id}/devices/{device}", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's tenant"),
           ("device" = Uuid, Path, description = "Device id")),
    responses((status = 200, body = DeviceOut), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn show(r: ApiDevice<perm::DevicesView>) -> Result<HttpResponse, Problem> {
    body::json(StatusCode::OK, &DeviceOut::from(&r.device))
}

#[utoipa::path(patch, path = "/api/v1/tenants/{id}/devices/{device}", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's tenant"),
           ("device" = Uuid, Path, description = "Device id")),
    request_body = DeviceIn,
    responses((status = 200, body = DeviceOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 409, body = ProblemBody, content_type = "application/problem+json"),
              (status = 413, body = ProblemBody, content_type = "application/problem+json"), (status = 415, body = ProblemBody, content_type = "application/problem+json"),
              (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn update(
    r: ApiDevice<perm::DevicesEdit>,
    input: Body<DeviceIn>,
) -> Result<HttpResponse, Problem> {
    let ApiDevice { caller, device, .. } = r;
    let fields = input
        .value()?
        .0
        .over(device.input())
        .parse()
        .map_err(field_problem)?;
    let actor = caller.access.actor.clone();
    let updated = db::run_with(&caller.pool, move |conn| {
        devices::update(conn, &actor, &device, &fields).map_err(device_problem)
    })
    .await?;
    body::json(StatusCode::OK, &DeviceOut::from(&updated))
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/devices/{device}/retire", tag = "devices",
    params(("id" = Uuid, Path, description = "The device's tenant"),
           ("device" = Uuid, Path, description = "Device id")),
    responses((status = 200, body = DeviceOut), (status = 401, body = ProblemBody, content_type = "application/problem+json"),
              (status = 403, body = ProblemBody, content_type = "application/problem+json"), (status = 404, body = ProblemBody, content_type = "application/problem+json"),
              (status = 409, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn retire(r: ApiDevice<perm::DevicesRetire>) -> Result<HttpResponse, Problem> {
    let ApiDevice { caller, device, .. } = r;
    let mut input = device.input();
    input.status = DeviceStatus::Retired.to_string();
    let fields = input
        .parse()
        .map_err(|_| AppError::Internal("stored device fails its own rules".into()))?;
    let actor = caller.access.actor.clone();
    let updated = db::run_with(&caller.pool, move |conn| {
        devices::update(conn, &actor, &device, &fields).map_err(device_problem)
    })
    .await?;
    body::json(StatusCode::OK, &DeviceOut::from(&updated))
}
