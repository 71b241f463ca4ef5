//! Check-ins, schedules and alerts, against a real database with a moved clock: a missed
//! check-in opens one alert and tells tier 1, repeats and tier 2 come on time, a check-in or an
//! acknowledgement stops it, and several schedulers at once still make one alert and one email
//! per contact per step. The check-in URL's token is the only way in.
use canopy::domain::alerts::scheduler::{self, Notices, Pass};
use canopy::domain::ids::{AlertId, ContactId, DeviceId, ScheduleId};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use diesel::RunQueryDsl;
use diesel::sql_types::{Integer, Nullable, SmallInt, Text, Uuid as SqlUuid};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

pub fn contact_in(app: &TestApp, tenant: &Tenant, name: &str, email: &str) -> ContactId {
    let id = ContactId::new();
    diesel::sql_query("INSERT INTO contacts (id, tenant_id, name, email, customer_id) \
         VALUES ($1, $2, $3, $4, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(tenant.id)
        .bind::<Text, _>(name)
        .bind::<Text, _>(email)
        .execute(&mut app.conn())
        .unwrap();
    id
}

/// A schedule of `tenant`: every `every` minutes with `grace`, tier 2 after `tier2_after`
/// minutes and repeats every `repeat` minutes (when given).
pub fn schedule_in(
    app: &TestApp,
    tenant: &Tenant,
    name: &str,
    every: i32,
    grace: i32,
    tier2_after: Option<i32>,
    repeat: Option<i32>,
) -> ScheduleId {
    let id = ScheduleId::new();
    diesel::sql_query(
        "INSERT INTO schedules (id, tenant_id, name, time_zone, interval_minutes, grace_minutes, \
         tier2_after_minutes, repeat_minutes, customer_id) \
         VALUES ($1, $2, $3, 'Europe/London', $4, $5, $6, $7, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(tenant.id)
    .bind::<Text, _>(name)
    .bind::<Integer, _>(every)
    .bind::<Integer, _>(grace)
    .bind::<Nullable<Integer>, _>(tier2_after)
    .bind::<Nullable<Integer>, _>(repeat)
    .execute(&mut app.conn())
    .unwrap();
    id
}

pub fn tell(app: &TestApp, tenant: &Tenant, schedule: ScheduleId, contact: ContactId, tier: i16) {
    diesel::sql_query(
        "INSERT INTO schedule_contacts (schedule_id, tenant_id, contact_id, tier, customer_id) \
         VALUES ($1, $2, $3, $4, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))",
    )
    .bind::<SqlUuid, _>(schedule)
    .bind::<SqlUuid, _>(tenant.id)
    .bind::<SqlUuid, _>(contact)
    .bind::<SmallInt, _>(tier)
    .execute(&mut app.conn())
    .unwrap();
}

/// Puts the device on the schedule, due from the database's now.
pub fn follow(app: &TestApp, device: DeviceId, schedule: ScheduleId) {
    diesel::sql_query(
        "INSERT INTO checkin_states (device_id, own_schedule_id, customer_id) \
         SELECT id, $2, customer_id FROM devices WHERE id = $1 \
         ON CONFLICT (device_id, customer_id) DO UPDATE SET own_schedule_id = excluded.own_schedule_id",
    )
    .bind::<SqlUuid, _>(device)
    .bind::<SqlUuid, _>(schedule)
    .execute(&mut app.conn())
    .unwrap();
    let customer = Some(crate::devices::load(app, device).customer_id);
    canopy::domain::checkins::refresh(&mut app.conn(), customer, &[device]).unwrap();
}

/// Moves the database's clock `minutes` further (everything reads `canopy_now()`).
pub fn advance(app: &TestApp, minutes: i32) {
    diesel::sql_query(
        "INSERT INTO clock (only_row, skew) VALUES (true, make_interval(mins => $1)) \
         ON CONFLICT (only_row) DO UPDATE SET skew = clock.skew + make_interval(mins => $1)",
    )
    .bind::<Integer, _>(minutes)
    .execute(&mut app.conn())
    .unwrap();
}

pub fn notices(app: &TestApp) -> Notices {
    Notices {
        base_url: app.base.clone(),
        key: canopy::startup::alert_key(&"k".repeat(64).into_bytes()),
    }
}

pub fn pass(app: &TestApp) -> Pass {
    scheduler::pass(&mut app.conn(), &notices(app), 100).unwrap()
}

/// An open alert for the device, as the scheduler would have opened it.
pub fn alert_for(app: &TestApp, tenant: &Tenant, device: DeviceId) -> AlertId {
    let id = AlertId::new();
    diesel::sql_query(
        "INSERT INTO alerts (id, device_id, tenant_id, tenant_path, due_at, opened_at, customer_id) \
         VALUES ($1, $2, $3, $4, now() - interval '1 hour', now(), canopy_customer($4))",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(device)
    .bind::<SqlUuid, _>(tenant.id)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(&tenant.traversal_ids)
    .execute(&mut app.conn())
    .unwrap();
    id
}

/// The alert emails in the outbox, as (recipient, subject), oldest first.
pub(crate) fn alert_mail(app: &TestApp) -> Vec<(String, String)> {
    #[derive(diesel::QueryableByName)]
    struct M {
        #[diesel(sql_type = Text)]
        to_email: String,
        #[diesel(sql_type = Text)]
        subject: String,
    }
    diesel::sql_query(
        "SELECT to_email, subject FROM outbox WHERE subject LIKE '%has not checked in' ORDER BY id",
    )
    .load::<M>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|m| (m.to_email, m.subject))
    .collect()
}

pub(crate) fn state_of(app: &TestApp, device: DeviceId) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = Text)]
        state: String,
    }
    diesel::sql_query("SELECT state FROM alerts WHERE device_id = $1 ORDER BY opened_at")
        .bind::<SqlUuid, _>(device)
        .load::<S>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|s| s.state)
        .collect()
}

