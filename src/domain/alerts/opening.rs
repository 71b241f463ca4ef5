//! Opening alerts for devices past due + grace, a batch at a time: the claimed devices are
//! read, cleared, re-armed and their alerts opened, told, audited and announced in a dozen
//! statements per batch however large (schedules, contacts and places read once each).
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::batch::Batch;
use super::scheduler::{Notices, next_step, tiered};
use super::telling::{Telling, tell_all};
use super::{Alert, hook_body};
use crate::db::schema::{alerts, checkin_states, devices};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::checkins::due_after;
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{AlertId, CustomerId, DeviceId, ScheduleId};
use crate::domain::schedules::Schedule;
use crate::domain::states::DeviceStatus;

/// A device the claim found due: its customer, schedule and when it was due.
type Due = (
    DeviceId,
    CustomerId,
    Option<ScheduleId>,
    Option<DateTime<Utc>>,
);

/// A device's next due time and alert time (`None`, `None`: it owes nothing).
type Rearm = (DeviceId, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Opens one alert per device past due + grace; returns how many devices it handled.
pub(super) fn open_due(
    conn: &mut PgConnection,
    notices: &Notices,
    batch: i64,
) -> Result<usize, DomainError> {
    conn.transaction(|conn| {
        let mut cache = Batch::new(notices);
        let now = crate::domain::clock::now(conn)?;
        // The claim spans every customer (a named exception to naming one); what follows
        // names the customers it found.
        let due: Vec<Due> = checkin_states::table
            .filter(checkin_states::alert_at.le(now))
            .order(checkin_states::alert_at)
            .limit(batch)
            .for_update()
            .skip_locked()
            .select((
                checkin_states::device_id,
                checkin_states::customer_id,
                checkin_states::schedule_id,
                checkin_states::next_due_at,
            ))
            .load(conn)?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut customers: Vec<CustomerId> = due.iter().map(|d| d.1).collect();
        customers.sort();
        customers.dedup();
        let ids: Vec<DeviceId> = due.iter().map(|d| d.0).collect();
        let found: HashMap<(CustomerId, DeviceId), Device> = devices::table
            .filter(devices::customer_id.eq_any(&customers))
            .filter(devices::id.eq_any(&ids))
            .select(Device::as_select())
            .load::<Device>(conn)?
            .into_iter()
            .map(|d| ((d.customer_id, d.id), d))
            .collect();
        let open_already: HashSet<DeviceId> = alerts::table
            .filter(alerts::customer_id.eq_any(&customers))
            .filter(alerts::device_id.eq_any(&ids))
            .filter(alerts::state.eq("open"))
            .select(alerts::device_id)
            .load(conn)?
            .into_iter()
            .collect();
        let mut cleared: Vec<DeviceId> = Vec::new();
        let mut rearmed: Vec<Rearm> = Vec::new();
        let mut opening: Vec<(&Device, Schedule, DateTime<Utc>)> = Vec::new();
        for (device_id, customer, schedule_id, due_at) in &due {
            let Some(device) = found.get(&(*customer, *device_id)) else {
                cleared.push(*device_id);
                continue;
            };
            let schedule = cache.schedule(conn, &device.tenant_path, *schedule_id)?;
            let (Some(schedule), Some(due_at)) = (schedule, due_at) else {
                cleared.push(*device_id);
                continue;
            };
            if !schedule.enabled || device.status == DeviceStatus::Retired {
                cleared.push(*device_id);
                continue;
            }
            // The next check-in it owes counts from now.
            let (next, alert_at) = due_after(&schedule, now);
            rearmed.push((*device_id, next, alert_at));
            if !open_already.contains(device_id) {
                opening.push((device, schedule, *due_at));
            }
        }
        set_due(conn, &customers, &cleared, &rearmed)?;
        open_all(conn, &mut cache, &opening, now)?;
        Ok(due.len())
    })
}

/// Clears the due times of `cleared` and sets those of `rearmed`, one statement each.
fn set_due(
    conn: &mut PgConnection,
    customers: &[CustomerId],
    cleared: &[DeviceId],
    rearmed: &[Rearm],
) -> Result<(), DomainError> {
    use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};
    let mut ids: Vec<DeviceId> = cleared.to_vec();
    let mut next: Vec<Option<DateTime<Utc>>> = vec![None; cleared.len()];
    let mut alert_at = next.clone();
    for (id, n, a) in rearmed {
        ids.push(*id);
        next.push(*n);
        alert_at.push(*a);
    }
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE checkin_states cs SET next_due_at = v.next, alert_at = v.alert_at \
         FROM unnest($2::uuid[], $3::timestamptz[], $4::timestamptz[]) AS v(id, next, alert_at) \
         WHERE cs.customer_id = ANY ($1) AND cs.device_id = v.id",
    )
    .bind::<Array<SqlUuid>, _>(customers)
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Nullable<Timestamptz>>, _>(&next)
    .bind::<Array<Nullable<Timestamptz>>, _>(&alert_at)
    .execute(conn)?;
    Ok(())
}

