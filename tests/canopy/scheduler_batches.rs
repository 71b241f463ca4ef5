//! The scheduler opens alerts a batch at a time: every device of a batch, whatever its
//! customer, gets what one device alone would.
use canopy::domain::alerts::scheduler;
use canopy::domain::roles::Role;

use crate::checkins::{
    advance, alert_for, alert_mail, contact_in, follow, notices, schedule_in, tell,
};
use crate::helpers::spawn_app;

#[tokio::test]
async fn one_pass_in_small_batches_opens_tells_audits_and_announces_each_overdue_device_once() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let beta = app.child(&rent, "Beta");
    app.user("ann@acme.example", &acme, Role::Admin);
    let a = schedule_in(&app, &acme, "Acme shift", 60, 0, None, Some(30));
    let b = schedule_in(&app, &beta, "Beta shift", 60, 0, None, None);
    let ann = contact_in(&app, &acme, "Ann", "ann@acme.example");
    let bob = contact_in(&app, &beta, "Bob", "bob@beta.example");
    tell(&app, &acme, a, ann, 1);
    tell(&app, &beta, b, bob, 1);
    let acme_devices: Vec<_> = (1..=5)
        .map(|n| crate::devices::device_in(&app, &acme, &format!("A-{n}")))
        .collect();
    let beta_devices: Vec<_> = (1..=3)
        .map(|n| crate::devices::device_in(&app, &beta, &format!("B-{n}")))
        .collect();
    for d in &acme_devices {
        follow(&app, *d, a);
    }
    for d in &beta_devices {
        follow(&app, *d, b);
    }
    // A-5 has an alert open already; B-3 is retired since it was put on its schedule.
    alert_for(&app, &acme, acme_devices[4]);
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "UPDATE devices SET status = 'retired' WHERE id = '{}'",
            beta_devices[2]
        )),
        &mut app.conn(),
    )
    .unwrap();
    canopy::domain::webhooks::save(
        &mut app.conn(),
        &app.admin_access(&[&acme]),
        &app.reach(acme.id),
        "https://hooks.example.com/acme",
        true,
        true,
    )
    .unwrap();

    advance(&app, 61);
    // Batches of three: the eight devices take three, across both customers.
    let done = scheduler::pass(&mut app.conn(), &notices(&app), 3).unwrap();
    assert_eq!(done.opened, 8, "every due device handled once");
    let opened_in = |serial: &str| {
        app.count(&format!(
            "SELECT count(*) AS n FROM alerts a JOIN devices d \
               ON d.id = a.device_id AND d.customer_id = a.customer_id \
             WHERE d.identifier = '{serial}' AND a.state = 'open' AND a.steps = 1 \
               AND a.next_step_at IS NOT NULL = (d.customer_id = '{}')",
            acme.id
        ))
    };
    for serial in ["A-1", "A-2", "A-3", "A-4", "B-1", "B-2"] {
        assert_eq!(opened_in(serial), 1, "{serial}: one alert, at step 1");
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alerts WHERE device_id IN (SELECT id FROM devices WHERE identifier = 'A-5')"),
        1,
        "an alert open already: no second one"
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alerts WHERE device_id IN (SELECT id FROM devices WHERE identifier = 'B-3')"),
        0,
        "a retired device owes nothing"
    );
    let mut mail = alert_mail(&app);
    mail.sort();
    let to: Vec<&str> = mail.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(
        to,
        [
            "ann@acme.example",
            "ann@acme.example",
            "ann@acme.example",
            "ann@acme.example",
            "bob@beta.example",
            "bob@beta.example"
        ]
    );
    assert!(
        mail.iter()
            .any(|(_, s)| s == "Overdue: Device A-3 (Acme) has not checked in")
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM alert_notifications WHERE step = 1"),
        6
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'alert.open' \
             AND detail->'told' = '[\"Ann\"]' AND customer_id = tenant_path[2]"
        ),
        4
    );
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM webhook_deliveries WHERE event = 'alert.opened' \
             AND customer_id = tenant_id"
        ),
        4,
        "Acme's webhook hears of Acme's four, not of Beta's"
    );
    // Each device owes its next check-in from now; the retired one owes nothing.
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states WHERE alert_at > canopy_now()"),
        7
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM checkin_states WHERE alert_at IS NULL"),
        1
    );

    // Another pass at once: nothing more.
    let again = scheduler::pass(&mut app.conn(), &notices(&app), 3).unwrap();
    assert_eq!(again.opened, 0);
    assert_eq!(alert_mail(&app).len(), 6);
}
