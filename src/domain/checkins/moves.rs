//! A device that moves to another tenant: its unresolved alerts resolve ("moved": they were
//! the old tenant's to handle), and an own schedule the new tenant cannot use is dropped.
//! Done inside the move's transaction; the move preview says both beforehand (`lost_by_moving`).
use diesel::prelude::*;

use crate::db::schema::{checkin_states, schedules};
use crate::domain::audit::Actor;
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, ScheduleId, TenantId};

/// What moving these devices to the tenant at `target` would end: (devices that lose their own
/// schedule, devices with an unresolved alert).
pub fn lost_by_moving(
    conn: &mut PgConnection,
    devices: &[Device],
    target: &[TenantId],
) -> Result<(usize, usize), DomainError> {
    let dropped = unusable_at(conn, devices, target)?.len();
    let alerted = crate::domain::alerts::unresolved_among(conn, devices)?.len();
    Ok((dropped, alerted))
}

/// The devices (among these) whose own schedule is not usable at `target`.
fn unusable_at(
    conn: &mut PgConnection,
    devices: &[Device],
    target: &[TenantId],
) -> Result<Vec<DeviceId>, DomainError> {
    let (customers, ids) = crate::domain::devices::customers_and_ids(devices);
    // A device follows its customer's schedules or those its operator shares below.
    let mut followed: Vec<CustomerId> = devices
        .iter()
        .flat_map(|d| CustomerId::along(&d.tenant_path))
        .collect();
    followed.sort();
    followed.dedup();
    let own: Vec<(DeviceId, ScheduleId, TenantId, bool)> = checkin_states::table
        .inner_join(
            schedules::table.on(schedules::id.nullable().eq(checkin_states::own_schedule_id)),
        )
        .filter(checkin_states::customer_id.eq_any(&customers))
        .filter(schedules::customer_id.eq_any(&followed))
        .filter(checkin_states::device_id.eq_any(&ids))
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

/// After the devices moved to the tenant at `target`, in the move's transaction: `devices`
/// as they were before (their alerts stay with the customer they were opened in), their rows
/// now of the target's customer.
pub fn moved(
    conn: &mut PgConnection,
    actor: &Actor,
    devices: &[Device],
    target: &[TenantId],
) -> Result<(), DomainError> {
    let customer = CustomerId::of(target);
    let ids: Vec<DeviceId> = devices.iter().map(|d| d.id).collect();
    let now_there: Vec<Device> = devices
        .iter()
        .map(|d| Device {
            customer_id: customer,
            ..d.clone()
        })
        .collect();
    let dropped = unusable_at(conn, &now_there, target)?;
    diesel::update(
        checkin_states::table
            .filter(checkin_states::customer_id.eq(customer))
            .filter(checkin_states::device_id.eq_any(&dropped)),
    )
    .set(checkin_states::own_schedule_id.eq(None::<ScheduleId>))
    .execute(conn)?;
    let now = crate::domain::clock::now(conn)?;
    crate::domain::alerts::resolve_for(conn, devices, "moved", now, actor)?;
    super::refresh(conn, Some(customer), &ids)
}

/// After a subtree moved (its paths now between `lo` and `hi`): its devices and groups let go
/// of schedules shared from tenants that are no longer above them, and are due anew.
pub fn subtree_moved(
    conn: &mut PgConnection,
    lo: &[TenantId],
    hi: &[TenantId],
) -> Result<(), DomainError> {
    // A subtree below the root has one customer, that of its top tenant (`lo`).
    let customer = CustomerId::of(lo);
    // The schedules it may follow: its customer's, and those its operator shares below.
    let followed = CustomerId::along(lo);
    use diesel::sql_types::{Array, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: DeviceId,
    }
    let mut ids: Vec<DeviceId> = diesel::sql_query(
        "UPDATE checkin_states cs SET own_schedule_id = NULL FROM devices d \
         WHERE cs.customer_id = $3 AND d.customer_id = $3 AND d.id = cs.device_id \
           AND d.tenant_path >= $1 AND d.tenant_path < $2 \
           AND cs.own_schedule_id IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM schedules s \
                           WHERE s.customer_id = ANY ($4) AND s.id = cs.own_schedule_id \
                             AND (s.tenant_id = d.tenant_id \
                                  OR (s.shared_below AND s.tenant_id = ANY (d.tenant_path)))) \
         RETURNING cs.device_id AS id",
    )
    .bind::<Array<SqlUuid>, _>(lo)
    .bind::<Array<SqlUuid>, _>(hi)
    .bind::<SqlUuid, _>(customer)
    .bind::<Array<SqlUuid>, _>(&followed)
    .load::<Id>(conn)?
    .into_iter()
    .map(|r| r.id)
    .collect();
    ids.extend(
        diesel::sql_query(
            "WITH dropped AS ( \
               UPDATE groups g SET schedule_id = NULL FROM tenants t \
               WHERE g.customer_id = $3 AND t.id = g.tenant_id \
                 AND t.traversal_ids >= $1 AND t.traversal_ids < $2 \
                 AND g.schedule_id IS NOT NULL \
                 AND NOT EXISTS (SELECT 1 FROM schedules s \
                                 WHERE s.customer_id = ANY ($4) AND s.id = g.schedule_id \
                                   AND (s.tenant_id = g.tenant_id \
                                        OR (s.shared_below AND s.tenant_id = ANY (t.traversal_ids)))) \
               RETURNING g.id) \
             SELECT gd.device_id AS id FROM group_devices gd JOIN dropped ON dropped.id = gd.group_id \
             WHERE gd.customer_id = $3",
        )
        .bind::<Array<SqlUuid>, _>(lo)
        .bind::<Array<SqlUuid>, _>(hi)
        .bind::<SqlUuid, _>(customer)
        .bind::<Array<SqlUuid>, _>(&followed)
        .load::<Id>(conn)?
        .into_iter()
        .map(|r| r.id),
    );
    ids.sort();
    ids.dedup();
    super::refresh(conn, Some(customer), &ids)
}
