//! API keys: a person's credential for programs, bound to one tenant in their reach and a
//! role no stronger than their own there (`Access::grantable`). What a key may do is decided
//! afresh on every request (`Access::for_key`): the key's role intersected with the creator's
//! present role at that tenant, so demoting, disabling or removing the creator limits or
//! kills the key at once.
//!
//! The secret (`cnp_` + 256 random bits as hex) is shown once; only its SHA-256 is kept: with
//! that much randomness a slow hash adds nothing, and every request must look it up.
pub mod rate;
pub mod replay;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::access::{Grantable, Reached};
use crate::db::schema::{api_keys, roles, tenants, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{ApiKeyId, RoleId, TenantId, UserId};

pub type FieldErrors = BTreeMap<&'static str, String>;

/// What every secret starts with, so that a leaked one is recognised (secret scanners).
pub const SECRET_PREFIX: &str = "cnp_";
pub const DEFAULT_DAYS: i64 = 90;
pub const MAX_DAYS: i64 = 365;
/// How often "last used" is written, at most.
const TOUCH_EVERY_SECONDS: i64 = 60;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub role_id: RoleId,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A key as a list shows it: with its owner and its role's name.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub key: ApiKey,
    pub owner_email: String,
    pub role_name: String,
}

/// A new key as its form submits it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct KeyInput {
    #[serde(default)]
    pub name: String,
    /// Days until it expires; empty for the default.
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub role: String,
}

/// A checked name and lifetime.
pub struct KeyFields {
    pub name: String,
    pub days: i64,
}

impl KeyInput {
    pub fn parse(&self) -> Result<KeyFields, FieldErrors> {
        use crate::domain::text::{hidden_char, hidden_message};
        let mut errors = FieldErrors::new();
        let name = self.name.trim().to_string();
        if name.is_empty() {
            errors.insert(
                "name",
                "Name the key after the program that will use it.".into(),
            );
        } else if name.chars().count() > 100 {
            errors.insert("name", "Use at most 100 characters.".into());
        } else if let Some(c) = hidden_char(&name, &[]) {
            errors.insert("name", hidden_message(c));
        }
        let days = match self.days.trim() {
            "" => Some(DEFAULT_DAYS),
            d => d.parse::<i64>().ok().filter(|d| (1..=MAX_DAYS).contains(d)),
        };
        if days.is_none() {
            errors.insert(
                "days",
                format!("Choose a lifetime from 1 to {MAX_DAYS} days."),
            );
        }
        match days {
            Some(days) if errors.is_empty() => Ok(KeyFields { name, days }),
            _ => Err(errors),
        }
    }
}

fn hash(secret: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(secret.as_bytes()).to_vec()
}

/// Creates a key for the caller (`actor`) in `reached`, a tenant they belong to, with `role`;
/// returns it and its secret, which is never available again.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    owner: UserId,
    reached: &Reached,
    role: &Grantable,
    fields: &KeyFields,
) -> Result<(ApiKey, String), DomainError> {
    let secret = format!("{SECRET_PREFIX}{}", crate::crypto::random_hex(32));
    let prefix: String = secret.chars().take(SECRET_PREFIX.len() + 8).collect();
    conn.transaction(|conn| {
        let now = crate::domain::clock::now(conn)?;
        let key: ApiKey = diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(ApiKeyId::new()),
                api_keys::user_id.eq(owner),
                api_keys::tenant_id.eq(reached.id()),
                api_keys::role_id.eq(role.role().id),
                api_keys::name.eq(&fields.name),
                api_keys::prefix.eq(&prefix),
                api_keys::secret_hash.eq(hash(&secret)),
                api_keys::created_at.eq(now),
                api_keys::expires_at.eq(now + Duration::days(fields.days)),
            ))
            .returning(ApiKey::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::ApiKeyCreate, reached.path(), key.id)
            .detail(serde_json::json!({
                "name": key.name, "prefix": key.prefix, "role": role.role().name,
                "expires_at": key.expires_at,
            }))
            .record(conn, actor)?;
        Ok((key, secret))
    })
}

