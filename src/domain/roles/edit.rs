//! Defining, changing and deleting a tenant's own roles. Every rule is checked here, on the
//! rows as they are inside the transaction: `roles.manage` at the tenant; no role holding a
//! permission or a reach the editor lacks there (`Access::may_hold`); presets and roles
//! defined above are read-only; nobody edits the role they hold themselves; a role someone
//! holds is deleted only by moving its holders to another role in the same transaction.
use std::collections::BTreeMap;

use diesel::prelude::*;

use super::custom::{RoleDef, available_at};
use super::{Role, RoleGrant, RoleReach};
use crate::access::{Access, Reached};
use crate::db::schema::{invitations, memberships, roles};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::RoleId;
use crate::domain::permissions::{Permission, Permissions};

pub type FieldErrors = BTreeMap<&'static str, String>;

/// A role as its form submits it.
#[derive(Debug, Clone, Default)]
pub struct RoleInput {
    pub name: String,
    pub description: String,
    pub permissions: Vec<String>,
    pub reach: String,
    pub shared: bool,
}

/// A role's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFields {
    pub name: String,
    pub description: String,
    pub permissions: Permissions,
    pub reach: RoleReach,
    pub shared: bool,
}

impl RoleInput {
    pub fn parse(&self) -> Result<RoleFields, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.insert("name", "Give the role a name.".into());
        } else if name.chars().count() > 60 {
            errors.insert("name", "Use at most 60 characters.".into());
        } else if name.chars().any(char::is_control) {
            errors.insert(
                "name",
                "Use letters, digits, spaces and punctuation only.".into(),
            );
        } else if Role::ALL
            .iter()
            .any(|r| r.name().eq_ignore_ascii_case(&name))
        {
            errors.insert(
                "name",
                format!("{name} is a built-in role; choose another name."),
            );
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 300 {
            errors.insert("description", "Use at most 300 characters.".into());
        }
        let mut permissions = Permissions::NONE;
        for key in &self.permissions {
            match Permission::parse(key) {
                Some(p) => permissions = permissions.with(p),
                None => {
                    errors.insert("permissions", format!("{key:?} is not a permission."));
                }
            }
        }
        if !permissions.has(Permission::TenantView) && !errors.contains_key("permissions") {
            errors.insert(
                "permissions",
                format!(
                    "Every role needs “{}”: without it, its holders could not open the tenant.",
                    Permission::TenantView
                ),
            );
        }
        let reach = RoleReach::parse(&self.reach).unwrap_or_else(|| {
            errors.insert("reach", "Choose how far the role reaches.".into());
            RoleReach::Tenant
        });
        if errors.is_empty() {
            Ok(RoleFields {
                name,
                description,
                permissions,
                reach,
                shared: self.shared,
            })
        } else {
            Err(errors)
        }
    }
}

impl RoleFields {
    fn grant(&self, id: RoleId) -> RoleGrant {
        RoleGrant {
            id,
            name: self.name.clone(),
            permissions: self.permissions,
            reach: self.reach,
        }
    }

    fn audited(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "permissions": self.permissions.keys(),
            "reach": self.reach.as_str(),
            "shared": self.shared,
        })
    }
}

/// Why a role change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("Check the highlighted fields.")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for RoleError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::unique_violation(e) {
            Ok(()) => RoleError::Invalid(FieldErrors::from([(
                "name",
                "A role with this name exists here already.".to_string(),
            )])),
            Err(other) => RoleError::Domain(other),
        }
    }
}

fn fields_of(def: &RoleDef) -> RoleFields {
    RoleFields {
        name: def.name.clone(),
        description: def.description.clone(),
        permissions: def.permissions(),
        reach: def.reach,
        shared: def.shared,
    }
}

/// The role `id`, defined by the reached tenant itself, locked, that the caller may change:
/// `roles.manage`, and nothing in it beyond what they hold, and not a role they hold.
fn own_locked(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: RoleId,
) -> Result<RoleDef, DomainError> {
    access.check(reached, Permission::RolesManage)?;
    let def = available_at(conn, reached.tenant())?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(DomainError::NotFound)?;
    if !def.is_own(reached.tenant()) {
        return Err(DomainError::NotAllowed(match def.preset() {
            Some(_) => "Built-in roles cannot be changed.".into(),
            None => "This role is defined by a tenant above; change it there.".into(),
        }));
    }
    let def: RoleDef = roles::table
        .find(id)
        .for_update()
        .select(RoleDef::as_select())
        .first(conn)?;
    access.may_hold(reached, &def.grant())?;
    let holds_it: i64 = memberships::table
        .filter(memberships::user_id.eq(access.user.id))
        .filter(memberships::role_id.eq(id))
        .count()
        .get_result(conn)?;
    if holds_it > 0 {
        return Err(DomainError::NotAllowed(
            "You hold this role yourself; ask someone else to change it.".into(),
        ));
    }
    Ok(def)
}

