//! Alerts: one per missed check-in of a device. Open → acknowledged (someone is on it) →
//! resolved (the device checked in, or it moved away). The scheduler opens them and tells the
//! schedule's contacts (`scheduler`); people acknowledge them from the alerts page or from the
//! signed link in their email (`links`). Every step is audited.
mod batch;
mod hooks;
pub mod links;
mod opening;
pub mod scheduler;
mod telling;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::access::Reached;
use crate::db::schema::{alert_notifications, alerts, devices, group_devices, tenants};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{AlertId, DeviceId, ScheduleId, TenantId};
use crate::domain::ids::{CustomerId, in_customer};
use crate::domain::memberships::Seen;
pub use hooks::announce;
use hooks::hook_body;

/// How many alerts a page shows.
pub const PAGE: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = alerts)]
pub struct Alert {
    pub id: AlertId,
    pub device_id: DeviceId,
    pub tenant_id: TenantId,
    pub tenant_path: Vec<TenantId>,
    pub schedule_id: Option<ScheduleId>,
    pub due_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub state: String,
    pub steps: i32,
    pub repeats: i32,
    pub next_step_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub ack_note: String,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_reason: Option<String>,
    pub customer_id: CustomerId,
}

/// An alert as the list shows it.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub alert: Alert,
    pub device: String,
    pub identifier: String,
    /// Where the device is now (its address), when it is still this customer's.
    pub device_tenant: Option<TenantId>,
    pub tenant: String,
    /// Who was told, each once, in the order they were first told.
    pub told: Vec<String>,
}

/// Which alerts a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Open and acknowledged: what still needs the device to check in.
    Unresolved,
    Open,
    Acknowledged,
    Resolved,
    All,
}

impl Alert {
    /// Whether the schedule's second tier has been told.
    pub fn tier2_told(&self) -> bool {
        self.steps - 1 - self.repeats > 0
    }
}

impl Show {
    pub fn parse(s: &str) -> Self {
        match s {
            "open" => Show::Open,
            "acknowledged" => Show::Acknowledged,
            "resolved" => Show::Resolved,
            "all" => Show::All,
            _ => Show::Unresolved,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Show::Unresolved => "unresolved",
            Show::Open => "open",
            Show::Acknowledged => "acknowledged",
            Show::Resolved => "resolved",
            Show::All => "all",
        }
    }
}

type Predicate = Box<dyn BoxableExpression<alerts::table, Pg, SqlType = Bool>>;

/// The alerts a caller sees at the reached tenant (and below, for a caller who sees below):
/// a caller limited to groups sees only their groups' devices' alerts.
fn seen_by(reached: &Reached) -> Predicate {
    let subtree = reached.sees_below();
    let place = |path: &[TenantId], subtree: bool| -> Predicate {
        if subtree {
            let (lo, hi) = crate::domain::tenants::subtree_bounds(path);
            Box::new(alerts::tenant_path.ge(lo).and(alerts::tenant_path.lt(hi)))
        } else {
            Box::new(alerts::tenant_path.eq(path.to_vec()))
        }
    };
    match reached.seen(subtree) {
        Seen::All => place(reached.path(), subtree),
        Seen::Only(windows) => {
            let mut any: Predicate = Box::new(false.into_sql::<Bool>());
            for w in windows {
                let here = place(&w.path, w.subtree);
                let window: Predicate = match &w.groups {
                    None => here,
                    Some(groups) => Box::new(
                        here.and(
                            alerts::device_id.eq_any(
                                group_devices::table
                                    .filter(group_devices::customer_id.eq(CustomerId::of(&w.path)))
                                    .filter(group_devices::group_id.eq_any(groups.clone()))
                                    .select(group_devices::device_id),
                            ),
                        ),
                    ),
                };
                any = Box::new(any.or(window));
            }
            any
        }
    }
}

