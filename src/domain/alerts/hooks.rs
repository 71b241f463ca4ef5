//! What webhooks are told of an alert.
use diesel::prelude::*;

use super::Alert;
use crate::db::schema::{devices, tenants};
use crate::domain::error::DomainError;

/// Queues the alert's event for the webhooks of its tenant and those above, in the caller's
/// transaction.
pub fn announce(conn: &mut PgConnection, alert: &Alert, event: &str) -> Result<(), DomainError> {
    // Most trees have no webhook: one look, and nothing else is read.
    if !crate::domain::webhooks::any_on(conn, &alert.tenant_path)? {
        return Ok(());
    }
    let device: Option<(String, String)> = devices::table
        .filter(devices::customer_id.eq(alert.customer_id))
        .filter(devices::id.eq(alert.device_id))
        .select((devices::name, devices::identifier))
        .first(conn)
        .optional()?;
    let tenant: Option<String> = tenants::table
        .find(alert.tenant_id)
        .select(tenants::name)
        .first(conn)
        .optional()?;
    let (name, identifier) = device.unwrap_or_default();
    let body = hook_body(
        alert,
        event,
        &name,
        &identifier,
        &tenant.unwrap_or_default(),
    );
    crate::domain::webhooks::enqueue(conn, &alert.tenant_path, event, &body)?;
    Ok(())
}

/// What a webhook is told of an alert.
pub(super) fn hook_body(
    alert: &Alert,
    event: &str,
    device: &str,
    identifier: &str,
    tenant: &str,
) -> serde_json::Value {
    serde_json::json!({
        "event": event,
        "alert": {
            "id": alert.id, "state": alert.state, "due_at": alert.due_at,
            "opened_at": alert.opened_at, "acknowledged_by": alert.acknowledged_by,
            "note": alert.ack_note, "resolved_reason": alert.resolved_reason,
        },
        "device": { "id": alert.device_id, "name": device, "identifier": identifier },
        "tenant": { "id": alert.tenant_id, "name": tenant },
    })
}
