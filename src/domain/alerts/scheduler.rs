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
use crate::db::schema::{alert_notifications, alerts, checkin_states};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::checkins::due_after;
use crate::domain::contacts::Contact;
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{AlertId, CustomerId, DeviceId, ScheduleId};
use crate::domain::schedules::Schedule;
use crate::domain::states::DeviceStatus;

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
        let opened = open_due(conn, notices, batch)?;
        let steps = run_steps(conn, notices, batch)?;
        done.opened += opened;
        done.steps += steps;
        if opened == 0 && steps == 0 {
            return Ok(done);
        }
    }
}

/// Opens one alert per device past due + grace; returns how many devices it handled.
fn open_due(conn: &mut PgConnection, notices: &Notices, batch: i64) -> Result<usize, DomainError> {
    conn.transaction(|conn| {
        let mut cache = Batch::new(notices);
        let now = crate::domain::clock::now(conn)?;
        // The claim spans every customer (a named exception to naming one); what follows
        // for each device names its customer.
        type Due = (
            DeviceId,
            CustomerId,
            Option<ScheduleId>,
            Option<DateTime<Utc>>,
        );
        let due: Vec<Due> = checkin_states::table
            .filter(checkin_states::alert_at.le(now))
            .order(checkin_states::alert_at)
            .limit(batch)
            .for_update()
            .skip_locked()
            .select((
                checkin_states::device_id,
                checkin_states::customer_id,
                checkin_states::schedule_id,
                checkin_states::next_due_at,
            ))
            .load(conn)?;
        for (device_id, customer, schedule_id, due_at) in &due {
            let Some(device) = crate::domain::devices::find_in(conn, *customer, *device_id)? else {
                clear(conn, *customer, *device_id)?;
                continue;
            };
            let schedule = cache.schedule(conn, &device.tenant_path, *schedule_id)?;
            let (Some(schedule), Some(due_at)) = (schedule, due_at) else {
                clear(conn, *customer, *device_id)?;
                continue;
            };
            if !schedule.enabled || device.status == DeviceStatus::Retired {
                clear(conn, *customer, *device_id)?;
                continue;
            }
            let already_open: i64 = alerts::table
                .filter(alerts::customer_id.eq(customer))
                .filter(alerts::device_id.eq(device_id))
                .filter(alerts::state.eq("open"))
                .count()
                .get_result(conn)?;
            if already_open == 0 {
                open(conn, &mut cache, &device, &schedule, *due_at, now)?;
            }
            // The next check-in it owes counts from now.
            let (next, alert_at) = due_after(&schedule, now);
            diesel::update(
                checkin_states::table
                    .filter(checkin_states::customer_id.eq(customer))
                    .filter(checkin_states::device_id.eq(device_id)),
            )
            .set((
                checkin_states::next_due_at.eq(next),
                checkin_states::alert_at.eq(alert_at),
            ))
            .execute(conn)?;
        }
        Ok(due.len())
    })
}

fn clear(
    conn: &mut PgConnection,
    customer: CustomerId,
    device: DeviceId,
) -> Result<(), DomainError> {
    diesel::update(
        checkin_states::table
            .filter(checkin_states::customer_id.eq(customer))
            .filter(checkin_states::device_id.eq(device)),
    )
    .set((
        checkin_states::next_due_at.eq(None::<DateTime<Utc>>),
        checkin_states::alert_at.eq(None::<DateTime<Utc>>),
    ))
    .execute(conn)?;
    Ok(())
}

fn open(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    device: &Device,
    schedule: &Schedule,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let inserted: Option<Alert> = diesel::insert_into(alerts::table)
        .values((
            alerts::id.eq(AlertId::new()),
            alerts::customer_id.eq(device.customer_id),
            alerts::device_id.eq(device.id),
            alerts::tenant_id.eq(device.tenant_id),
            alerts::tenant_path.eq(&device.tenant_path),
            alerts::schedule_id.eq(schedule.id),
            alerts::due_at.eq(due_at),
            alerts::opened_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .returning(Alert::as_returning())
        .get_result(conn)
        .optional()?;
    let Some(alert) = inserted else {
        return Ok(());
    };
    let contacts = cache.contacts(conn, schedule)?;
    let told = tell(
        conn,
        cache,
        &alert,
        device,
        schedule,
        &tiered(&contacts.0, 1),
        1,
        now,
    )?;
    Event::new(AuditAction::AlertOpen, &device.tenant_path, alert.id)
        .detail(serde_json::json!({
            "device": device.name, "due": due_at, "schedule": schedule.name, "told": told,
        }))
        .record(conn, &Actor::system())?;
    super::announce(conn, &alert, "alert.opened")?;
    let next = next_step(&alert, schedule, false, 0);
    diesel::update(
        alerts::table
            .filter(alerts::customer_id.eq(alert.customer_id))
            .filter(alerts::id.eq(alert.id)),
    )
    .set((alerts::steps.eq(1), alerts::next_step_at.eq(next)))
    .execute(conn)?;
    Ok(())
}

/// When the alert's next step is due: tier 2's first notice, or the next repeat.
fn next_step(
    alert: &Alert,
    schedule: &Schedule,
    tier2_told: bool,
    repeats: i64,
) -> Option<DateTime<Utc>> {
    let tier2 = schedule
        .tier2_after_minutes
        .filter(|_| !tier2_told)
        .map(|m| alert.opened_at + Duration::minutes(i64::from(m)));
    let repeat = schedule
        .repeat_minutes
        .map(|m| alert.opened_at + Duration::minutes(i64::from(m) * (repeats + 1)));
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
    let next = next_step(alert, &schedule, tier2_told, repeats);
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

fn tiered(contacts: &[Contact], tier: i16) -> Vec<(Contact, i16)> {
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
    let place = cache.place(conn, device.tenant_id)?;
    let (tenant_name, brand) = (&place.0, &place.1);
    let notices = cache.notices;
    let due = alert
        .due_at
        .with_timezone(&schedule.zone())
        .format("%a %d %b %Y %H:%M %Z")
        .to_string();
    let mut told = Vec::new();
    for (c, tier) in contacts {
        let Some(email) = &c.email else { continue };
        let fresh = diesel::insert_into(alert_notifications::table)
            .values((
                alert_notifications::customer_id.eq(device.customer_id),
                alert_notifications::alert_id.eq(alert.id),
                alert_notifications::step.eq(step),
                alert_notifications::tier.eq(*tier),
                alert_notifications::contact_id.eq(c.id),
                alert_notifications::name.eq(&c.name),
                alert_notifications::email.eq(email),
                alert_notifications::at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if fresh == 0 {
            continue;
        }
        let link = format!(
            "{}/alerts/acknowledge/{}",
            notices.base_url.trim_end_matches('/'),
            super::links::sign(
                &notices.key,
                &super::links::Named {
                    alert: alert.id,
                    contact: c.id,
                    alert_customer: alert.customer_id,
                    contact_customer: c.customer_id,
                },
                now,
            )
        );
        let page = format!(
            "{}/tenants/{}/alerts",
            notices.base_url.trim_end_matches('/'),
            device.tenant_id
        );
        let m = crate::email::messages::alert(
            brand,
            &c.name,
            &device.name,
            &device.identifier,
            tenant_name,
            &due,
            &link,
            &page,
            step > 1,
        )?;
        crate::email::outbox::enqueue(
            conn,
            crate::email::outbox::NewMessage {
                to: email,
                subject: &m.subject,
                text: &m.text,
                html: &m.html,
                invitation_id: None,
            },
        )?;
        told.push(c.name.clone());
    }
    Ok(told)
}
