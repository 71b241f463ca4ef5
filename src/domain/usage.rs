//! The usage report, the billing boundary: per tenant and month, the device-days it held
//! (from the ownership history) and the people who were members.
//!
//! A device-day goes to the tenant that holds the device at the end of that day (UTC), so a
//! device moved at noon counts once, for its new holder; days not yet over count for nobody.
//! The subtree is today's: a tenant moved out of it takes its history along.
use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Array, Date, Int8, Uuid as SqlUuid};

use crate::access::Reached;
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::tenants::{self, Tenant, subtree_bounds};

/// The longest report, in months.
pub const MAX_MONTHS: u32 = 24;

/// A span of whole months, first days of the first and last month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// The month of `today` and the two before it.
    pub fn last_three(today: NaiveDate) -> Self {
        let last = month_of(today);
        Self {
            first: last - Months::new(2),
            last,
        }
    }

    /// From `YYYY-MM` values; a clear message when they make no sense.
    pub fn parse(from: &str, to: &str) -> Result<Self, String> {
        let parse = |s: &str, which: &str| {
            NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
                .map_err(|_| format!("Give the {which} month as YYYY-MM, like 2026-09."))
        };
        let first = parse(from, "first")?;
        let last = parse(to, "last")?;
        if last < first {
            return Err("The last month comes before the first.".into());
        }
        if self::months_between(first, last) > MAX_MONTHS {
            return Err(format!("A report covers at most {MAX_MONTHS} months."));
        }
        Ok(Self { first, last })
    }

    pub fn months(&self) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut m = self.first;
        while m <= self.last {
            out.push(m);
            m = m + Months::new(1);
        }
        out
    }
}

fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
    let n = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32 + 1;
    u32::try_from(n).unwrap_or(0)
}

/// One tenant's figures, per month of the period.
#[derive(Debug, Clone)]
pub struct Line {
    pub tenant: Tenant,
    /// Depth below the report's tenant (0 for itself).
    pub depth: usize,
    pub own_device_days: Vec<i64>,
    pub own_members: Vec<i64>,
    /// The tenant and everything below it.
    pub device_days: Vec<i64>,
    pub members: Vec<i64>,
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = SqlUuid)]
    tenant_id: TenantId,
    #[diesel(sql_type = Date)]
    month: NaiveDate,
    #[diesel(sql_type = Int8)]
    n: i64,
}

const DEVICE_DAYS: &str = "
WITH sub AS (
    SELECT id FROM tenants WHERE traversal_ids >= $1 AND traversal_ids < $2
), moves AS (
    SELECT m.id, m.device_id, m.to_tenant_id, m.moved_at FROM device_moves m
    WHERE m.device_id IN (SELECT device_id FROM device_moves WHERE to_tenant_id IN (SELECT id FROM sub))
), spans AS (
    SELECT to_tenant_id AS tenant_id,
           ((moved_at - interval '1 microsecond') AT TIME ZONE 'UTC')::date AS a,
           ((coalesce(lead(moved_at) OVER w, 'infinity'::timestamptz) - interval '1 microsecond')
                AT TIME ZONE 'UTC')::date AS b
    FROM moves
    WINDOW w AS (PARTITION BY device_id ORDER BY moved_at, id)
), months AS (
    SELECT m::date AS m, (m + interval '1 month')::date AS e
    FROM generate_series($3::date, $4::date, interval '1 month') AS m
)
SELECT s.tenant_id, months.m AS month,
       sum(greatest(0, least(s.b, months.e, $5::date) - greatest(s.a, months.m)))::int8 AS n
FROM spans s JOIN months ON s.a < months.e AND s.b > months.m
WHERE s.tenant_id IN (SELECT id FROM sub)
GROUP BY 1, 2";

