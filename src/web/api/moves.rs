//! Moving many devices over the API: the same preview → apply as the page, all or none.
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use uuid::Uuid;

use crate::db;
use crate::domain::checkins;
use crate::domain::devices;
use crate::domain::ids::{DeviceId, TenantId};
use crate::domain::permissions::{Permission, perm};
use crate::web::api::body::{self, Body};
use crate::web::api::caller::ApiReach;
use crate::web::api::problem::{Problem, ProblemBody};

/// The most devices one move names.
pub const MAX_MOVE: usize = 1000;

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveIn {
    /// The devices to move (at most 1000).
    pub ids: Vec<Uuid>,
    /// The tenant to move them to.
    pub to: Uuid,
    /// `false` (default): say what would change; `true`: move them, all or none.
    #[serde(default)]
    pub apply: bool,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct MoveOut {
    pub applied: bool,
    /// Devices that change tenant (or would).
    pub moving: Vec<Uuid>,
    /// Devices already in the target.
    pub staying: usize,
    /// Devices that lose their own check-in schedule (the target cannot use it), and those
    /// whose open alerts resolve.
    pub schedules_dropped: usize,
    pub alerts_resolved: usize,
}

#[utoipa::path(post, path = "/api/v1/tenants/{id}/devices/move", tag = "devices",
    params(("id" = Uuid, Path, description = "Tenant whose device list the devices are in")),
    request_body = MoveIn,
    responses((status = 200, body = MoveOut), (status = 400, body = ProblemBody, content_type = "application/problem+json"),
              (status = 401, body = ProblemBody, content_type = "application/problem+json"), (status = 403, body = ProblemBody, content_type = "application/problem+json"),
              (status = 404, body = ProblemBody, content_type = "application/problem+json"), (status = 413, body = ProblemBody, content_type = "application/problem+json"),
              (status = 415, body = ProblemBody, content_type = "application/problem+json"), (status = 429, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn move_many(
    r: ApiReach<perm::DevicesView>,
    input: Body<MoveIn>,
) -> Result<HttpResponse, Problem> {
    let ApiReach { caller, tenant, .. } = r;
    let MoveIn { ids, to, apply } = input.value()?.0;
    if ids.is_empty() || ids.len() > MAX_MOVE {
        return Err(Problem::field(
            "ids",
            format!("Name 1 to {MAX_MOVE} devices."),
        ));
    }
    let mut ids: Vec<DeviceId> = ids.into_iter().map(DeviceId::from).collect();
    ids.sort();
    ids.dedup();
    let access = caller.access.clone();
    let out = db::run(&caller.pool, move |conn| {
        let selected = crate::web::devices::moves::load(conn, &access, &tenant, &ids)?;
        let target = access.tenant_for(conn, TenantId::from(to), Permission::DevicesMove)?;
        let preview = devices::moves::preview(selected, target.tenant());
        let moving: Vec<DeviceId> = preview.moving.iter().map(|d| d.id).collect();
        let (schedules_dropped, alerts_resolved) =
            checkins::lost_by_moving(conn, &preview.moving, target.path())?;
        if apply {
            devices::moves::move_all(conn, &access, &tenant, &ids, &target)?;
        }
        Ok(MoveOut {
            applied: apply,
            moving: moving.iter().map(|d| d.uuid()).collect(),
            staying: preview.staying,
            schedules_dropped,
            alerts_resolved,
        })
    })
    .await?;
    body::json(StatusCode::OK, &out)
}
