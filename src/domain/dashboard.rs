//! A tenant's dashboard figures: devices by status, sub-tenants, members, pending invitations.
//! Admins see their whole subtree; other roles their own tenant, as everywhere else.
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};

use crate::access::Reached;
use crate::db::schema::device_counts;
use crate::domain::devices::fields::STATUSES;
use crate::domain::devices::list::{self, Scope};
use crate::domain::error::DomainError;
use crate::domain::memberships::Seen;

#[derive(Debug, Clone)]
pub struct Figures {
    /// (status, label, count) for every status, zeros included, in the usual order.
    pub devices: Vec<(&'static str, &'static str, i64)>,
    pub device_total: i64,
    pub children: i64,
    pub descendants: i64,
    pub members: i64,
    pub pending_invitations: i64,
}

/// The counts the dashboard walks (children, pending invitations) stop past this and show as
/// "1000+": a walk of a thousand index entries is cheap at the root of ten thousand tenants,
/// a walk of ten thousand was most of the page. (Devices, tenants below and members are kept
/// by the database and shown exactly.)
pub const CAP: i64 = 1_000;

/// A count as the dashboard shows it.
pub fn shown(n: &i64) -> String {
    let n = *n;
    if n > CAP {
        format!("{CAP}+")
    } else {
        n.to_string()
    }
}

#[derive(QueryableByName)]
struct Others {
    #[diesel(sql_type = BigInt)]
    children: i64,
    #[diesel(sql_type = BigInt)]
    descendants: i64,
    #[diesel(sql_type = BigInt)]
    members: i64,
    #[diesel(sql_type = BigInt)]
    pending: i64,
}

/// Two statements: devices by status from the counts the triggers keep, and the rest at once.
pub fn figures(
    conn: &mut PgConnection,
    reached: &Reached,
    subtree: bool,
) -> Result<Figures, DomainError> {
    let tenant = reached.tenant();
    let by_status: Vec<(String, i64)> = if *reached.seen(subtree) != Seen::All {
        // A membership limited to groups counts its own devices only.
        let scope = if subtree {
            Scope::Subtree(reached)
        } else {
            Scope::Tenant(reached)
        };
        list::count_by_status(conn, scope)?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_string(), n))
            .collect()
    } else if subtree {
        device_counts::table
            .filter(device_counts::customer_id.eq(tenant.customer()))
            .filter(device_counts::tenant_id.eq(tenant.id))
            .select((device_counts::status, device_counts::total))
            .load(conn)?
    } else {
        device_counts::table
            .filter(device_counts::customer_id.eq(tenant.customer()))
            .filter(device_counts::tenant_id.eq(tenant.id))
            .select((device_counts::status, device_counts::own))
            .load(conn)?
    };
    let devices: Vec<_> = STATUSES
        .iter()
        .map(|(s, label)| {
            let n = by_status
                .iter()
                .find(|(st, _)| st == s)
                .map_or(0, |(_, n)| *n);
            (*s, *label, n)
        })
        .collect();
    let device_total = devices.iter().map(|d| d.2).sum();
    let others: Others = if subtree {
        // Tenants and members below come from the kept `subtree_counts` (exact, one row);
        // children and this tenant's pending invitations (what its invitations page lists) are
        // counted, each stopping past CAP. All lookups by key: one plan serves every tenant.
        crate::db::prepared::prepared(
            "SELECT (SELECT count(*) FROM (SELECT 1 FROM tenants WHERE parent_id = $1 LIMIT $2) s)
                        AS children,
                    coalesce((SELECT tenants - 1 FROM subtree_counts WHERE tenant_id = $1), 0)
                        AS descendants,
                    coalesce((SELECT members FROM subtree_counts WHERE tenant_id = $1), 0)
                        AS members,
                    (SELECT count(*) FROM (SELECT 1 FROM invitations
                        WHERE tenant_id = $1
                        AND state = 'pending' AND expires_at > now() LIMIT $2) s) AS pending",
        )
        .bind::<SqlUuid, _>(tenant.id)
        .bind::<BigInt, _>(CAP + 1)
        .get_result(conn)?
    } else {
        crate::db::prepared::prepared(
            "SELECT 0::int8 AS children, 0::int8 AS descendants,
                    (SELECT count(*) FROM memberships WHERE tenant_id = $1) AS members,
                    0::int8 AS pending",
        )
        .bind::<SqlUuid, _>(tenant.id)
        .get_result(conn)?
    };
    Ok(Figures {
        devices,
        device_total,
        children: others.children,
        descendants: others.descendants,
        members: others.members,
        pending_invitations: others.pending,
    })
}

/// One bar of a horizontal bar chart, laid out for the SVG template.
#[derive(Debug, Clone)]
pub struct Bar {
    pub key: &'static str,
    pub label: &'static str,
    pub value: i64,
    pub y: u32,
    pub width: u32,
}

/// Bars scaled to `full` pixels for the largest value, `step` pixels apart.
pub fn bars(values: &[(&'static str, &'static str, i64)], full: u32, step: u32) -> Vec<Bar> {
    let max = values.iter().map(|v| v.2).max().unwrap_or(0).max(1);
    values
        .iter()
        .zip(0u32..)
        .map(|((key, label, value), i)| Bar {
            key,
            label,
            value: *value,
            y: i * step,
            // At least a sliver for a non-zero value, so that it is visible.
            width: if *value == 0 {
                0
            } else {
                ((*value as f64 / max as f64) * f64::from(full))
                    .round()
                    .max(2.0) as u32
            },
        })
        .collect()
}
