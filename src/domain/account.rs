//! A person's own account: their name, their password, their time zone and their sessions.
//! Everything here acts on the signed-in person alone (the caller passes `access.user`), so
//! no id from a request can point it at someone else: a session is named by a random handle
//! kept inside that person's own session state.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{sessions, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::password::{self, Password};
use crate::domain::users::User;

pub type FieldErrors = BTreeMap<&'static str, String>;

/// What a session remembers about where it began (kept in its state at sign-in).
pub const SID_KEY: &str = "sid";
pub const AGENT_KEY: &str = "agent";
pub const ADDR_KEY: &str = "addr";

/// One of the person's live sessions, as the account page lists it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The handle "sign out" names; `None` for a session begun before handles existed.
    pub sid: Option<String>,
    pub agent: String,
    pub addr: String,
    pub started: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

impl SessionRow {
    /// A short name for the browser, from its user agent.
    pub fn browser(&self) -> String {
        let a = &self.agent;
        let name = [
            ("Edg/", "Edge"),
            ("Chrome/", "Chrome"),
            ("Firefox/", "Firefox"),
            ("Safari/", "Safari"),
            ("curl/", "curl"),
        ]
        .iter()
        .find(|(mark, _)| a.contains(mark))
        .map_or("A browser", |(_, n)| n);
        let os = [
            ("Android", "Android"),
            ("iPhone", "iPhone"),
            ("Windows", "Windows"),
            ("Mac OS", "macOS"),
            ("Linux", "Linux"),
        ]
        .iter()
        .find(|(mark, _)| a.contains(mark))
        .map(|(_, n)| format!(" on {n}"))
        .unwrap_or_default();
        format!("{name}{os}")
    }
}

/// A value of a session's state: actix-session keeps each as a JSON string.
fn state_value(state: &serde_json::Value, key: &str) -> Option<String> {
    state
        .get(key)
        .and_then(|v| v.as_str())
        .and_then(|s| serde_json::from_str::<String>(s).ok())
}

/// The person's live sessions, newest first. `idle` is the idle limit: a session's last
/// request was that long before its deadline (to within the minute the store rounds to).
pub fn sessions_of(
    conn: &mut PgConnection,
    user: &User,
    idle: std::time::Duration,
) -> Result<Vec<SessionRow>, DomainError> {
    let rows: Vec<(serde_json::Value, DateTime<Utc>, DateTime<Utc>)> = sessions::table
        .filter(sessions::user_id.eq(user.id.uuid()))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .order(sessions::created_at.desc())
        .select((sessions::state, sessions::created_at, sessions::expires_at))
        .load(conn)?;
    let idle = chrono::Duration::from_std(idle).unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|(state, started, expires)| SessionRow {
            sid: state_value(&state, SID_KEY),
            agent: state_value(&state, AGENT_KEY).unwrap_or_default(),
            addr: state_value(&state, ADDR_KEY).unwrap_or_default(),
            started,
            last_seen: (expires - idle).max(started),
        })
        .collect())
}

/// Ends the person's sessions but `keep` (their current one); returns how many.
fn end_others(conn: &mut PgConnection, user: &User, keep: &str) -> Result<usize, DomainError> {
    let keep = serde_json::to_string(keep).map_err(|e| DomainError::Invalid(e.to_string()))?;
    Ok(diesel::sql_query(
        "DELETE FROM sessions WHERE user_id = $1 AND coalesce(state->>'sid', '') <> $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(user.id)
    .bind::<diesel::sql_types::Text, _>(keep)
    .execute(conn)?)
}

/// Ends one of the person's own sessions, named by its handle; `NotFound` for any other.
pub fn end_session(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    sid: &str,
) -> Result<(), DomainError> {
    let value = serde_json::to_string(sid).map_err(|e| DomainError::Invalid(e.to_string()))?;
    let gone = diesel::sql_query("DELETE FROM sessions WHERE user_id = $1 AND state->>'sid' = $2")
        .bind::<diesel::sql_types::Uuid, _>(user.id)
        .bind::<diesel::sql_types::Text, _>(value)
        .execute(conn)?;
    if gone == 0 {
        return Err(DomainError::NotFound);
    }
    Event::outside(AuditAction::SessionEnd, Some(user.id.into())).record(conn, actor)
}

/// The password form as submitted.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

/// Changes the person's password: the current one first, the new one by the sign-up rule;
/// every other session ends in the same transaction (`keep` is the current one's handle).
pub fn change_password(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    change: &PasswordChange,
    keep: &str,
) -> Result<Result<usize, FieldErrors>, DomainError> {
    let mut errors = FieldErrors::new();
    if !password::verify(&change.current, Some(&user.password_hash)) {
        errors.insert("current", "That is not your current password.".into());
    }
    let parsed = match Password::parse(&change.password, &user.email) {
        Ok(p) => Some(p),
        Err(why) => {
            errors.insert("password", why);
            None
        }
    };
    if change.password != change.password_confirm {
        errors.insert("password_confirm", "The two passwords differ.".into());
    }
    let (Some(parsed), true) = (parsed, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let hash = parsed.hash()?;
    conn.transaction(|conn| {
        diesel::update(users::table.find(user.id))
            .set((
                users::password_hash.eq(&hash),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        let ended = end_others(conn, user, keep)?;
        crate::domain::two_factor::forget_browsers(conn, user.id)?;
        Event::outside(AuditAction::UserPasswordChange, Some(user.id.into()))
            .detail(serde_json::json!({ "other_sessions_ended": ended }))
            .record(conn, actor)?;
        Ok(Ok(ended))
    })
}

/// Changes the name the portal shows for the person; `Err` with the field's message.
pub fn rename(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    raw: &str,
) -> Result<Result<(), String>, DomainError> {
    let name = match crate::domain::users::parse_display_name(raw) {
        Ok(n) => n,
        Err(why) => return Ok(Err(why)),
    };
    conn.transaction(|conn| {
        diesel::update(users::table.find(user.id))
            .set((
                users::display_name.eq(&name),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Event::outside(AuditAction::UserRename, Some(user.id.into()))
            .detail(serde_json::json!({
                "before": { "display_name": user.display_name },
                "after": { "display_name": name },
            }))
            .record(conn, actor)?;
        Ok(Ok(()))
    })
}

/// Every IANA zone name, as the zone pickers offer them.
pub fn zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())
}

/// An IANA zone name as typed: empty means UTC; anything else must be a zone.
pub fn parse_zone(raw: &str) -> Result<Option<chrono_tz::Tz>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<chrono_tz::Tz>().map(Some).map_err(|_| {
        format!("{raw:?} is not a time zone; choose one from the list, like Europe/London.")
    })
}

pub fn set_time_zone(
    conn: &mut PgConnection,
    user: &User,
    zone: Option<chrono_tz::Tz>,
) -> Result<(), DomainError> {
    diesel::update(users::table.find(user.id))
        .set(users::time_zone.eq(zone.map(|z| z.name().to_string())))
        .execute(conn)?;
    Ok(())
}
