//! Which schedule a device follows, and when it is next due. A device's own assignment wins
//! over its groups' (the first group by name that has one); a retired device follows none.
//! Whenever any of that changes — an assignment, a group's schedule or contents, a schedule's
//! times, a move — `refresh` recomputes the devices concerned, in the caller's transaction.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable, Timestamptz, Uuid as SqlUuid};

use crate::access::{Access, Reached};
use crate::db::schema::{checkin_states, group_devices, groups, schedules};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, DeviceId, GroupId, ScheduleId, in_customer};
use crate::domain::permissions::Permission;
use crate::domain::schedules::Schedule;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    device_id: DeviceId,
    #[diesel(sql_type = SqlUuid)]
    customer_id: CustomerId,
    /// The operator's root above it, whose shared schedules it may follow.
    #[diesel(sql_type = SqlUuid)]
    root: CustomerId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    own: Option<ScheduleId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    by_group: Option<ScheduleId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    current: Option<ScheduleId>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last: Option<DateTime<Utc>>,
}

const PLAN: &str = "\
SELECT d.id AS device_id, d.customer_id, d.tenant_path[1] AS root, \
       CASE WHEN d.status = 'retired' THEN NULL ELSE cs.own_schedule_id END AS own, \
       cs.schedule_id AS current, cs.since, cs.last_checkin_at AS last, \
       CASE WHEN d.status = 'retired' THEN NULL ELSE \
         (SELECT g.schedule_id FROM group_devices gd \
           JOIN groups g ON g.id = gd.group_id AND g.customer_id = gd.customer_id \
           WHERE gd.customer_id = d.customer_id AND gd.device_id = d.id AND g.schedule_id IS NOT NULL \
           ORDER BY lower(g.name), g.id LIMIT 1) END AS by_group \
FROM devices d \
LEFT JOIN checkin_states cs ON cs.customer_id = d.customer_id AND cs.device_id = d.id \
WHERE d.id = ANY($1) AND (d.customer_id = $2 OR $3)";

/// When a device following `schedule` since `base` is next due, and when that becomes an alert.
pub fn due_after(
    schedule: &Schedule,
    base: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    if !schedule.enabled {
        return (None, None);
    }
    let due = schedule.timing().next_due(base);
    (
        Some(due),
        Some(due + Duration::minutes(i64::from(schedule.grace_minutes))),
    )
}

