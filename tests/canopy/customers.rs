//! Ready to shard by customer: every tenant-owned data table carries the customer its rows
//! belong to, keys by it, and keeps nothing a distributed database cannot run; moves between
//! customers take every row along (and moves within one leave the customer alone), with
//! counts, history and isolation as they were.
use canopy::domain::audit::Actor;
use canopy::domain::checkins::{Said, Source};
use canopy::domain::devices::{self, moves::move_all};
use canopy::domain::ids::{CustomerId, DeviceId};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use reqwest::StatusCode;

use crate::checkins::{advance, contact_in, follow, pass, schedule_in, tell};
use crate::counts::miscounted;
use crate::helpers::{TestApp, spawn_app};

/// The tables whose rows belong to one customer.
pub(crate) const DATA_TABLES: [&str; 17] = [
    "devices",
    "device_moves",
    "device_imports",
    "audit_events",
    "device_counts",
    "checkins",
    "checkin_states",
    "schedules",
    "schedule_contacts",
    "alerts",
    "alert_notifications",
    "contacts",
    "groups",
    "group_devices",
    "group_members",
    "webhooks",
    "webhook_deliveries",
];

/// Tables that name a tenant or a device but are shared by all customers (the tree, people,
/// their grants) or are found by a key of their own (identifiers, check-in tokens).
const NOT_BY_CUSTOMER: [&str; 12] = [
    "memberships",
    "invitations",
    "invitation_sends",
    "membership_spans",
    "roles",
    "security_policies",
    "subtree_counts",
    "api_keys",
    "deleted_tenants",
    "users",
    "device_identifiers",
    "checkin_tokens",
];

#[tokio::test]
async fn every_data_table_keys_by_its_customer_and_needs_no_transition_table() {
    let app = spawn_app().await;
    for t in DATA_TABLES {
        let q = |sql: &str| app.count(&sql.replace("{t}", t));
        assert_eq!(
            q(
                "SELECT count(*) AS n FROM pg_attribute WHERE attrelid = '{t}'::regclass \
               AND attname = 'customer_id' AND attnotnull"
            ),
            1,
            "{t} has a customer_id that is never null"
        );
        let customer = "(SELECT attnum FROM pg_attribute WHERE attrelid = '{t}'::regclass \
                        AND attname = 'customer_id')";
        assert_eq!(
            q(&format!(
                "SELECT count(*) AS n FROM pg_index WHERE indrelid = '{{t}}'::regclass \
                 AND indisprimary AND {customer} = ANY (indkey)"
            )),
            1,
            "{t}'s primary key includes customer_id"
        );
        assert_eq!(
            q(&format!(
                "SELECT count(*) AS n FROM pg_index WHERE indrelid = '{{t}}'::regclass \
                 AND indisunique AND NOT {customer} = ANY (indkey)"
            )),
            0,
            "every unique index of {t} includes customer_id"
        );
        assert_eq!(
            q(
                "SELECT count(*) AS n FROM pg_trigger WHERE tgrelid = '{t}'::regclass \
               AND (tgoldtable IS NOT NULL OR tgnewtable IS NOT NULL)"
            ),
            0,
            "no trigger on {t} reads a transition table"
        );
        // A foreign key to another data table pairs customer_id with customer_id.
        let tables = DATA_TABLES.map(|d| format!("'{d}'::regclass")).join(", ");
        assert_eq!(
            q(&format!(
                "SELECT count(*) AS n FROM pg_constraint c WHERE contype = 'f' \
                 AND conrelid = '{{t}}'::regclass AND confrelid IN ({tables}) \
                 AND NOT EXISTS (SELECT 1 FROM unnest(c.conkey, c.confkey) AS k(a, b) \
                   WHERE a = {customer} AND b = (SELECT attnum FROM pg_attribute \
                     WHERE attrelid = c.confrelid AND attname = 'customer_id'))"
            )),
            0,
            "every foreign key from {t} to a data table includes customer_id on both sides"
        );
    }
    // Every table that names a tenant or a device has been placed on one side or the other,
    // so a table added later has to choose.
    let known = DATA_TABLES
        .iter()
        .chain(NOT_BY_CUSTOMER.iter())
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let unplaced = app.count(&format!(
        "SELECT count(DISTINCT c.relname) AS n FROM pg_class c \
         JOIN pg_namespace s ON s.oid = c.relnamespace AND s.nspname = 'public' \
         JOIN pg_attribute a ON a.attrelid = c.oid \
         WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
           AND a.attname IN ('tenant_id', 'tenant_path', 'device_id') \
           AND c.relname NOT IN ({known})"
    ));
    assert_eq!(
        unplaced, 0,
        "a table naming a tenant or device is in neither list"
    );
    // The check-ins' monthly partitions carry it too.
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM pg_inherits i JOIN pg_attribute a \
             ON a.attrelid = i.inhrelid AND a.attname = 'customer_id' AND a.attnotnull \
             WHERE i.inhparent = 'checkins'::regclass"
        ),
        app.count("SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'checkins'::regclass")
    );
}

