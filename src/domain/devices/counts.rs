//! Device counts per tenant and status (`device_counts`): `own` counts a tenant's own devices,
//! `total` its whole subtree's. Whatever adds, moves or re-statuses devices adjusts them in
//! the same transaction, in one statement (no trigger: a distributed database cannot run the
//! statement triggers that used to keep them, see `docs/scaling.md`). Each row belongs to its
//! own tenant's customer, so a change deep in a customer also touches the operator's rows.
use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};

use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, TenantId};
use crate::domain::states::DeviceStatus;

/// Devices of one status arriving at (`delta` > 0) or leaving (`delta` < 0) the tenant at
/// `path`: its own devices, or (`own` false) devices of its subtree below it.
pub struct Change<'a> {
    pub path: &'a [TenantId],
    pub status: DeviceStatus,
    pub delta: i64,
    pub own: bool,
}

impl<'a> Change<'a> {
    /// `delta` devices of `status` arrive at (or leave) the tenant at `path` itself.
    pub fn at(path: &'a [TenantId], status: DeviceStatus, delta: i64) -> Self {
        Self {
            path,
            status,
            delta,
            own: true,
        }
    }
}

/// Applies the changes to every tenant on their paths, in one statement.
pub fn apply(conn: &mut PgConnection, changes: &[Change<'_>]) -> Result<(), DomainError> {
    let mut rows: BTreeMap<(TenantId, &'static str), (CustomerId, i64, i64)> = BTreeMap::new();
    for c in changes {
        for (i, tenant) in c.path.iter().enumerate() {
            let own = if c.own && i + 1 == c.path.len() {
                c.delta
            } else {
                0
            };
            let row = rows.entry((*tenant, c.status.as_str())).or_insert((
                CustomerId::of(&c.path[..=i]),
                0,
                0,
            ));
            row.1 += own;
            row.2 += c.delta;
        }
    }
    rows.retain(|_, (_, own, total)| *own != 0 || *total != 0);
    if rows.is_empty() {
        return Ok(());
    }
    let (mut customers, mut tenants, mut statuses, mut owns, mut totals) =
        (vec![], vec![], vec![], vec![], vec![]);
    for ((tenant, status), (customer, own, total)) in rows {
        customers.push(customer);
        tenants.push(tenant);
        statuses.push(status);
        owns.push(own);
        totals.push(total);
    }
    diesel::sql_query(
        "INSERT INTO device_counts AS c (customer_id, tenant_id, status, own, total) \
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[]) \
         ON CONFLICT (tenant_id, status, customer_id) DO UPDATE \
         SET own = c.own + excluded.own, total = c.total + excluded.total",
    )
    .bind::<Array<SqlUuid>, _>(&customers)
    .bind::<Array<SqlUuid>, _>(&tenants)
    .bind::<Array<Text>, _>(&statuses)
    .bind::<Array<BigInt>, _>(&owns)
    .bind::<Array<BigInt>, _>(&totals)
    .execute(conn)?;
    Ok(())
}

/// Recounts everything (after loading demo data).
pub fn rebuild(conn: &mut PgConnection) -> Result<(), DomainError> {
    diesel::sql_query("SELECT device_counts_rebuild()").execute(conn)?;
    Ok(())
}

/// Recounts one tenant's own devices and carries the difference up its path (after an import).
pub fn refresh_tenant(conn: &mut PgConnection, tenant: TenantId) -> Result<(), DomainError> {
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
    root_customer: CustomerId,
    old_parent: &[TenantId],
    new_parent: &[TenantId],
) -> Result<(), DomainError> {
    let moving: Vec<(String, i64)> = {
        use crate::db::schema::device_counts as dc;
        dc::table
            .filter(dc::customer_id.eq(root_customer))
            .filter(dc::tenant_id.eq(root))
            .filter(dc::total.ne(0))
            .select((dc::status, dc::total))
            .load(conn)?
    };
    let mut changes = Vec::new();
    for (status, total) in moving {
        let Some(status) = DeviceStatus::parse(&status) else {
            continue;
        };
        for (path, delta) in [(old_parent, -total), (new_parent, total)] {
            changes.push(Change {
                path,
                status,
                delta,
                own: false,
            });
        }
    }
    apply(conn, &changes)
}