/// The keys of `reached`: everyone's (`owner` = `None`, for whoever manages keys there) or
/// one member's; newest first, revoked and expired ones included (they say what happened).
pub fn list(
    conn: &mut PgConnection,
    reached: &Reached,
    owner: Option<UserId>,
) -> Result<Vec<Listed>, DomainError> {
    let mut q = api_keys::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(api_keys::tenant_id.eq(reached.id()))
        .select((ApiKey::as_select(), users::email, roles::name))
        .order(api_keys::created_at.desc())
        .limit(500)
        .into_boxed();
    if let Some(owner) = owner {
        q = q.filter(api_keys::user_id.eq(owner));
    }
    Ok(q.load(conn)?)
}

/// One key of `reached`, or `NotFound`.
pub fn find_in(
    conn: &mut PgConnection,
    reached: &Reached,
    id: ApiKeyId,
) -> Result<ApiKey, DomainError> {
    api_keys::table
        .find(id)
        .filter(api_keys::tenant_id.eq(reached.id()))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// Revokes a key at once (a revoked key stays listed as revoked); audited.
pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    reached: &Reached,
    key: &ApiKey,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let changed = diesel::update(api_keys::table.find(key.id))
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(diesel::dsl::now))
            .execute(conn)?;
        if changed == 0 {
            return Err(DomainError::Conflict("This key is revoked already.".into()));
        }
        Event::new(AuditAction::ApiKeyRevoke, reached.path(), key.id)
            .detail(serde_json::json!({ "name": key.name, "prefix": key.prefix }))
            .record(conn, actor)
    })
}

/// Revokes every live key a person holds in `tenant` (their membership ended) or, with
/// `tenant` = `None`, anywhere (their account was disabled): a key must not come back to life
/// if they are let in again. Inside the caller's transaction.
pub fn revoke_held(
    conn: &mut PgConnection,
    user: UserId,
    tenant: Option<TenantId>,
) -> Result<usize, DomainError> {
    let mut q = diesel::update(api_keys::table)
        .filter(api_keys::user_id.eq(user))
        .filter(api_keys::revoked_at.is_null())
        .into_boxed();
    if let Some(tenant) = tenant {
        q = q.filter(api_keys::tenant_id.eq(tenant));
    }
    Ok(q.set(api_keys::revoked_at.eq(diesel::dsl::now))
        .execute(conn)?)
}

/// The live key whose secret this is, with its tenant's path; `None` for an unknown, revoked
/// or expired one (the caller cannot tell which: a guess learns nothing). Marks it used, at
/// most once a minute.
pub fn authenticate(
    conn: &mut PgConnection,
    secret: &str,
) -> Result<Option<(ApiKey, Vec<TenantId>)>, DomainError> {
    if !secret.starts_with(SECRET_PREFIX) || secret.len() > 100 {
        return Ok(None);
    }
    let key: Option<(ApiKey, Vec<TenantId>)> = api_keys::table
        .inner_join(tenants::table)
        .filter(api_keys::secret_hash.eq(hash(secret)))
        .filter(api_keys::revoked_at.is_null())
        .filter(api_keys::expires_at.gt(crate::db::functions::canopy_now()))
        .select((ApiKey::as_select(), tenants::traversal_ids))
        .first(conn)
        .optional()?;
    if let Some((key, _)) = &key {
        let stale = api_keys::last_used_at
            .is_null()
            .or(api_keys::last_used_at.lt(Utc::now() - Duration::seconds(TOUCH_EVERY_SECONDS)));
        diesel::update(api_keys::table.find(key.id))
            .filter(stale)
            .set(api_keys::last_used_at.eq(diesel::dsl::now))
            .execute(conn)?;
    }
    Ok(key)
}
