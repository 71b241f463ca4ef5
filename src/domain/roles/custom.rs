//! The roles a tenant defines, and which roles are on offer where: the presets everywhere,
//! a tenant's own roles in it, and roles marked "available to sub-tenants" below it.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{Role, RoleGrant, RoleReach};
use crate::access::{Access, Reached};
use crate::db::schema::roles;
use crate::domain::error::DomainError;
use crate::domain::ids::{RoleId, TenantId};
use crate::domain::permissions::Permissions;
use crate::domain::tenants::Tenant;

/// A role as the roles pages show it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub struct RoleDef {
    pub id: RoleId,
    pub tenant_id: Option<TenantId>,
    pub name: String,
    pub description: String,
    #[diesel(deserialize_as = Vec<String>)]
    pub permissions: Keys,
    pub reach: RoleReach,
    pub shared: bool,
    pub updated_at: DateTime<Utc>,
}

/// Stored permission keys, read into a set (a preset's from the code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keys(pub Permissions);

impl From<Vec<String>> for Keys {
    fn from(keys: Vec<String>) -> Self {
        Keys(Permissions::from_keys(&keys))
    }
}

impl RoleDef {
    pub fn preset(&self) -> Option<Role> {
        Role::from_id(self.id)
    }

    pub fn permissions(&self) -> Permissions {
        self.preset().map_or(self.permissions.0, Role::permissions)
    }

    pub fn grant(&self) -> RoleGrant {
        RoleGrant {
            id: self.id,
            name: self.name.clone(),
            permissions: self.permissions(),
            reach: self.reach,
        }
    }

    /// Defined by `tenant` itself (so editable there), not a preset nor inherited.
    pub fn is_own(&self, tenant: &Tenant) -> bool {
        self.tenant_id == Some(tenant.id)
    }
}

/// The roles on offer at `tenant`: presets first, then inherited ones (nearest last), then
/// its own, each group by name.
pub fn available_at(conn: &mut PgConnection, tenant: &Tenant) -> Result<Vec<RoleDef>, DomainError> {
    let above = &tenant.traversal_ids[..tenant.traversal_ids.len().saturating_sub(1)];
    let mut found: Vec<RoleDef> = roles::table
        .filter(
            roles::tenant_id
                .is_null()
                .or(roles::tenant_id.eq(tenant.id))
                .or(roles::tenant_id
                    .eq_any(above.to_vec())
                    .and(roles::shared.eq(true))),
        )
        .select(RoleDef::as_select())
        .load(conn)?;
    let rank = |r: &RoleDef| match (r.preset(), r.tenant_id) {
        (Some(p), _) => (
            0,
            Role::ALL.iter().position(|x| *x == p).unwrap_or(0),
            String::new(),
        ),
        (None, Some(t)) => (
            1,
            tenant
                .traversal_ids
                .iter()
                .position(|x| *x == t)
                .unwrap_or(0),
            r.name.to_lowercase(),
        ),
        (None, None) => (2, 0, String::new()),
    };
    found.sort_by_key(rank);
    Ok(found)
}

/// The roles on offer at the reached tenant that the caller may give there.
pub fn grantable(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
) -> Result<Vec<RoleDef>, DomainError> {
    Ok(available_at(conn, reached.tenant())?
        .into_iter()
        .filter(|r| access.may_hold(reached, &r.grant()).is_ok())
        .collect())
}

/// One role if it is on offer at `tenant`; `NotFound` for any other (another tenant's role
/// is as unknown as a missing one).
pub fn find_available(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: RoleId,
) -> Result<RoleDef, DomainError> {
    available_at(conn, tenant)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(DomainError::NotFound)
}

/// Any role by id, as a grant gives it (for work on rows that already hold it).
pub fn grant_of(conn: &mut PgConnection, id: RoleId) -> Result<RoleGrant, DomainError> {
    if let Some(preset) = Role::from_id(id) {
        return Ok(preset.grant());
    }
    let def: RoleDef = roles::table
        .find(id)
        .select(RoleDef::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    Ok(def.grant())
}

/// Someone who holds a role, and where.
#[derive(Debug, Clone, Queryable)]
pub struct Holder {
    pub user_id: crate::domain::ids::UserId,
    pub display_name: String,
    pub email: String,
    pub tenant_id: TenantId,
    pub tenant_name: String,
    pub tenant_path: Vec<TenantId>,
}

/// Everyone who holds role `id`, by name.
pub fn holders(conn: &mut PgConnection, id: RoleId) -> Result<Vec<Holder>, DomainError> {
    use crate::db::schema::{memberships, tenants, users};
    Ok(memberships::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .filter(memberships::role_id.eq(id))
        .order((users::display_name.asc(), tenants::name.asc()))
        .select((
            users::id,
            users::display_name,
            users::email,
            tenants::id,
            tenants::name,
            tenants::traversal_ids,
        ))
        .load(conn)?)
}

/// How many hold each of `ids` (roles without holders are left out).
pub fn holder_counts(
    conn: &mut PgConnection,
    ids: &[RoleId],
) -> Result<std::collections::HashMap<RoleId, i64>, DomainError> {
    use crate::db::schema::memberships;
    use diesel::dsl::count_star;
    let rows: Vec<(RoleId, i64)> = memberships::table
        .filter(memberships::role_id.eq_any(ids))
        .group_by(memberships::role_id)
        .select((memberships::role_id, count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn plural_people(n: usize) -> String {
    if n == 1 {
        "1 person".into()
    } else {
        format!("{n} people")
    }
}
