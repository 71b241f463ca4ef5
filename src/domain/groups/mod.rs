//! Groups: named sets of a tenant's own devices and of its members, a lighter alternative to
//! a sub-tenant. A membership limited to groups sees only its groups' devices (the rule is in
//! `memberships::seen`); such a caller sees only their own groups here, and every other group
//! answers `NotFound`, like another tenant's. Changing groups needs `groups.manage`, which a
//! limited membership never gives. Every change is audited.
mod contents;

pub use contents::{
    GroupMember, MAX_ADD, add_devices, candidates, devices_of, leave_tenant, left_by_moving,
    members_of, of_device, own_device_by_identifier, refused_selection, remove_device, set_member,
    sizes,
};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;

use crate::access::{Access, Reached};
use crate::db::schema::{group_devices, group_members, groups};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, GroupId, ScheduleId, TenantId};
use crate::domain::permissions::Permission;

pub type FieldErrors = BTreeMap<&'static str, String>;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = groups)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The check-in schedule its devices follow unless they have their own.
    pub schedule_id: Option<ScheduleId>,
    pub customer_id: CustomerId,
}

/// A group as the list shows it.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub group: Group,
    pub devices: i64,
    pub members: i64,
}

/// A group as its form submits it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct GroupInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl GroupInput {
    /// Trimmed name and description, or a message per field.
    pub fn parse(&self) -> Result<(String, String), FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.insert("name", "Give the group a name.".into());
        } else if name.chars().count() > 60 {
            errors.insert("name", "Use at most 60 characters.".into());
        } else if let Some(c) = crate::domain::text::hidden_char(&name, &[]) {
            errors.insert("name", crate::domain::text::hidden_message(c));
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 300 {
            errors.insert("description", "Use at most 300 characters.".into());
        } else if let Some(c) = crate::domain::text::hidden_char(&description, &['\n', '\r']) {
            errors.insert("description", crate::domain::text::hidden_message(c));
        }
        if errors.is_empty() {
            Ok((name, description))
        } else {
            Err(errors)
        }
    }
}

/// Why a group change was refused.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("Check the highlighted fields.")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for GroupError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::unique_violation(e) {
            Ok(()) => GroupError::Invalid(FieldErrors::from([(
                "name",
                "A group with this name exists here already.".to_string(),
            )])),
            Err(other) => GroupError::Domain(other),
        }
    }
}

/// The groups of the reached tenant the caller sees (all, or a limited caller's own), by name,
/// with how many devices and members each holds.
pub fn list(conn: &mut PgConnection, reached: &Reached) -> Result<Vec<GroupRow>, DomainError> {
    let mut q = groups::table
        .filter(groups::customer_id.eq(reached.customer()))
        .filter(groups::tenant_id.eq(reached.id()))
        .into_boxed();
    if let Some(mine) = reached.limited_to_groups() {
        q = q.filter(groups::id.eq_any(mine.to_vec()));
    }
    let found: Vec<Group> = q
        .order(crate::db::functions::lower(groups::name).asc())
        .select(Group::as_select())
        .load(conn)?;
    let ids: Vec<GroupId> = found.iter().map(|g| g.id).collect();
    let devices: Vec<(GroupId, i64)> = group_devices::table
        .filter(group_devices::customer_id.eq(reached.customer()))
        .filter(group_devices::group_id.eq_any(&ids))
        .group_by(group_devices::group_id)
        .select((group_devices::group_id, count_star()))
        .load(conn)?;
    let members: Vec<(GroupId, i64)> = group_members::table
        .filter(group_members::customer_id.eq(reached.customer()))
        .filter(group_members::group_id.eq_any(&ids))
        .group_by(group_members::group_id)
        .select((group_members::group_id, count_star()))
        .load(conn)?;
    let of = |rows: &[(GroupId, i64)], id: GroupId| {
        rows.iter().find(|(g, _)| *g == id).map_or(0, |(_, n)| *n)
    };
    Ok(found
        .into_iter()
        .map(|group| GroupRow {
            devices: of(&devices, group.id),
            members: of(&members, group.id),
            group,
        })
        .collect())
}

/// A group of the reached tenant that the caller sees; `NotFound` for any other id.
pub fn find(conn: &mut PgConnection, reached: &Reached, id: GroupId) -> Result<Group, DomainError> {
    if reached
        .limited_to_groups()
        .is_some_and(|mine| !mine.contains(&id))
    {
        return Err(DomainError::NotFound);
    }
    groups::table
        .filter(groups::customer_id.eq(reached.customer()))
        .find(id)
        .filter(groups::tenant_id.eq(reached.id()))
        .select(Group::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// The group, locked for a change by a caller who holds `groups.manage`.
pub(crate) fn locked(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
) -> Result<Group, DomainError> {
    find(conn, reached, id)?;
    access.check(reached, Permission::GroupsManage)?;
    Ok(groups::table
        .filter(groups::customer_id.eq(reached.customer()))
        .find(id)
        .for_update()
        .select(Group::as_select())
        .first(conn)?)
}

pub fn create(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    input: &GroupInput,
) -> Result<Group, GroupError> {
    access.check(reached, Permission::GroupsManage)?;
    let (name, description) = input.parse().map_err(GroupError::Invalid)?;
    conn.transaction(|conn| {
        let group: Group = diesel::insert_into(groups::table)
            .values((
                groups::id.eq(GroupId::new()),
                groups::customer_id.eq(reached.customer()),
                groups::tenant_id.eq(reached.id()),
                groups::name.eq(&name),
                groups::description.eq(&description),
            ))
            .returning(Group::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::GroupCreate, reached.path(), group.id)
            .detail(serde_json::json!({ "name": name, "description": description }))
            .record(conn, &access.actor)?;
        Ok(group)
    })
}

pub fn update(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
    input: &GroupInput,
) -> Result<Group, GroupError> {
    conn.transaction(|conn| {
        let before = locked(conn, access, reached, id)?;
        let (name, description) = input.parse().map_err(GroupError::Invalid)?;
        let group: Group = diesel::update(
            groups::table
                .filter(groups::customer_id.eq(reached.customer()))
                .find(id),
        )
        .set((
            groups::name.eq(&name),
            groups::description.eq(&description),
            groups::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Group::as_returning())
        .get_result(conn)?;
        Event::new(AuditAction::GroupUpdate, reached.path(), id)
            .detail(serde_json::json!({
                "before": { "name": before.name, "description": before.description },
                "after": { "name": name, "description": description },
            }))
            .record(conn, &access.actor)?;
        Ok(group)
    })
}

/// Deletes a group; its devices and members stay where they are. Returns its name.
pub fn delete(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: GroupId,
) -> Result<String, DomainError> {
    conn.transaction(|conn| {
        let group = locked(conn, access, reached, id)?;
        let (devices, members) = contents::sizes(conn, &group)?;
        let following: Vec<crate::domain::ids::DeviceId> = if group.schedule_id.is_some() {
            group_devices::table
                .filter(group_devices::customer_id.eq(reached.customer()))
                .filter(group_devices::group_id.eq(id))
                .select(group_devices::device_id)
                .load(conn)?
        } else {
            Vec::new()
        };
        diesel::delete(
            groups::table
                .filter(groups::customer_id.eq(reached.customer()))
                .find(id),
        )
        .execute(conn)?;
        crate::domain::checkins::refresh(conn, Some(reached.customer()), &following)?;
        Event::new(AuditAction::GroupDelete, reached.path(), id)
            .detail(serde_json::json!({
                "name": group.name, "devices": devices, "members": members,
            }))
            .record(conn, &access.actor)?;
        Ok(group.name)
    })
}