/// Acme with a phone on "Every 4 hours, 30 min grace", Olly on tier 1 and Tess on tier 2
/// (after 60 minutes), repeats every 30 minutes.
pub(crate) struct Watched {
    pub(crate) acme: Tenant,
    pub(crate) phone: DeviceId,
}

pub(crate) fn watched(app: &TestApp) -> Watched {
    let acme = app.root("Acme");
    let phone = crate::devices::device_in(app, &acme, "PHONE-1");
    let s = schedule_in(app, &acme, "Field staff", 240, 30, Some(60), Some(30));
    let olly = contact_in(app, &acme, "Olly", "olly@acme.example");
    let tess = contact_in(app, &acme, "Tess", "tess@acme.example");
    tell(app, &acme, s, olly, 1);
    tell(app, &acme, s, tess, 2);
    follow(app, phone, s);
    Watched { acme, phone }
}

#[tokio::test]
async fn a_missed_check_in_opens_one_alert_then_repeats_and_escalates_on_the_moved_clock() {
    let app = spawn_app().await;
    let w = watched(&app);
    // Due at +4 h; within the grace nothing happens.
    advance(&app, 240 + 29);
    assert_eq!(pass(&app), Pass::default());
    assert!(state_of(&app, w.phone).is_empty());
    // Past due + grace: one alert, tier 1 told.
    advance(&app, 2);
    assert_eq!(pass(&app).opened, 1);
    assert_eq!(state_of(&app, w.phone), ["open"]);
    let mail = alert_mail(&app);
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].0, "olly@acme.example");
    assert!(mail[0].1.starts_with("Overdue: Device PHONE-1 (Acme)"));
    // A second pass at the same moment does nothing more.
    assert_eq!(pass(&app), Pass::default());
    // +30 min: the first repeat, to tier 1 only.
    advance(&app, 30);
    pass(&app);
    let mail = alert_mail(&app);
    assert_eq!(mail.len(), 2, "{mail:?}");
    assert_eq!(mail[1].0, "olly@acme.example");
    assert!(mail[1].1.starts_with("Still overdue"));
    // +60 min: tier 2 is told (and the second repeat, to tier 1).
    advance(&app, 30);
    pass(&app);
    let mail = alert_mail(&app);
    let to: Vec<&str> = mail[2..].iter().map(|m| m.0.as_str()).collect();
    assert!(to.contains(&"tess@acme.example"), "{mail:?}");
    assert!(to.contains(&"olly@acme.example"), "{mail:?}");
    assert_eq!(mail.len(), 4, "{mail:?}");
    // Still one alert: a missed check-in is one alert, however long it lasts.
    assert_eq!(state_of(&app, w.phone), ["open"]);
    // The device checks in: the alert resolves, and nobody is told again.
    let device = crate::devices::load(&app, w.phone);
    canopy::domain::checkins::record(
        &mut app.conn(),
        &device,
        canopy::domain::checkins::Source::Portal,
        None,
        &canopy::domain::checkins::CheckinInput::default()
            .parse()
            .unwrap(),
        &canopy::domain::audit::Actor::system(),
    )
    .unwrap();
    assert_eq!(state_of(&app, w.phone), ["resolved"]);
    advance(&app, 120);
    pass(&app);
    assert_eq!(alert_mail(&app).len(), 4);
    // Every step is in the audit log.
    for action in [
        "alert.open",
        "alert.repeat",
        "alert.escalate",
        "alert.resolve",
    ] {
        let n = app.count(&format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = '{action}'"
        ));
        assert!(n >= 1, "{action}");
    }
    let _ = w.acme;
}

