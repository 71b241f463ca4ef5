//! Device cookies (OWASP): a browser that signed in to an account before carries a random
//! token for it, and the throttle lets that browser try even while strangers have used up the
//! account's and the address's attempts. Only the token's hash is stored; a password reset,
//! disabling the account and "sign out everywhere" forget every browser.
use diesel::prelude::*;
use uuid::Uuid;

use crate::crypto;
use crate::db::schema::{device_tokens, users};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;

/// A device cookie lives this long (the cookie's own max-age says the same).
pub const LIFETIME_DAYS: i64 = 365;

/// A new token for the user's browser; the raw value goes into the cookie, once.
pub fn issue(conn: &mut PgConnection, user_id: UserId) -> Result<String, DomainError> {
    let token = crypto::random_hex(32);
    diesel::insert_into(device_tokens::table)
        .values((
            device_tokens::id.eq(Uuid::now_v7()),
            device_tokens::user_id.eq(user_id),
            device_tokens::token_hash.eq(crypto::sha256_hex(token.as_bytes())),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The token's id when it is current and was issued to the account with this email.
pub fn recognise(
    conn: &mut PgConnection,
    token: &str,
    email: &str,
) -> Result<Option<Uuid>, DomainError> {
    let since = chrono::Utc::now() - chrono::Duration::days(LIFETIME_DAYS);
    Ok(device_tokens::table
        .inner_join(users::table)
        .filter(device_tokens::token_hash.eq(crypto::sha256_hex(token.as_bytes())))
        .filter(device_tokens::created_at.gt(since))
        .filter(crate::db::functions::lower(users::email).eq(email.trim().to_lowercase()))
        .select(device_tokens::id)
        .first(conn)
        .optional()?)
}

/// Forgets every browser of the user.
pub fn revoke_all(conn: &mut PgConnection, user_id: UserId) -> Result<usize, DomainError> {
    Ok(
        diesel::delete(device_tokens::table.filter(device_tokens::user_id.eq(user_id)))
            .execute(conn)?,
    )
}
