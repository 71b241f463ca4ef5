//! Signing in, as the product's rule: the throttle first (a browser that signed in to the
//! account before is judged by its own failures), then the password, then whether any tenant
//! of the person is open to them; a browser new to the account gets a device token. The web
//! layer reads the request, calls `sign_in`, and turns the outcome into a session and cookies.
use diesel::PgConnection;

use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::{device_tokens, memberships, password, throttle, users};

/// What the person typed and what the request says about their browser.
pub struct Attempt<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub client_addr: &'a str,
    /// The device cookie, if the browser sent one.
    pub device_token: Option<&'a str>,
}

#[derive(Debug)]
pub enum SignIn {
    /// With the device token to give a browser new to the account.
    SignedIn(UserId, Option<String>),
    /// Unknown address or wrong password: the same answer for both.
    Invalid,
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
    users::record_sign_in(conn, user.id)?;
    let actor = Actor {
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
