//! Roles a tenant defines: the catalogue drives them, nobody escalates through them, and the
//! built-in presets answer exactly as the three fixed roles did.
use canopy::domain::ids::{RoleId, TenantId};
use canopy::domain::permissions::{Permission, Permissions};
use canopy::domain::roles::RoleReach;
use canopy::domain::tenants::Tenant;
use diesel::prelude::*;

use crate::helpers::TestApp;

/// A role defined at `tenant` (tenant reach, not shared) holding `permissions`; written
/// directly, as a fixture.
pub fn custom_role(
    app: &TestApp,
    tenant: &Tenant,
    name: &str,
    permissions: &[Permission],
) -> RoleId {
    role_with(
        app,
        tenant.id,
        name,
        Permissions::of(permissions),
        RoleReach::Tenant,
        false,
    )
}

pub fn role_with(
    app: &TestApp,
    tenant: TenantId,
    name: &str,
    permissions: Permissions,
    reach: RoleReach,
    shared: bool,
) -> RoleId {
    use canopy::db::schema::roles;
    let id = RoleId::new();
    diesel::insert_into(roles::table)
        .values((
            roles::id.eq(id),
            roles::tenant_id.eq(tenant),
            roles::name.eq(name),
            roles::permissions.eq(permissions.keys()),
            roles::reach.eq(reach),
            roles::shared.eq(shared),
        ))
        .execute(&mut app.conn())
        .unwrap();
    id
}
