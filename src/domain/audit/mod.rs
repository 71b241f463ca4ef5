//! Audit events: who did what to which object in which tenant, from where. Written by the
//! model method that makes the change, inside its transaction.
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::audit_events;
use crate::domain::error::DomainError;
use crate::domain::ids::{ApiKeyId, CustomerId, TenantId, UserId};

mod actions;
pub mod log;
pub mod sentence;

pub use actions::{AuditAction, TargetType};

/// Who is acting, and from which client address.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub client_addr: Option<String>,
    /// The API key a program acted with; `None` in a browser.
    pub api_key: Option<ApiKeyId>,
}

impl Actor {
    pub fn system() -> Self {
        Self {
            user_id: None,
            client_addr: None,
            api_key: None,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewAuditEvent<'a> {
    customer_id: CustomerId,
    actor_id: Option<UserId>,
    tenant_id: Option<TenantId>,
    tenant_path: Option<&'a [TenantId]>,
    action: AuditAction,
    target_type: TargetType,
    target_id: Option<Uuid>,
    detail: &'a serde_json::Value,
    client_addr: Option<&'a str>,
    api_key_id: Option<ApiKeyId>,
}

/// What happened; `tenant_path` places the event in the tree for subtree queries.
pub struct Event<'a> {
    pub tenant_path: Option<&'a [TenantId]>,
    pub action: AuditAction,
    pub target_id: Option<Uuid>,
    pub detail: serde_json::Value,
}

impl<'a> Event<'a> {
    /// `action` done to `target` in the tenant at `tenant_path`.
    pub fn new(action: AuditAction, tenant_path: &'a [TenantId], target: impl Into<Uuid>) -> Self {
        Self {
            tenant_path: Some(tenant_path),
            action,
            target_id: Some(target.into()),
            detail: serde_json::json!({}),
        }
    }

    /// `action` placed in no tenant (a person's own sessions and password).
    pub fn outside(action: AuditAction, target: Option<Uuid>) -> Self {
        Self {
            tenant_path: None,
            action,
            target_id: target,
            detail: serde_json::json!({}),
        }
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }

    /// Writes the event, inside the caller's transaction.
    pub fn record(self, conn: &mut PgConnection, actor: &Actor) -> Result<(), DomainError> {
        record_many(conn, actor, std::slice::from_ref(&self))
    }
}

impl<'a> NewAuditEvent<'a> {
    fn new(actor: &'a Actor, event: &'a Event<'a>) -> Self {
        NewAuditEvent {
            customer_id: event.tenant_path.map_or(CustomerId::NONE, CustomerId::of),
            actor_id: actor.user_id,
            tenant_id: event.tenant_path.and_then(|p| p.last().copied()),
            tenant_path: event.tenant_path,
            action: event.action,
            target_type: event.action.target_type(),
            target_id: event.target_id,
            detail: &event.detail,
            client_addr: actor.client_addr.as_deref(),
            api_key_id: actor.api_key,
        }
    }
}

/// Events in one statement (bulk work such as imports writes many at once).
pub fn record_many(
    conn: &mut PgConnection,
    actor: &Actor,
    events: &[Event<'_>],
) -> Result<(), DomainError> {
    let rows: Vec<NewAuditEvent<'_>> = events
        .iter()
        .map(|e| NewAuditEvent::new(actor, e))
        .collect();
    diesel::insert_into(audit_events::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}
