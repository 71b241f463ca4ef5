//! Two-factor sign-in: a TOTP secret confirmed with a code before it is on, ten single-use
//! recovery codes (shown once, stored hashed), codes accepted once each and throttled like
//! passwords, browsers remembered for 30 days by a signed token that dies with the next change
//! of password or second factor, and a reset by someone who manages the person.
pub mod totp;

use chrono::Utc;
use diesel::prelude::*;

use crate::crypto;
use crate::db::schema::{recovery_codes, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::throttle;
use crate::domain::users::User;

pub const RECOVERY_CODES: usize = 10;
pub const REMEMBER_DAYS: i64 = 30;

/// A person's second factor as their account page shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub enabled: bool,
    pub recovery_left: i64,
}

pub fn status(conn: &mut PgConnection, user: UserId) -> Result<Status, DomainError> {
    let secret: Option<String> = users::table
        .find(user)
        .select(users::totp_secret)
        .first(conn)?;
    let recovery_left = recovery_codes::table
        .filter(recovery_codes::user_id.eq(user))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(Status {
        enabled: secret.is_some(),
        recovery_left,
    })
}

pub fn enabled(conn: &mut PgConnection, user: UserId) -> Result<bool, DomainError> {
    Ok(users::table
        .find(user)
        .select(users::totp_secret.is_not_null())
        .first(conn)?)
}

/// A fresh secret, base32, for an enrolment to show and confirm.
pub fn new_secret() -> String {
    let mut bytes = [0u8; totp::SECRET_BYTES];
    crypto::fill_random(&mut bytes);
    totp::base32(&bytes)
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Replaces the person's recovery codes with ten new ones; returns them, for showing once.
fn new_recovery_codes(conn: &mut PgConnection, user: UserId) -> Result<Vec<String>, DomainError> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn)?;
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let raw = crypto::random_hex(5);
            format!("{}-{}", &raw[..5], &raw[5..])
        })
        .collect();
    let rows: Vec<_> = codes
        .iter()
        .map(|c| {
            (
                recovery_codes::user_id.eq(user),
                recovery_codes::code_hash.eq(crypto::sha256_hex(normalise_recovery(c).as_bytes())),
            )
        })
        .collect();
    diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(conn)?;
    Ok(codes)
}

/// Turns two-factor sign-in on with `secret` once `typed` is its current code; returns the
/// recovery codes to show once, or the message for the code field.
pub fn enable(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    secret: &str,
    typed: &str,
) -> Result<Result<Vec<String>, String>, DomainError> {
    let Some(bytes) = totp::from_base32(secret) else {
        return Ok(Err("Start the set-up again.".into()));
    };
    let Some(step) = totp::matching_step(&bytes, typed, Utc::now().timestamp()) else {
        return Ok(Err(
            "That code does not match. Check the clock of the phone and type the six digits \
             the app shows now."
                .into(),
        ));
    };
    conn.transaction(|conn| {
        diesel::update(users::table.find(user.id))
            .set((
                users::totp_secret.eq(secret),
                users::totp_last_step.eq(step),
                users::factor_generation.eq(users::factor_generation + 1),
            ))
            .execute(conn)?;
        let codes = new_recovery_codes(conn, user.id)?;
        Event::outside(AuditAction::TwoFactorEnable, Some(user.id.into())).record(conn, actor)?;
        Ok(Ok(codes))
    })
}

/// Clears the second factor and its recovery codes (no audit: the callers record why).
fn clear(conn: &mut PgConnection, user: UserId) -> Result<(), DomainError> {
    diesel::update(users::table.find(user))
        .set((
            users::totp_secret.eq(None::<String>),
            users::totp_last_step.eq(None::<i64>),
            users::factor_generation.eq(users::factor_generation + 1),
        ))
        .execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user))).execute(conn)?;
    Ok(())
}

/// Turns it off, which takes the person's current password.
pub fn disable(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    password: &str,
) -> Result<Result<(), String>, DomainError> {
    if !crate::domain::password::verify(password, Some(&user.password_hash)) {
        return Ok(Err("That is not your current password.".into()));
    }
    conn.transaction(|conn| {
        clear(conn, user.id)?;
        Event::outside(AuditAction::TwoFactorDisable, Some(user.id.into())).record(conn, actor)?;
        Ok(Ok(()))
    })
}

/// Resets someone's second factor (they lost their phone and their codes): they sign in with
/// their password alone next time and set it up again. Audited where it was done; the person
/// is told by email. The caller checked that the actor manages them.
pub fn reset(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    tenant_path: &[crate::domain::ids::TenantId],
    notice: crate::email::messages::Rendered,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        clear(conn, user.id)?;
        Event::new(AuditAction::TwoFactorReset, tenant_path, user.id)
            .detail(serde_json::json!({ "member": user.email }))
            .record(conn, actor)?;
        crate::email::outbox::enqueue(
            conn,
            crate::email::outbox::NewMessage {
                to: &user.email,
                subject: &notice.subject,
                text: &notice.text,
                html: &notice.html,
                invitation_id: None,
            },
        )?;
        Ok(())
    })
}

