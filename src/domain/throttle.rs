//! Sign-in throttling kept in PostgreSQL, so that it holds across instances.
//!
//! Two buckets: per client address, and per account. The account bucket is skipped for a
//! browser that carries a device cookie from an earlier successful sign-in to that account,
//! so that an attacker failing on purpose cannot lock the owner out (OWASP's device cookies).
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::login_failures;
use crate::error::AppError;

pub const WINDOW_SECS: i64 = 15 * 60;
pub const MAX_PER_ADDRESS: i64 = 50;
pub const MAX_PER_ACCOUNT: i64 = 10;

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

fn bucket(conn: &mut PgConnection, key: &str, max: i64) -> Result<Verdict, AppError> {
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

pub fn check(
    conn: &mut PgConnection,
    addr: &str,
    email: &str,
    trusted_device: bool,
) -> Result<Verdict, AppError> {
    let by_address = bucket(conn, &address_key(addr), MAX_PER_ADDRESS)?;
    if by_address != Verdict::Allowed || trusted_device {
        return Ok(by_address);
    }
    bucket(conn, &account_key(email), MAX_PER_ACCOUNT)
}

pub fn record_failure(conn: &mut PgConnection, addr: &str, email: &str) -> Result<(), AppError> {
    let keys = [address_key(addr), account_key(email)];
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

/// Failures older than the window no longer count; drop them.
pub fn purge_expired(conn: &mut PgConnection) -> Result<(), AppError> {
    let expired = Utc::now() - chrono::Duration::seconds(WINDOW_SECS);
    diesel::delete(login_failures::table.filter(login_failures::at.lt(expired))).execute(conn)?;
    Ok(())
}
