//! A tenant's webhook: each alert on its subtree (opened, acknowledged, resolved) is also
//! POSTed as JSON to a URL its admin sets, signed with HMAC-SHA256 over `"{timestamp}.{body}"`
//! (`Canopy-Signature: t=…,v1=…`). Deliveries are written in the alert's transaction and sent
//! later like emails (`crate::hooks`), retried with backoff until accepted once.
//!
//! Only `https://` URLs are accepted, except while the portal itself runs on a loopback
//! address (a developer's machine, the tests): a webhook must not become a way to make the
//! portal call into the network it runs in.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::access::{Access, Reached};
use crate::crypto;
use crate::db::schema::{webhook_deliveries, webhooks};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, TenantId};
use crate::domain::permissions::Permission;
use crate::domain::tenants::Tenant;

/// How many deliveries the webhook page lists.
pub const LOG: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub tenant_id: TenantId,
    pub url: String,
    pub secret: String,
    pub enabled: bool,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// The secret's first characters, to recognise it by.
    pub fn hint(&self) -> &str {
        self.secret.get(..10).unwrap_or("")
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
pub struct Delivery {
    pub id: i64,
    pub tenant_id: TenantId,
    pub event: String,
    pub body: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A URL a webhook may call: `https://`, or `http://` while the portal is on loopback itself.
pub fn parse_url(raw: &str, allow_http: bool) -> Result<String, String> {
    let url = raw.trim();
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://").filter(|_| allow_http) {
        r
    } else {
        return Err("Use an https:// address.".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('@') || url.len() > 500 {
        return Err("Enter a full address, like https://example.com/canopy-alerts.".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("The address cannot contain spaces.".into());
    }
    Ok(url.to_string())
}

pub fn find(conn: &mut PgConnection, tenant: &Tenant) -> Result<Option<Webhook>, DomainError> {
    Ok(webhooks::table
        .filter(webhooks::customer_id.eq(tenant.customer()))
        .filter(webhooks::tenant_id.eq(tenant.id))
        .select(Webhook::as_select())
        .first(conn)
        .optional()?)
}

/// Sets the tenant's webhook URL (and whether it is on). A new webhook, or `new_secret`, gets
/// a new secret, returned to be shown once.
pub fn save(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    url: &str,
    enabled: bool,
    new_secret: bool,
) -> Result<Option<String>, DomainError> {
    access.check(reached, Permission::AlertsWebhook)?;
    conn.transaction(|conn| {
        let existing = find(conn, reached.tenant())?;
        let secret = match (&existing, new_secret) {
            (Some(w), false) => w.secret.clone(),
            _ => format!("whsec_{}", crypto::random_hex(32)),
        };
        diesel::insert_into(webhooks::table)
            .values((
                webhooks::customer_id.eq(reached.customer()),
                webhooks::tenant_id.eq(reached.id()),
                webhooks::url.eq(url),
                webhooks::secret.eq(&secret),
                webhooks::enabled.eq(enabled),
            ))
            .on_conflict((webhooks::tenant_id, webhooks::customer_id))
            .do_update()
            .set((
                webhooks::url.eq(url),
                webhooks::secret.eq(&secret),
                webhooks::enabled.eq(enabled),
                webhooks::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        let fresh = existing.is_none() || new_secret;
        Event::new(AuditAction::WebhookSave, reached.path(), reached.id())
            .detail(serde_json::json!({
                "url": url, "enabled": enabled, "new_secret": fresh,
            }))
            .record(conn, &access.actor)?;
        Ok(fresh.then_some(secret))
    })
}

pub fn remove(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
) -> Result<(), DomainError> {
    access.check(reached, Permission::AlertsWebhook)?;
    conn.transaction(|conn| {
        let gone = diesel::delete(
            webhooks::table
                .filter(webhooks::customer_id.eq(reached.customer()))
                .filter(webhooks::tenant_id.eq(reached.id())),
        )
        .execute(conn)?;
        if gone > 0 {
            Event::new(AuditAction::WebhookRemove, reached.path(), reached.id())
                .record(conn, &access.actor)?;
        }
        Ok(())
    })
}

/// The latest deliveries of the tenant's webhook, newest first.
pub fn log(conn: &mut PgConnection, tenant: &Tenant) -> Result<Vec<Delivery>, DomainError> {
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::customer_id.eq(tenant.customer()))
        .filter(webhook_deliveries::tenant_id.eq(tenant.id))
        .order(webhook_deliveries::id.desc())
        .limit(LOG)
        .select(Delivery::as_select())
        .load(conn)?)
}

/// Whether a tenant on `path` has its webhook on.
pub fn any_on(conn: &mut PgConnection, path: &[TenantId]) -> Result<bool, DomainError> {
    Ok(diesel::select(diesel::dsl::exists(
        webhooks::table
            .filter(webhooks::customer_id.eq_any(CustomerId::along(path)))
            .filter(webhooks::tenant_id.eq_any(path))
            .filter(webhooks::enabled),
    ))
    .get_result(conn)?)
}

/// Queues `event` for every tenant on `path` (the alert's tenant and those above it) whose
/// webhook is on, in the caller's transaction. Returns how many were queued.
pub fn enqueue(
    conn: &mut PgConnection,
    path: &[TenantId],
    event: &str,
    body: &serde_json::Value,
) -> Result<usize, DomainError> {
    enqueue_all(conn, &[(path, event)], |_| body.clone())
}

/// Queues each `(path, event)` as `enqueue` does, in two statements however many; `body(i)`
/// makes the body of the `i`th, only when a webhook on its path is on.
pub fn enqueue_all(
    conn: &mut PgConnection,
    events: &[(&[TenantId], &str)],
    body: impl Fn(usize) -> serde_json::Value,
) -> Result<usize, DomainError> {
    // The tenants on a path belong to at most two customers: the operator's and one below.
    let mut customers: Vec<CustomerId> = Vec::new();
    let mut tenants: Vec<TenantId> = Vec::new();
    for (path, _) in events {
        customers.extend(CustomerId::along(path));
        tenants.extend(path.iter().copied());
    }
    customers.sort();
    customers.dedup();
    tenants.sort();
    tenants.dedup();
    let hooked: Vec<(TenantId, CustomerId)> = webhooks::table
        .filter(webhooks::customer_id.eq_any(&customers))
        .filter(webhooks::tenant_id.eq_any(&tenants))
        .filter(webhooks::enabled)
        .select((webhooks::tenant_id, webhooks::customer_id))
        .load(conn)?;
    let mut rows = Vec::new();
    for (i, (path, event)) in events.iter().enumerate() {
        let mut text = None;
        for (t, c) in hooked.iter().filter(|(t, _)| path.contains(t)) {
            let text = text.get_or_insert_with(|| body(i).to_string());
            rows.push((
                webhook_deliveries::customer_id.eq(*c),
                webhook_deliveries::tenant_id.eq(*t),
                webhook_deliveries::event.eq(event.to_string()),
                webhook_deliveries::body.eq(text.clone()),
            ));
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values(rows)
        .execute(conn)?)
}

/// The signature header's value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mac = crypto::hmac_hex(secret.as_bytes(), format!("{timestamp}.{body}").as_bytes());
    format!("t={timestamp},v1={mac}")
}

/// A delivery claimed for sending, with where and how to sign it.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub customer_id: CustomerId,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub event: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub body: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub url: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub secret: String,
}

/// Claims up to `limit` due deliveries for `lease_secs` (each claim is an attempt); a
/// delivery whose webhook was removed or switched off is dropped.
pub fn claim(
    conn: &mut PgConnection,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Claimed>, DomainError> {
    Ok(diesel::sql_query(
        "UPDATE webhook_deliveries d SET claimed_until = canopy_now() + make_interval(secs => $2), \
                attempts = d.attempts + 1 \
         FROM webhooks w \
         WHERE w.customer_id = d.customer_id AND w.tenant_id = d.tenant_id AND w.enabled \
           AND d.id IN ( \
             SELECT id FROM webhook_deliveries \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= canopy_now() \
               AND (claimed_until IS NULL OR claimed_until < canopy_now()) \
             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING d.id, d.customer_id, d.event, d.body, d.attempts, w.url, w.secret",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Double, _>(lease_secs as f64)
    .load(conn)?)
}

/// After a send: accepted (a 2xx), or failed — tried again after `retry_in`, or given up
/// after `max_attempts`.
pub fn settle(
    conn: &mut PgConnection,
    d: &Claimed,
    outcome: Result<u16, String>,
    max_attempts: i32,
    retry_in: chrono::Duration,
) -> Result<(), DomainError> {
    let status = match &outcome {
        Ok(s) => Some(i32::from(*s)),
        Err(_) => None,
    };
    let accepted = matches!(outcome, Ok(s) if (200..300).contains(&s));
    let error = match &outcome {
        Ok(s) if !accepted => Some(format!("the receiver answered {s}")),
        Err(e) => Some(e.clone()),
        _ => None,
    };
    let target = webhook_deliveries::table
        .filter(webhook_deliveries::customer_id.eq(d.customer_id))
        .filter(webhook_deliveries::id.eq(d.id));
    let now = crate::domain::clock::now(conn)?;
    if accepted {
        diesel::update(target)
            .set((
                webhook_deliveries::delivered_at.eq(now),
                webhook_deliveries::last_status.eq(status),
                webhook_deliveries::last_error.eq(None::<String>),
                webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
    } else if d.attempts >= max_attempts {
        diesel::update(target)
            .set((
                webhook_deliveries::failed_at.eq(now),
                webhook_deliveries::last_status.eq(status),
                webhook_deliveries::last_error.eq(error),
                webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
    } else {
        let later = now + retry_in;
        diesel::update(target)
            .set((
                webhook_deliveries::next_attempt_at.eq(later),
                webhook_deliveries::last_status.eq(status),
                webhook_deliveries::last_error.eq(error),
                webhook_deliveries::claimed_until.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_unless_the_portal_is_on_loopback() {
        assert!(parse_url("https://hooks.example.com/canopy", false).is_ok());
        assert!(parse_url("http://hooks.example.com/canopy", false).is_err());
        assert!(parse_url("http://127.0.0.1:9000/hook", true).is_ok());
        assert!(parse_url("ftp://x", true).is_err());
        assert!(parse_url("https://", false).is_err());
        assert!(parse_url("https://user@evil.example/", false).is_err());
        assert!(parse_url("https://a.example/x y", false).is_err());
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let s = signature("whsec_k", 1_700_000_000, "{}");
        assert!(s.starts_with("t=1700000000,v1="));
        assert_ne!(s, signature("whsec_k", 1_700_000_001, "{}"));
        assert_ne!(s, signature("whsec_k", 1_700_000_000, "{ }"));
        assert_ne!(s, signature("whsec_j", 1_700_000_000, "{}"));
    }
}
