//! Device lists: search, filters, sorting and keyset pagination over a tenant or a subtree,
//! with the total that match. A page is one index range scan of the subtree's paths.
use diesel::IntoSql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer};

use super::Device;
use crate::access::Reached;
use crate::db::functions::{keyset, lower, upper};
use crate::db::schema::{device_counts, devices, group_devices};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, in_customer};
use crate::domain::ids::{DeviceId, GroupId};
use crate::domain::memberships::{Seen, Window};
use crate::domain::states::{DeviceKind, DeviceStatus};
use crate::domain::tenants::subtree_bounds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Identifier,
}

impl Sort {
    pub fn parse(s: &str) -> Self {
        if s == "identifier" {
            Self::Identifier
        } else {
            Self::Name
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Identifier => "identifier",
        }
    }
    /// The sort key of a device, as the cursor carries it.
    pub fn key(self, d: &Device) -> String {
        match self {
            Self::Name => d.name.to_lowercase(),
            Self::Identifier => d.identifier.to_ascii_uppercase(),
        }
    }
}

/// Where to look: one tenant, or a whole subtree (admins). Both are built from the access
/// layer's proof, so a list cannot be pointed at a tenant nobody checked.
pub enum Scope<'a> {
    Tenant(&'a Reached),
    Subtree(&'a Reached),
}

pub struct Filter<'a> {
    pub scope: Scope<'a>,
    /// Prefix of the IMEI/serial, or part of the name.
    pub search: &'a str,
    pub status: Option<DeviceStatus>,
    pub kind: Option<DeviceKind>,
    /// Only the devices of this group (one the access layer found at the scope's tenant).
    pub group: Option<GroupId>,
    /// Only devices with an open alert (a missed check-in nobody acknowledged yet).
    pub overdue: bool,
    pub sort: Sort,
    /// The last row of the previous page: (sort key, id).
    pub after: Option<(String, DeviceId)>,
    pub limit: i64,
}

/// Three or more digits: the start of an IMEI.
pub fn is_identifier_prefix(term: &str) -> bool {
    let term = term.trim();
    term.len() >= 3 && term.bytes().all(|b| b.is_ascii_digit())
}

/// The smallest digit string of the same length after `digits` ("1299" → "1300"); `None` for
/// all nines.
fn next_digits(digits: &str) -> Option<String> {
    let mut bytes = digits.as_bytes().to_vec();
    for b in bytes.iter_mut().rev() {
        if *b == b'9' {
            *b = b'0';
        } else {
            *b += 1;
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

impl Scope<'_> {
    /// The devices the caller sees in this scope.
    pub fn seen(&self) -> &Seen {
        match self {
            Scope::Tenant(r) => r.seen(false),
            Scope::Subtree(r) => r.seen(true),
        }
    }
    /// The tenant the scope is at.
    pub fn reached(&self) -> &Reached {
        match self {
            Scope::Tenant(r) | Scope::Subtree(r) => r,
        }
    }
}

type Predicate<'a> = Box<dyn BoxableExpression<devices::table, Pg, SqlType = Bool> + 'a>;

/// Devices inside one of the windows a membership limited to groups leaves open.
fn within<'a>(windows: &[Window]) -> Predicate<'a> {
    let mut any: Predicate<'a> = Box::new(false.into_sql::<Bool>());
    for w in windows {
        let place: Predicate<'a> = if w.subtree {
            let (lo, hi) = subtree_bounds(&w.path);
            Box::new(devices::tenant_path.ge(lo).and(devices::tenant_path.lt(hi)))
        } else {
            Box::new(devices::tenant_path.eq(w.path.clone()))
        };
        let window: Predicate<'a> = match &w.groups {
            None => place,
            Some(groups) => Box::new(
                place.and(
                    devices::id.eq_any(
                        group_devices::table
                            .filter(group_devices::customer_id.eq(CustomerId::of(&w.path)))
                            .filter(group_devices::group_id.eq_any(groups.clone()))
                            .select(group_devices::device_id),
                    ),
                ),
            ),
        };
        any = Box::new(any.or(window));
    }
    any
}

