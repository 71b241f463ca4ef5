//! Signing in, as the product's rule: the throttle first (a browser that signed in to the
//! account before is judged by its own failures), then the password, then whether any tenant
//! of the person is open to them; a browser new to the account gets a device token. The web
//! layer reads the request, calls `sign_in`, and turns the outcome into a session and cookies.
use diesel::PgConnection;

use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::{device_tokens, memberships, password, throttle, two_factor, users};

/// What the person typed and what the request says about their browser.
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub client_addr: &'a str,
    /// The device cookie, if the browser sent one.
    pub device_token: Option<&'a str>,
    /// The "remember this browser" token of two-factor sign-in, and the key that signs it.
    pub remembered: Option<&'a str>,
    pub remember_key: &'a [u8],
}

#[derive(Debug)]
pub enum SignIn {
    /// With the device token to give a browser new to the account.
    SignedIn(UserId, Option<String>),
    /// Unknown address or wrong password: the same answer for both.
    Invalid,
    /// The password was right; the person's second factor comes next (`second_factor`).
    NeedsCode(UserId),
    /// Every tenant of the person is suspended.
    Suspended,
    Throttled {
        retry_after_secs: i64,
    },
}

pub fn sign_in(conn: &mut PgConnection, attempt: Attempt<'_>) -> Result<SignIn, DomainError> {
    let Attempt {
        email,
        password: typed,
        client_addr: addr,
        device_token,
        remembered,
        remember_key,
    } = attempt;
    let device = match device_token {
        Some(token) => device_tokens::recognise(conn, token, email)?,
        None => None,
    };
    if let throttle::Verdict::Blocked { retry_after_secs } =
        throttle::check(conn, addr, email, device)?
    {
        return Ok(SignIn::Throttled { retry_after_secs });
    }
    let user = users::find_by_email(conn, email)?;
    let verified = password::verify(typed, user.as_ref().map(|u| u.password_hash.as_str()));
    let user = match user {
        Some(u) if verified && u.is_active() => u,
        _ => {
            throttle::record_failure(conn, addr, email, device)?;
            return Ok(SignIn::Invalid);
        }
    };
    let granted = memberships::active_grants(conn, user.id)?;
    if granted.is_empty() && memberships::count_for_user(conn, user.id)? > 0 {
        return Ok(SignIn::Suspended);
    }
    if two_factor::enabled(conn, user.id)? {
        let known = match remembered {
            Some(token) => two_factor::remembered(conn, remember_key, token, user.id)?,
            None => false,
        };
        if !known {
            return Ok(SignIn::NeedsCode(user.id));
        }
    }
    finish(conn, &user, addr, device)
}

/// The sign-in itself, once every factor is in: recorded, audited, and a device token for a
/// browser new to the account.
fn finish(
    conn: &mut PgConnection,
    user: &users::User,
    addr: &str,
    device: Option<uuid::Uuid>,
) -> Result<SignIn, DomainError> {
    users::record_sign_in(conn, user.id)?;
    let actor = Actor {
        api_key: None,
        user_id: Some(user.id),
        client_addr: Some(addr.to_string()),
    };
    Event::outside(AuditAction::SessionSignIn, Some(user.id.into())).record(conn, &actor)?;
    let issued = match device {
        Some(_) => None,
        None => Some(device_tokens::issue(conn, user.id)?),
    };
    Ok(SignIn::SignedIn(user.id, issued))
}

/// The second step of a sign-in whose password was right: the app's code or a recovery code.
pub fn second_factor(
    conn: &mut PgConnection,
    user_id: UserId,
    typed: &str,
    addr: &str,
    device_token: Option<&str>,
) -> Result<SignIn, DomainError> {
    let Some(user) = users::find(conn, user_id)?.filter(users::User::is_active) else {
        return Ok(SignIn::Invalid);
    };
    let device = match device_token {
        Some(token) => device_tokens::recognise(conn, token, &user.email)?,
        None => None,
    };
    let actor = Actor {
        api_key: None,
        user_id: Some(user.id),
        client_addr: Some(addr.to_string()),
    };
    match two_factor::check_code(conn, &actor, user.id, typed)? {
        two_factor::Checked::Accepted => finish(conn, &user, addr, device),
        two_factor::Checked::Refused => Ok(SignIn::Invalid),
        two_factor::Checked::Throttled { retry_after_secs } => {
            Ok(SignIn::Throttled { retry_after_secs })
        }
    }
}

/// Records that the person behind `actor` signed out (the session itself is the caller's).
pub fn sign_out(conn: &mut PgConnection, actor: &Actor) -> Result<(), DomainError> {
    Event::outside(AuditAction::SessionSignOut, actor.user_id.map(Into::into)).record(conn, actor)
}

/// Ends every session of the person behind `actor`, on every device and instance.
pub fn sign_out_everywhere(conn: &mut PgConnection, actor: &Actor) -> Result<(), DomainError> {
    if let Some(id) = actor.user_id {
        users::end_sessions(conn, id)?;
    }
    Event::outside(AuditAction::SessionEndAll, actor.user_id.map(Into::into)).record(conn, actor)
}
