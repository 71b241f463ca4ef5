//! A device that moves to another tenant: its unresolved alerts resolve ("moved": they were
//! the old tenant's to handle), and an own schedule the new tenant cannot use is dropped.
//! Done inside the move's transaction; the move preview says both beforehand (`lost_by_moving`).
use diesel::prelude::*;

use crate::db::schema::{checkin_states, schedules};
use crate::domain::audit::Actor;
use crate::domain::error::DomainError;
use crate::domain::ids::{DeviceId, ScheduleId, TenantId};

/// What moving these devices to the tenant at `target` would end: (devices that lose their own
/// schedule, devices with an unresolved alert).
pub fn lost_by_moving(
    conn: &mut PgConnection,
    ids: &[DeviceId],
    target: &[TenantId],
) -> Result<(usize, usize), DomainError> {
    let dropped = unusable_at(conn, ids, target)?.len();
    let alerted = crate::domain::alerts::unresolved_among(conn, ids)?.len();
    Ok((dropped, alerted))
}

/// The devices (among these) whose own schedule is not usable at `target`.
fn unusable_at(
    conn: &mut PgConnection,
    ids: &[DeviceId],
    target: &[TenantId],
) -> Result<Vec<DeviceId>, DomainError> {
    let own: Vec<(DeviceId, ScheduleId, TenantId, bool)> = checkin_states::table
        .inner_join(
            schedules::table.on(schedules::id.nullable().eq(checkin_states::own_schedule_id)),
        )
        .filter(checkin_states::device_id.eq_any(ids))
        .select((
            checkin_states::device_id,
            schedules::id,
            schedules::tenant_id,
            schedules::shared_below,
        ))
        .load(conn)?;
    let here = target.last().copied();
    Ok(own
        .into_iter()
        .filter(|(_, _, owner, shared)| {
            !(Some(*owner) == here
                || (*shared && target[..target.len().saturating_sub(1)].contains(owner)))
        })
        .map(|(d, ..)| d)
        .collect())
}

/// After the devices moved to the tenant at `target`, in the move's transaction.
pub fn moved(
    conn: &mut PgConnection,
    actor: &Actor,
    ids: &[DeviceId],
    target: &[TenantId],
) -> Result<(), DomainError> {
    let dropped = unusable_at(conn, ids, target)?;
    diesel::update(checkin_states::table.filter(checkin_states::device_id.eq_any(&dropped)))
        .set(checkin_states::own_schedule_id.eq(None::<ScheduleId>))
        .execute(conn)?;
    let now = crate::domain::clock::now(conn)?;
    crate::domain::alerts::resolve_for(conn, ids, "moved", now, actor)?;
    super::refresh(conn, ids)
}
