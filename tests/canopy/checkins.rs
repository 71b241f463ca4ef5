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
    diesel::sql_query("INSERT INTO contacts (id, tenant_id, name, email) VALUES ($1, $2, $3, $4)")
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
         tier2_after_minutes, repeat_minutes) VALUES ($1, $2, $3, 'Europe/London', $4, $5, $6, $7)",
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
        "INSERT INTO schedule_contacts (schedule_id, tenant_id, contact_id, tier) \
         VALUES ($1, $2, $3, $4)",
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
        "INSERT INTO checkin_states (device_id, own_schedule_id) VALUES ($1, $2) \
         ON CONFLICT (device_id) DO UPDATE SET own_schedule_id = excluded.own_schedule_id",
    )
    .bind::<SqlUuid, _>(device)
    .bind::<SqlUuid, _>(schedule)
    .execute(&mut app.conn())
    .unwrap();
    canopy::domain::checkins::refresh(&mut app.conn(), &[device]).unwrap();
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
        "INSERT INTO alerts (id, device_id, tenant_id, tenant_path, due_at, opened_at) \
         VALUES ($1, $2, $3, $4, now() - interval '1 hour', now())",
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
fn alert_mail(app: &TestApp) -> Vec<(String, String)> {
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

fn state_of(app: &TestApp, device: DeviceId) -> Vec<String> {
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
struct Watched {
    acme: Tenant,
    phone: DeviceId,
}

fn watched(app: &TestApp) -> Watched {
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
    let device = canopy::domain::devices::find(&mut app.conn(), w.phone)
        .unwrap()
        .unwrap();
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
    let device = ann.get(&format!("/devices/{}", w.phone)).await;
    assert!(device.body.contains("Acknowledged"), "{}", device.body);
    let res = ann
        .post(
            &format!("/devices/{}/check-in", w.phone),
            &[("message", "Back in signal")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(state_of(&app, w.phone), ["resolved"]);
    let device = ann.get(&format!("/devices/{}", w.phone)).await;
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

#[tokio::test]
async fn the_check_in_url_is_the_only_key_and_bad_bodies_store_nothing() {
    let app = spawn_app().await;
    let w = watched(&app);
    app.user("ann@acme.example", &w.acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let made = ann
        .post(&format!("/devices/{}/check-in-url", w.phone), &[])
        .await;
    assert_eq!(made.status, StatusCode::OK);
    let url = made
        .body
        .split("value=\"")
        .find_map(|p| p.split('"').next().filter(|u| u.contains("/check-in/")))
        .unwrap()
        .to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 bits in hex");
    // Only its hash is stored.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE token_hash = '{token}'"
        )),
        0
    );
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>, path: String| {
        let client = client.clone();
        let url = format!("{}{path}", app.base);
        async move {
            let res = client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            res.status()
        }
    };
    let path = format!("/check-in/{token}");
    let checkins = || app.count("SELECT count(*) AS n FROM checkins");
    // A terminal with no cookie and no CSRF token checks in; replays are more check-ins.
    assert_eq!(
        post(b"message=ok&lat=51.5&lon=-0.12".to_vec(), path.clone()).await,
        StatusCode::OK
    );
    assert_eq!(post(Vec::new(), path.clone()).await, StatusCode::OK);
    assert_eq!(checkins(), 2);
    // Malformed, half a position, out of range, NUL, huge: refused, nothing stored.
    for bad in [
        b"latitude=91&longitude=0".to_vec(),
        b"latitude=10".to_vec(),
        b"latitude=abc&longitude=1".to_vec(),
        b"message=a%00b".to_vec(),
        format!("message={}", "x".repeat(600)).into_bytes(),
        format!("message={}", "x".repeat(70_000)).into_bytes(),
    ] {
        let status = post(bad, path.clone()).await;
        assert!(status.is_client_error(), "{status}");
    }
    assert_eq!(checkins(), 2);
    // A wrong token is unknown.
    let wrong = format!("/check-in/{}", "0".repeat(64));
    assert_eq!(post(Vec::new(), wrong).await, StatusCode::NOT_FOUND);
    // A new URL kills the old one.
    ann.post(&format!("/devices/{}/check-in-url", w.phone), &[])
        .await;
    assert_eq!(post(Vec::new(), path.clone()).await, StatusCode::NOT_FOUND);
    assert_eq!(checkins(), 2);
    let page = ann.get(&format!("/devices/{}", w.phone)).await;
    assert!(page.body.contains("check-in URL"), "{}", page.body);
    assert!(page.body.contains("51.5, -0.12"));
}

#[tokio::test]
async fn a_device_that_moves_away_resolves_its_alert_and_drops_a_schedule_it_cannot_use() {
    let app = spawn_app().await;
    let w = watched(&app);
    let other = app.child(&w.acme, "Acme UK");
    app.user("ann@acme.example", &w.acme, Role::Admin);
    advance(&app, 271);
    pass(&app);
    let mut ann = app.signed_in("ann@acme.example").await;
    let preview = ann
        .get(&format!(
            "/tenants/{}/devices/move?ids={}&to={}",
            w.acme.id, w.phone, other.id
        ))
        .await;
    assert!(
        preview.body.contains("id=\"move-schedules\""),
        "{}",
        preview.body
    );
    assert!(preview.body.contains("id=\"move-alerts\""));
    let phone = w.phone.to_string();
    let to = other.id.to_string();
    let res = ann
        .post(
            &format!("/tenants/{}/devices/move", w.acme.id),
            &[("ids", phone.as_str()), ("to", to.as_str())],
        )
        .await;
    assert!(res.status.is_redirection(), "{}", res.body);
    assert_eq!(state_of(&app, w.phone), ["resolved"]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE device_id = '{}' \
             AND own_schedule_id IS NULL AND next_due_at IS NULL",
            w.phone
        )),
        1
    );
}

#[tokio::test]
async fn a_subtree_that_moves_takes_its_alerts_along_and_lets_go_of_schedules_from_its_old_ancestors()
 {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let beta = app.child(&rent, "Beta");
    let uk = app.child(&acme, "Acme UK");
    app.user("root@rent.example", &rent, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("bob@beta.example", &beta, Role::Admin);
    let shared = schedule_in(&app, &acme, "Acme-wide", 60, 0, None, None);
    diesel::sql_query("UPDATE schedules SET shared_below = true")
        .execute(&mut app.conn())
        .unwrap();
    let phone = crate::devices::device_in(&app, &uk, "UK-PHONE");
    follow(&app, phone, shared);
    advance(&app, 61);
    assert_eq!(pass(&app).opened, 1);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut bob = app.signed_in("bob@beta.example").await;
    assert!(
        ann.get(&format!("/tenants/{}/alerts", acme.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    assert!(
        !bob.get(&format!("/tenants/{}/alerts", beta.id))
            .await
            .body
            .contains("UK-PHONE")
    );

    let mut root = app.signed_in("root@rent.example").await;
    let to = beta.id.to_string();
    let res = root
        .post(
            &format!("/tenants/{}/move", uk.id),
            &[("parent_id", to.as_str())],
        )
        .await;
    assert!(res.status.is_redirection(), "{} {}", res.status, res.body);
    // The alert is Beta's subtree's now, and no longer Acme's.
    assert!(
        !ann.get(&format!("/tenants/{}/alerts", acme.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    assert!(
        bob.get(&format!("/tenants/{}/alerts", beta.id))
            .await
            .body
            .contains("UK-PHONE")
    );
    // Acme's shared schedule is not above Acme UK any more: the phone follows nothing.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM checkin_states WHERE device_id = '{phone}' \
             AND own_schedule_id IS NULL AND schedule_id IS NULL AND next_due_at IS NULL"
        )),
        1
    );
}

#[tokio::test]
async fn a_selection_gets_a_schedule_and_the_overdue_card_and_filter_count_the_same_devices() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let fleet = schedule_in(&app, &acme, "Fleet", 60, 0, None, None);
    let a = crate::devices::device_in(&app, &acme, "SEL-A");
    let b = crate::devices::device_in(&app, &acme, "SEL-B");
    crate::devices::device_in(&app, &acme, "SEL-C");
    let far = crate::devices::device_in(&app, &uk, "UK-FAR");
    let mut ann = app.signed_in("ann@acme.example").await;
    let t = acme.id;
    // A sub-tenant's device cannot follow a schedule Acme keeps to itself: refused, and why.
    let refused = ann
        .get(&format!(
            "/tenants/{t}/schedules/assign?ids={a}&ids={far}&schedule={fleet}"
        ))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("UK-FAR"), "{}", refused.body);
    let (a_s, b_s, f_s) = (a.to_string(), b.to_string(), fleet.to_string());
    let res = ann
        .post(
            &format!("/tenants/{t}/schedules/assign"),
            &[
                ("ids", &a_s),
                ("ids", far.to_string().as_str()),
                ("schedule", &f_s),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states"),
        0,
        "nothing half-done"
    );
    let preview = ann
        .get(&format!(
            "/tenants/{t}/schedules/assign?ids={a}&ids={b}&schedule={fleet}"
        ))
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("SEL-A") && preview.body.contains("SEL-B"));
    let res = ann
        .post(
            &format!("/tenants/{t}/schedules/assign"),
            &[("ids", &a_s), ("ids", &b_s), ("schedule", &f_s)],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let list = ann.get(&format!("/tenants/{t}/devices")).await;
    assert!(
        list.body.contains("Check-in schedule set for 2 devices."),
        "{}",
        list.body
    );
    let card = ann.get(&format!("/tenants/{t}/alerts/overdue")).await;
    assert!(
        card.body.contains("<span class=\"number\">0</span>"),
        "{}",
        card.body
    );
    advance(&app, 61);
    assert_eq!(pass(&app).opened, 2);
    let card = ann.get(&format!("/tenants/{t}/alerts/overdue")).await;
    assert!(
        card.body.contains("<span class=\"number\">2</span>"),
        "{}",
        card.body
    );
    let overdue = ann.get(&crate::helpers::first_href(&card.body)).await;
    assert!(overdue.body.contains("SEL-A") && overdue.body.contains("SEL-B"));
    assert!(!overdue.body.contains("SEL-C"), "{}", overdue.body);
    assert!(overdue.body.contains("2 devices"), "{}", overdue.body);
    // The dashboard loads the card.
    let dash = ann.get(&format!("/tenants/{t}/dashboard")).await;
    assert!(dash.body.contains(&format!("/tenants/{t}/alerts/overdue")));
}

#[tokio::test]
async fn the_demo_shows_a_schedule_an_overdue_device_and_an_open_alert() {
    let app = spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    assert_eq!(app.count("SELECT count(*) AS n FROM schedules"), 1);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alerts WHERE state = 'open'"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states WHERE schedule_id IS NOT NULL"),
        3
    );
    let acme = app.count("SELECT count(*) AS n FROM tenants WHERE name = 'Acme Haulage Ltd'");
    assert_eq!(acme, 1);
    let mut ann = app.browser();
    ann.login("ann@acme.example", &demo.password).await;
    let home = ann.get("/").await;
    let dash_url = home
        .location()
        .map(str::to_string)
        .unwrap_or_else(|| "/".into());
    let dash = ann.get(&dash_url).await;
    let card = dash
        .body
        .split("data-hx-get=\"")
        .find_map(|p| {
            p.split('"')
                .next()
                .filter(|u| u.ends_with("/alerts/overdue"))
        })
        .unwrap()
        .to_string();
    let card = ann.get(&card).await;
    assert!(
        card.body
            .contains("<span class=\"number\">1</span> overdue"),
        "{}",
        card.body
    );
    // The scheduler picks the demo's alert up like any other: its next reminder goes out.
    assert!(pass(&app).steps >= 1);
    assert!(
        alert_mail(&app)
            .iter()
            .any(|(to, _)| to == "olly@acme.example")
    );
}

/// A local HTTP receiver: answers 200 to every request and keeps (headers, body) of each.
async fn receiver(port: u16) -> std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, body) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), String::new());
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break (head.to_string(), body.to_string());
                    }
                }
            };
            kept.lock().unwrap().push((head, body));
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    got
}

