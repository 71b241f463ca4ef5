//! Password reset by email, through the same token machinery as invitations: ≥128-bit
//! tokens, only hashes stored, single use, expiring. Asking never reveals whether an
//! address has an account; a reset ends the user's sessions.
use chrono::Utc;
use diesel::prelude::*;

use crate::crypto;
use crate::db::schema::{password_resets, reset_requests, users as user_rows};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::branding::{self, Brand};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::memberships;
use crate::domain::password::Password;
use crate::domain::users::{self, User};
use crate::email::{messages, outbox};

pub const MAX_PER_HOUR: i64 = 3;

/// The brand of the tenant the user lands in, by the same rule as the portal.
fn home_brand(conn: &mut PgConnection, user: &User) -> Result<Brand, DomainError> {
    let grants = memberships::active_grants(conn, user.id)?;
    match memberships::home(user.last_tenant_id, &grants) {
        Some(id) => Ok(branding::tenant_with_brand(conn, id)?
            .map(|(_, brand)| brand)
            .unwrap_or_default()),
        None => Ok(Brand::default()),
    }
}

/// Records that someone asked for a reset of `email`: one insert whatever the address, so
/// that neither the answer nor its time tells a known address from an unknown one.
pub fn ask(conn: &mut PgConnection, email: &str) -> Result<(), DomainError> {
    let email: String = email.trim().chars().take(254).collect();
    diesel::insert_into(reset_requests::table)
        .values(reset_requests::email.eq(email))
        .execute(conn)?;
    Ok(())
}

/// Takes up to `limit` recorded requests (any number of workers may run) and queues a reset
/// email for each that names an active user; the others are dropped. One transaction: a
/// request whose email could not be queued stays for the next round.
pub fn fulfil_pending(
    conn: &mut PgConnection,
    base_url: &str,
    ttl: std::time::Duration,
    limit: i64,
) -> Result<usize, DomainError> {
    conn.transaction(|conn| {
        let emails: Vec<String> = crate::db::prepared::prepared(
            "DELETE FROM reset_requests WHERE id IN \
             (SELECT id FROM reset_requests ORDER BY id FOR UPDATE SKIP LOCKED LIMIT $1) \
             RETURNING email",
        )
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load::<Taken>(conn)?
        .into_iter()
        .map(|t| t.email)
        .collect();
        for email in &emails {
            request(conn, email, base_url, ttl)?;
        }
        Ok(emails.len())
    })
}

#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
}

/// Queues a reset email when `email` belongs to an active user; silent otherwise.
pub fn request(
    conn: &mut PgConnection,
    email: &str,
    base_url: &str,
    ttl: std::time::Duration,
) -> Result<(), DomainError> {
    let Some(user) = users::find_by_email(conn, email)? else {
        return Ok(());
    };
    if !user.is_active() {
        return Ok(());
    }
    // A few links an hour at most, so that nobody can flood someone's inbox.
    let recent: i64 = password_resets::table
        .filter(password_resets::user_id.eq(user.id))
        .filter(password_resets::created_at.gt(Utc::now() - chrono::Duration::hours(1)))
        .count()
        .get_result(conn)?;
    if recent >= MAX_PER_HOUR {
        return Ok(());
    }
    conn.transaction(|conn| {
        let token = crypto::random_hex(32);
        diesel::insert_into(password_resets::table)
            .values((
                password_resets::token_hash.eq(crypto::sha256_hex(token.as_bytes())),
                password_resets::user_id.eq(user.id),
                password_resets::expires_at
                    .eq(Utc::now() + chrono::Duration::seconds(ttl.as_secs() as i64)),
            ))
            .execute(conn)?;
        let link = format!("{base_url}/password/reset/{token}");
        let brand = home_brand(conn, &user)?.for_mail(base_url);
        let m = messages::password_reset(&brand, &user.display_name, &link, ttl.as_secs() / 60)?;
        outbox::enqueue(
            conn,
            outbox::NewMessage {
                to: &user.email,
                subject: &m.subject,
                text: &m.text,
                html: &m.html,
                invitation_id: None,
            },
        )?;
        Ok(())
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("This reset link is not valid, was used already, or has expired. Ask for a new one.")]
    Invalid,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for ResetError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// The user a live token belongs to.
pub fn check(conn: &mut PgConnection, token: &str) -> Result<User, ResetError> {
    let user_id = password_resets::table
        .filter(password_resets::token_hash.eq(crypto::sha256_hex(token.as_bytes())))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(Utc::now()))
        .select(password_resets::user_id)
        .first(conn)
        .optional()?
        .ok_or(ResetError::Invalid)?;
    users::find(conn, user_id)?
        .filter(User::is_active)
        .ok_or(ResetError::Invalid)
}

/// Sets the new password, spends the token and ends every session, in one transaction.
pub fn reset(
    conn: &mut PgConnection,
    token: &str,
    password: &Password,
    client_addr: Option<String>,
) -> Result<User, ResetError> {
    let hash = password.hash()?;
    conn.transaction(|conn| {
        let spent = diesel::update(
            password_resets::table
                .filter(password_resets::token_hash.eq(crypto::sha256_hex(token.as_bytes())))
                .filter(password_resets::used_at.is_null())
                .filter(password_resets::expires_at.gt(Utc::now())),
        )
        .set(password_resets::used_at.eq(diesel::dsl::now))
        .returning(password_resets::user_id)
        .get_result::<UserId>(conn)
        .optional()?
        .ok_or(ResetError::Invalid)?;
        let user = users::find(conn, spent)?
            .filter(User::is_active)
            .ok_or(ResetError::Invalid)?;
        diesel::update(user_rows::table.find(user.id))
            .set((
                user_rows::password_hash.eq(&hash),
                user_rows::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        users::end_sessions(conn, user.id)?;
        crate::domain::two_factor::forget_browsers(conn, user.id)?;
        Event::outside(AuditAction::UserPasswordReset, Some(user.id.into())).record(
            conn,
            &Actor {
                api_key: None,
                user_id: Some(user.id),
                client_addr,
            },
        )?;
        Ok(user)
    })
}
