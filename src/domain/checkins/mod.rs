//! Check-ins: a device saying "all is well" — from the portal ("Check in now"), from its secret
//! check-in URL (a satellite terminal or an SMS gateway), or from the API. Every check-in is
//! stored, moves the device's next due time on, and resolves its unresolved alerts, in one
//! transaction. The check-in URL's token is 256 random bits; only its hash is kept.
pub mod demo;
mod moves;
pub mod partitions;
mod plan;

pub use moves::{lost_by_moving, moved, subtree_moved};
pub use plan::{
    MAX_ASSIGN, assign, assign_group, drop_unusable, due_after, following, refresh, refused,
    reschedule,
};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::access::{Access, Reached};
use crate::crypto;
use crate::db::schema::{alerts, checkin_states, checkin_tokens, checkins, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, ScheduleId, UserId};
use crate::domain::permissions::Permission;
use crate::domain::schedules::Schedule;

/// Where a check-in came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Portal,
    Url,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Portal => "portal",
            Source::Url => "url",
            Source::Api => "api",
        }
    }
}

/// What a check-in may say besides "I am here".
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CheckinInput {
    #[serde(default)]
    pub message: String,
    #[serde(default, alias = "lat")]
    pub latitude: String,
    #[serde(default, alias = "lon", alias = "lng")]
    pub longitude: String,
}

/// A checked message and position.
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    pub message: String,
    pub position: Option<(f64, f64)>,
}

impl CheckinInput {
    pub fn parse(&self) -> Result<Said, String> {
        let message = self.message.trim().to_string();
        if message.chars().count() > 500 {
            return Err("The message is longer than 500 characters.".into());
        }
        if let Some(c) = crate::domain::text::hidden_char(&message, &['\n', '\r']) {
            return Err(crate::domain::text::hidden_message(c));
        }
        let coordinate = |raw: &str, limit: f64, what: &str| -> Result<Option<f64>, String> {
            match raw.trim() {
                "" => Ok(None),
                t => match t.parse::<f64>() {
                    Ok(v) if v.is_finite() && v.abs() <= limit => Ok(Some(v)),
                    _ => Err(format!(
                        "The {what} must be a number from -{limit} to {limit}."
                    )),
                },
            }
        };
        let lat = coordinate(&self.latitude, 90.0, "latitude")?;
        let lon = coordinate(&self.longitude, 180.0, "longitude")?;
        let position = match (lat, lon) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            _ => return Err("Give both latitude and longitude, or neither.".into()),
        };
        Ok(Said { message, position })
    }
}

/// One stored check-in, as the device's history shows it.
#[derive(Debug, Clone)]
pub struct Checkin {
    pub at: DateTime<Utc>,
    pub source: String,
    pub by: Option<String>,
    pub message: String,
    pub position: Option<(f64, f64)>,
}

/// Where a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Follows no schedule.
    Unscheduled,
    /// Its schedule is switched off.
    Paused,
    Ok,
    /// Past its due time, within the grace period.
    Due,
    Overdue,
    Acknowledged,
}

impl Standing {
    pub fn as_str(self) -> &'static str {
        match self {
            Standing::Unscheduled => "unscheduled",
            Standing::Paused => "paused",
            Standing::Ok => "ok",
            Standing::Due => "due",
            Standing::Overdue => "overdue",
            Standing::Acknowledged => "acknowledged",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Standing::Unscheduled => "No schedule",
            Standing::Paused => "Schedule off",
            Standing::Ok => "OK",
            Standing::Due => "Due",
            Standing::Overdue => "Overdue",
            Standing::Acknowledged => "Acknowledged",
        }
    }
}

/// A device's check-in state, as its page shows it.
#[derive(Debug, Clone)]
pub struct Watch {
    pub schedule: Option<Schedule>,
    /// The schedule is the device's own assignment (not a group's).
    pub own: bool,
    pub last_checkin_at: Option<DateTime<Utc>>,
    pub next_due_at: Option<DateTime<Utc>>,
    pub standing: Standing,
    pub token_hint: Option<String>,
}