/// The alerts the caller sees at the reached tenant, newest first, a page at a time.
pub fn list(
    conn: &mut PgConnection,
    reached: &Reached,
    show: Show,
    page: i64,
) -> Result<(Vec<AlertRow>, bool), DomainError> {
    let mut q = alerts::table
        .filter(in_customer!(alerts::customer_id, reached.scope()))
        .filter(seen_by(reached))
        .into_boxed();
    q = match show {
        Show::Unresolved => q.filter(alerts::state.ne("resolved")),
        Show::All => q,
        other => q.filter(alerts::state.eq(other.as_str())),
    };
    let mut found: Vec<Alert> = q
        .order((alerts::opened_at.desc(), alerts::id.desc()))
        .offset(page.max(0) * PAGE)
        .limit(PAGE + 1)
        .select(Alert::as_select())
        .load(conn)?;
    let more = found.len() as i64 > PAGE;
    found.truncate(PAGE as usize);
    let ids: Vec<AlertId> = found.iter().map(|a| a.id).collect();
    let device_ids: Vec<DeviceId> = found.iter().map(|a| a.device_id).collect();
    let tenant_ids: Vec<TenantId> = found.iter().map(|a| a.tenant_id).collect();
    // A device's alerts stay where they were opened when it moves on: its row may be
    // another customer's now, and its name is then not shown.
    let names: HashMap<DeviceId, (String, String, TenantId)> = devices::table
        .filter(in_customer!(devices::customer_id, reached.scope()))
        .filter(devices::id.eq_any(&device_ids))
        .select((
            devices::id,
            devices::name,
            devices::identifier,
            devices::tenant_id,
        ))
        .load::<(DeviceId, String, String, TenantId)>(conn)?
        .into_iter()
        .map(|(id, n, i, t)| (id, (n, i, t)))
        .collect();
    let tenant_names: HashMap<TenantId, String> = tenants::table
        .filter(tenants::id.eq_any(&tenant_ids))
        .select((tenants::id, tenants::name))
        .load::<(TenantId, String)>(conn)?
        .into_iter()
        .collect();
    let told: Vec<(AlertId, String)> = alert_notifications::table
        .filter(in_customer!(
            alert_notifications::customer_id,
            reached.scope()
        ))
        .filter(alert_notifications::alert_id.eq_any(&ids))
        .order((alert_notifications::step, alert_notifications::name))
        .select((alert_notifications::alert_id, alert_notifications::name))
        .load(conn)?;
    Ok((
        found
            .into_iter()
            .map(|alert| {
                let mut names_told: Vec<String> = Vec::new();
                for (_, n) in told.iter().filter(|(a, _)| *a == alert.id) {
                    if !names_told.contains(n) {
                        names_told.push(n.clone());
                    }
                }
                let (device, identifier, device_tenant) = match names.get(&alert.device_id) {
                    Some((n, i, t)) => (n.clone(), i.clone(), Some(*t)),
                    None => Default::default(),
                };
                AlertRow {
                    device,
                    identifier,
                    device_tenant,
                    tenant: tenant_names
                        .get(&alert.tenant_id)
                        .cloned()
                        .unwrap_or_default(),
                    told: names_told,
                    alert,
                }
            })
            .collect(),
        more,
    ))
}

/// How many alerts the caller sees open (unacknowledged) at the reached tenant.
pub fn open_count(conn: &mut PgConnection, reached: &Reached) -> Result<i64, DomainError> {
    Ok(alerts::table
        .filter(in_customer!(alerts::customer_id, reached.scope()))
        .filter(seen_by(reached))
        .filter(alerts::state.eq("open"))
        .count()
        .get_result(conn)?)
}

