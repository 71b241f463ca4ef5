//! What a group holds: devices of its tenant and members of its tenant. A device that leaves
//! the tenant leaves its groups (`leave_tenant`, inside the move's transaction).
use diesel::dsl::count_star;
use diesel::prelude::*;

use super::{Group, locked};
use crate::access::{Access, Reached};
use crate::db::functions::{lower, upper};
use crate::db::schema::{devices, group_devices, group_members, groups, memberships, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{DeviceId, GroupId, TenantId, UserId};

/// The most devices added to a group in one request.
pub const MAX_ADD: usize = 1000;

/// How many devices and members a group holds.
pub fn sizes(conn: &mut PgConnection, group: &Group) -> Result<(i64, i64), DomainError> {
    let devices = group_devices::table
        .filter(group_devices::customer_id.eq(group.customer_id))
        .filter(group_devices::group_id.eq(group.id))
        .select(count_star())
        .first(conn)?;
    let members = group_members::table
        .filter(group_members::customer_id.eq(group.customer_id))
        .filter(group_members::group_id.eq(group.id))
        .select(count_star())
        .first(conn)?;
    Ok((devices, members))
}

/// The group's first `limit` devices by name.
pub fn devices_of(
    conn: &mut PgConnection,
    group: &Group,
    limit: i64,
) -> Result<Vec<Device>, DomainError> {
    Ok(devices::table
        .inner_join(group_devices::table)
        .filter(devices::customer_id.eq(group.customer_id))
        .filter(group_devices::customer_id.eq(group.customer_id))
        .filter(group_devices::group_id.eq(group.id))
        .order((lower(devices::name).asc(), devices::id.asc()))
        .limit(limit)
        .select(Device::as_select())
        .load(conn)?)
}

/// A group member as the group page lists them.
#[derive(Debug, Clone, Queryable)]
pub struct GroupMember {
    pub user_id: UserId,
    pub display_name: String,
    pub email: String,
}

pub fn members_of(conn: &mut PgConnection, group: &Group) -> Result<Vec<GroupMember>, DomainError> {
    Ok(users::table
        .inner_join(group_members::table)
        .filter(group_members::customer_id.eq(group.customer_id))
        .filter(group_members::group_id.eq(group.id))
        .order(lower(users::display_name).asc())
        .select((users::id, users::display_name, users::email))
        .load(conn)?)
}

/// Members of the group's tenant who are not in the group yet.
pub fn candidates(conn: &mut PgConnection, group: &Group) -> Result<Vec<GroupMember>, DomainError> {
    let inside = group_members::table
        .filter(group_members::customer_id.eq(group.customer_id))
        .filter(group_members::group_id.eq(group.id))
        .select(group_members::user_id);
    Ok(users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(group.tenant_id))
        .filter(users::id.ne_all(inside))
        .order(lower(users::display_name).asc())
        .limit(500)
        .select((users::id, users::display_name, users::email))
        .load(conn)?)
}

/// The ids of the groups a device is in.
pub fn of_device(conn: &mut PgConnection, device: &Device) -> Result<Vec<GroupId>, DomainError> {
    Ok(group_devices::table
        .filter(group_devices::customer_id.eq(device.customer_id))
        .filter(group_devices::device_id.eq(device.id))
        .select(group_devices::group_id)
        .load(conn)?)
}

