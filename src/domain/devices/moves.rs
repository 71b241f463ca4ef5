//! Moving devices between tenants: a preview of what changes, then one transaction that
//! moves them all, writes a history row and an audit event for each.
use diesel::prelude::*;

use super::Device;
use crate::access::{Access, Reached};
use crate::db::schema::{device_moves, devices, tenants};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, TenantId, in_customer};
use crate::domain::permissions::Permission;
use crate::domain::tenants::Tenant;

/// Devices grouped by the tenant they leave.
#[derive(Debug)]
pub struct Preview {
    pub from: Vec<(TenantId, usize)>,
    pub moving: Vec<Device>,
    /// Already in the target: nothing to do for these.
    pub staying: usize,
}

pub fn preview(devices: Vec<Device>, target: &Tenant) -> Preview {
    let (staying, moving): (Vec<Device>, Vec<Device>) =
        devices.into_iter().partition(|d| d.tenant_id == target.id);
    let mut from: Vec<(TenantId, usize)> = Vec::new();
    for d in &moving {
        match from.iter_mut().find(|(t, _)| *t == d.tenant_id) {
            Some((_, n)) => *n += 1,
            None => from.push((d.tenant_id, 1)),
        }
    }
    Preview {
        from,
        moving,
        staying: staying.len(),
    }
}

/// Moves the devices to `target` in one transaction; returns how many moved. The caller's
/// reach is checked again on the locked rows: a device or target moved away by someone else
/// since the request was checked is `NotFound`, and nothing moves.
pub fn move_all(
    conn: &mut PgConnection,
    access: &Access,
    within: &Reached,
    ids: &[DeviceId],
    target: &Reached,
) -> Result<usize, DomainError> {
    let actor = &access.actor;
    conn.transaction(|conn| {
        let target: Tenant = tenants::table
            .find(target.id())
            .for_share()
            .select(Tenant::as_select())
            .first(conn)?;
        let locked: Vec<Device> = devices::table
            .filter(in_customer!(devices::customer_id, within.scope()))
            .filter(devices::id.eq_any(ids))
            .order(devices::id.asc())
            .for_update()
            .select(Device::as_select())
            .load(conn)?;
        if !access.permits(&target.traversal_ids, Permission::DevicesMove)
            || locked.len() != ids.len()
        {
            return Err(DomainError::NotFound);
        }
        for d in &locked {
            if !access.permits_device(conn, d, Permission::DevicesMove)? {
                return Err(DomainError::NotFound);
            }
        }
        // A group holds its own tenant's devices: those leaving the tenant leave its groups.
        let leaving: Vec<&Device> = locked.iter().filter(|d| d.tenant_id != target.id).collect();
        crate::domain::groups::leave_tenant(conn, actor, &leaving, target.id)?;
        // Devices of another customer come over with what hangs off them.
        let customer = target.customer();
        let mut froms: Vec<CustomerId> = Vec::new();
        for d in &locked {
            if d.customer_id != customer && !froms.contains(&d.customer_id) {
                froms.push(d.customer_id);
            }
        }
        for from in froms {
            let ids: Vec<DeviceId> = locked
                .iter()
                .filter(|d| d.tenant_id != target.id && d.customer_id == from)
                .map(|d| d.id)
                .collect();
            crate::domain::restructure::customers::move_devices(conn, from, customer, &ids)?;
        }
        let mut moved = 0;
        let mut changes = Vec::new();
        for d in locked.iter().filter(|d| d.tenant_id != target.id) {
            diesel::update(
                devices::table
                    .filter(devices::customer_id.eq(customer))
                    .filter(devices::id.eq(d.id)),
            )
            .set((
                devices::tenant_id.eq(target.id),
                devices::tenant_path.eq(&target.traversal_ids),
                devices::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
            diesel::insert_into(device_moves::table)
                .values((
                    device_moves::customer_id.eq(customer),
                    device_moves::device_id.eq(d.id),
                    device_moves::from_tenant_id.eq(d.tenant_id),
                    device_moves::to_tenant_id.eq(target.id),
                    device_moves::moved_by.eq(actor.user_id),
                ))
                .execute(conn)?;
            let detail = serde_json::json!({
                "from": d.tenant_id, "to": target.id, "identifier": d.identifier,
            });
            Event::new(AuditAction::DeviceMove, &target.traversal_ids, d.id)
                .detail(detail)
                .record(conn, actor)?;
            changes.push(super::counts::Change::at(&d.tenant_path, d.status, -1));
            changes.push(super::counts::Change::at(
                &target.traversal_ids,
                d.status,
                1,
            ));
            moved += 1;
        }
        super::counts::apply(conn, &changes)?;
        // Alerts and schedules follow the new place (after the rows moved: paths decide).
        let leaving: Vec<Device> = locked
            .iter()
            .filter(|d| d.tenant_id != target.id)
            .cloned()
            .collect();
        crate::domain::checkins::moved(conn, actor, &leaving, &target.traversal_ids)?;
        Ok(moved)
    })
}