/// Rows whose customer is not their owner's: a tenant's rows its tenant's customer, a
/// device's rows the device's, a notice its alert's; identifiers and tokens their device's.
fn misplaced(app: &TestApp) -> Vec<String> {
    let mut wrong = Vec::new();
    for t in [
        "devices",
        "device_imports",
        "device_counts",
        "schedules",
        "schedule_contacts",
        "contacts",
        "groups",
        "group_devices",
        "group_members",
        "webhooks",
        "webhook_deliveries",
        "alerts",
        "audit_events",
    ] {
        let n = app.count(&format!(
            "SELECT count(*) AS n FROM {t} r JOIN tenants x ON x.id = r.tenant_id \
             WHERE r.customer_id <> canopy_customer(x.traversal_ids)"
        ));
        if n > 0 {
            wrong.push(format!("{t}: {n}"));
        }
    }
    for (t, sql) in [
        (
            "device rows",
            "SELECT (SELECT count(*) FROM device_moves r WHERE NOT EXISTS (SELECT 1 FROM devices d \
               WHERE d.id = r.device_id AND d.customer_id = r.customer_id)) \
             + (SELECT count(*) FROM checkins r WHERE NOT EXISTS (SELECT 1 FROM devices d \
               WHERE d.id = r.device_id AND d.customer_id = r.customer_id)) \
             + (SELECT count(*) FROM checkin_states r WHERE NOT EXISTS (SELECT 1 FROM devices d \
               WHERE d.id = r.device_id AND d.customer_id = r.customer_id)) AS n",
        ),
        (
            "notices",
            "SELECT count(*) AS n FROM alert_notifications r WHERE NOT EXISTS (SELECT 1 FROM \
             alerts a WHERE a.id = r.alert_id AND a.customer_id = r.customer_id)",
        ),
        (
            "identifiers",
            "SELECT (SELECT count(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM \
               device_identifiers i WHERE i.identifier = upper(d.identifier) \
               AND i.device_id = d.id AND i.customer_id = d.customer_id)) \
             + (SELECT count(*) FROM device_identifiers i WHERE NOT EXISTS (SELECT 1 FROM \
               devices d WHERE d.id = i.device_id)) AS n",
        ),
        (
            "tokens",
            "SELECT count(*) AS n FROM checkin_tokens k WHERE NOT EXISTS (SELECT 1 FROM \
             checkin_states s WHERE s.token_hash = k.token_hash AND s.device_id = k.device_id \
             AND s.customer_id = k.customer_id)",
        ),
        (
            "events outside tenants",
            "SELECT count(*) AS n FROM audit_events WHERE tenant_id IS NULL \
             AND customer_id <> '00000000-0000-0000-0000-000000000000'",
        ),
    ] {
        let n = app.count(sql);
        if n > 0 {
            wrong.push(format!("{t}: {n}"));
        }
    }
    wrong
}

