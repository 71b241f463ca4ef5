//! Restructuring the tree: moving a subtree and deleting a tenant. These touch every concept
//! that lives in a tenant (members, devices, invitations), so they sit above them: the
//! concepts themselves never import one another to restructure.
pub mod customers;
mod moves;

use diesel::prelude::*;

use crate::db::schema::{deleted_tenants, memberships, tenants};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::tenants::{Tenant, TenantError};

pub use moves::{MovePreview, move_preview, move_subtree};

/// What deleting the tenant would lose; empty when it may go.
pub fn blockers(conn: &mut PgConnection, tenant: &Tenant) -> Result<Vec<String>, DomainError> {
    let children: i64 = tenants::table
        .filter(tenants::parent_id.eq(tenant.id))
        .count()
        .get_result(conn)?;
    let members: i64 = memberships::table
        .filter(memberships::tenant_id.eq(tenant.id))
        .count()
        .get_result(conn)?;
    let devices = crate::domain::devices::count_in(conn, tenant)?;
    let mut found = Vec::new();
    if devices > 0 {
        found.push(plural(devices, "device"));
    }
    if children > 0 {
        found.push(plural(children, "sub-tenant"));
    }
    if members > 0 {
        found.push(plural(members, "member"));
    }
    Ok(found)
}

fn plural(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub fn delete(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant_id: TenantId,
) -> Result<(), TenantError> {
    conn.transaction(|conn| {
        let tenant = tenants::table
            .find(tenant_id)
            .for_update()
            .select(Tenant::as_select())
            .first(conn)?;
        let in_the_way = blockers(conn, &tenant)?;
        if !in_the_way.is_empty() {
            return Err(TenantError::NotEmpty(in_the_way));
        }
        // History (device moves, audit events) outlives the tenant and still names it.
        diesel::insert_into(deleted_tenants::table)
            .values((
                deleted_tenants::id.eq(tenant.id),
                deleted_tenants::name.eq(&tenant.name),
                deleted_tenants::traversal_ids.eq(&tenant.traversal_ids),
            ))
            .execute(conn)?;
        diesel::delete(tenants::table.find(tenant.id)).execute(conn)?;
        Event::new(AuditAction::TenantDelete, &tenant.traversal_ids, tenant.id)
            .detail(serde_json::json!({ "name": tenant.name }))
            .record(conn, actor)?;
        Ok(())
    })
}
