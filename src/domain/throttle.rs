//! Sign-in throttling kept in PostgreSQL, so that it holds across instances.
//!
//! Two buckets: per client address, and per account. A browser that carries a device cookie
//! from an earlier successful sign-in to that account is judged by a bucket of its own
//! instead, so that nobody failing on purpose — from anywhere, or from behind the same proxy
//! — can lock the owner out (OWASP's device cookies).
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::login_failures;
use crate::domain::error::DomainError;

pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_PER_ADDRESS: i64 = 50;
pub const MAX_PER_ACCOUNT: i64 = 10;
pub const MAX_PER_DEVICE: i64 = 10;

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    Blocked { retry_after_secs: i64 },
}

fn address_key(addr: &str) -> String {
    format!("addr:{addr}")
}

fn account_key(email: &str) -> String {
    format!("acct:{}", email.trim().to_lowercase())
}

fn device_key(token_id: Uuid) -> String {
    format!("device:{token_id}")
}

/// The buckets a sign-in attempt counts against: its device's alone when it carries a device
/// cookie for the account, else its address's and the account's.
fn keys(addr: &str, email: &str, device: Option<Uuid>) -> Vec<(String, i64)> {
    match device {
        Some(id) => vec![(device_key(id), MAX_PER_DEVICE)],
        None => vec![
            (address_key(addr), MAX_PER_ADDRESS),
            (account_key(email), MAX_PER_ACCOUNT),
        ],
    }
}

fn bucket(conn: &mut PgConnection, key: &str, max: i64) -> Result<Verdict, DomainError> {
    let since = Utc::now() - chrono::Duration::seconds(WINDOW_SECS);
    let (count, oldest): (i64, Option<DateTime<Utc>>) = login_failures::table
        .filter(login_failures::key.eq(key))
        .filter(login_failures::at.gt(since))
        .select((
            diesel::dsl::count_star(),
            diesel::dsl::min(login_failures::at),
        ))
        .first(conn)?;
    if count < max {
        return Ok(Verdict::Allowed);
    }
    let freed_at = oldest.unwrap_or_else(Utc::now) + chrono::Duration::seconds(WINDOW_SECS);
    Ok(Verdict::Blocked {
        retry_after_secs: (freed_at - Utc::now()).num_seconds().max(1),
    })
}

/// Whether a sign-in may be tried now; `device` is the id of a device cookie recognised for
/// this account.
pub fn check(
    conn: &mut PgConnection,
    addr: &str,
    email: &str,
    device: Option<Uuid>,
) -> Result<Verdict, DomainError> {
    for (key, max) in keys(addr, email, device) {
        let verdict = bucket(conn, &key, max)?;
        if verdict != Verdict::Allowed {
            return Ok(verdict);
        }
    }
    Ok(Verdict::Allowed)
}

pub fn record_failure(
    conn: &mut PgConnection,
    addr: &str,
    email: &str,
    device: Option<Uuid>,
) -> Result<(), DomainError> {
    let keys: Vec<String> = keys(addr, email, device)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let expired = Utc::now() - chrono::Duration::seconds(WINDOW_SECS);
    diesel::delete(
        login_failures::table
            .filter(login_failures::key.eq_any(&keys))
            .filter(login_failures::at.lt(expired)),
    )
    .execute(conn)?;
    let rows: Vec<_> = keys.iter().map(|k| login_failures::key.eq(k)).collect();
    diesel::insert_into(login_failures::table)
        .values(&rows)
        .execute(conn)?;
    Ok(())
}

/// Sign-in codes (second factor) a person may get wrong in the window, as many as passwords.
pub const MAX_CODES: i64 = MAX_PER_ACCOUNT;

fn code_key(user: Uuid) -> String {
    format!("code:{user}")
}

/// Whether `user` may try a sign-in code now.
pub fn check_code(conn: &mut PgConnection, user: Uuid) -> Result<Verdict, DomainError> {
    bucket(conn, &code_key(user), MAX_CODES)
}

pub fn record_code_failure(conn: &mut PgConnection, user: Uuid) -> Result<(), DomainError> {
    diesel::insert_into(login_failures::table)
        .values(login_failures::key.eq(code_key(user)))
        .execute(conn)?;
    Ok(())
}

/// Failures older than the window no longer count; drop them.
pub fn purge_expired(conn: &mut PgConnection) -> Result<(), DomainError> {
    let expired = Utc::now() - chrono::Duration::seconds(WINDOW_SECS);
    diesel::delete(login_failures::table.filter(login_failures::at.lt(expired))).execute(conn)?;
    Ok(())
}
