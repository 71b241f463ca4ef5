//! A tenant's dashboard figures: devices by status, sub-tenants, members, pending invitations.
//! Admins see their whole subtree; other roles their own tenant, as everywhere else.
use diesel::dsl::{count_star, now};
use diesel::prelude::*;

use crate::db::schema::{devices, invitations, memberships, tenants};
use crate::domain::devices::fields::STATUSES;
use crate::domain::tenants::{Tenant, subtree_bounds};
use crate::error::AppError;

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

pub fn figures(
    conn: &mut PgConnection,
    tenant: &Tenant,
    subtree: bool,
) -> Result<Figures, AppError> {
    let (lo, hi) = subtree_bounds(&tenant.traversal_ids);
    let by_status: Vec<(String, i64)> = if subtree {
        devices::table
            .filter(
                devices::tenant_path
                    .ge(&lo)
                    .and(devices::tenant_path.lt(&hi)),
            )
            .group_by(devices::status)
            .select((devices::status, count_star()))
            .load(conn)?
    } else {
        devices::table
            .filter(devices::tenant_id.eq(tenant.id))
            .group_by(devices::status)
            .select((devices::status, count_star()))
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
    let (children, descendants, members, pending_invitations) = if subtree {
        let children = tenants::table
            .filter(tenants::parent_id.eq(tenant.id))
            .count()
            .get_result(conn)?;
        let in_subtree: i64 = tenants::table
            .filter(
                tenants::traversal_ids
                    .ge(&lo)
                    .and(tenants::traversal_ids.lt(&hi)),
            )
            .count()
            .get_result(conn)?;
        let members = memberships::table
            .filter(
                memberships::tenant_path
                    .ge(&lo)
                    .and(memberships::tenant_path.lt(&hi)),
            )
            .count()
            .get_result(conn)?;
        let pending = invitations::table
            .filter(
                invitations::tenant_path
                    .ge(&lo)
                    .and(invitations::tenant_path.lt(&hi)),
            )
            .filter(invitations::state.eq("pending"))
            .filter(invitations::expires_at.gt(now))
            .count()
            .get_result(conn)?;
        (children, in_subtree - 1, members, pending)
    } else {
        let members = memberships::table
            .filter(memberships::tenant_id.eq(tenant.id))
            .count()
            .get_result(conn)?;
        (0, 0, members, 0)
    };
    Ok(Figures {
        devices,
        device_total,
        children,
        descendants,
        members,
        pending_invitations,
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