/// How many rows each data table holds: a move copies and deletes, never loses or doubles
/// (the audit log gains the move's own events, and new ancestors gain count rows).
fn sizes(app: &TestApp) -> Vec<(&'static str, i64)> {
    DATA_TABLES
        .iter()
        .filter(|t| !matches!(**t, "audit_events" | "device_counts"))
        .map(|t| (*t, app.count(&format!("SELECT count(*) AS n FROM {t}"))))
        .collect()
}

fn customer_of(app: &TestApp, device: DeviceId) -> CustomerId {
    crate::devices::load(app, device).customer_id
}

/// After a move (`when`): the device belongs to the customer of `owner` (a path), every row
/// to its owner's customer, and the kept counts equal a recount.
fn consistent(
    app: &TestApp,
    device: DeviceId,
    owner: &[canopy::domain::ids::TenantId],
    when: &str,
) {
    assert_eq!(customer_of(app, device), CustomerId::of(owner), "{when}");
    assert_eq!(misplaced(app), Vec::<String>::new(), "{when}");
    assert_eq!(miscounted(app), 0, "counts {when}");
}

/// Moves `tenant` under `parent` through the portal, as the operator's admin.
async fn move_under(root: &mut crate::helpers::Browser, tenant: &Tenant, parent: &Tenant) {
    let moved = root
        .post(
            &format!("/tenants/{}/move", tenant.id),
            &[("parent_id", parent.id.to_string().as_str())],
        )
        .await;
    assert!(
        moved.status.is_redirection(),
        "{} {}",
        moved.status,
        moved.body
    );
}

/// Everything a customer's tenant can hold: devices (one on a schedule, checked in, then
/// overdue with an alert told to a contact and a webhook), a group with a device and a
/// member, a check-in URL, an import job, audit events. Returns the phone and its URL token.
pub(crate) fn furnish(app: &TestApp, t: &Tenant, prefix: &str, admin: &str) -> (DeviceId, String) {
    let phone = crate::devices::device_in(app, t, &format!("{prefix}-PHONE"));
    crate::devices::device_in(app, t, &format!("{prefix}-SPARE"));
    let contact = contact_in(app, t, "Dispatch", "dispatch@example.com");
    let schedule = schedule_in(app, t, "Hourly", 60, 0, None, None);
    tell(app, t, schedule, contact, 1);
    follow(app, phone, schedule);
    let access = app.admin_access(&[t]);
    let reached = app.reach(t.id);
    let device = crate::devices::load(app, phone);
    let said = Said {
        message: "Reached the depot".into(),
        position: None,
    };
    canopy::domain::checkins::record(
        &mut app.conn(),
        &device,
        Source::Portal,
        None,
        &said,
        &Actor::system(),
    )
    .unwrap();
    let token =
        canopy::domain::checkins::issue_token(&mut app.conn(), &access, &reached, &device).unwrap();
    canopy::domain::webhooks::save(
        &mut app.conn(),
        &access,
        &reached,
        "https://hooks.example.com/canopy",
        true,
        true,
    )
    .unwrap();
    let group = crate::groups::group_in(app, t, "Drivers");
    crate::groups::put_in(app, group, t.id, phone);
    let member = app.user(admin, t, Role::Admin);
    crate::groups::join(app, group, t.id, member);
    canopy::domain::devices::jobs::create(&mut app.conn(), t, None, "serial\nX-1\n", 1).unwrap();
    (phone, token)
}