/// An alert of a device the caller sees in the reached subtree; `NotFound` otherwise.
pub fn find(
    conn: &mut PgConnection,
    access: &crate::access::Access,
    reached: &Reached,
    id: AlertId,
) -> Result<Alert, DomainError> {
    let alert: Alert = alerts::table
        .filter(in_customer!(alerts::customer_id, reached.scope()))
        .filter(alerts::id.eq(id))
        .select(Alert::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    let inside = alert.tenant_path.starts_with(reached.path())
        && (reached.sees_below() || alert.tenant_path == reached.path());
    if !inside {
        return Err(DomainError::NotFound);
    }
    // A device the caller does not see has no alerts for them either.
    let device = crate::domain::devices::find_in(conn, alert.customer_id, alert.device_id)?
        .ok_or(DomainError::NotFound)?;
    access.device_at(conn, &device)?;
    Ok(alert)
}

/// Acknowledges an open alert: someone is on it. Its notifications stop; it resolves when the
/// device checks in. `by` is who (a member's name, or a contact's from an email link).
pub fn acknowledge(
    conn: &mut PgConnection,
    found: &Alert,
    by: &str,
    note: &str,
    actor: &Actor,
) -> Result<Alert, DomainError> {
    let note = note.trim();
    if note.chars().count() > 500 {
        return Err(DomainError::Invalid("Use at most 500 characters.".into()));
    }
    if let Some(c) = crate::domain::text::hidden_char(note, &['\n', '\r']) {
        return Err(DomainError::Invalid(crate::domain::text::hidden_message(c)));
    }
    conn.transaction(|conn| {
        let now = crate::domain::clock::now(conn)?;
        let id = found.id;
        let alert: Alert = alerts::table
            .filter(alerts::customer_id.eq(found.customer_id))
            .filter(alerts::id.eq(id))
            .for_update()
            .select(Alert::as_select())
            .first(conn)?;
        if alert.state != "open" {
            return Err(DomainError::Conflict(match &alert.acknowledged_by {
                Some(who) => format!("This alert was acknowledged already, by {who}."),
                None => "This alert is resolved already.".into(),
            }));
        }
        let alert: Alert = diesel::update(
            alerts::table
                .filter(alerts::customer_id.eq(found.customer_id))
                .filter(alerts::id.eq(id)),
        )
        .set((
            alerts::state.eq("acknowledged"),
            alerts::acknowledged_at.eq(now),
            alerts::acknowledged_by.eq(by),
            alerts::ack_note.eq(note),
            alerts::next_step_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(Alert::as_returning())
        .get_result(conn)?;
        Event::new(AuditAction::AlertAcknowledge, &alert.tenant_path, id)
            .detail(serde_json::json!({ "by": by, "note": note }))
            .record(conn, actor)?;
        announce(conn, &alert, "alert.acknowledged")?;
        Ok(alert)
    })
}

/// Resolves the devices' unresolved alerts (they checked in, or moved away).
pub fn resolve_for(
    conn: &mut PgConnection,
    devices: &[Device],
    reason: &str,
    now: DateTime<Utc>,
    actor: &Actor,
) -> Result<usize, DomainError> {
    let (customers, ids) = crate::domain::devices::customers_and_ids(devices);
    let resolved: Vec<Alert> = diesel::update(
        alerts::table
            .filter(alerts::customer_id.eq_any(customers))
            .filter(alerts::device_id.eq_any(ids))
            .filter(alerts::state.ne("resolved")),
    )
    .set((
        alerts::state.eq("resolved"),
        alerts::resolved_at.eq(now),
        alerts::resolved_reason.eq(reason),
        alerts::next_step_at.eq(None::<DateTime<Utc>>),
    ))
    .returning(Alert::as_returning())
    .get_results(conn)?;
    let events: Vec<Event> = resolved
        .iter()
        .map(|a| {
            Event::new(AuditAction::AlertResolve, &a.tenant_path, a.id)
                .detail(serde_json::json!({ "reason": reason, "device": a.device_id }))
        })
        .collect();
    crate::domain::audit::record_many(conn, actor, &events)?;
    for a in &resolved {
        announce(conn, a, "alert.resolved")?;
    }
    Ok(resolved.len())
}

/// The devices (among these) that have an unresolved alert: a move preview names them.
pub fn unresolved_among(
    conn: &mut PgConnection,
    devices: &[Device],
) -> Result<Vec<DeviceId>, DomainError> {
    let (customers, ids) = crate::domain::devices::customers_and_ids(devices);
    let mut ids: Vec<DeviceId> = alerts::table
        .filter(alerts::customer_id.eq_any(customers))
        .filter(alerts::device_id.eq_any(ids))
        .filter(alerts::state.ne("resolved"))
        .select(alerts::device_id)
        .load(conn)?;
    ids.dedup();
    Ok(ids)
}