fn filtered<'a>(f: &Filter<'a>) -> devices::BoxedQuery<'a, Pg> {
    let mut q = devices::table.into_boxed();
    q = match f.scope {
        // A tenant's own devices carry exactly its path: the path index answers in name order.
        Scope::Tenant(reached) => q
            .filter(devices::customer_id.eq(reached.customer()))
            .filter(devices::tenant_path.eq(reached.path().to_vec())),
        Scope::Subtree(reached) => {
            let (lo, hi) = subtree_bounds(reached.path());
            q.filter(in_customer!(devices::customer_id, reached.scope()))
                .filter(devices::tenant_path.ge(lo).and(devices::tenant_path.lt(hi)))
        }
    };
    // A membership limited to groups: only the devices its grants admit.
    if let Seen::Only(windows) = f.scope.seen() {
        q = q.filter(within(windows));
    }
    if let Some(group) = f.group {
        q = q.filter(
            devices::id.eq_any(
                group_devices::table
                    .filter(in_customer!(
                        group_devices::customer_id,
                        f.scope.reached().scope()
                    ))
                    .filter(group_devices::group_id.eq(group))
                    .select(group_devices::device_id),
            ),
        );
    }
    let term = f.search.trim();
    if is_identifier_prefix(term) {
        // Digits are an IMEI (prefix): bounded on both sides, the identifier index answers it
        // as one range scan whatever the collation.
        let id = || upper(devices::identifier);
        q = q.filter(id().like(format!("{term}%")));
        q = q.filter(id().ge(term.to_string()));
        if let Some(next) = next_digits(term) {
            q = q.filter(id().lt(next));
        }
    } else if !term.is_empty() {
        let prefix = format!("{}%", crate::db::like_escape(&term.to_ascii_uppercase()));
        let inside = format!("%{}%", crate::db::like_escape(term));
        q = q.filter(
            upper(devices::identifier)
                .like(prefix)
                .or(devices::name.ilike(inside)),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(devices::status.eq(s));
    }
    if f.overdue {
        use crate::db::schema::alerts;
        q = q.filter(
            devices::id.eq_any(
                alerts::table
                    .filter(in_customer!(alerts::customer_id, f.scope.reached().scope()))
                    .filter(alerts::state.eq("open"))
                    .select(alerts::device_id),
            ),
        );
    }
    if let Some(k) = f.kind {
        q = q.filter(devices::kind.eq(k));
    }
    q
}

/// The rows in sort order, after the cursor if there is one.
fn sorted<'a>(f: &Filter<'a>) -> devices::BoxedQuery<'a, Pg> {
    let mut q = filtered(f);
    match f.sort {
        Sort::Name => {
            if let Some((key, id)) = &f.after {
                q = q
                    .filter(keyset(lower(devices::name), devices::id).gt(keyset(key.clone(), *id)));
            }
            q.order((lower(devices::name).asc(), devices::id.asc()))
        }
        Sort::Identifier => {
            if let Some((key, id)) = &f.after {
                q = q.filter(
                    keyset(upper(devices::identifier), devices::id).gt(keyset(key.clone(), *id)),
                );
            }
            q.order((upper(devices::identifier).asc(), devices::id.asc()))
        }
    }
}

/// Counting stops here: "more than 10 000" is as useful as the exact figure and stays cheap
/// on a subtree of a million devices.
pub const COUNT_CAP: i64 = 10_000;

/// A search counts its matches only this far: someone looking for a device by its IMEI or
/// name needs "more than 1 000" no more than the exact figure, and a root's search then
/// walks a tenth of the entries.
pub const SEARCH_COUNT_CAP: i64 = 1_000;