#[tokio::test]
async fn acknowledging_stops_the_reminders_and_the_next_check_in_resolves_it() {
    let app = spawn_app().await;
    let w = watched(&app);
    app.user("ann@acme.example", &w.acme, Role::Admin);
    advance(&app, 271);
    pass(&app);
    let mut ann = app.signed_in("ann@acme.example").await;
    let page = ann.get(&format!("/tenants/{}/alerts", w.acme.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Device PHONE-1"), "{}", page.body);
    assert!(page.body.contains("Olly"));
    let alert: String = {
        #[derive(diesel::QueryableByName)]
        struct A {
            #[diesel(sql_type = SqlUuid)]
            id: uuid::Uuid,
        }
        diesel::sql_query("SELECT id FROM alerts")
            .get_result::<A>(&mut app.conn())
            .unwrap()
            .id
            .to_string()
    };
    let res = ann
        .post(
            &format!("/tenants/{}/alerts/{alert}/acknowledge", w.acme.id),
            &[("note", "Calling the driver")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&app, w.phone), ["acknowledged"]);
    let page = ann.get(&format!("/tenants/{}/alerts", w.acme.id)).await;
    assert!(page.body.contains("Calling the driver"));
    assert!(page.body.contains("Alert acknowledged"));
    let sent = alert_mail(&app).len();
    advance(&app, 120);
    pass(&app);
    assert_eq!(
        alert_mail(&app).len(),
        sent,
        "no reminder after acknowledging"
    );
    // The device page says so; a check-in from the page resolves it.
    let device = ann.get(&crate::devices::page(&app, w.phone)).await;
    assert!(device.body.contains("Acknowledged"), "{}", device.body);
    let res = ann
        .post(
            &format!("{}/check-in", crate::devices::page(&app, w.phone)),
            &[("message", "Back in signal")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&app, w.phone), ["resolved"]);
    let device = ann.get(&crate::devices::page(&app, w.phone)).await;
    assert!(device.body.contains("Back in signal"));
    assert!(device.body.contains("checkin-ok"), "{}", device.body);
}

#[tokio::test]
async fn the_email_link_acknowledges_once_and_an_altered_one_is_unknown() {
    let app = spawn_app().await;
    let w = watched(&app);
    advance(&app, 271);
    pass(&app);
    #[derive(diesel::QueryableByName)]
    struct B {
        #[diesel(sql_type = Text)]
        text_body: String,
    }
    let body = diesel::sql_query("SELECT text_body FROM outbox ORDER BY id LIMIT 1")
        .get_result::<B>(&mut app.conn())
        .unwrap()
        .text_body;
    let link = body
        .lines()
        .find(|l| l.contains("/alerts/acknowledge/"))
        .unwrap()
        .trim()
        .to_string();
    let path = link.trim_start_matches(&app.base).to_string();
    let mut olly = app.browser();
    let page = olly.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Acknowledge as Olly"), "{}", page.body);
    // Opening the link changes nothing.
    assert_eq!(state_of(&app, w.phone), ["open"]);
    let done = olly.post(&path, &[("note", "On my way")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(state_of(&app, w.phone), ["acknowledged"]);
    let again = olly.post(&path, &[("note", "again")]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(
        again.body.contains("acknowledged already, by Olly"),
        "{}",
        again.body
    );
    // One character changed: not a link of ours.
    let mut altered = path.clone();
    let last = altered.pop().unwrap();
    altered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(olly.get(&altered).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn two_schedulers_at_once_make_one_alert_and_one_email_per_contact_per_step() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let s = schedule_in(&app, &acme, "Fleet", 60, 0, None, Some(15));
    let olly = contact_in(&app, &acme, "Olly", "olly@acme.example");
    tell(&app, &acme, s, olly, 1);
    let mut phones = Vec::new();
    for i in 0..40 {
        let d = crate::devices::device_in(&app, &acme, &format!("P-{i:03}"));
        follow(&app, d, s);
        phones.push(d);
    }
    advance(&app, 61);
    let run = |app: &TestApp| {
        let (pool, n) = (app.pool.clone(), notices(app));
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            // Small batches, so the two interleave.
            scheduler::pass(&mut conn, &n, 3).unwrap()
        })
    };
    let (a, b) = (run(&app), run(&app));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a.opened + b.opened, 40, "{a:?} {b:?}");
    assert_eq!(app.count("SELECT count(*) AS n FROM alerts"), 40);
    assert_eq!(alert_mail(&app).len(), 40);
    advance(&app, 15);
    let (a, b) = (run(&app), run(&app));
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(alert_mail(&app).len(), 80, "one repeat each");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM (SELECT alert_id, step, email FROM alert_notifications GROUP BY 1, 2, 3 HAVING count(*) > 1) d"),
        0
    );
}
