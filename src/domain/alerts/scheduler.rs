//! The scheduler: each pass opens an alert for every device past its due time and grace, and
//! takes each open alert's next step (tell tier 2, repeat). It runs in every `serve` and
//! `worker` instance at once: rows are claimed with `FOR UPDATE SKIP LOCKED` and changed in the
//! claiming transaction, an alert is unique per (device, due time), and a notification per
//! (alert, step, address) — so however many instances run, a missed check-in is one alert and
//! each contact gets one email per step. Emails go through the outbox in the same transaction.
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::Alert;
use super::batch::Batch;
use super::telling::{Telling, tell_all};
use crate::db::schema::alerts;
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::contacts::Contact;
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::schedules::Schedule;

/// What a notification needs beyond the database: links back to the portal.
#[derive(Clone)]
pub struct Notices {
    pub base_url: String,
    /// Signs the acknowledge links (`links`).
    pub key: Vec<u8>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub opened: usize,
    pub steps: usize,
}

/// One pass over what is due, in batches, until nothing is left.
pub fn pass(conn: &mut PgConnection, notices: &Notices, batch: i64) -> Result<Pass, DomainError> {
    let mut done = Pass::default();
    loop {
        let opened = super::opening::open_due(conn, notices, batch)?;
        let steps = run_steps(conn, notices, batch)?;
        done.opened += opened;
        done.steps += steps;
        if opened == 0 && steps == 0 {
            return Ok(done);
        }
    }
}

/// When the alert's next step is due: tier 2's first notice, or the next repeat.
pub(super) fn next_step(
    opened_at: DateTime<Utc>,
    schedule: &Schedule,
    tier2_told: bool,
    repeats: i64,
) -> Option<DateTime<Utc>> {
    let tier2 = schedule
        .tier2_after_minutes
        .filter(|_| !tier2_told)
        .map(|m| opened_at + Duration::minutes(i64::from(m)));
    let repeat = schedule
        .repeat_minutes
        .map(|m| opened_at + Duration::minutes(i64::from(m) * (repeats + 1)));
    match (tier2, repeat) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Takes the next step of each open alert whose time has come; returns how many it handled.
fn run_steps(conn: &mut PgConnection, notices: &Notices, batch: i64) -> Result<usize, DomainError> {
    conn.transaction(|conn| {
        let mut cache = Batch::new(notices);
        let now = crate::domain::clock::now(conn)?;
        let due: Vec<Alert> = alerts::table
            .filter(alerts::state.eq("open"))
            .filter(alerts::next_step_at.le(now))
            .order(alerts::next_step_at)
            .limit(batch)
            .for_update()
            .skip_locked()
            .select(Alert::as_select())
            .load(conn)?;
        for alert in &due {
            step(conn, &mut cache, alert, now)?;
        }
        Ok(due.len())
    })
}

fn step(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    alert: &Alert,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let schedule = cache.schedule(conn, &alert.tenant_path, alert.schedule_id)?;
    let device = crate::domain::devices::find_in(conn, alert.customer_id, alert.device_id)?;
    let (Some(schedule), Some(device)) = (schedule, device) else {
        diesel::update(
            alerts::table
                .filter(alerts::customer_id.eq(alert.customer_id))
                .filter(alerts::id.eq(alert.id)),
        )
        .set(alerts::next_step_at.eq(None::<DateTime<Utc>>))
        .execute(conn)?;
        return Ok(());
    };
    let contacts = cache.contacts(conn, &schedule)?;
    let (tier1, tier2) = (&contacts.0, &contacts.1);
    let mut steps = alert.steps;
    let mut tier2_told = alert.tier2_told();
    let was_told = tier2_told;
    let opened = alert.opened_at;
    if let Some(m) = schedule.tier2_after_minutes
        && !tier2_told
        && opened + Duration::minutes(i64::from(m)) <= now
    {
        steps += 1;
        let told = tell(
            conn,
            cache,
            alert,
            &device,
            &schedule,
            &tiered(tier2, 2),
            steps,
            now,
        )?;
        tier2_told = true;
        Event::new(AuditAction::AlertEscalate, &alert.tenant_path, alert.id)
            .detail(serde_json::json!({ "device": device.name, "told": told }))
            .record(conn, &Actor::system())?;
    }
    // Repeats are counted from the opening, so a late pass sends one, not a backlog.
    let every = schedule
        .repeat_minutes
        .map(|m| Duration::minutes(i64::from(m)));
    let done_repeats = i64::from(alert.repeats);
    let due_repeats = every.map_or(0, |e| (now - opened).num_seconds() / e.num_seconds().max(1));
    if due_repeats > done_repeats {
        steps += 1;
        let mut who = tiered(tier1, 1);
        if was_told {
            who.extend(tiered(tier2, 2));
        }
        let told = tell(conn, cache, alert, &device, &schedule, &who, steps, now)?;
        Event::new(AuditAction::AlertRepeat, &alert.tenant_path, alert.id)
            .detail(serde_json::json!({ "device": device.name, "told": told }))
            .record(conn, &Actor::system())?;
    }
    let repeats = due_repeats.max(done_repeats);
    let next = next_step(alert.opened_at, &schedule, tier2_told, repeats);
    diesel::update(
        alerts::table
            .filter(alerts::customer_id.eq(alert.customer_id))
            .filter(alerts::id.eq(alert.id)),
    )
    .set((
        alerts::steps.eq(steps),
        alerts::repeats.eq(repeats as i32),
        alerts::next_step_at.eq(next),
    ))
    .execute(conn)?;
    Ok(())
}

pub(super) fn tiered(contacts: &[Contact], tier: i16) -> Vec<(Contact, i16)> {
    contacts.iter().map(|c| (c.clone(), tier)).collect()
}

/// Emails each contact (once per step) through the outbox; returns whom it told.
#[allow(clippy::too_many_arguments)]
fn tell(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    alert: &Alert,
    device: &Device,
    schedule: &Schedule,
    contacts: &[(Contact, i16)],
    step: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DomainError> {
    let telling = Telling {
        alert,
        device,
        schedule,
        contacts: contacts.to_vec(),
        step,
    };
    Ok(tell_all(conn, cache, &[telling], now)?
        .pop()
        .unwrap_or_default())
}