/// How many devices match: exact from the kept counts, or counted up to `COUNT_CAP + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Total {
    pub n: i64,
    /// False when the count stopped at `cap` ("more than 10 000").
    pub exact: bool,
    pub cap: i64,
    /// For a list of one tenant alone whose reader sees below it, unfiltered: how many
    /// devices its sub-tenants hold, which the list leaves out (read from the same kept
    /// counts, in the same statement).
    pub below: Option<i64>,
}

/// The total without reading the devices when the kept counts answer it: no search, no kind,
/// group or overdue filter (the counts are kept per tenant and status, for the tenant alone and for its
/// subtree). One or a few rows of `device_counts`, whatever the size of the subtree.
fn kept_total(
    conn: &mut PgConnection,
    f: &Filter<'_>,
) -> Result<Option<(i64, Option<i64>)>, DomainError> {
    if !f.search.trim().is_empty()
        || f.kind.is_some()
        || f.group.is_some()
        || f.overdue
        || *f.scope.seen() != Seen::All
    {
        return Ok(None);
    }
    let (reached, subtree, sees_below) = match f.scope {
        Scope::Tenant(r) => (r, false, r.sees_below()),
        Scope::Subtree(r) => (r, true, true),
    };
    let mut q = device_counts::table
        .filter(device_counts::customer_id.eq(reached.customer()))
        .filter(device_counts::tenant_id.eq(reached.id()))
        .into_boxed();
    if let Some(s) = f.status {
        q = q.filter(device_counts::status.eq(s.as_str()));
    }
    let rows: Vec<(i64, i64)> = q
        .select((device_counts::own, device_counts::total))
        .load(conn)?;
    let own: i64 = rows.iter().map(|r| r.0).sum();
    let all: i64 = rows.iter().map(|r| r.1).sum();
    Ok(Some(if subtree {
        (all, None)
    } else {
        (own, sees_below.then_some(all - own))
    }))
}

/// One page (up to `limit` rows) and how many match in all.
pub fn page(conn: &mut PgConnection, f: &Filter<'_>) -> Result<(Vec<Device>, Total), DomainError> {
    let kept = kept_total(conn, f)?;
    crate::db::plans::per_execution(conn, |conn| {
        let total = match kept {
            Some((n, below)) => Total {
                n,
                exact: true,
                cap: COUNT_CAP,
                below,
            },
            None => {
                // Counting stops at the cap: a walk of at most cap + 1 entries.
                let cap = if f.search.trim().is_empty() {
                    COUNT_CAP
                } else {
                    SEARCH_COUNT_CAP
                };
                let n = filtered(f)
                    .select(1.into_sql::<Integer>())
                    .limit(cap + 1)
                    .load::<i32>(conn)?
                    .len() as i64;
                Total {
                    n,
                    exact: n <= cap,
                    cap,
                    below: None,
                }
            }
        };
        let rows = sorted(f)
            .limit(f.limit)
            .select(Device::as_select())
            .load(conn)?;
        Ok((rows, total))
    })
}

/// Every matching device in sort order, for export.
pub fn all(conn: &mut PgConnection, f: &Filter<'_>) -> Result<Vec<Device>, DomainError> {
    crate::db::plans::per_execution(conn, |conn| {
        Ok(sorted(f).select(Device::as_select()).load(conn)?)
    })
}

/// Devices per status in a scope, counted (one statement per status): for callers limited
/// to groups, whom the kept counts (which cover every device) do not fit.
pub fn count_by_status(
    conn: &mut PgConnection,
    scope: Scope<'_>,
) -> Result<Vec<(DeviceStatus, i64)>, DomainError> {
    let mut f = Filter {
        scope,
        search: "",
        status: None,
        kind: None,
        group: None,
        overdue: false,
        sort: Sort::Name,
        after: None,
        limit: 0,
    };
    let mut counts = Vec::new();
    for status in DeviceStatus::ALL {
        f.status = Some(*status);
        counts.push((*status, filtered(&f).count().get_result(conn)?));
    }
    Ok(counts)
}
