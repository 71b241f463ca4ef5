//! Rows that change customer: a subtree moved under another customer, or devices moved to a
//! tenant of another customer. A distributed database keeps each customer's rows on its own
//! shard and cannot change a row's customer in place, so the rows are copied under the new
//! customer and the old ones deleted (`canopy_copy_rows`, `canopy_delete_rows`), parents
//! before children and back, inside the caller's transaction.
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::{checkin_states, checkin_tokens, devices};
use crate::domain::devices::identifiers;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, TenantId};

/// The rows a device takes along (parents first), each chosen by the device ids in `$3`.
const DEVICE_ROWS: &[(&str, &str)] = &[
    ("devices", "id = ANY($3)"),
    ("device_moves", "device_id = ANY($3)"),
    ("checkins", "device_id = ANY($3)"),
    ("checkin_states", "device_id = ANY($3)"),
];

/// The rows a subtree's tenants own (parents first), chosen by the tenant ids in `$3` (`$1`
/// is the customer they leave). Alerts belong to the tenant they were opened at, as audit
/// events do: they move with the subtree, and a device moving on alone leaves them behind.
const TENANT_ROWS: &[(&str, &str)] = &[
    ("groups", "tenant_id = ANY($3)"),
    ("contacts", "tenant_id = ANY($3)"),
    ("schedules", "tenant_id = ANY($3)"),
    ("group_devices", "tenant_id = ANY($3)"),
    ("group_members", "tenant_id = ANY($3)"),
    ("schedule_contacts", "tenant_id = ANY($3)"),
    ("alerts", "tenant_id = ANY($3)"),
    (
        "alert_notifications",
        "alert_id IN (SELECT id FROM alerts WHERE customer_id = $1 AND tenant_id = ANY($3))",
    ),
    ("webhooks", "tenant_id = ANY($3)"),
    ("webhook_deliveries", "tenant_id = ANY($3)"),
    ("device_imports", "tenant_id = ANY($3)"),
    ("audit_events", "tenant_id = ANY($3)"),
    ("device_counts", "tenant_id = ANY($3)"),
];

#[derive(QueryableByName)]
struct Moved {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn copy(
    conn: &mut PgConnection,
    table: &str,
    cond: &str,
    from: CustomerId,
    to: CustomerId,
    ids: &[Uuid],
) -> Result<i64, DomainError> {
    let moved: Moved =
        diesel::sql_query("SELECT canopy_copy_rows($1::regclass, $2, $3, $4, $5) AS n")
            .bind::<Text, _>(table)
            .bind::<SqlUuid, _>(from)
            .bind::<SqlUuid, _>(to)
            .bind::<Text, _>(cond)
            .bind::<Array<SqlUuid>, _>(ids)
            .get_result(conn)?;
    Ok(moved.n)
}

fn delete(
    conn: &mut PgConnection,
    table: &str,
    cond: &str,
    from: CustomerId,
    ids: &[Uuid],
) -> Result<i64, DomainError> {
    let moved: Moved =
        diesel::sql_query("SELECT canopy_delete_rows($1::regclass, $2, $3, $4) AS n")
            .bind::<Text, _>(table)
            .bind::<SqlUuid, _>(from)
            .bind::<Text, _>(cond)
            .bind::<Array<SqlUuid>, _>(ids)
            .get_result(conn)?;
    Ok(moved.n)
}

/// What hangs off a set of devices, read before their rows move.
struct DeviceRows {
    ids: Vec<Uuid>,
    identifiers: Vec<String>,
    tokens: Vec<String>,
}

impl DeviceRows {
    fn read(
        conn: &mut PgConnection,
        from: CustomerId,
        devices: &[DeviceId],
    ) -> Result<Self, DomainError> {
        let identifiers: Vec<String> = devices::table
            .filter(devices::customer_id.eq(from))
            .filter(devices::id.eq_any(devices))
            .select(devices::identifier)
            .load(conn)?;
        let tokens: Vec<Option<String>> = checkin_states::table
            .filter(checkin_states::customer_id.eq(from))
            .filter(checkin_states::device_id.eq_any(devices))
            .select(checkin_states::token_hash)
            .load(conn)?;
        Ok(Self {
            ids: devices.iter().map(|d| d.uuid()).collect(),
            identifiers,
            tokens: tokens.into_iter().flatten().collect(),
        })
    }

    fn copy(
        &self,
        conn: &mut PgConnection,
        from: CustomerId,
        to: CustomerId,
    ) -> Result<(), DomainError> {
        for (table, cond) in DEVICE_ROWS {
            copy(conn, table, cond, from, to, &self.ids)?;
        }
        let identifiers: Vec<&str> = self.identifiers.iter().map(String::as_str).collect();
        identifiers::moved(conn, &identifiers, to)?;
        diesel::update(
            checkin_tokens::table.filter(checkin_tokens::token_hash.eq_any(&self.tokens)),
        )
        .set(checkin_tokens::customer_id.eq(to))
        .execute(conn)?;
        Ok(())
    }

    fn delete(&self, conn: &mut PgConnection, from: CustomerId) -> Result<(), DomainError> {
        for (table, cond) in DEVICE_ROWS.iter().rev() {
            delete(conn, table, cond, from, &self.ids)?;
        }
        Ok(())
    }
}

/// Moves `devices` of customer `from` (and what hangs off them) to customer `to`. Their
/// groups are not moved: a device leaves its groups when it leaves its tenant.
pub fn move_devices(
    conn: &mut PgConnection,
    from: CustomerId,
    to: CustomerId,
    devices: &[DeviceId],
) -> Result<(), DomainError> {
    if from == to || devices.is_empty() {
        return Ok(());
    }
    let rows = DeviceRows::read(conn, from, devices)?;
    rows.copy(conn, from, to)?;
    rows.delete(conn, from)
}

/// Moves everything the subtree's `tenants` own, their devices included, from customer
/// `from` to `to`. The tenants themselves are shared by every customer and stay.
pub fn move_subtree(
    conn: &mut PgConnection,
    from: CustomerId,
    to: CustomerId,
    tenants: &[TenantId],
) -> Result<(), DomainError> {
    if from == to {
        return Ok(());
    }
    let devices: Vec<DeviceId> = devices::table
        .filter(devices::customer_id.eq(from))
        .filter(devices::tenant_id.eq_any(tenants))
        .select(devices::id)
        .load(conn)?;
    let rows = DeviceRows::read(conn, from, &devices)?;
    let ids: Vec<Uuid> = tenants.iter().map(|t| t.uuid()).collect();
    // Copies go parents first (groups, contacts and schedules, then devices, then what refers
    // to both); deletes go back the other way, so no foreign key sees a missing parent.
    let (parents, children) = TENANT_ROWS.split_at(3);
    for (table, cond) in parents {
        copy(conn, table, cond, from, to, &ids)?;
    }
    rows.copy(conn, from, to)?;
    for (table, cond) in children {
        copy(conn, table, cond, from, to, &ids)?;
    }
    for (table, cond) in children.iter().rev() {
        delete(conn, table, cond, from, &ids)?;
    }
    rows.delete(conn, from)?;
    for (table, cond) in parents.iter().rev() {
        delete(conn, table, cond, from, &ids)?;
    }
    Ok(())
}
