//! Tenant security policies, inherited down the tree like branding — but where a brand below
//! replaces the one above, a policy below may only tighten: two-factor sign-in required once
//! is required below; allowed invitation domains narrow; the idle timeout shortens. What
//! applies at a tenant is the strictest along its path (`fold`), whatever is stored below.
use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::access::{Access, Reached};
use crate::db::schema::{security_policies, tenants};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::permissions::Permission;

pub type FieldErrors = BTreeMap<&'static str, String>;

/// What one tenant sets itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = security_policies)]
pub struct Policy {
    pub require_two_factor: bool,
    pub email_domains: Option<Vec<String>>,
    pub idle_minutes: Option<i32>,
}

/// A value in force and the tenant that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From<T> {
    pub value: T,
    pub tenant: TenantId,
    pub tenant_name: String,
}

/// What applies at a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective {
    pub require_two_factor: Option<From<bool>>,
    pub email_domains: Option<From<Vec<String>>>,
    pub idle_minutes: Option<From<i32>>,
}

impl Effective {
    pub fn requires_two_factor(&self) -> bool {
        self.require_two_factor.is_some()
    }

    /// Whether an invitation may go to `email` here.
    pub fn allows_email(&self, email: &str) -> bool {
        let domain = email
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        self.email_domains
            .as_ref()
            .is_none_or(|d| d.value.contains(&domain))
    }
}

/// The strictest along a path: `chain` holds each tenant's own policy, top first.
pub fn fold(chain: &[(TenantId, String, Policy)]) -> Effective {
    let mut e = Effective::default();
    for (tenant, name, p) in chain {
        if p.require_two_factor && e.require_two_factor.is_none() {
            e.require_two_factor = Some(set_by(*tenant, name, true));
        }
        if let Some(mine) = &p.email_domains {
            let narrowed: Vec<String> = match &e.email_domains {
                Some(above) => mine
                    .iter()
                    .filter(|d| above.value.contains(d))
                    .cloned()
                    .collect(),
                None => mine.clone(),
            };
            if e.email_domains.as_ref().is_none_or(|a| narrowed != a.value) {
                e.email_domains = Some(set_by(*tenant, name, narrowed));
            }
        }
        if let Some(m) = p.idle_minutes
            && e.idle_minutes.as_ref().is_none_or(|a| m < a.value)
        {
            e.idle_minutes = Some(set_by(*tenant, name, m));
        }
    }
    e
}

fn set_by<T>(tenant: TenantId, name: &str, value: T) -> From<T> {
    From {
        value,
        tenant,
        tenant_name: name.to_string(),
    }
}

/// The policies set along `path`, top first.
fn chain(
    conn: &mut PgConnection,
    path: &[TenantId],
) -> Result<Vec<(TenantId, String, Policy)>, DomainError> {
    let rows: Vec<(TenantId, String, Policy)> = security_policies::table
        .inner_join(tenants::table)
        .filter(security_policies::tenant_id.eq_any(path))
        .select((tenants::id, tenants::name, Policy::as_select()))
        .load(conn)?;
    Ok(path
        .iter()
        .filter_map(|t| rows.iter().find(|(id, ..)| id == t).cloned())
        .collect())
}

/// What applies at the tenant at `path`.
pub fn effective(conn: &mut PgConnection, path: &[TenantId]) -> Result<Effective, DomainError> {
    Ok(fold(&chain(conn, path)?))
}

/// What applies at the tenant at `path`, and what applies from above it (the floor its own
/// settings may only raise): one read of the path's policies.
pub fn here_and_above(
    conn: &mut PgConnection,
    path: &[TenantId],
) -> Result<(Effective, Effective), DomainError> {
    let chain = chain(conn, path)?;
    let own = path.last();
    let above: Vec<_> = chain
        .iter()
        .filter(|(t, ..)| Some(t) != own)
        .cloned()
        .collect();
    Ok((fold(&chain), fold(&above)))
}

/// What the tenant sets itself.
pub fn own(conn: &mut PgConnection, tenant: TenantId) -> Result<Policy, DomainError> {
    Ok(security_policies::table
        .find(tenant)
        .select(Policy::as_select())
        .first(conn)
        .optional()?
        .unwrap_or_default())
}