#[tokio::test]
async fn moves_between_customers_take_every_row_along_and_moves_within_one_keep_them() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let beta = app.child(&rent, "Beta");
    let north = app.child(&beta, "Beta North");
    let gamma = app.child(&rent, "Gamma");
    app.user("root@rent.example", &rent, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("bob@beta.example", &beta, Role::Admin);
    app.user("gil@gamma.example", &gamma, Role::Admin);
    let (phone, token) = furnish(&app, &uk, "UK", "ula@acme.example");
    let (gamma_phone, _) = furnish(&app, &gamma, "G", "gus@gamma.example");
    advance(&app, 61);
    assert_eq!(pass(&app).opened, 2, "both phones are overdue");
    assert_eq!(customer_of(&app, phone), CustomerId::of(&uk.traversal_ids));
    assert_eq!(misplaced(&app), Vec::<String>::new(), "as created");
    let before = sizes(&app);
    let history = |app: &TestApp| {
        app.count(&format!(
            "SELECT count(*) AS n FROM device_moves WHERE device_id = '{phone}'"
        ))
    };
    let moves_before = history(&app);

    let mut root = app.signed_in("root@rent.example").await;
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut bob = app.signed_in("bob@beta.example").await;
    let mut gil = app.signed_in("gil@gamma.example").await;
    let page = crate::devices::page(&app, phone);
    assert_eq!(ann.get(&page).await.status, StatusCode::OK);
    assert_eq!(bob.get(&page).await.status, StatusCode::NOT_FOUND);

    // Acme UK moves to Beta: another customer. Every row goes along, none is lost or doubled.
    move_under(&mut root, &uk, &beta).await;
    consistent(
        &app,
        phone,
        &beta.traversal_ids,
        "after a move between customers",
    );
    assert_eq!(sizes(&app), before, "rows copied and deleted, one for one");
    assert_eq!(
        history(&app),
        moves_before,
        "the phone's history came along"
    );
    assert_eq!(ann.get(&page).await.status, StatusCode::NOT_FOUND);
    let seen = bob.get(&page).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(
        seen.body.contains("Reached the depot"),
        "its check-ins came along"
    );
    let alerts = bob.get(&format!("/tenants/{}/alerts", beta.id)).await;
    assert!(alerts.body.contains("UK-PHONE"), "its alert came along");
    // Its check-in URL still works, now from the new customer.
    let url = format!("{}/check-in/{token}", app.base);
    let res = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("message=still+here")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(bob.get(&page).await.body.contains("still here"));

    // Within Beta: under Beta North. The customer stays; nothing is copied.
    move_under(&mut root, &uk, &north).await;
    consistent(
        &app,
        phone,
        &beta.traversal_ids,
        "after a move within a customer",
    );

    // A customer itself moves under another: Gamma becomes part of Beta, and back.
    for (under, owner) in [(&north, &beta), (&rent, &gamma)] {
        move_under(&mut root, &gamma, under).await;
        let owner_path = app.tenant(owner.id).traversal_ids;
        consistent(
            &app,
            gamma_phone,
            &owner_path,
            &format!("Gamma under {}", under.name),
        );
    }
    assert_eq!(
        gil.get(&crate::devices::page(&app, gamma_phone))
            .await
            .status,
        StatusCode::OK
    );

    // One device moves from Beta's subtree to Gamma: it and its history go; its resolved
    // alert stays where it was opened.
    let mover = app.admin_access(&[&rent]);
    move_all(
        &mut app.conn(),
        &mover,
        &app.reach(rent.id),
        &[phone],
        &app.reach(gamma.id),
    )
    .unwrap();
    consistent(
        &app,
        phone,
        &gamma.traversal_ids,
        "after a device moved customers",
    );
    assert_eq!(
        history(&app),
        moves_before + 1,
        "one more history row, none lost"
    );
    // Its address now names its new tenant: the old one finds nothing for anyone.
    assert_eq!(bob.get(&page).await.status, StatusCode::NOT_FOUND);
    assert_eq!(root.get(&page).await.status, StatusCode::NOT_FOUND);
    let seen = gil.get(&crate::devices::page(&app, phone)).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert!(seen.body.contains("still here"), "its check-ins came along");
    let found = devices::find_by_identifier(&mut app.conn(), "uk-phone").unwrap();
    assert_eq!(found.map(|d| d.id), Some(phone), "found by its identifier");
    // The identifier stays taken across customers.
    let again = devices::create(
        &mut app.conn(),
        &Actor::system(),
        acme.id,
        &canopy::domain::devices::DeviceInput {
            serial: "uk-phone".into(),
            name: "Another".into(),
            kind: "tracker".into(),
            status: "active".into(),
            ..Default::default()
        }
        .parse()
        .unwrap(),
    );
    assert!(
        matches!(again, Err(devices::DeviceError::Duplicate)),
        "a duplicate identifier in another customer is refused"
    );
}
