//! Check-in schedules: how often a tenant's devices must check in, and whom a missed check-in
//! tells. A schedule lives in a tenant; one marked "available to sub-tenants" is usable (not
//! editable) by every tenant below it. Reading needs `schedules.view`, changing and assigning
//! `schedules.manage`; every change is audited (`edit`).
mod edit;
pub mod input;
pub mod timing;

pub use edit::{ScheduleError, create, delete, update};
pub use input::{FieldErrors, ScheduleInput};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use diesel::prelude::*;

use crate::access::Reached;
use crate::db::schema::{contacts, schedule_contacts, schedules};
use crate::domain::contacts::Contact;
use crate::domain::error::DomainError;
use crate::domain::ids::{ContactId, CustomerId, ScheduleId, TenantId, in_customer};
use timing::{Cadence, Timing};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = schedules)]
pub struct Schedule {
    pub id: ScheduleId,
    pub tenant_id: TenantId,
    pub name: String,
    pub time_zone: String,
    pub interval_minutes: Option<i32>,
    pub times_of_day: Option<Vec<i16>>,
    pub weekdays: i16,
    pub grace_minutes: i32,
    pub tier2_after_minutes: Option<i32>,
    pub repeat_minutes: Option<i32>,
    pub enabled: bool,
    pub shared_below: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub customer_id: CustomerId,
}

impl Schedule {
    pub fn zone(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    pub fn timing(&self) -> Timing {
        let cadence = match (&self.interval_minutes, &self.times_of_day) {
            (Some(m), _) => Cadence::Every { minutes: *m },
            (None, times) => Cadence::At {
                times: times.clone().unwrap_or_default(),
                weekdays: self.weekdays,
            },
        };
        Timing {
            zone: self.zone(),
            cadence,
            grace_minutes: self.grace_minutes,
        }
    }

    /// "Every 4 hours" or "08:00, 17:00 · Mon–Fri".
    pub fn describe(&self) -> String {
        match (&self.interval_minutes, &self.times_of_day) {
            (Some(m), _) if m % 60 == 0 && *m == 60 => "Every hour".into(),
            (Some(m), _) if m % 60 == 0 => format!("Every {} hours", m / 60),
            (Some(m), _) => format!("Every {m} minutes"),
            (None, times) => format!(
                "{} · {}",
                times
                    .iter()
                    .flatten()
                    .map(|t| timing::show_time(*t))
                    .collect::<Vec<_>>()
                    .join(", "),
                timing::show_weekdays(self.weekdays)
            ),
        }
    }

    /// The form values that show this schedule as it is.
    pub fn input(&self, tier1: &[ContactId], tier2: &[ContactId]) -> ScheduleInput {
        let (every, unit) = match self.interval_minutes {
            Some(m) if m % 60 == 0 => ((m / 60).to_string(), "hours"),
            Some(m) => (m.to_string(), "minutes"),
            None => ("4".into(), "hours"),
        };
        ScheduleInput {
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            kind: if self.interval_minutes.is_some() {
                "interval"
            } else {
                "times"
            }
            .into(),
            every,
            unit: unit.into(),
            times: self
                .times_of_day
                .iter()
                .flatten()
                .map(|t| timing::show_time(*t))
                .collect::<Vec<_>>()
                .join(", "),
            days: (0..7)
                .filter(|d| self.weekdays & (1 << d) != 0)
                .map(|d| d.to_string())
                .collect(),
            grace: self.grace_minutes.to_string(),
            tier1: tier1.iter().map(|c| c.to_string()).collect(),
            tier2: tier2.iter().map(|c| c.to_string()).collect(),
            tier2_after: self
                .tier2_after_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
            repeat: self
                .repeat_minutes
                .map(|m| m.to_string())
                .unwrap_or_default(),
            enabled: self.enabled,
            shared: self.shared_below,
        }
    }
}

/// The schedules usable at the tenant with this path: its own, and those shared from above.
fn usable_at(path: &[TenantId]) -> schedules::BoxedQuery<'static, diesel::pg::Pg> {
    let (own, above) = match path.split_last() {
        Some((own, above)) => (*own, above.to_vec()),
        None => (TenantId::from(uuid::Uuid::nil()), Vec::new()),
    };
    schedules::table
        .filter(schedules::customer_id.eq_any(CustomerId::along(path)))
        .filter(
            schedules::tenant_id.eq(own).or(schedules::tenant_id
                .eq_any(above)
                .and(schedules::shared_below)),
        )
        .into_boxed()
}