/// Why a selection cannot join a group of the reached tenant: none selected, too many, or
/// devices of other tenants (named); `None` when it can.
pub fn refused_selection(reached: &Reached, devices: &[Device]) -> Option<String> {
    let elsewhere: Vec<&str> = devices
        .iter()
        .filter(|d| d.tenant_id != reached.id())
        .map(|d| d.identifier.as_str())
        .collect();
    if devices.is_empty() {
        Some("Select at least one device in the list first.".into())
    } else if devices.len() > MAX_ADD {
        Some(format!("Add at most {MAX_ADD} devices at once."))
    } else if !elsewhere.is_empty() {
        Some(format!(
            "A group holds devices of {} only; {} of the selected belong to other tenants: {}.",
            reached.tenant().name,
            elsewhere.len(),
            elsewhere
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else {
        None
    }
}

/// Adds devices to a group; each must be in the caller's reach (`NotFound` otherwise) and
/// belong to the group's tenant (a message naming those that do not). Returns how many were
/// new to the group; nothing is added when one is refused.
pub fn add_devices(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
    ids: &[DeviceId],
) -> Result<usize, DomainError> {
    // Bounded before anything is read.
    if ids.len() > MAX_ADD {
        return Err(DomainError::Invalid(format!(
            "Add at most {MAX_ADD} devices at once."
        )));
    }
    conn.transaction(|conn| {
        let group = locked(conn, access, reached, id)?;
        let found = access.devices_seen(conn, reached, ids)?;
        if let Some(why) = refused_selection(reached, &found) {
            return Err(DomainError::Invalid(why));
        }
        let rows: Vec<_> = found
            .iter()
            .map(|d| {
                (
                    group_devices::customer_id.eq(reached.customer()),
                    group_devices::group_id.eq(group.id),
                    group_devices::tenant_id.eq(group.tenant_id),
                    group_devices::device_id.eq(d.id),
                )
            })
            .collect();
        let added = diesel::insert_into(group_devices::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .execute(conn)?;
        if group.schedule_id.is_some() {
            let ids: Vec<DeviceId> = found.iter().map(|d| d.id).collect();
            crate::domain::checkins::refresh(conn, Some(reached.customer()), &ids)?;
        }
        let shown: Vec<&str> = found
            .iter()
            .take(50)
            .map(|d| d.identifier.as_str())
            .collect();
        Event::new(AuditAction::GroupDevicesAdd, reached.path(), id)
            .detail(serde_json::json!({
                "group": group.name, "added": added, "devices": shown,
            }))
            .record(conn, &access.actor)?;
        Ok(added)
    })
}

/// The tenant's device with this IMEI or serial, for the group page's "add by identifier".
pub fn own_device_by_identifier(
    conn: &mut PgConnection,
    reached: &Reached,
    identifier: &str,
) -> Result<Option<DeviceId>, DomainError> {
    Ok(devices::table
        .filter(devices::customer_id.eq(reached.customer()))
        .filter(upper(devices::identifier).eq(identifier.trim().to_ascii_uppercase()))
        .filter(devices::tenant_id.eq(reached.id()))
        .select(devices::id)
        .first(conn)
        .optional()?)
}

pub fn remove_device(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
    device_id: DeviceId,
) -> Result<Device, DomainError> {
    conn.transaction(|conn| {
        let group = locked(conn, access, reached, id)?;
        let device = access.device_seen(conn, reached, device_id)?;
        let gone = diesel::delete(
            group_devices::table
                .filter(group_devices::customer_id.eq(reached.customer()))
                .find((id, device_id)),
        )
        .execute(conn)?;
        if gone == 0 {
            return Err(DomainError::NotFound);
        }
        if group.schedule_id.is_some() {
            crate::domain::checkins::refresh(conn, Some(reached.customer()), &[device_id])?;
        }
        Event::new(AuditAction::GroupDeviceRemove, reached.path(), id)
            .detail(serde_json::json!({ "group": group.name, "device": device.identifier }))
            .record(conn, &access.actor)?;
        Ok(device)
    })
}

/// The email of `user` if they are a member of the group's tenant; `NotFound` otherwise.
fn member_email(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<String, DomainError> {
    users::table
        .inner_join(memberships::table)
        .filter(memberships::tenant_id.eq(tenant))
        .filter(users::id.eq(user))
        .select(users::email)
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// Puts `user`, a member of the group's tenant, in the group (`inside`) or takes them out;
/// `NotFound` for anyone else, and for taking out someone who is not in it. Returns their email.
pub fn set_member(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
    user: UserId,
    inside: bool,
) -> Result<String, DomainError> {
    conn.transaction(|conn| {
        let group = locked(conn, access, reached, id)?;
        let email = member_email(conn, group.tenant_id, user)?;
        let action = if inside {
            diesel::insert_into(group_members::table)
                .values((
                    group_members::customer_id.eq(reached.customer()),
                    group_members::group_id.eq(id),
                    group_members::tenant_id.eq(group.tenant_id),
                    group_members::user_id.eq(user),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            AuditAction::GroupMemberAdd
        } else {
            let gone = diesel::delete(
                group_members::table
                    .filter(group_members::customer_id.eq(reached.customer()))
                    .find((id, user)),
            )
            .execute(conn)?;
            if gone == 0 {
                return Err(DomainError::NotFound);
            }
            AuditAction::GroupMemberRemove
        };
        Event::new(action, reached.path(), id)
            .detail(serde_json::json!({ "group": group.name, "member": email }))
            .record(conn, &access.actor)?;
        Ok(email)
    })
}

/// The groups that devices moving to `target` would leave, by name, with how many of the
/// devices leave each: what the move preview says.
pub fn left_by_moving(
    conn: &mut PgConnection,
    moving: &[Device],
    target: TenantId,
) -> Result<Vec<(String, i64)>, DomainError> {
    let (customers, ids) = crate::domain::devices::customers_and_ids(moving);
    Ok(group_devices::table
        .filter(group_devices::customer_id.eq_any(&customers))
        .inner_join(groups::table)
        .filter(groups::customer_id.eq_any(&customers))
        .filter(group_devices::device_id.eq_any(ids))
        .filter(group_devices::tenant_id.ne(target))
        .group_by(groups::name)
        .order(groups::name.asc())
        .select((groups::name, count_star()))
        .load(conn)?)
}

/// Takes devices moving to `target` out of their groups elsewhere, inside the move's
/// transaction; the audit event per group names the devices. Returns the groups' names.
pub fn leave_tenant(
    conn: &mut PgConnection,
    actor: &Actor,
    moving: &[&Device],
    target: TenantId,
) -> Result<Vec<String>, DomainError> {
    let moving: Vec<Device> = moving.iter().map(|d| (*d).clone()).collect();
    let (customers, ids) = crate::domain::devices::customers_and_ids(&moving);
    let ids = &ids;
    let leaving: Vec<(GroupId, String, Vec<TenantId>, String)> = group_devices::table
        .filter(group_devices::customer_id.eq_any(&customers))
        .inner_join(groups::table)
        .inner_join(devices::table)
        .filter(groups::customer_id.eq_any(&customers))
        .filter(devices::customer_id.eq_any(&customers))
        .filter(group_devices::device_id.eq_any(ids))
        .filter(group_devices::tenant_id.ne(target))
        .order((groups::name.asc(), devices::identifier.asc()))
        .select((
            groups::id,
            groups::name,
            devices::tenant_path,
            devices::identifier,
        ))
        .load(conn)?;
    if leaving.is_empty() {
        return Ok(Vec::new());
    }
    diesel::delete(
        group_devices::table
            .filter(group_devices::customer_id.eq_any(&customers))
            .filter(group_devices::device_id.eq_any(ids))
            .filter(group_devices::tenant_id.ne(target)),
    )
    .execute(conn)?;
    let mut done: Vec<GroupId> = Vec::new();
    let mut names = Vec::new();
    for (id, name, path, _) in &leaving {
        if done.contains(id) {
            continue;
        }
        done.push(*id);
        let devices: Vec<&str> = leaving
            .iter()
            .filter(|(g, ..)| g == id)
            .map(|(.., identifier)| identifier.as_str())
            .collect();
        Event::new(AuditAction::GroupDeviceRemove, path, *id)
            .detail(serde_json::json!({
                "group": name, "devices": devices, "reason": "moved to another tenant",
            }))
            .record(conn, actor)?;
        names.push(name.clone());
    }
    Ok(names)
}
