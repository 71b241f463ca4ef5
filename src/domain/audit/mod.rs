//! Audit events: who did what to which object in which tenant, from where. Written by the
//! model method that makes the change, inside its transaction.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::audit_events;
use crate::domain::error::DomainError;
use crate::domain::ids::{TenantId, UserId};

mod actions;
pub mod log;

pub use actions::{AuditAction, TargetType};

/// Who is acting, and from which client address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub client_addr: Option<String>,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            user_id: None,
            client_addr: None,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    actor_id: Option<UserId>,
    tenant_id: Option<TenantId>,
    tenant_path: Option<&'a [TenantId]>,
    action: AuditAction,
    target_type: TargetType,
    target_id: Option<Uuid>,
    detail: serde_json::Value,
    client_addr: Option<&'a str>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<UserId>,
    pub tenant_id: Option<TenantId>,
    pub action: AuditAction,
    pub target_type: TargetType,
    pub target_id: Option<Uuid>,
    pub detail: serde_json::Value,
    pub client_addr: Option<String>,
}

/// What happened; `tenant_path` places the event in the tree for subtree queries.
pub struct Event<'a> {
    pub tenant_path: Option<&'a [TenantId]>,
    pub action: AuditAction,
    pub target_type: TargetType,
    pub target_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

pub fn record(conn: &mut PgConnection, actor: &Actor, event: Event<'_>) -> Result<(), DomainError> {
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            actor_id: actor.user_id,
            tenant_id: event.tenant_path.and_then(|p| p.last().copied()),
            tenant_path: event.tenant_path,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            detail: event.detail,
            client_addr: actor.client_addr.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}

/// Several events in one statement (bulk work such as imports).
pub fn record_many(
    conn: &mut PgConnection,
    actor: &Actor,
    events: &[Event<'_>],
) -> Result<(), DomainError> {
    let rows: Vec<NewAuditEvent<'_>> = events
        .iter()
        .map(|event| NewAuditEvent {
            actor_id: actor.user_id,
            tenant_id: event.tenant_path.and_then(|p| p.last().copied()),
            tenant_path: event.tenant_path,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            detail: event.detail.clone(),
            client_addr: actor.client_addr.as_deref(),
        })
        .collect();
    diesel::insert_into(audit_events::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

/// The latest events about one target, newest first.
pub fn for_target(
    conn: &mut PgConnection,
    target_id: Uuid,
    limit: i64,
) -> Result<Vec<AuditEvent>, DomainError> {
    Ok(audit_events::table
        .filter(audit_events::target_id.eq(target_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select(AuditEvent::as_select())
        .load(conn)?)
}
