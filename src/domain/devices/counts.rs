//! Device counts per tenant and status, kept by triggers on `devices` (see the migration
//! `device_counts`). Bulk work defers the triggers for its transaction and settles the counts
//! in one step.
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};

use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;

/// Turns the per-statement triggers off until the end of the current transaction (callers
/// are always inside one).
pub fn defer(conn: &mut PgConnection) -> Result<(), DomainError> {
    diesel::sql_query("SELECT set_config('canopy.counts_deferred', 'on', true)").execute(conn)?;
    Ok(())
}

fn resume(conn: &mut PgConnection) -> Result<(), DomainError> {
    diesel::sql_query("SELECT set_config('canopy.counts_deferred', 'off', true)").execute(conn)?;
    Ok(())
}

/// Recounts everything (after loading demo data).
pub fn rebuild(conn: &mut PgConnection) -> Result<(), DomainError> {
    resume(conn)?;
    diesel::sql_query("SELECT device_counts_rebuild()").execute(conn)?;
    Ok(())
}

/// Recounts one tenant's own devices and carries the difference up its path (after an import).
pub fn refresh_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<(), DomainError> {
    resume(conn)?;
    diesel::sql_query("SELECT device_counts_refresh_tenant($1)")
        .bind::<SqlUuid, _>(tenant)
        .execute(conn)?;
    Ok(())
}

/// A subtree moved from under `old_parent` to under `new_parent` (paths): its totals leave the
/// old ancestors and join the new ones; nothing inside it changes.
pub fn move_subtree(
    conn: &mut PgConnection,
    root: TenantId,
    old_parent: &[TenantId],
    new_parent: &[TenantId],
) -> Result<(), DomainError> {
    resume(conn)?;
    diesel::sql_query(
        "INSERT INTO device_counts AS c (tenant_id, status, own, total)
         SELECT p.tid, m.status, 0, m.total * sum(p.sign)
         FROM device_counts m
         CROSS JOIN LATERAL (
             SELECT unnest($2) AS tid, -1 AS sign UNION ALL SELECT unnest($3), 1
         ) p
         WHERE m.tenant_id = $1 AND m.total <> 0
         GROUP BY p.tid, m.status, m.total
         HAVING sum(p.sign) <> 0
         ON CONFLICT (tenant_id, status) DO UPDATE SET total = c.total + excluded.total",
    )
    .bind::<SqlUuid, _>(root)
    .bind::<Array<SqlUuid>, _>(old_parent)
    .bind::<Array<SqlUuid>, _>(new_parent)
    .execute(conn)?;
    Ok(())
}