/// How a sign-in code was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    Accepted,
    Refused,
    Throttled { retry_after_secs: i64 },
}

/// Checks a sign-in code — the app's code (accepted once: a step at or before the last one
/// accepted is a replay) or an unused recovery code (used up) — under the code throttle.
/// Refusals are audited with their reason.
pub fn check_code(
    conn: &mut PgConnection,
    actor: &Actor,
    user: UserId,
    typed: &str,
) -> Result<Checked, DomainError> {
    if let throttle::Verdict::Blocked { retry_after_secs } =
        throttle::check_code(conn, user.uuid())?
    {
        return Ok(Checked::Throttled { retry_after_secs });
    }
    let secret: Option<String> = users::table
        .find(user)
        .select(users::totp_secret)
        .first(conn)?;
    let bytes = secret
        .as_deref()
        .and_then(totp::from_base32)
        .unwrap_or_default();
    let digits = typed.chars().filter(|c| !c.is_whitespace()).count() == totp::DIGITS as usize;
    let reason = if digits {
        match totp::matching_step(&bytes, typed, Utc::now().timestamp()) {
            Some(step) if !bytes.is_empty() => {
                let fresh = diesel::update(
                    users::table.find(user).filter(
                        users::totp_last_step
                            .is_null()
                            .or(users::totp_last_step.lt(step)),
                    ),
                )
                .set(users::totp_last_step.eq(step))
                .execute(conn)?;
                if fresh == 1 {
                    return Ok(Checked::Accepted);
                }
                "a code that was used already"
            }
            _ => "a wrong code",
        }
    } else {
        let hash = crypto::sha256_hex(normalise_recovery(typed).as_bytes());
        let used = diesel::update(
            recovery_codes::table
                .filter(recovery_codes::user_id.eq(user))
                .filter(recovery_codes::code_hash.eq(hash))
                .filter(recovery_codes::used_at.is_null()),
        )
        .set(recovery_codes::used_at.eq(diesel::dsl::now))
        .execute(conn)?;
        if used == 1 {
            Event::outside(AuditAction::RecoveryCodeUsed, Some(user.into())).record(conn, actor)?;
            return Ok(Checked::Accepted);
        }
        "a wrong or used recovery code"
    };
    throttle::record_code_failure(conn, user.uuid())?;
    Event::outside(AuditAction::CodeRefused, Some(user.into()))
        .detail(serde_json::json!({ "reason": reason }))
        .record(conn, actor)?;
    Ok(Checked::Refused)
}

fn generation(conn: &mut PgConnection, user: UserId) -> Result<i32, DomainError> {
    Ok(users::table
        .find(user)
        .select(users::factor_generation)
        .first(conn)?)
}

fn remember_mac(key: &[u8], user: UserId, generation: i32, expires: i64) -> String {
    crypto::hmac_hex(key, format!("{user}|{generation}|{expires}").as_bytes())
}

/// A token for "remember this browser": the person, when it expires, and a MAC over both
/// and their current generation (so a password change or a second-factor change kills it).
pub fn remember_token(
    conn: &mut PgConnection,
    key: &[u8],
    user: UserId,
) -> Result<String, DomainError> {
    let expires = Utc::now().timestamp() + REMEMBER_DAYS * 86_400;
    let generation = generation(conn, user)?;
    Ok(format!(
        "{user}.{expires}.{}",
        remember_mac(key, user, generation, expires)
    ))
}

/// Whether `token` remembers this browser for `user`, today.
pub fn remembered(
    conn: &mut PgConnection,
    key: &[u8],
    token: &str,
    user: UserId,
) -> Result<bool, DomainError> {
    let mut parts = token.splitn(3, '.');
    let (Some(who), Some(expires), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(false);
    };
    let Ok(expires) = expires.parse::<i64>() else {
        return Ok(false);
    };
    if who != user.to_string() || expires < Utc::now().timestamp() {
        return Ok(false);
    }
    let generation = generation(conn, user)?;
    Ok(crypto::constant_time_eq(
        mac,
        &remember_mac(key, user, generation, expires),
    ))
}

/// A password change also ends every remembered browser.
pub fn forget_browsers(conn: &mut PgConnection, user: UserId) -> Result<(), DomainError> {
    diesel::update(users::table.find(user))
        .set(users::factor_generation.eq(users::factor_generation + 1))
        .execute(conn)?;
    Ok(())
}
