//! Devices: validation, the access matrix, lists, moves and their history.
use std::collections::HashMap;

use canopy::domain::audit::Actor;
use canopy::domain::devices::{self, DeviceInput, fields};
use canopy::domain::ids::{DeviceId, TenantId};
use canopy::domain::restructure;
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app};

/// A device made directly, with a serial number.
pub fn device_in(app: &TestApp, tenant: &Tenant, serial: &str) -> DeviceId {
    let input = DeviceInput {
        serial: serial.into(),
        name: format!("Device {serial}"),
        kind: "tracker".into(),
        status: "active".into(),
        ..Default::default()
    };
    created(app, tenant, input)
}

/// A phone: identified by its IMEI, with a name and a number.
pub fn phone_in(app: &TestApp, tenant: &Tenant, imei: &str, name: &str, phone: &str) -> DeviceId {
    let input = DeviceInput {
        imei: imei.into(),
        name: name.into(),
        kind: "phone".into(),
        status: "active".into(),
        phone: phone.into(),
        ..Default::default()
    };
    created(app, tenant, input)
}

fn created(app: &TestApp, tenant: &Tenant, input: DeviceInput) -> DeviceId {
    devices::create(
        &mut app.conn(),
        &Actor::system(),
        tenant.id,
        &input.parse().unwrap(),
    )
    .unwrap()
    .id
}

/// A device's page: its address names its tenant.
pub fn page(app: &TestApp, id: impl std::fmt::Display) -> String {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        tenant_id: uuid::Uuid,
    }
    let row: Row = diesel::sql_query("SELECT tenant_id FROM devices WHERE id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(id.to_string())
        .get_result(&mut app.conn())
        .unwrap();
    format!("/tenants/{}/devices/{id}", row.tenant_id)
}

/// A device by id, whatever its customer.
pub fn load(app: &TestApp, id: DeviceId) -> devices::Device {
    devices::find_many(&mut app.conn(), None, &[id])
        .unwrap()
        .pop()
        .unwrap()
}

/// The id of the device with this identifier or name.
pub fn id_of(app: &TestApp, identifier_or_name: &str) -> DeviceId {
    use canopy::db::schema::devices::dsl;
    use diesel::prelude::*;
    dsl::devices
        .filter(
            dsl::identifier
                .eq(identifier_or_name)
                .or(dsl::name.eq(identifier_or_name)),
        )
        .select(dsl::id)
        .first(&mut app.conn())
        .unwrap()
}

fn imei(n: u32) -> String {
    fields::imei_from(&format!("35000000{n:06}"))
}

#[test]
fn imei_check_digits_and_phone_numbers_are_checked() {
    assert!(fields::luhn_ok("490154203237518"));
    assert!(!fields::luhn_ok("490154203237519"));
    let parse = |imei: &str, serial: &str| fields::Identifier::parse(imei, serial);
    assert!(parse("49015420323751 8", "").is_ok(), "spaces are dropped");
    assert_eq!(parse("490154203237519", "").unwrap_err().0, "imei");
    assert_eq!(parse("4901542032375", "").unwrap_err().0, "imei");
    assert_eq!(parse("", "").unwrap_err().0, "imei");
    assert_eq!(parse("490154203237518", "SN1").unwrap_err().0, "serial");
    assert_eq!(
        parse("", "sn-001").unwrap(),
        fields::Identifier::Serial("SN-001".into())
    );
    assert_eq!(
        fields::parse_phone("+44 7700 900123").unwrap().as_deref(),
        Some("+447700900123")
    );
    assert!(fields::parse_phone("07700900123").is_err());
    assert!(fields::parse_phone("+0123456789").is_err());
    assert_eq!(fields::parse_phone("").unwrap(), None);
}