/// Opens an alert for each `(device, schedule, due)` (a device with an alert for that due
/// time already keeps it), tells tier 1, and audits and announces each.
fn open_all(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    opening: &[(&Device, Schedule, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if opening.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = opening
        .iter()
        .map(|(device, schedule, due_at)| {
            let id = AlertId::new();
            (
                alerts::id.eq(id),
                alerts::customer_id.eq(device.customer_id),
                alerts::device_id.eq(device.id),
                alerts::tenant_id.eq(device.tenant_id),
                alerts::tenant_path.eq(device.tenant_path.clone()),
                alerts::schedule_id.eq(schedule.id),
                alerts::due_at.eq(*due_at),
                alerts::opened_at.eq(now),
                alerts::steps.eq(1),
                alerts::next_step_at.eq(next_step(now, schedule, false, 0)),
            )
        })
        .collect();
    let opened: Vec<Alert> = diesel::insert_into(alerts::table)
        .values(&rows)
        .on_conflict_do_nothing()
        .returning(Alert::as_returning())
        .get_results(conn)?;
    let by_device: HashMap<DeviceId, &(&Device, Schedule, DateTime<Utc>)> =
        opening.iter().map(|o| (o.0.id, o)).collect();
    let mut tellings = Vec::new();
    for alert in &opened {
        let Some((device, schedule, _)) = by_device.get(&alert.device_id).copied() else {
            continue;
        };
        let contacts = cache.contacts(conn, schedule)?;
        tellings.push(Telling {
            alert,
            device,
            schedule,
            contacts: tiered(&contacts.0, 1),
            step: 1,
        });
    }
    // Every tenant's name and mail brand at once: the emails and webhooks name them.
    let places: Vec<_> = tellings.iter().map(|t| t.device.tenant_id).collect();
    cache.places_of(conn, &places)?;
    let told = tell_all(conn, cache, &tellings, now)?;
    let mut events = Vec::new();
    let mut places = Vec::new();
    for (t, told) in tellings.iter().zip(told) {
        events.push(
            Event::new(AuditAction::AlertOpen, &t.device.tenant_path, t.alert.id).detail(
                serde_json::json!({
                    "device": t.device.name, "due": t.alert.due_at,
                    "schedule": t.schedule.name, "told": told,
                }),
            ),
        );
        places.push(cache.place(conn, t.alert.tenant_id)?);
    }
    crate::domain::audit::record_many(conn, &Actor::system(), &events)?;
    let hooks: Vec<_> = tellings
        .iter()
        .map(|t| (t.alert.tenant_path.as_slice(), "alert.opened"))
        .collect();
    crate::domain::webhooks::enqueue_all(conn, &hooks, |i| {
        let t = &tellings[i];
        hook_body(
            t.alert,
            "alert.opened",
            &t.device.name,
            &t.device.identifier,
            &places[i].0,
        )
    })?;
    Ok(())
}
