//! How an event reads to a person: a sentence naming what was done to what ("renamed a tenant
//! from “Acme” to “Acme Haulage”"), and the rest of its detail, shortened (a logo's 64-digit
//! hash is its first 8 digits), for those who open it. Tenants are named only when the reader
//! reaches them (`names`); the CSV export keeps the whole detail.
use std::collections::HashMap;

use super::log::{LogEntry, detail_text_with};
use crate::domain::ids::TenantId;

/// A value as a sentence quotes it.
fn text(entry: &LogEntry, key: &str) -> Option<String> {
    match entry.detail.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn tenant(entry: &LogEntry, key: &str, names: &HashMap<TenantId, String>) -> String {
    text(entry, key)
        .and_then(|s| s.parse::<TenantId>().ok())
        .and_then(|id| names.get(&id).cloned())
        .map_or_else(|| "a tenant outside your view".into(), |n| format!("“{n}”"))
}

/// What the actor did, as a sentence without its subject.
pub fn sentence(entry: &LogEntry, names: &HashMap<TenantId, String>) -> String {
    let said = entry.action.describe();
    let quoted = |key: &str| text(entry, key).map(|v| format!("“{v}”"));
    let plain = |key: &str| text(entry, key);
    let specific = match entry.action.as_str() {
        "tenant.rename" => match (quoted("from"), quoted("to")) {
            (Some(f), Some(t)) => Some(format!("renamed a tenant from {f} to {t}")),
            _ => None,
        },
        "tenant.move" => Some(format!(
            "moved a tenant from under {} to under {}",
            tenant(entry, "from", names),
            tenant(entry, "to", names)
        )),
        "device.move" => Some(format!(
            "moved device {} from {} to {}",
            plain("identifier").unwrap_or_default(),
            tenant(entry, "from", names),
            tenant(entry, "to", names)
        )),
        "device.create" | "device.update" | "device.import" => {
            plain("identifier").map(|i| format!("{said} {i}"))
        }
        "tenant.branding" => Some("changed the branding".into()),
        _ => None,
    };
    if let Some(s) = specific {
        return s;
    }
    // Otherwise the action's own words and the one value that names its object.
    let object = ["name", "email", "member", "device", "identifier"]
        .iter()
        .find_map(|k| match *k {
            "email" | "member" | "identifier" => plain(k),
            _ => quoted(k),
        });
    match object {
        Some(o) => format!("{said}: {o}"),
        None => said.to_string(),
    }
}

/// A long value cut to what a person reads: a hash to its first 8 characters, a long text to
/// its first 60.
fn shortened(value: &str) -> String {
    let hexish = value.len() >= 32 && value.bytes().all(|b| b.is_ascii_hexdigit());
    if hexish {
        return format!("{}…", &value[..8]);
    }
    if value.chars().count() > 60 {
        return format!("{}…", value.chars().take(60).collect::<String>());
    }
    value.to_string()
}

/// The detail with long values shortened, for the "details" a reader may open.
pub fn short_detail(entry: &LogEntry, names: &HashMap<TenantId, String>) -> String {
    detail_text_with(entry, names, shortened)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::audit::{AuditAction, TargetType};

    fn entry(action: AuditAction, detail: serde_json::Value) -> LogEntry {
        LogEntry {
            id: 1,
            at: chrono::Utc::now(),
            tenant_id: None,
            action,
            target_type: TargetType::Tenant,
            target_id: None,
            detail,
            client_addr: None,
            actor_name: None,
            actor_email: None,
        }
    }

    #[test]
    fn events_read_as_sentences_with_their_objects_named() {
        let names = HashMap::new();
        let renamed = entry(
            AuditAction::TenantRename,
            serde_json::json!({"from": "Acme", "to": "Acme Haulage"}),
        );
        assert_eq!(
            sentence(&renamed, &names),
            "renamed a tenant from “Acme” to “Acme Haulage”"
        );
        let invited = entry(
            AuditAction::InvitationCreate,
            serde_json::json!({"email": "dana@example.com", "role": "Viewer"}),
        );
        assert!(sentence(&invited, &names).ends_with(": dana@example.com"));
        let moved = entry(
            AuditAction::TenantMove,
            serde_json::json!({"from": uuid::Uuid::now_v7().to_string(), "to": null}),
        );
        assert!(sentence(&moved, &names).contains("a tenant outside your view"));
    }

    #[test]
    fn hashes_and_long_values_are_shortened_in_the_details() {
        let names = HashMap::new();
        let hash = "c4e1cd6a".repeat(8);
        let branded = entry(
            AuditAction::TenantBranding,
            serde_json::json!({"accent": "#8a2b1d", "logo": hash, "display_name": "x".repeat(90)}),
        );
        let shown = short_detail(&branded, &names);
        assert!(shown.contains("logo: c4e1cd6a…"), "{shown}");
        assert!(!shown.contains(&hash));
        assert!(shown.contains("accent: #8a2b1d"));
        assert!(shown.contains(&format!("display_name: {}…", "x".repeat(60))));
        assert_eq!(sentence(&branded, &names), "changed the branding");
    }
}