const MEMBERS: &str = "
WITH sub AS (
    SELECT id FROM tenants WHERE traversal_ids >= $1 AND traversal_ids < $2
), months AS (
    SELECT m::date AS m,
           (m::timestamp AT TIME ZONE 'UTC') AS s,
           ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC') AS e
    FROM generate_series($3::date, $4::date, interval '1 month') AS m
)
SELECT sp.tenant_id, months.m AS month, count(DISTINCT sp.user_id)::int8 AS n
FROM membership_spans sp JOIN months
  ON sp.started_at < months.e AND (sp.ended_at IS NULL OR sp.ended_at > months.s)
WHERE sp.tenant_id IN (SELECT id FROM sub) AND months.m <= $5::date
GROUP BY 1, 2";

fn cells(
    conn: &mut PgConnection,
    query: &'static str,
    root: &Tenant,
    period: Period,
    today: NaiveDate,
) -> Result<Vec<Cell>, DomainError> {
    let (lo, hi) = subtree_bounds(&root.traversal_ids);
    Ok(crate::db::prepared::prepared(query)
        .bind::<Array<SqlUuid>, _>(lo)
        .bind::<Array<SqlUuid>, _>(hi)
        .bind::<Date, _>(period.first)
        .bind::<Date, _>(period.last)
        .bind::<Date, _>(today)
        .load(conn)?)
}

/// Every tenant of the subtree at `root`, in tree order, with its own and subtree figures.
pub fn report(
    conn: &mut PgConnection,
    reached: &Reached,
    period: Period,
    today: NaiveDate,
) -> Result<Vec<Line>, DomainError> {
    // Its figures sum up the tenants below: only for those whose role reaches them all.
    if !reached.sees_below() {
        return Err(DomainError::NotAllowed(
            "The usage report sums up the tenants below, and your role here reaches this tenant only."
                .into(),
        ));
    }
    if !reached.sees_all_below() {
        return Err(DomainError::NotAllowed(
            "The usage report counts every device below, and a membership limited to groups \
             reaches only some of them."
                .into(),
        ));
    }
    crate::db::plans::per_execution(conn, |conn| report_planned(conn, reached, period, today))
}

fn report_planned(
    conn: &mut PgConnection,
    reached: &Reached,
    period: Period,
    today: NaiveDate,
) -> Result<Vec<Line>, DomainError> {
    let root = reached.tenant();
    let months = period.months();
    let slot = |m: NaiveDate| months.iter().position(|x| *x == m);
    let mut lines: Vec<Line> = tenants::subtree(conn, &root.traversal_ids)?
        .into_iter()
        .map(|t| Line {
            depth: t.traversal_ids.len() - root.traversal_ids.len(),
            tenant: t,
            own_device_days: vec![0; months.len()],
            own_members: vec![0; months.len()],
            device_days: vec![0; months.len()],
            members: vec![0; months.len()],
        })
        .collect();
    lines.sort_by(|a, b| a.tenant.traversal_ids.cmp(&b.tenant.traversal_ids));
    let index: HashMap<TenantId, usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.tenant.id, i))
        .collect();
    let device_days = cells(conn, DEVICE_DAYS, root, period, today)?;
    let members = cells(conn, MEMBERS, root, period, today)?;
    for (cells, is_devices) in [(device_days, true), (members, false)] {
        for c in cells {
            let (Some(&i), Some(m)) = (index.get(&c.tenant_id), slot(c.month)) else {
                continue;
            };
            let own = if is_devices {
                &mut lines[i].own_device_days
            } else {
                &mut lines[i].own_members
            };
            own[m] += c.n;
            // Add to the tenant and each ancestor up to the report's tenant.
            let path = lines[i].tenant.traversal_ids.clone();
            for id in &path[root.traversal_ids.len() - 1..] {
                if let Some(&a) = index.get(id) {
                    let total = if is_devices {
                        &mut lines[a].device_days
                    } else {
                        &mut lines[a].members
                    };
                    total[m] += c.n;
                }
            }
        }
    }
    Ok(lines)
}
