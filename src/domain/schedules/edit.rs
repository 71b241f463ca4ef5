//! Creating, changing and deleting a schedule: only by its own tenant, with
//! `schedules.manage`, in one transaction with its contacts, its devices' due times and the
//! audit event.
use diesel::prelude::*;

use super::input::{self, Fields, ScheduleInput};
use super::timing::Cadence;
use super::{FieldErrors, Schedule};
use crate::access::{Access, Reached};
use crate::db::schema::{contacts, schedule_contacts, schedules};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::checkins;
use crate::domain::error::DomainError;
use crate::domain::ids::{ContactId, CustomerId, ScheduleId};
use crate::domain::permissions::Permission;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("Check the highlighted fields.")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for ScheduleError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::unique_violation(e) {
            Ok(()) => ScheduleError::Invalid(FieldErrors::from([(
                "name",
                "A schedule with this name exists here already.".to_string(),
            )])),
            Err(other) => ScheduleError::Domain(other),
        }
    }
}

fn detail(f: &Fields) -> serde_json::Value {
    let cadence = match &f.cadence {
        Cadence::Every { minutes } => serde_json::json!({ "every_minutes": minutes }),
        Cadence::At { times, weekdays } => serde_json::json!({
            "times": times.iter().map(|t| super::timing::show_time(*t)).collect::<Vec<_>>(),
            "days": super::timing::show_weekdays(*weekdays),
        }),
    };
    serde_json::json!({
        "name": f.name, "time_zone": f.zone.name(), "cadence": cadence,
        "grace_minutes": f.grace_minutes, "tier1": f.tier1.len(), "tier2": f.tier2.len(),
        "tier2_after_minutes": f.tier2_after, "repeat_minutes": f.repeat,
        "enabled": f.enabled, "shared_below": f.shared,
    })
}

/// Replaces the schedule's contacts; an id that is not the tenant's own contact names nothing.
fn save_contacts(
    conn: &mut PgConnection,
    reached: &Reached,
    id: ScheduleId,
    f: &Fields,
) -> Result<(), ScheduleError> {
    let wanted: Vec<ContactId> = f.tier1.iter().chain(&f.tier2).copied().collect();
    let own: i64 = contacts::table
        .filter(contacts::customer_id.eq(reached.customer()))
        .filter(contacts::tenant_id.eq(reached.id()))
        .filter(contacts::id.eq_any(&wanted))
        .count()
        .get_result(conn)?;
    if own != wanted.len() as i64 {
        return Err(DomainError::NotFound.into());
    }
    diesel::delete(
        schedule_contacts::table
            .filter(schedule_contacts::customer_id.eq(reached.customer()))
            .filter(schedule_contacts::schedule_id.eq(id)),
    )
    .execute(conn)?;
    let rows: Vec<_> = f
        .tier1
        .iter()
        .map(|c| (c, 1i16))
        .chain(f.tier2.iter().map(|c| (c, 2i16)))
        .map(|(c, tier)| {
            (
                schedule_contacts::customer_id.eq(reached.customer()),
                schedule_contacts::schedule_id.eq(id),
                schedule_contacts::tenant_id.eq(reached.id()),
                schedule_contacts::contact_id.eq(*c),
                schedule_contacts::tier.eq(tier),
            )
        })
        .collect();
    diesel::insert_into(schedule_contacts::table)
        .values(rows)
        .execute(conn)?;
    Ok(())
}

/// A schedule's stored values; `None` writes NULL (an interval schedule has no times).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = schedules, treat_none_as_null = true)]
struct Columns {
    name: String,
    time_zone: String,
    interval_minutes: Option<i32>,
    times_of_day: Option<Vec<i16>>,
    weekdays: i16,
    grace_minutes: i32,
    tier2_after_minutes: Option<i32>,
    repeat_minutes: Option<i32>,
    enabled: bool,
    shared_below: bool,
}

fn columns(f: &Fields) -> Columns {
    let (interval_minutes, times_of_day, weekdays) = match &f.cadence {
        Cadence::Every { minutes } => (Some(*minutes), None, 127),
        Cadence::At { times, weekdays } => (None, Some(times.clone()), *weekdays),
    };
    Columns {
        name: f.name.clone(),
        time_zone: f.zone.name().to_string(),
        interval_minutes,
        times_of_day,
        weekdays,
        grace_minutes: f.grace_minutes,
        tier2_after_minutes: f.tier2_after,
        repeat_minutes: f.repeat,
        enabled: f.enabled,
        shared_below: f.shared,
    }
}