/// Recomputes what each device follows and when it is due; the devices are of the one
/// customer `scope` names (or of any, under the operator's root).
pub fn refresh(
    conn: &mut PgConnection,
    scope: Option<CustomerId>,
    devices: &[DeviceId],
) -> Result<(), DomainError> {
    let now = crate::domain::clock::now(conn)?;
    for chunk in devices.chunks(5000) {
        let rows: Vec<Row> = diesel::sql_query(PLAN)
            .bind::<Array<SqlUuid>, _>(chunk)
            .bind::<SqlUuid, _>(scope.unwrap_or(CustomerId::NONE))
            .bind::<diesel::sql_types::Bool, _>(scope.is_none())
            .load(conn)?;
        let mut wanted: Vec<ScheduleId> =
            rows.iter().filter_map(|r| r.own.or(r.by_group)).collect();
        wanted.sort();
        wanted.dedup();
        // A device follows its own customer's schedules or its operator's.
        let mut customers: Vec<CustomerId> =
            rows.iter().flat_map(|r| [r.customer_id, r.root]).collect();
        customers.sort();
        customers.dedup();
        let found: HashMap<ScheduleId, Schedule> = schedules::table
            .filter(schedules::customer_id.eq_any(&customers))
            .filter(schedules::id.eq_any(&wanted))
            .select(Schedule::as_select())
            .load(conn)?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let (mut ids, mut customers, mut follows, mut sinces, mut dues, mut alerts) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for r in rows {
            let effective = r.own.or(r.by_group);
            if effective.is_none() && r.current.is_none() && r.since.is_none() {
                continue;
            }
            let since = match (effective == r.current, r.since) {
                (true, Some(since)) => since,
                _ => now,
            };
            let base = r.last.map_or(since, |l| l.max(since));
            let (due, alert) = effective
                .and_then(|s| found.get(&s))
                .map_or((None, None), |s| due_after(s, base));
            ids.push(r.device_id);
            customers.push(r.customer_id);
            follows.push(effective);
            sinces.push(since);
            dues.push(due);
            alerts.push(alert);
        }
        diesel::sql_query(
            "INSERT INTO checkin_states \
               (device_id, schedule_id, since, next_due_at, alert_at, customer_id) \
             SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], \
                                  $4::timestamptz[], $5::timestamptz[], $6::uuid[]) \
             ON CONFLICT (device_id, customer_id) DO UPDATE SET schedule_id = excluded.schedule_id, \
                since = excluded.since, next_due_at = excluded.next_due_at, \
                alert_at = excluded.alert_at",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Array<Nullable<SqlUuid>>, _>(&follows)
        .bind::<Array<Timestamptz>, _>(&sinces)
        .bind::<Array<Nullable<Timestamptz>>, _>(&dues)
        .bind::<Array<Nullable<Timestamptz>>, _>(&alerts)
        .bind::<Array<SqlUuid>, _>(&customers)
        .execute(conn)?;
    }
    Ok(())
}

/// Every device following the schedule now, or that would by its own or a group's assignment,
/// within `scope` (the customer of the schedule's tenant; every customer for the operator's).
pub fn following(
    conn: &mut PgConnection,
    scope: Option<CustomerId>,
    id: ScheduleId,
) -> Result<Vec<DeviceId>, DomainError> {
    let mut ids: Vec<DeviceId> = checkin_states::table
        .filter(in_customer!(checkin_states::customer_id, scope))
        .filter(
            checkin_states::schedule_id
                .eq(id)
                .or(checkin_states::own_schedule_id.eq(id)),
        )
        .select(checkin_states::device_id)
        .load(conn)?;
    ids.extend(
        group_devices::table
            .inner_join(groups::table)
            .filter(in_customer!(group_devices::customer_id, scope))
            .filter(in_customer!(groups::customer_id, scope))
            .filter(groups::schedule_id.eq(id))
            .select(group_devices::device_id)
            .load::<DeviceId>(conn)?,
    );
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// After a schedule's times changed: its devices' due times again.
pub fn reschedule(
    conn: &mut PgConnection,
    scope: Option<CustomerId>,
    id: ScheduleId,
) -> Result<(), DomainError> {
    let ids = following(conn, scope, id)?;
    refresh(conn, scope, &ids)
}

/// A schedule no longer shared: the sub-tenants' devices and groups that used it let it go.
pub fn drop_unusable(
    conn: &mut PgConnection,
    scope: Option<CustomerId>,
    schedule: &Schedule,
) -> Result<(), DomainError> {
    use crate::db::schema::devices;
    let elsewhere = devices::table
        .filter(in_customer!(devices::customer_id, scope))
        .filter(devices::tenant_id.ne(schedule.tenant_id))
        .select(devices::id);
    diesel::update(
        checkin_states::table
            .filter(in_customer!(checkin_states::customer_id, scope))
            .filter(checkin_states::own_schedule_id.eq(schedule.id))
            .filter(checkin_states::device_id.eq_any(elsewhere)),
    )
    .set(checkin_states::own_schedule_id.eq(None::<ScheduleId>))
    .execute(conn)?;
    diesel::update(
        groups::table
            .filter(in_customer!(groups::customer_id, scope))
            .filter(groups::schedule_id.eq(schedule.id))
            .filter(groups::tenant_id.ne(schedule.tenant_id)),
    )
    .set(groups::schedule_id.eq(None::<ScheduleId>))
    .execute(conn)?;
    Ok(())
}

/// Sets (or clears) the schedules the devices follow by their own assignment. The schedule
/// must be usable at the reached tenant, and the devices the caller's (checked by the caller
/// through the access layer). Returns how many devices changed.
pub fn assign(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    devices: &[Device],
    schedule: Option<ScheduleId>,
) -> Result<usize, DomainError> {
    access.check(reached, Permission::SchedulesManage)?;
    let name = match schedule {
        Some(id) => Some(crate::domain::schedules::find(conn, reached, id)?.name),
        None => None,
    };
    if let Some(why) = refused(conn, access, devices, schedule)? {
        return Err(DomainError::Invalid(why));
    }
    conn.transaction(|conn| {
        let ids: Vec<DeviceId> = devices.iter().map(|d| d.id).collect();
        let customers: Vec<CustomerId> = devices.iter().map(|d| d.customer_id).collect();
        diesel::sql_query(
            "INSERT INTO checkin_states (device_id, customer_id, own_schedule_id) \
             SELECT d, c, $2 FROM unnest($1::uuid[], $3::uuid[]) AS u(d, c) \
             ON CONFLICT (device_id, customer_id) \
             DO UPDATE SET own_schedule_id = excluded.own_schedule_id",
        )
        .bind::<Array<SqlUuid>, _>(&ids)
        .bind::<Nullable<SqlUuid>, _>(schedule)
        .bind::<Array<SqlUuid>, _>(&customers)
        .execute(conn)?;
        refresh(conn, reached.scope(), &ids)?;
        let events: Vec<Event> = devices
            .iter()
            .map(|d| {
                Event::new(AuditAction::ScheduleAssign, &d.tenant_path, d.id)
                    .detail(serde_json::json!({ "device": d.name, "schedule": name }))
            })
            .collect();
        crate::domain::audit::record_many(conn, &access.actor, &events)?;
        Ok(ids.len())
    })
}

/// Why these devices cannot follow the schedule, if they cannot: each must be the caller's to
/// schedule, and the schedule usable where each device is (its tenant's own, or shared from
/// above it).
pub fn refused(
    conn: &mut PgConnection,
    access: &Access,
    devices: &[Device],
    schedule: Option<ScheduleId>,
) -> Result<Option<String>, DomainError> {
    if devices.is_empty() {
        return Ok(Some("Select at least one device.".into()));
    }
    if devices.len() > MAX_ASSIGN {
        return Ok(Some(format!("Set at most {MAX_ASSIGN} devices at once.")));
    }
    let mut not_usable = Vec::new();
    for d in devices {
        if !access.permits_device(conn, d, Permission::SchedulesManage)? {
            return Ok(Some(format!(
                "You may not set the schedule of {} ({}).",
                d.name, d.identifier
            )));
        }
        if let Some(id) = schedule
            && crate::domain::schedules::usable_at_path(conn, &d.tenant_path, id).is_err()
        {
            not_usable.push(d.identifier.clone());
        }
    }
    if !not_usable.is_empty() {
        return Ok(Some(format!(
            "This schedule is not available where these devices are: {}. Choose one of their \
             tenant's own schedules, or one shared from above them.",
            not_usable.join(", ")
        )));
    }
    Ok(None)
}

/// The most devices one bulk change of schedule takes.
pub const MAX_ASSIGN: usize = 1000;

/// Sets (or clears) the schedule a group's devices follow unless they have their own.
pub fn assign_group(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    group: GroupId,
    schedule: Option<ScheduleId>,
) -> Result<(), DomainError> {
    crate::domain::groups::find(conn, reached, group)?;
    access.check(reached, Permission::SchedulesManage)?;
    let name = match schedule {
        Some(id) => Some(crate::domain::schedules::find(conn, reached, id)?.name),
        None => None,
    };
    conn.transaction(|conn| {
        diesel::update(
            groups::table
                .filter(groups::customer_id.eq(reached.customer()))
                .filter(groups::id.eq(group)),
        )
        .set(groups::schedule_id.eq(schedule))
        .execute(conn)?;
        let ids: Vec<DeviceId> = group_devices::table
            .filter(group_devices::customer_id.eq(reached.customer()))
            .filter(group_devices::group_id.eq(group))
            .select(group_devices::device_id)
            .load(conn)?;
        refresh(conn, Some(reached.customer()), &ids)?;
        Event::new(AuditAction::GroupSchedule, reached.path(), group)
            .detail(serde_json::json!({ "group": group, "schedule": name, "devices": ids.len() }))
            .record(conn, &access.actor)?;
        Ok(())
    })
}
