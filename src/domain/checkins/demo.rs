//! The demo's check-ins: Acme Haulage keeps a contact for its operator and a schedule for its
//! drivers' phones; two phones checked in lately, and one has been quiet past its due time, so
//! the dashboard shows an overdue device and the alerts page an open alert.
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};

use crate::domain::error::DomainError;
use crate::domain::ids::{ContactId, DeviceId, ScheduleId};
use crate::domain::tenants::Tenant;

pub fn seed(conn: &mut PgConnection, acme: &Tenant) -> Result<(), DomainError> {
    let customer = acme.customer();
    let contact = ContactId::new();
    diesel::sql_query(
        "INSERT INTO contacts (id, tenant_id, name, email, phone, user_id, customer_id) \
         SELECT $1, $2, 'Olly (dispatch)', 'olly@acme.example', '+447700900123', m.user_id, $3 \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.tenant_id = $2 AND u.email = 'olly@acme.example'",
    )
    .bind::<SqlUuid, _>(contact)
    .bind::<SqlUuid, _>(acme.id)
    .bind::<SqlUuid, _>(customer)
    .execute(conn)?;
    let schedule = ScheduleId::new();
    diesel::sql_query(
        "INSERT INTO schedules (id, tenant_id, name, time_zone, interval_minutes, grace_minutes, \
         repeat_minutes, shared_below, customer_id) \
         VALUES ($1, $2, 'Drivers on the road', 'Europe/London', 240, 30, 30, true, $3)",
    )
    .bind::<SqlUuid, _>(schedule)
    .bind::<SqlUuid, _>(acme.id)
    .bind::<SqlUuid, _>(customer)
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO schedule_contacts (schedule_id, tenant_id, contact_id, tier, customer_id) \
         VALUES ($1, $2, $3, 1, $4)",
    )
    .bind::<SqlUuid, _>(schedule)
    .bind::<SqlUuid, _>(acme.id)
    .bind::<SqlUuid, _>(contact)
    .bind::<SqlUuid, _>(customer)
    .execute(conn)?;
    // Three of Acme's own devices in service follow it.
    let phones: Vec<DeviceId> = crate::db::schema::devices::table
        .filter(crate::db::schema::devices::customer_id.eq(customer))
        .filter(crate::db::schema::devices::tenant_id.eq(acme.id))
        .filter(crate::db::schema::devices::status.ne(crate::domain::states::DeviceStatus::Retired))
        .order(crate::db::schema::devices::identifier)
        .limit(3)
        .select(crate::db::schema::devices::id)
        .load(conn)?;
    diesel::sql_query(
        "INSERT INTO checkin_states (device_id, own_schedule_id, customer_id) \
         SELECT unnest($1::uuid[]), $2, $3",
    )
    .bind::<Array<SqlUuid>, _>(&phones)
    .bind::<SqlUuid, _>(schedule)
    .bind::<SqlUuid, _>(customer)
    .execute(conn)?;
    super::refresh(conn, Some(customer), &phones)?;
    // History: the first two checked in an hour ago; the last one not for six hours.
    let ago = |hours: i32| format!("now() - interval '{hours} hours'");
    for (i, phone) in phones.iter().enumerate() {
        let (last, message) = if i + 1 < phones.len() {
            (ago(1), "All well")
        } else {
            (ago(6), "Leaving the depot")
        };
        diesel::sql_query(format!(
            "INSERT INTO checkins (id, device_id, at, source, message, customer_id) \
             VALUES (gen_random_uuid(), $1, {last}, 'url', $2, $3)"
        ))
        .bind::<SqlUuid, _>(phone)
        .bind::<Text, _>(message)
        .bind::<SqlUuid, _>(customer)
        .execute(conn)?;
        diesel::sql_query(format!(
            "UPDATE checkin_states SET last_checkin_at = {last}, since = {last}, \
             next_due_at = {last} + interval '4 hours', \
             alert_at = {last} + interval '4 hours 30 minutes' \
             WHERE customer_id = $2 AND device_id = $1"
        ))
        .bind::<SqlUuid, _>(phone)
        .bind::<SqlUuid, _>(customer)
        .execute(conn)?;
    }
    // The quiet one's alert, opened when its grace ran out and told to Olly.
    if let Some(quiet) = phones.last() {
        let alert = uuid::Uuid::now_v7();
        diesel::sql_query(
            "INSERT INTO alerts (id, device_id, tenant_id, tenant_path, schedule_id, due_at, \
             opened_at, steps, next_step_at, customer_id) \
             VALUES ($1, $2, $3, $4, $5, now() - interval '2 hours', \
                     now() - interval '90 minutes', 1, now(), $6)",
        )
        .bind::<SqlUuid, _>(alert)
        .bind::<SqlUuid, _>(quiet)
        .bind::<SqlUuid, _>(acme.id)
        .bind::<Array<SqlUuid>, _>(&acme.traversal_ids)
        .bind::<SqlUuid, _>(schedule)
        .bind::<SqlUuid, _>(customer)
        .execute(conn)?;
        diesel::sql_query(
            "INSERT INTO alert_notifications \
               (alert_id, step, tier, contact_id, name, email, at, customer_id) \
             VALUES ($1, 1, 1, $2, 'Olly (dispatch)', 'olly@acme.example', \
                     now() - interval '90 minutes', $3)",
        )
        .bind::<SqlUuid, _>(alert)
        .bind::<SqlUuid, _>(contact)
        .bind::<SqlUuid, _>(customer)
        .execute(conn)?;
        diesel::sql_query(
            "UPDATE checkin_states SET next_due_at = now() + interval '2 hours', \
             alert_at = now() + interval '150 minutes' WHERE customer_id = $2 AND device_id = $1",
        )
        .bind::<SqlUuid, _>(quiet)
        .bind::<SqlUuid, _>(customer)
        .execute(conn)?;
    }
    Ok(())
}
