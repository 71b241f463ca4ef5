//! Telling contacts of an alert: a notification row per (alert, step, address) and an email
//! through the outbox, for many alerts in three statements however many contacts.
use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::Alert;
use super::batch::Batch;
use crate::db::schema::alert_notifications;
use crate::domain::contacts::Contact;
use crate::domain::devices::Device;
use crate::domain::error::DomainError;
use crate::domain::ids::{AlertId, ContactId};
use crate::domain::schedules::Schedule;
use crate::email::messages::Rendered;
use crate::email::outbox::{self, NewMessage};

/// One step of one alert: whom to tell.
pub(super) struct Telling<'a> {
    pub alert: &'a Alert,
    pub device: &'a Device,
    pub schedule: &'a Schedule,
    pub contacts: Vec<(Contact, i16)>,
    pub step: i32,
}

/// Emails each contact of each telling once per step (a notification already written for the
/// step and address is not sent again); returns, per telling, whom it told.
pub(super) fn tell_all(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    tellings: &[Telling<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<Vec<String>>, DomainError> {
    let mut rows = Vec::new();
    for t in tellings {
        for (c, tier) in &t.contacts {
            let Some(email) = &c.email else { continue };
            rows.push((
                alert_notifications::customer_id.eq(t.device.customer_id),
                alert_notifications::alert_id.eq(t.alert.id),
                alert_notifications::step.eq(t.step),
                alert_notifications::tier.eq(*tier),
                alert_notifications::contact_id.eq(c.id),
                alert_notifications::name.eq(c.name.clone()),
                alert_notifications::email.eq(email.clone()),
                alert_notifications::at.eq(now),
            ));
        }
    }
    if rows.is_empty() {
        return Ok(tellings.iter().map(|_| Vec::new()).collect());
    }
    let fresh: HashSet<(AlertId, i32, Option<ContactId>)> =
        diesel::insert_into(alert_notifications::table)
            .values(&rows)
            .on_conflict_do_nothing()
            .returning((
                alert_notifications::alert_id,
                alert_notifications::step,
                alert_notifications::contact_id,
            ))
            .get_results(conn)?
            .into_iter()
            .collect();
    let mut messages: Vec<(String, Rendered)> = Vec::new();
    let mut told = Vec::new();
    for t in tellings {
        let mut names = Vec::new();
        for (c, _) in &t.contacts {
            let Some(email) = &c.email else { continue };
            if !fresh.contains(&(t.alert.id, t.step, Some(c.id))) {
                continue;
            }
            messages.push((email.clone(), message(conn, cache, t, c, now)?));
            names.push(c.name.clone());
        }
        told.push(names);
    }
    let new: Vec<NewMessage<'_>> = messages
        .iter()
        .map(|(to, m)| NewMessage {
            to,
            subject: &m.subject,
            text: &m.text,
            html: &m.html,
            invitation_id: None,
        })
        .collect();
    outbox::enqueue_all(conn, &new)?;
    Ok(told)
}

/// The email telling `contact` of the alert, with its signed acknowledge link.
fn message(
    conn: &mut PgConnection,
    cache: &mut Batch<'_>,
    t: &Telling<'_>,
    contact: &Contact,
    now: DateTime<Utc>,
) -> Result<Rendered, DomainError> {
    let place = cache.place(conn, t.device.tenant_id)?;
    let (tenant_name, brand) = (&place.0, &place.1);
    let notices = cache.notices;
    let base = notices.base_url.trim_end_matches('/');
    let due = t
        .alert
        .due_at
        .with_timezone(&t.schedule.zone())
        .format("%a %d %b %Y %H:%M %Z")
        .to_string();
    let link = format!(
        "{base}/alerts/acknowledge/{}",
        super::links::sign(
            &notices.key,
            &super::links::Named {
                alert: t.alert.id,
                contact: contact.id,
                alert_customer: t.alert.customer_id,
                contact_customer: contact.customer_id,
            },
            now,
        )
    );
    let page = format!("{base}/tenants/{}/alerts", t.device.tenant_id);
    crate::email::messages::alert(
        brand,
        &contact.name,
        &t.device.name,
        &t.device.identifier,
        tenant_name,
        &due,
        &link,
        &page,
        t.step > 1,
    )
}