/// The schedules usable at the reached tenant, its own first, each by name.
pub fn list(conn: &mut PgConnection, reached: &Reached) -> Result<Vec<Schedule>, DomainError> {
    let mut found: Vec<Schedule> = usable_at(reached.path())
        .order(crate::db::functions::lower(schedules::name))
        .select(Schedule::as_select())
        .load(conn)?;
    found.sort_by_key(|s| s.tenant_id != reached.id());
    Ok(found)
}

/// A schedule the reached tenant owns or may use; `NotFound` for any other id.
pub fn find(
    conn: &mut PgConnection,
    reached: &Reached,
    id: ScheduleId,
) -> Result<Schedule, DomainError> {
    usable_at_path(conn, reached.path(), id)
}

/// A schedule usable at the tenant with this path; `NotFound` otherwise.
pub fn usable_at_path(
    conn: &mut PgConnection,
    path: &[TenantId],
    id: ScheduleId,
) -> Result<Schedule, DomainError> {
    usable_at(path)
        .filter(schedules::id.eq(id))
        .select(Schedule::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// The schedule with this id that a device at `path` follows (its own customer's or the
/// operator's), for the scheduler and a device's own state, which name it already; not for
/// ids a request carries — those go through `find`.
pub fn by_id(
    conn: &mut PgConnection,
    path: &[TenantId],
    id: Option<ScheduleId>,
) -> Result<Option<Schedule>, DomainError> {
    let Some(id) = id else { return Ok(None) };
    Ok(schedules::table
        .filter(schedules::customer_id.eq_any(CustomerId::along(path)))
        .filter(schedules::id.eq(id))
        .select(Schedule::as_select())
        .first(conn)
        .optional()?)
}

/// Whom a schedule tells, tier by tier.
pub fn contacts_of(
    conn: &mut PgConnection,
    schedule: &Schedule,
) -> Result<(Vec<Contact>, Vec<Contact>), DomainError> {
    let rows: Vec<(i16, Contact)> = schedule_contacts::table
        .inner_join(
            contacts::table.on(contacts::id
                .eq(schedule_contacts::contact_id)
                .and(contacts::customer_id.eq(schedule_contacts::customer_id))),
        )
        .filter(schedule_contacts::customer_id.eq(schedule.customer_id))
        .filter(schedule_contacts::schedule_id.eq(schedule.id))
        .order(crate::db::functions::lower(contacts::name))
        .select((schedule_contacts::tier, Contact::as_select()))
        .load(conn)?;
    let (one, two): (Vec<_>, Vec<_>) = rows.into_iter().partition(|(t, _)| *t == 1);
    Ok((
        one.into_iter().map(|(_, c)| c).collect(),
        two.into_iter().map(|(_, c)| c).collect(),
    ))
}

/// How many devices follow each schedule (own assignment or a group's).
pub fn usage(
    conn: &mut PgConnection,
    reached: &Reached,
    ids: &[ScheduleId],
) -> Result<Vec<(ScheduleId, i64)>, DomainError> {
    use crate::db::schema::checkin_states;
    // Counted within the reached tenant's customer: a customer does not learn how many of
    // other customers' devices follow a schedule the operator shares with all.
    let rows: Vec<(Option<ScheduleId>, i64)> = checkin_states::table
        .filter(in_customer!(checkin_states::customer_id, reached.scope()))
        .filter(checkin_states::schedule_id.eq_any(ids))
        .group_by(checkin_states::schedule_id)
        .select((checkin_states::schedule_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, n)| s.map(|s| (s, n)))
        .collect())
}