pub fn create(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    input: &ScheduleInput,
) -> Result<Schedule, ScheduleError> {
    access.check(reached, Permission::SchedulesManage)?;
    let f = input::parse(input).map_err(ScheduleError::Invalid)?;
    conn.transaction(|conn| {
        let schedule: Schedule = diesel::insert_into(schedules::table)
            .values((
                schedules::id.eq(ScheduleId::new()),
                schedules::customer_id.eq(reached.customer()),
                schedules::tenant_id.eq(reached.id()),
                columns(&f),
            ))
            .returning(Schedule::as_returning())
            .get_result(conn)?;
        save_contacts(conn, reached, schedule.id, &f)?;
        Event::new(AuditAction::ScheduleCreate, reached.path(), schedule.id)
            .detail(detail(&f))
            .record(conn, &access.actor)?;
        Ok(schedule)
    })
}

/// The reached tenant's own schedule, locked, for a caller who may change it.
fn own_locked(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: ScheduleId,
) -> Result<Schedule, DomainError> {
    let found = super::find(conn, reached, id)?;
    access.check(reached, Permission::SchedulesManage)?;
    if found.tenant_id != reached.id() {
        return Err(DomainError::NotAllowed(
            "This schedule is shared from above: only its own tenant changes it.".into(),
        ));
    }
    Ok(schedules::table
        .filter(schedules::customer_id.eq(reached.customer()))
        .filter(schedules::id.eq(id))
        .for_update()
        .select(Schedule::as_select())
        .first(conn)?)
}

pub fn update(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: ScheduleId,
    input: &ScheduleInput,
) -> Result<Schedule, ScheduleError> {
    conn.transaction(|conn| {
        own_locked(conn, access, reached, id)?;
        let f = input::parse(input).map_err(ScheduleError::Invalid)?;
        let schedule: Schedule = diesel::update(
            schedules::table
                .filter(schedules::customer_id.eq(reached.customer()))
                .filter(schedules::id.eq(id)),
        )
        .set((columns(&f), schedules::updated_at.eq(diesel::dsl::now)))
        .returning(Schedule::as_returning())
        .get_result(conn)?;
        save_contacts(conn, reached, id, &f)?;
        // A sub-tenant's device may follow it only while it is shared.
        if !f.shared {
            checkins::drop_unusable(conn, reached.scope(), &schedule)?;
        }
        checkins::reschedule(conn, reached.scope(), id)?;
        Event::new(AuditAction::ScheduleUpdate, reached.path(), id)
            .detail(detail(&f))
            .record(conn, &access.actor)?;
        Ok(schedule)
    })
}

/// Deletes a schedule; its devices stop being due. Returns its name.
pub fn delete(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: ScheduleId,
) -> Result<String, DomainError> {
    conn.transaction(|conn| {
        let schedule = own_locked(conn, access, reached, id)?;
        let following = checkins::following(conn, reached.scope(), id)?;
        diesel::delete(
            schedules::table
                .filter(schedules::customer_id.eq(reached.customer()))
                .filter(schedules::id.eq(id)),
        )
        .execute(conn)?;
        forget(conn, reached, id)?;
        checkins::refresh(conn, reached.scope(), &following)?;
        Event::new(AuditAction::ScheduleDelete, reached.path(), id)
            .detail(serde_json::json!({ "name": schedule.name, "devices": following.len() }))
            .record(conn, &access.actor)?;
        Ok(schedule.name)
    })
}

/// What referred to a deleted schedule refers to none (a schedule shared below may be
/// followed from other customers than its own, so this is not a foreign key).
fn forget(conn: &mut PgConnection, reached: &Reached, id: ScheduleId) -> Result<(), DomainError> {
    use crate::db::schema::{alerts, groups};
    let only = CustomerId::reaching(reached.path());
    let none = None::<ScheduleId>;
    let mut q = diesel::update(groups::table)
        .filter(groups::schedule_id.eq(id))
        .into_boxed();
    if let Some(c) = only {
        q = q.filter(groups::customer_id.eq(c));
    }
    q.set(groups::schedule_id.eq(none)).execute(conn)?;
    for own in [true, false] {
        let column = if own {
            "own_schedule_id"
        } else {
            "schedule_id"
        };
        diesel::sql_query(format!(
            "UPDATE checkin_states SET {column} = NULL \
             WHERE {column} = $1 AND ($2::uuid IS NULL OR customer_id = $2)"
        ))
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(only)
        .execute(conn)?;
    }
    let mut q = diesel::update(alerts::table)
        .filter(alerts::schedule_id.eq(id))
        .into_boxed();
    if let Some(c) = only {
        q = q.filter(alerts::customer_id.eq(c));
    }
    q.set(alerts::schedule_id.eq(none)).execute(conn)?;
    Ok(())
}
