//! Moving a subtree: one transaction that locks it, refuses cycles and rewrites the paths of
//! every tenant and membership below it.
use diesel::prelude::*;
use diesel::sql_types::Array;

use crate::access::{Access, Reached};
use crate::db::schema::tenants;
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, TenantId};
use crate::domain::permissions::Permission;
use crate::domain::tenants::{Tenant, TenantError, subtree, subtree_bounds};

/// What moves along with a tenant: its whole subtree and the members in it.
#[derive(Debug)]
pub struct MovePreview {
    pub tenants: Vec<Tenant>,
    pub members: i64,
}

pub fn move_preview(conn: &mut PgConnection, tenant: &Tenant) -> Result<MovePreview, DomainError> {
    let tenants = subtree(conn, &tenant.traversal_ids)?;
    let members = crate::domain::memberships::count_in_subtree(conn, tenant.id)?;
    Ok(MovePreview { tenants, members })
}

/// Moves a tenant and everything below it under `to`, in one transaction. The caller's right
/// to do so is checked again on the locked rows, so a concurrent move cannot slip a tenant
/// out of (or into) the caller's reach between the request's check and the move.
pub fn move_subtree(
    conn: &mut PgConnection,
    access: &Access,
    moving: &Reached,
    to: &Reached,
) -> Result<Tenant, TenantError> {
    let (actor, tenant_id, new_parent_id) = (&access.actor, moving.id(), to.id());
    // Every statement covers the subtree, whatever its size: planned for it.
    conn.transaction(|conn| {
        crate::db::plans::per_execution(conn, |conn| {
            // Moves are rare; serialising them rules out two moves racing into a cycle.
            diesel::sql_query("SELECT pg_advisory_xact_lock(7461203)").execute(conn)?;
            let locked: Vec<Tenant> = tenants::table
                .filter(tenants::id.eq_any([tenant_id, new_parent_id]))
                .order(tenants::id.asc())
                .for_update()
                .select(Tenant::as_select())
                .load(conn)?;
            let tenant = locked
                .iter()
                .find(|t| t.id == tenant_id)
                .ok_or(DomainError::NotFound)?;
            let parent = locked
                .iter()
                .find(|t| t.id == new_parent_id)
                .ok_or(DomainError::NotFound)?;
            if !access.may_restructure(&tenant.traversal_ids)
                || !access.holds(&parent.traversal_ids, Permission::TenantRestructure)
            {
                return Err(DomainError::NotFound.into());
            }
            if parent.traversal_ids.contains(&tenant.id) {
                return Err(TenantError::Cycle);
            }
            if tenant.parent_id == Some(parent.id) {
                return Err(TenantError::SameParent);
            }
            let (lo, hi) = subtree_bounds(&tenant.traversal_ids);
            let subtree: Vec<TenantId> = tenants::table
                .filter(
                    tenants::traversal_ids
                        .ge(&lo)
                        .and(tenants::traversal_ids.lt(&hi)),
                )
                .for_update()
                .select(tenants::id)
                .load(conn)?;
            // Keep each path's tail from the moved tenant down, behind the new parent's path.
            let keep_from = i32::try_from(tenant.traversal_ids.len())
                .map_err(|_| DomainError::Invalid("The tree is too deep.".into()))?;
            // The subtree's own counts do not change; only the ancestors' totals move.
            let old_parent = &tenant.traversal_ids[..tenant.traversal_ids.len() - 1];
            let (from, to) = (
                tenant.customer(),
                CustomerId::of(&[parent.traversal_ids.as_slice(), &[tenant.id]].concat()),
            );
            crate::domain::devices::counts::move_subtree(
                conn,
                tenant.id,
                from,
                old_parent,
                &parent.traversal_ids,
            )?;
            // Everything that carries a copy of a tenant's path moves along (the customer's
            // rows in place, under their old customer; then to the new one if it changed).
            for table in ["tenants", "memberships", "devices", "invitations", "alerts"] {
                let (column, customer) = match table {
                    "tenants" => ("traversal_ids", ""),
                    "memberships" | "invitations" => ("tenant_path", ""),
                    _ => ("tenant_path", " AND customer_id = $5"),
                };
                diesel::sql_query(format!(
                    "UPDATE {table} SET {column} = canopy_rebased({column}, $2, $1) \
                 WHERE {column} >= $3 AND {column} < $4{customer}"
                ))
                .bind::<Array<diesel::sql_types::Uuid>, _>(&parent.traversal_ids)
                .bind::<diesel::sql_types::Integer, _>(keep_from)
                .bind::<Array<diesel::sql_types::Uuid>, _>(&lo)
                .bind::<Array<diesel::sql_types::Uuid>, _>(&hi)
                .bind::<diesel::sql_types::Uuid, _>(from)
                .execute(conn)?;
            }
            super::customers::move_subtree(conn, from, to, &subtree)?;
            // Schedules shared from the old ancestors may not reach the new place.
            let (new_lo, new_hi) =
                subtree_bounds(&[parent.traversal_ids.as_slice(), &[tenant.id]].concat());
            crate::domain::checkins::subtree_moved(conn, &new_lo, &new_hi)?;
            let moved = diesel::update(tenants::table.find(tenant.id))
                .set((
                    tenants::parent_id.eq(parent.id),
                    tenants::updated_at.eq(diesel::dsl::now),
                ))
                .returning(Tenant::as_returning())
                .get_result(conn)?;
            Event::new(AuditAction::TenantMove, &moved.traversal_ids, tenant.id)
                .detail(serde_json::json!({ "from": tenant.parent_id, "to": parent.id }))
                .record(conn, actor)?;
            Ok(moved)
        })
    })
}