/// The policy form as submitted.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PolicyInput {
    #[serde(default)]
    pub require_two_factor: String,
    #[serde(default)]
    pub email_domains: String,
    #[serde(default)]
    pub idle_minutes: String,
}

fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

impl PolicyInput {
    /// The policy it sets, checked against what applies from above (`above`): tightening only.
    pub fn parse(&self, above: &Effective, max_idle: i32) -> Result<Policy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut domains: Vec<String> = Vec::new();
        for d in self
            .email_domains
            .split([',', ' ', '\n', '\r', '\t'])
            .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
        {
            if !valid_domain(&d) {
                errors.insert(
                    "email_domains",
                    format!("{d:?} is not a domain; write them like acme.example."),
                );
            } else if !domains.contains(&d) {
                domains.push(d);
            }
        }
        if domains.len() > 20 {
            errors.insert("email_domains", "List at most 20 domains.".into());
        }
        if let Some(a) = &above.email_domains
            && let Some(wider) = domains.iter().find(|d| !a.value.contains(d))
        {
            errors.insert(
                "email_domains",
                format!(
                    "{} allows invitations to {} only; a tenant below may narrow that list, \
                     not add {wider}.",
                    a.tenant_name,
                    a.value.join(", ")
                ),
            );
        }
        let idle = match self.idle_minutes.trim() {
            "" => None,
            raw => match raw.parse::<i32>() {
                Ok(m) if (5..=max_idle).contains(&m) => Some(m),
                _ => {
                    errors.insert(
                        "idle_minutes",
                        format!(
                            "Give a number of minutes from 5 to {max_idle}, or leave it empty."
                        ),
                    );
                    None
                }
            },
        };
        if let (Some(m), Some(a)) = (idle, &above.idle_minutes)
            && m > a.value
        {
            errors.insert(
                "idle_minutes",
                format!(
                    "{} signs people out after {} idle minutes; a tenant below may shorten that, \
                     not lengthen it.",
                    a.tenant_name, a.value
                ),
            );
        }
        if errors.is_empty() {
            Ok(Policy {
                require_two_factor: self.require_two_factor == "1",
                email_domains: (!domains.is_empty()).then_some(domains),
                idle_minutes: idle,
            })
        } else {
            Err(errors)
        }
    }
}

/// Sets the reached tenant's own policy (`security.manage` there), tightening only.
pub fn save(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    input: &PolicyInput,
    max_idle: i32,
) -> Result<Result<(), FieldErrors>, DomainError> {
    access.check(reached, Permission::SecurityManage)?;
    let parent = &reached.path()[..reached.path().len() - 1];
    conn.transaction(|conn| {
        let above = effective(conn, parent)?;
        let policy = match input.parse(&above, max_idle) {
            Ok(p) => p,
            Err(errors) => return Ok(Err(errors)),
        };
        let before = own(conn, reached.id())?;
        diesel::insert_into(security_policies::table)
            .values((
                security_policies::tenant_id.eq(reached.id()),
                security_policies::require_two_factor.eq(policy.require_two_factor),
                security_policies::email_domains.eq(&policy.email_domains),
                security_policies::idle_minutes.eq(policy.idle_minutes),
            ))
            .on_conflict(security_policies::tenant_id)
            .do_update()
            .set((
                security_policies::require_two_factor.eq(policy.require_two_factor),
                security_policies::email_domains.eq(&policy.email_domains),
                security_policies::idle_minutes.eq(policy.idle_minutes),
                security_policies::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        let show = |p: &Policy| {
            serde_json::json!({
                "require_two_factor": p.require_two_factor,
                "email_domains": p.email_domains,
                "idle_minutes": p.idle_minutes,
            })
        };
        Event::new(
            AuditAction::TenantSecurityPolicy,
            reached.path(),
            reached.id(),
        )
        .detail(serde_json::json!({ "before": show(&before), "after": show(&policy) }))
        .record(conn, &access.actor)?;
        Ok(Ok(()))
    })
}