#[tokio::test]
async fn a_bad_device_is_refused_beside_its_fields_and_nothing_is_stored() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("olly@acme.example", &acme, Role::Operator);
    device_in(&app, &acme, "TAKEN-1");
    let mut olly = app.signed_in("olly@acme.example").await;
    olly.get(&format!("/tenants/{}/devices/new", acme.id)).await;
    let path = format!("/tenants/{}/devices", acme.id);
    let good = imei(1);

    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("imei", "490154203237519"), ("name", "X")],
            "imei-error",
            "check digit",
        ),
        (
            vec![("imei", &good), ("name", "")],
            "name-error",
            "Enter a name",
        ),
        (
            vec![("imei", &good), ("name", "X"), ("phone", "0770")],
            "phone-error",
            "international format",
        ),
        (
            vec![("serial", "taken-1"), ("name", "X")],
            "serial-error",
            "exists already",
        ),
        (
            vec![("imei", &good), ("name", "X"), ("kind", "toaster")],
            "kind-error",
            "Choose a kind",
        ),
    ];
    for (fields, id, message) in cases {
        let mut form = fields.clone();
        if !form.iter().any(|(k, _)| *k == "kind") {
            form.push(("kind", "tracker"));
        }
        let res = olly.post(&path, &form).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(
            res.body.contains(id) && res.body.contains(message),
            "{fields:?}: {message}"
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM devices"), 1);

    let ok = olly
        .post(
            &path,
            &[
                ("imei", &good),
                ("name", "Sat 1"),
                ("kind", "satellite_phone"),
                ("phone", "+8816 3123 4567"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let page = olly.get(ok.location().unwrap()).await;
    assert!(
        page.body.contains(&good)
            && page.body.contains("+881631234567")
            && page.body.contains("(added)")
    );
}

const OK: u16 = 200;
const DONE: u16 = 303;
const DENIED: u16 = 403;
const HIDDEN: u16 = 404;

/// [view, create, edit, move] for a device in a tenant of this relation.
fn expected(role: Role, relation: &str) -> [u16; 4] {
    match (role, relation) {
        (Role::Admin, "own" | "descendant") => [OK, DONE, DONE, DONE],
        (Role::Operator, "own") => [OK, DONE, DONE, DENIED],
        (Role::Viewer, "own") => [OK, DENIED, DENIED, DENIED],
        _ => [HIDDEN; 4],
    }
}

#[tokio::test]
async fn every_cell_of_the_device_access_matrix_answers_as_the_rule_says() {
    for role in Role::ALL {
        let app = spawn_app().await;
        let ancestor = app.root("Rent-a-fone");
        let own = app.child(&ancestor, "Acme");
        let descendant = app.child(&own, "Acme UK");
        let spare = app.child(&own, "Acme Spare");
        let sibling = app.child(&ancestor, "Great Expeditions");
        let other_root = app.root("Elsewhere");
        app.user("me@acme.example", &own, role);
        let mut b = app.signed_in("me@acme.example").await;
        let mut serial = 0;

        for (relation, tenant) in [
            ("own", &own),
            ("ancestor", &ancestor),
            ("descendant", &descendant),
            ("sibling", &sibling),
            ("other root", &other_root),
        ] {
            serial += 1;
            let device = device_in(&app, tenant, &format!("M-{serial}"));
            let moving = device_in(&app, tenant, &format!("MV-{serial}"));
            b.get("/tenants").await;
            let view = b
                .get(&crate::devices::page(&app, device))
                .await
                .status
                .as_u16();
            b.get("/tenants").await;
            let new_imei = imei(serial);
            let create = b
                .post(
                    &format!("/tenants/{}/devices", tenant.id),
                    &[("imei", &new_imei), ("name", "New"), ("kind", "tracker")],
                )
                .await
                .status
                .as_u16();
            b.get("/tenants").await;
            let edit = b
                .post(
                    &crate::devices::page(&app, device),
                    &[
                        ("serial", &format!("M-{serial}")),
                        ("name", "Renamed"),
                        ("kind", "tracker"),
                        ("status", "in_repair"),
                    ],
                )
                .await
                .status
                .as_u16();
            b.get("/tenants").await;
            let to = spare.id.to_string();
            let mv = b
                .post(
                    &format!("/tenants/{}/devices/move", tenant.id),
                    &[("ids", &moving.to_string()), ("to", &to)],
                )
                .await
                .status
                .as_u16();
            assert_eq!(
                [view, create, edit, mv],
                expected(role, relation),
                "{role} on {relation} [view, create, edit, move]"
            );
        }
    }
}

#[tokio::test]
async fn moved_phones_appear_in_the_customers_portal_with_history_from_their_arrival() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme Haulage Ltd");
    let uk = app.child(&acme, "Acme UK");
    let great = app.child(&root, "Great Expeditions LLC");
    app.user("alice@rentafone.example", &root, Role::Admin);
    app.user("ulysses@acme.example", &uk, Role::Viewer);
    app.user("erin@great.example", &great, Role::Admin);
    let phones: Vec<DeviceId> = (0..5)
        .map(|i| device_in(&app, &root, &format!("PHONE-{i}")))
        .collect();
    let mut alice = app.signed_in("alice@rentafone.example").await;
    let ids: Vec<String> = phones[..3].iter().map(DeviceId::to_string).collect();
    let mut query: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    let to = uk.id.to_string();
    query.push(("to", &to));
    let qs: String = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");

    let preview = alice
        .get(&format!("/tenants/{}/devices/move?{qs}", root.id))
        .await;
    assert!(preview.body.contains("3 from Rent-a-fone") && preview.body.contains("Move 3 devices"));
    let moved = alice
        .post(&format!("/tenants/{}/devices/move", root.id), &query)
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);

    let mut ulysses = app.signed_in("ulysses@acme.example").await;
    let list = ulysses.get(&format!("/tenants/{}/devices", uk.id)).await;
    assert!(list.body.contains("3 devices"));
    for (i, id) in phones.iter().enumerate() {
        assert_eq!(list.body.contains(&format!("PHONE-{i}")), i < 3);
        let page = ulysses.get(&crate::devices::page(&app, id)).await;
        assert_eq!(
            page.status,
            if i < 3 {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            }
        );
        if i < 3 {
            assert!(page.body.contains("another organisation") && page.body.contains("Acme UK"));
            assert!(!page.body.contains("Rent-a-fone"), "no name outside reach");
            assert!(
                !page.body.contains("(added)"),
                "history starts at the arrival"
            );
        }
    }
    let mut erin = app.signed_in("erin@great.example").await;
    let theirs = erin
        .get(&format!("/tenants/{}/devices?sub=1", great.id))
        .await;
    assert!(theirs.body.contains("0 devices"));
    assert_eq!(
        erin.get(&crate::devices::page(&app, phones[0]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM device_moves WHERE from_tenant_id IS NOT NULL"),
        3
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'device.move'"),
        3
    );
}

#[tokio::test]
async fn the_list_searches_filters_and_pages_by_keyset_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    for i in 0..120 {
        let t = if i % 3 == 0 { &uk } else { &acme };
        device_in(&app, t, &format!("SN{i:04}"));
    }
    let mut ann = app.signed_in("ann@acme.example").await;
    let base = format!("/tenants/{}/devices", acme.id);

    let mut seen = Vec::new();
    let mut url = format!("{base}?sub=1&sort=identifier");
    loop {
        let page = ann.get_htmx(&url).await;
        assert!(
            page.body.contains("120 devices"),
            "{url}: {}",
            &page.body[..page.body.len().min(300)]
        );
        let cell = "<td data-label=\"IMEI / serial\" class=\"mono\">";
        seen.extend(
            page.body
                .match_indices(cell)
                .map(|(i, _)| page.body[i + cell.len()..i + cell.len() + 6].to_string()),
        );
        match page
            .body
            .split("id=\"next-page\"")
            .next()
            .and_then(|b| b.rsplit("href=\"").next())
        {
            Some(href) if page.body.contains("id=\"next-page\"") => {
                url = href
                    .split('"')
                    .next()
                    .unwrap()
                    .replace("&amp;", "&")
                    .replace("&#38;", "&")
            }
            _ => break,
        }
    }
    let expected: Vec<String> = (0..120).map(|i| format!("SN{i:04}")).collect();
    assert_eq!(seen, expected);

    let own_only = ann.get(&base).await;
    let prefix = ann.get(&format!("{base}?sub=1&q=sn001")).await;
    let by_status = ann.get(&format!("{base}?sub=1&status=retired")).await;
    assert!(own_only.body.contains("80 devices"));
    assert!(prefix.body.contains("10 devices"));
    assert!(by_status.body.contains("0 devices") && by_status.body.contains("No device matches"));
    let only_uk = ann.get(&format!("{base}?tenant={}", uk.id)).await;
    assert!(
        only_uk.body.contains("40 devices"),
        "{}",
        only_uk
            .body
            .split("device-total")
            .nth(1)
            .unwrap_or(&only_uk.body[..200.min(only_uk.body.len())])
            .chars()
            .take(100)
            .collect::<String>()
    );
    let outside = app.root("Outside");
    let hidden = ann.get(&format!("{base}?tenant={}", outside.id)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn retiring_keeps_the_device_and_its_history() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("olly@acme.example", &acme, Role::Operator);
    let id = device_in(&app, &acme, "OLD-1");
    let mut olly = app.signed_in("olly@acme.example").await;
    olly.get(&crate::devices::page(&app, id)).await;

    let res = olly
        .post(&format!("{}/retire", crate::devices::page(&app, id)), &[])
        .await;

    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = olly.get(&crate::devices::page(&app, id)).await;
    assert!(page.body.contains("Retired") && page.body.contains("(added)"));
}

#[tokio::test]
async fn after_random_subtree_moves_every_device_carries_its_tenants_path() {
    let app = spawn_app().await;
    let root = app.root("Root");
    let mover = app.admin_access(&[&root]);
    let mut all = vec![root.clone()];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for i in 0..20 {
        let parent = app.tenant(all[next(all.len())].id);
        let t = app.child(&parent, &format!("T{i}"));
        for d in 0..3 {
            device_in(&app, &t, &format!("P{i}-{d}"));
        }
        all.push(t);
    }
    let mut moved = 0;
    for _ in 0..40 {
        let a = all[1 + next(all.len() - 1)].id;
        let b = all[next(all.len())].id;
        if restructure::move_subtree(&mut app.conn(), &mover, &app.reach(a), &app.reach(b)).is_ok()
        {
            moved += 1;
        }
    }
    assert!(moved > 10, "{moved} moves");
    let paths: HashMap<TenantId, Vec<TenantId>> = all
        .iter()
        .map(|t| (t.id, app.tenant(t.id).traversal_ids))
        .collect();
    assert_eq!(paths.len(), 21);
    let stale = app.count("SELECT count(*) AS n FROM devices d JOIN tenants t ON t.id = d.tenant_id WHERE d.tenant_path <> t.traversal_ids");
    assert_eq!(stale, 0);
}

#[tokio::test]
async fn the_demo_gives_every_tenant_devices_in_every_status() {
    let app = spawn_app().await;
    canopy::domain::setup::demo(&mut app.conn()).unwrap();
    let missing = app.count(
        "SELECT count(*) AS n FROM tenants t CROSS JOIN (VALUES ('in_stock'), ('active'), ('in_repair'), ('retired')) s(status) \
         WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.tenant_id = t.id AND d.status = s.status)",
    );
    assert_eq!(missing, 0);
}

#[tokio::test]
async fn retiring_through_htmx_answers_with_a_redirect_for_htmx_to_follow() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("olly@acme.example", &acme, Role::Operator);
    let id = device_in(&app, &acme, "OLD-2");
    let mut olly = app.signed_in("olly@acme.example").await;
    olly.get(&crate::devices::page(&app, id)).await;
    let token = olly.csrf.clone();

    let res = olly
        .post_raw(
            &format!("{}/retire", crate::devices::page(&app, id)),
            &[("csrf_token", &token)],
            &[("HX-Request", "true")],
        )
        .await;

    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(
        res.headers["hx-redirect"],
        crate::devices::page(&app, id).as_str()
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices WHERE status = 'retired'"),
        1
    );
}