#[tokio::test]
async fn the_webhook_gets_each_alert_signed_and_a_receiver_that_was_down_gets_it_later_once() {
    use hmac::Mac;
    let app = spawn_app().await;
    let w = watched(&app);
    app.user("ann@acme.example", &w.acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let port = crate::smtp::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let saved = ann
        .post(
            &format!("/tenants/{}/webhook", w.acme.id),
            &[("url", url.as_str()), ("enabled", "1")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let secret = saved
        .body
        .split("value=\"")
        .find_map(|p| p.split('"').next().filter(|v| v.starts_with("whsec_")))
        .unwrap()
        .to_string();
    // Not an https address on a portal reached from elsewhere, nor nonsense.
    let bad = ann
        .post(
            &format!("/tenants/{}/webhook", w.acme.id),
            &[("url", "ftp://x"), ("enabled", "1")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    advance(&app, 271);
    pass(&app);
    let sender = canopy::hooks::Sender::new(app.pool.clone()).unwrap();
    // The receiver is down: the delivery waits for its next try.
    assert_eq!(sender.tick().await.unwrap(), 1);
    assert_eq!(sender.tick().await.unwrap(), 0, "not before its backoff");
    let log = ann.get(&format!("/tenants/{}/webhook", w.acme.id)).await;
    assert!(log.body.contains("cannot connect"), "{}", log.body);
    let got = receiver(port).await;
    advance(&app, 1);
    assert_eq!(sender.tick().await.unwrap(), 1);
    assert_eq!(sender.tick().await.unwrap(), 0);
    advance(&app, 60);
    assert_eq!(
        sender.tick().await.unwrap(),
        0,
        "delivered once, never again"
    );
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let (head, body) = &got[0];
    assert!(head.starts_with("POST /hook HTTP/1.1"), "{head}");
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["event"], "alert.opened");
    assert_eq!(event["device"]["identifier"], "PHONE-1");
    // The signature, checked with an HMAC of nobody's here but the hmac crate's.
    let header = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("canopy-signature:")
                .then(|| l.split_once(':').unwrap().1.trim().to_string())
        })
        .unwrap();
    let (t, v1) = header.split_once(",v1=").unwrap();
    let t = t.trim_start_matches("t=");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    assert_eq!(hex::encode(mac.finalize().into_bytes()), v1);
    let log = ann.get(&format!("/tenants/{}/webhook", w.acme.id)).await;
    assert!(log.body.contains("delivered"), "{}", log.body);
}