type StateRow = (
    Option<ScheduleId>,
    Option<ScheduleId>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
);

pub fn watch(conn: &mut PgConnection, device: &Device) -> Result<Watch, DomainError> {
    let now = crate::domain::clock::now(conn)?;
    let row: Option<StateRow> = checkin_states::table
        .filter(checkin_states::customer_id.eq(device.customer_id))
        .filter(checkin_states::device_id.eq(device.id))
        .select((
            checkin_states::own_schedule_id,
            checkin_states::schedule_id,
            checkin_states::last_checkin_at,
            checkin_states::next_due_at,
            checkin_states::alert_at,
            checkin_states::token_hint,
        ))
        .first(conn)
        .optional()?;
    let (own, current, last, due, alert_at, hint) =
        row.unwrap_or((None, None, None, None, None, None));
    let schedule = crate::domain::schedules::by_id(conn, &device.tenant_path, current)?;
    // Alerts are opened where the device is, and resolved when it leaves.
    let unresolved: Vec<String> = alerts::table
        .filter(alerts::customer_id.eq(device.customer_id))
        .filter(alerts::device_id.eq(device.id))
        .filter(alerts::state.ne("resolved"))
        .select(alerts::state)
        .load(conn)?;
    let standing = if unresolved.iter().any(|s| s == "open") {
        Standing::Overdue
    } else if !unresolved.is_empty() {
        Standing::Acknowledged
    } else {
        match (&schedule, due, alert_at) {
            (None, _, _) => Standing::Unscheduled,
            (Some(s), _, _) if !s.enabled => Standing::Paused,
            (_, Some(d), _) if now < d => Standing::Ok,
            (_, _, Some(a)) if now < a => Standing::Due,
            (_, Some(_), _) => Standing::Overdue,
            _ => Standing::Ok,
        }
    };
    Ok(Watch {
        own: own.is_some() && own == current,
        schedule,
        last_checkin_at: last,
        next_due_at: due,
        standing,
        token_hint: hint,
    })
}

/// The device's latest check-ins, newest first.
pub fn history(
    conn: &mut PgConnection,
    device: &Device,
    limit: i64,
) -> Result<Vec<Checkin>, DomainError> {
    type Row = (
        DateTime<Utc>,
        String,
        Option<String>,
        String,
        Option<f64>,
        Option<f64>,
    );
    let rows: Vec<Row> = checkins::table
        .left_join(users::table.on(checkins::user_id.eq(users::id.nullable())))
        .filter(checkins::customer_id.eq(device.customer_id))
        .filter(checkins::device_id.eq(device.id))
        .order(checkins::at.desc())
        .limit(limit)
        .select((
            checkins::at,
            checkins::source,
            users::display_name.nullable(),
            checkins::message,
            checkins::latitude,
            checkins::longitude,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(at, source, by, message, lat, lon)| Checkin {
            at,
            source,
            by,
            message,
            position: lat.zip(lon),
        })
        .collect())
}

