//! The audit log of a subtree: filters, keyset pages (newest first), and a readable line per
//! event that names only tenants the reader reaches.
use std::collections::HashMap;

use crate::db::functions::lower;
use chrono::{DateTime, Days, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::access::Reached;
use crate::db::schema::{audit_events, users};
use crate::domain::audit::{AuditAction, TargetType};
use crate::domain::error::DomainError;
use crate::domain::ids::{TenantId, in_customer};
use crate::domain::tenants::subtree_bounds;

/// What to look for; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Part of the actor's email or name.
    pub actor: String,
    pub action: Option<AuditAction>,
    pub target_type: Option<TargetType>,
    pub target_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    /// Inclusive: the whole day counts.
    pub to: Option<NaiveDate>,
    /// Keyset: events older than this id.
    pub before: Option<i64>,
}

#[derive(Debug, Clone, Queryable)]
pub struct LogEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub tenant_id: Option<TenantId>,
    pub action: AuditAction,
    pub target_type: TargetType,
    pub target_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub client_addr: Option<String>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
}

/// Events of the subtree at `path` matching `f`, newest first; at most `limit`.
/// Events of the reached tenant's subtree that match the filter, newest first.
pub fn search(
    conn: &mut PgConnection,
    reached: &Reached,
    f: &LogFilter,
    limit: i64,
) -> Result<Vec<LogEntry>, DomainError> {
    crate::db::plans::per_execution(conn, |conn| search_planned(conn, reached, f, limit))
}

fn search_planned(
    conn: &mut PgConnection,
    reached: &Reached,
    f: &LogFilter,
    limit: i64,
) -> Result<Vec<LogEntry>, DomainError> {
    let mut q = audit_events::table
        .left_join(users::table.on(users::id.nullable().eq(audit_events::actor_id)))
        .into_boxed();
    // The subtree's history for those who see all of it; the tenant's own otherwise.
    q = if reached.sees_all_below() {
        let (lo, hi) = subtree_bounds(reached.path());
        q.filter(in_customer!(audit_events::customer_id, reached.scope()))
            .filter(
                audit_events::tenant_path
                    .ge(lo)
                    .and(audit_events::tenant_path.lt(hi)),
            )
    } else {
        q.filter(audit_events::customer_id.eq(reached.customer()))
            .filter(audit_events::tenant_path.eq(reached.path().to_vec()))
    };
    let actor = f.actor.trim().to_lowercase();
    if !actor.is_empty() {
        let pattern = format!("%{}%", crate::db::like_escape(&actor));
        q = q.filter(
            lower(users::email)
                .nullable()
                .like(pattern.clone())
                .or(lower(users::display_name).nullable().like(pattern)),
        );
    }
    if let Some(a) = &f.action {
        q = q.filter(audit_events::action.eq(*a));
    }
    if let Some(t) = &f.target_type {
        q = q.filter(audit_events::target_type.eq(*t));
    }
    if let Some(id) = f.target_id {
        q = q.filter(audit_events::target_id.eq(id));
    }
    if let Some(from) = f.from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        q = q.filter(audit_events::at.ge(from.and_utc()));
    }
    if let Some(to) =
        f.to.and_then(|d| d.checked_add_days(Days::new(1)))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    {
        q = q.filter(audit_events::at.lt(to.and_utc()));
    }
    if let Some(before) = f.before {
        q = q.filter(audit_events::id.lt(before));
    }
    Ok(q.order(audit_events::id.desc())
        .limit(limit)
        .select((
            audit_events::id,
            audit_events::at,
            audit_events::tenant_id,
            audit_events::action,
            audit_events::target_type,
            audit_events::target_id,
            audit_events::detail,
            audit_events::client_addr,
            users::display_name.nullable(),
            users::email.nullable(),
        ))
        .load(conn)?)
}

/// The tenants an entry's detail refers to by id ("from", "to").
pub fn referenced_tenants(entries: &[LogEntry]) -> Vec<TenantId> {
    let mut ids: Vec<TenantId> = entries
        .iter()
        .filter(|e| matches!(e.action.as_str(), "device.move" | "tenant.move"))
        .flat_map(|e| ["from", "to"].map(|k| e.detail.get(k).cloned()))
        .flatten()
        .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The detail as text. Tenant ids become names when `names` has them (the reader reaches
/// them) and "a tenant outside your view" otherwise.
pub fn detail_text(entry: &LogEntry, names: &HashMap<TenantId, String>) -> String {
    detail_text_with(entry, names, str::to_string)
}

/// `detail_text` with each value passed through `shown` (a page shortens them).
pub fn detail_text_with(
    entry: &LogEntry,
    names: &HashMap<TenantId, String>,
    shown: impl Fn(&str) -> String,
) -> String {
    let Some(map) = entry.detail.as_object() else {
        return String::new();
    };
    let tenant_ref = matches!(entry.action.as_str(), "device.move" | "tenant.move");
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let value = match v.as_str() {
                Some(s) if tenant_ref && (k == "from" || k == "to") => s
                    .parse::<TenantId>()
                    .ok()
                    .and_then(|id| names.get(&id).cloned())
                    .unwrap_or_else(|| "a tenant outside your view".into()),
                Some(s) => s.to_string(),
                None => v.to_string(),
            };
            format!("{k}: {}", shown(&value))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