pub fn create(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    input: &RoleInput,
) -> Result<RoleDef, RoleError> {
    access.check(reached, Permission::RolesManage)?;
    let fields = input.parse().map_err(RoleError::Invalid)?;
    let id = RoleId::new();
    access.may_hold(reached, &fields.grant(id))?;
    conn.transaction(|conn| {
        let def: RoleDef = diesel::insert_into(roles::table)
            .values((
                roles::id.eq(id),
                roles::tenant_id.eq(reached.id()),
                roles::name.eq(&fields.name),
                roles::description.eq(&fields.description),
                roles::permissions.eq(fields.permissions.keys()),
                roles::reach.eq(fields.reach),
                roles::shared.eq(fields.shared),
            ))
            .returning(RoleDef::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::RoleCreate, reached.path(), id)
            .detail(fields.audited())
            .record(conn, &access.actor)?;
        Ok(def)
    })
}

pub fn update(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: RoleId,
    input: &RoleInput,
) -> Result<RoleDef, RoleError> {
    conn.transaction(|conn| {
        // Whether it may be changed at all comes before what the form says.
        let before = own_locked(conn, access, reached, id)?;
        let fields = input.parse().map_err(RoleError::Invalid)?;
        access.may_hold(reached, &fields.grant(id))?;
        let def: RoleDef = diesel::update(roles::table.find(id))
            .set((
                roles::name.eq(&fields.name),
                roles::description.eq(&fields.description),
                roles::permissions.eq(fields.permissions.keys()),
                roles::reach.eq(fields.reach),
                roles::shared.eq(fields.shared),
                roles::updated_at.eq(diesel::dsl::now),
            ))
            .returning(RoleDef::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::RoleUpdate, reached.path(), id)
            .detail(serde_json::json!({
                "before": fields_of(&before).audited(),
                "after": fields.audited(),
            }))
            .record(conn, &access.actor)?;
        Ok(def)
    })
}

/// Deletes an own role. Its holders (memberships and invitations) move to `replacement` in
/// the same transaction; with holders and no replacement nothing changes.
pub fn delete(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: RoleId,
    replacement: Option<RoleId>,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let def = own_locked(conn, access, reached, id)?;
        let holders = super::custom::holders(conn, id)?;
        let moved_to = match (holders.is_empty(), replacement) {
            (true, _) => None,
            (false, None) => {
                return Err(DomainError::Conflict(format!(
                    "{} holds this role; choose a role to move them to.",
                    super::custom::plural_people(holders.len())
                )));
            }
            (false, Some(to)) => {
                let to = replacement_for(conn, access, reached, id, to, &holders)?;
                diesel::update(memberships::table.filter(memberships::role_id.eq(id)))
                    .set(memberships::role_id.eq(to.id))
                    .execute(conn)?;
                Some(to)
            }
        };
        if let Some(to) = &moved_to {
            diesel::update(invitations::table.filter(invitations::role_id.eq(id)))
                .set(invitations::role_id.eq(to.id))
                .execute(conn)?;
        } else {
            // Invitations hold the role too (pending or past): they go to Viewer, the
            // weakest preset, so that history keeps a role.
            diesel::update(invitations::table.filter(invitations::role_id.eq(id)))
                .set(invitations::role_id.eq(Role::Viewer.id()))
                .execute(conn)?;
        }
        diesel::delete(roles::table.find(id)).execute(conn)?;
        Event::new(AuditAction::RoleDelete, reached.path(), id)
            .detail(serde_json::json!({
                "before": fields_of(&def).audited(),
                "moved_to": moved_to.map(|r| r.name),
                "holders": holders.len(),
            }))
            .record(conn, &access.actor)
    })
}

/// The role the holders of `id` move to: another role on offer wherever each of them holds
/// it, that the caller may give.
fn replacement_for(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: RoleId,
    to: RoleId,
    holders: &[super::custom::Holder],
) -> Result<RoleDef, DomainError> {
    if to == id {
        return Err(DomainError::Invalid(
            "Choose another role than the one being deleted.".into(),
        ));
    }
    // A role not on offer here is as unknown as a missing one.
    let def = available_at(conn, reached.tenant())?
        .into_iter()
        .find(|r| r.id == to)
        .ok_or(DomainError::NotFound)?;
    access.may_hold(reached, &def.grant())?;
    let everywhere = holders.iter().all(|h| match def.tenant_id {
        None => true,
        Some(t) => h.tenant_id == t || (def.shared && h.tenant_path.contains(&t)),
    });
    if !everywhere {
        return Err(DomainError::Invalid(format!(
            "{} is not on offer in every tenant where this role is held.",
            def.name
        )));
    }
    Ok(def)
}