/// Stores a check-in of the device and moves its schedule on; unresolved alerts resolve.
pub fn record(
    conn: &mut PgConnection,
    device: &Device,
    source: Source,
    user: Option<UserId>,
    said: &Said,
    actor: &Actor,
) -> Result<DateTime<Utc>, DomainError> {
    conn.transaction(|conn| {
        let now = crate::domain::clock::now(conn)?;
        diesel::insert_into(checkins::table)
            .values((
                checkins::id.eq(uuid::Uuid::now_v7()),
                checkins::customer_id.eq(device.customer_id),
                checkins::device_id.eq(device.id),
                checkins::at.eq(now),
                checkins::source.eq(source.as_str()),
                checkins::user_id.eq(user),
                checkins::message.eq(&said.message),
                checkins::latitude.eq(said.position.map(|p| p.0)),
                checkins::longitude.eq(said.position.map(|p| p.1)),
            ))
            .execute(conn)?;
        let schedule_id: Option<Option<ScheduleId>> = checkin_states::table
            .filter(checkin_states::customer_id.eq(device.customer_id))
            .filter(checkin_states::device_id.eq(device.id))
            .for_update()
            .select(checkin_states::schedule_id)
            .first(conn)
            .optional()?;
        let schedule =
            crate::domain::schedules::by_id(conn, &device.tenant_path, schedule_id.flatten())?;
        let (due, alert_at) = schedule
            .as_ref()
            .map_or((None, None), |s| due_after(s, now));
        diesel::insert_into(checkin_states::table)
            .values((
                checkin_states::customer_id.eq(device.customer_id),
                checkin_states::device_id.eq(device.id),
                checkin_states::last_checkin_at.eq(now),
                checkin_states::since.eq(now),
            ))
            .on_conflict((checkin_states::device_id, checkin_states::customer_id))
            .do_update()
            .set((
                checkin_states::last_checkin_at.eq(now),
                checkin_states::next_due_at.eq(due),
                checkin_states::alert_at.eq(alert_at),
            ))
            .execute(conn)?;
        crate::domain::alerts::resolve_for(
            conn,
            std::slice::from_ref(device),
            "checked in",
            now,
            actor,
        )?;
        Ok(now)
    })
}

/// "Check in now" from the portal, by someone allowed to check the device in.
pub fn check_in_now(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    device: &Device,
    said: &Said,
) -> Result<DateTime<Utc>, DomainError> {
    access.check(reached, Permission::DevicesCheckIn)?;
    record(
        conn,
        device,
        Source::Portal,
        access.actor.user_id,
        said,
        &access.actor,
    )
}

/// A new check-in URL token for the device; the old one stops working. Shown once.
pub fn issue_token(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    device: &Device,
) -> Result<String, DomainError> {
    access.check(reached, Permission::DevicesEdit)?;
    let token = crypto::random_hex(32);
    let hash = crypto::sha256_hex(token.as_bytes());
    let hint = token[..6].to_string();
    conn.transaction(|conn| {
        // A token is found by its own key (`checkin_tokens`); the old one stops working.
        let old: Option<Option<String>> = checkin_states::table
            .filter(checkin_states::customer_id.eq(device.customer_id))
            .filter(checkin_states::device_id.eq(device.id))
            .for_update()
            .select(checkin_states::token_hash)
            .first(conn)
            .optional()?;
        if let Some(old) = old.flatten() {
            diesel::delete(checkin_tokens::table.find(old)).execute(conn)?;
        }
        diesel::insert_into(checkin_tokens::table)
            .values((
                checkin_tokens::token_hash.eq(&hash),
                checkin_tokens::customer_id.eq(device.customer_id),
                checkin_tokens::device_id.eq(device.id),
            ))
            .execute(conn)?;
        diesel::insert_into(checkin_states::table)
            .values((
                checkin_states::customer_id.eq(device.customer_id),
                checkin_states::device_id.eq(device.id),
                checkin_states::token_hash.eq(&hash),
                checkin_states::token_hint.eq(&hint),
            ))
            .on_conflict((checkin_states::device_id, checkin_states::customer_id))
            .do_update()
            .set((
                checkin_states::token_hash.eq(&hash),
                checkin_states::token_hint.eq(&hint),
            ))
            .execute(conn)?;
        Event::new(AuditAction::CheckinUrlIssue, &device.tenant_path, device.id)
            .detail(serde_json::json!({ "device": device.name, "hint": hint }))
            .record(conn, &access.actor)?;
        Ok(token)
    })
}

/// The device a check-in URL's token belongs to; `NotFound` for any other token.
pub fn by_token(conn: &mut PgConnection, token: &str) -> Result<Device, DomainError> {
    use crate::db::schema::devices;
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DomainError::NotFound);
    }
    let (customer, device): (CustomerId, DeviceId) = checkin_tokens::table
        .find(crypto::sha256_hex(token.as_bytes()))
        .select((checkin_tokens::customer_id, checkin_tokens::device_id))
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)?;
    devices::table
        .filter(devices::customer_id.eq(customer))
        .filter(devices::id.eq(device))
        .select(Device::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}
