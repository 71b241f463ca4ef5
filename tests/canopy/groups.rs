//! Groups: named sets of a tenant's devices and members, built from the pages; a membership
//! limited to groups sees only its groups' devices (everything else answers 404, exactly like
//! another tenant's); a device that moves away leaves its groups, and the preview says so.
use canopy::domain::ids::{DeviceId, GroupId, TenantId, UserId};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::devices::device_in;
use crate::helpers::{TestApp, spawn_app};

/// A group of `tenant`, written directly, as a fixture.
pub fn group_in(app: &TestApp, tenant: &Tenant, name: &str) -> GroupId {
    let id = GroupId::new();
    diesel::sql_query(
        "INSERT INTO groups (id, tenant_id, name, customer_id) \
         VALUES ($1, $2, $3, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(tenant.id)
    .bind::<diesel::sql_types::Text, _>(name)
    .execute(&mut app.conn())
    .unwrap();
    id
}

pub fn put_in(app: &TestApp, group: GroupId, tenant: TenantId, device: DeviceId) {
    diesel::sql_query(
        "INSERT INTO group_devices (group_id, tenant_id, device_id, customer_id) \
         VALUES ($1, $2, $3, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))",
    )
    .bind::<diesel::sql_types::Uuid, _>(group)
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(device)
    .execute(&mut app.conn())
    .unwrap();
}

pub fn join(app: &TestApp, group: GroupId, tenant: TenantId, user: UserId) {
    diesel::sql_query(
        "INSERT INTO group_members (group_id, tenant_id, user_id, customer_id) \
         VALUES ($1, $2, $3, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2)))",
    )
    .bind::<diesel::sql_types::Uuid, _>(group)
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(user)
    .execute(&mut app.conn())
    .unwrap();
}

/// Limits `user`'s membership of `tenant` to their groups.
pub fn limit(app: &TestApp, user: UserId, tenant: TenantId) {
    diesel::sql_query(
        "UPDATE memberships SET limited_to_groups = true WHERE user_id = $1 AND tenant_id = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .execute(&mut app.conn())
    .unwrap();
}

fn group_named(app: &TestApp, name: &str) -> GroupId {
    #[derive(QueryableByName)]
    struct G {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: GroupId,
    }
    diesel::sql_query("SELECT id FROM groups WHERE name = $1")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<G>(&mut app.conn())
        .unwrap()
        .id
}

#[tokio::test]
async fn an_admin_builds_a_group_from_its_page_and_from_the_device_lists_selection() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let dan = app.user("dan@acme.example", &acme, Role::Viewer);
    let north: Vec<DeviceId> = (1..=3)
        .map(|n| device_in(&app, &acme, &format!("NORTH-{n}")))
        .collect();
    let south = device_in(&app, &acme, "SOUTH-1");
    let below = device_in(&app, &uk, "UK-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let groups = format!("/tenants/{}/groups", acme.id);

    let empty = ann.get(&groups).await;
    assert!(empty.body.contains("No groups here yet"), "{}", empty.body);
    // A name is required, and said so beside the field; nothing is written.
    let before = app.fingerprint();
    let refused = ann.post(&groups, &[("name", "  ")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("group-name-error") && refused.body.contains("Give the group a name")
    );
    assert_eq!(app.fingerprint(), before);

    let created = ann
        .post(
            &groups,
            &[("name", "North fleet"), ("description", "Phones up north")],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let north_group = group_named(&app, "North fleet");
    let page_path = format!("{groups}/{north_group}");
    assert_eq!(
        created.location(),
        Some(format!("{page_path}?saved=1").as_str())
    );
    let twice = ann.post(&groups, &[("name", "north FLEET")]).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("exists here already"), "{}", twice.body);

    // One device by its serial from the group's page; an unknown one is named in a message.
    let added = ann
        .post(
            &format!("{page_path}/devices"),
            &[("identifier", "north-1")],
        )
        .await;
    assert_eq!(
        added.location(),
        Some(format!("{page_path}?added=1").as_str())
    );
    let unknown = ann
        .post(&format!("{page_path}/devices"), &[("identifier", "NOPE-9")])
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.body.contains("no device with the IMEI or serial"),
        "{}",
        unknown.body
    );
    // A sub-tenant's device is not Acme's: a group holds its own tenant's devices.
    let not_own = ann
        .post(&format!("{page_path}/devices"), &[("identifier", "UK-1")])
        .await;
    assert_eq!(not_own.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The rest from the device list's selection: a confirmation first, then one step.
    let ids: Vec<String> = north.iter().map(|d| d.to_string()).collect();
    let query: String = ids.iter().map(|i| format!("ids={i}&")).collect::<String>()
        + &format!("group={north_group}");
    let preview = ann.get(&format!("{groups}/add-devices?{query}")).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    assert!(
        preview.body.contains("Add 3 devices to North fleet"),
        "{}",
        preview.body
    );
    let mixed = ann
        .get(&format!(
            "{groups}/add-devices?ids={below}&ids={south}&group={north_group}"
        ))
        .await;
    assert_eq!(mixed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mixed.body.contains("UK-1"),
        "the refusal names the device: {}",
        mixed.body
    );
    let mut form: Vec<(&str, &str)> = ids.iter().map(|i| ("ids", i.as_str())).collect();
    let g = north_group.to_string();
    form.push(("group", &g));
    let done = ann.post(&format!("{groups}/add-devices"), &form).await;
    // NORTH-1 was in already: two are new.
    assert_eq!(
        done.location(),
        Some(format!("{page_path}?added=2").as_str())
    );
    let page = ann.get(&format!("{page_path}?added=2")).await;
    assert!(
        page.body.contains("2 devices added to the group."),
        "{}",
        page.body
    );
    for n in 1..=3 {
        assert!(page.body.contains(&format!("NORTH-{n}")));
    }
    assert!(!page.body.contains("SOUTH-1"));

    // Members of the tenant join and leave.
    let joined = ann
        .post(
            &format!("{page_path}/members"),
            &[("user", &dan.to_string())],
        )
        .await;
    assert_eq!(joined.status, StatusCode::SEE_OTHER);
    assert!(ann.get(&page_path).await.body.contains("dan@acme.example"));

    // The device list filtered by the group, and its export, show the group's devices only.
    let list = ann
        .get(&format!("/tenants/{}/devices?group={north_group}", acme.id))
        .await;
    assert!(
        list.body.contains("3 devices") && !list.body.contains("SOUTH-1"),
        "{}",
        list.body
    );
    let csv = ann
        .get(&format!(
            "/tenants/{}/devices/export.csv?group={north_group}",
            acme.id
        ))
        .await;
    assert_eq!(csv.body.lines().count(), 4, "{}", csv.body);

    // Removing a device and deleting the group, after a confirmation page.
    let removed = ann
        .post(
            &format!("{page_path}/devices/remove"),
            &[("device", &north[0].to_string())],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let confirm = ann.get(&format!("{page_path}/delete")).await;
    assert!(
        confirm.body.contains("Delete the group North fleet?"),
        "{}",
        confirm.body
    );
    assert!(
        confirm.body.contains("2 devices and 1 member"),
        "{}",
        confirm.body
    );
    let deleted = ann.post(&format!("{page_path}/delete"), &[]).await;
    assert_eq!(
        deleted.location(),
        Some(format!("{groups}?deleted=1").as_str())
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM groups"), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices"),
        5,
        "devices stay"
    );

    // Every change is in the audit log, with what changed.
    for action in [
        "group.create",
        "group.devices_add",
        "group.member_add",
        "group.device_remove",
        "group.delete",
    ] {
        assert!(
            app.count(&format!(
                "SELECT count(*) AS n FROM audit_events WHERE action = '{action}'"
            )) > 0,
            "{action} is audited"
        );
    }
}

#[tokio::test]
async fn a_membership_limited_to_groups_sees_only_its_groups_devices_and_nothing_else_answers() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let sally = app.user("sally@acme.example", &acme, Role::Operator);
    let north = group_in(&app, &acme, "North fleet");
    let south = group_in(&app, &acme, "South fleet");
    let mine = device_in(&app, &acme, "NORTH-1");
    let other = device_in(&app, &acme, "SOUTH-1");
    let loose = device_in(&app, &acme, "LOOSE-1");
    device_in(&app, &uk, "UK-1");
    put_in(&app, north, acme.id, mine);
    put_in(&app, south, acme.id, other);
    join(&app, north, acme.id, sally);
    let mut sally_b = app.signed_in("sally@acme.example").await;

    // Before the limit she sees all three of Acme's own devices.
    let all = sally_b.get(&format!("/tenants/{}/devices", acme.id)).await;
    assert!(all.body.contains("3 devices"), "{}", all.body);

    limit(&app, sally, acme.id);
    let list = sally_b.get(&format!("/tenants/{}/devices", acme.id)).await;
    assert!(
        list.body.contains("1 device<") || list.body.contains("1 device\n"),
        "{}",
        list.body
    );
    assert!(list.body.contains("NORTH-1"));
    assert!(!list.body.contains("SOUTH-1") && !list.body.contains("LOOSE-1"));
    let csv = sally_b
        .get(&format!("/tenants/{}/devices/export.csv", acme.id))
        .await;
    assert_eq!(csv.body.lines().count(), 2, "{}", csv.body);
    // Her group's device opens and can be edited (her role allows it); the others are 404.
    assert_eq!(
        sally_b.get(&crate::devices::page(&app, mine)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        sally_b
            .get(&format!("{}/edit", crate::devices::page(&app, mine)))
            .await
            .status,
        StatusCode::OK
    );
    for d in [other, loose] {
        assert_eq!(
            sally_b.get(&crate::devices::page(&app, d)).await.status,
            StatusCode::NOT_FOUND
        );
        let edit = sally_b
            .post(
                &crate::devices::page(&app, d),
                &[
                    ("serial", "X"),
                    ("name", "x"),
                    ("kind", "tracker"),
                    ("status", "active"),
                ],
            )
            .await;
        assert_eq!(edit.status, StatusCode::NOT_FOUND);
    }
    // The dashboard counts her devices only.
    let dash = sally_b
        .get(&format!("/tenants/{}/dashboard", acme.id))
        .await;
    assert!(
        dash.body
            .contains("<span class=\"number\">1</span> device<"),
        "{}",
        dash.body
    );
    // She sees her own group, and another group answers 404 — also as a device list filter.
    let groups = sally_b.get(&format!("/tenants/{}/groups", acme.id)).await;
    assert!(groups.body.contains("North fleet") && !groups.body.contains("South fleet"));
    assert_eq!(
        sally_b
            .get(&format!("/tenants/{}/groups/{south}", acme.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sally_b
            .get(&format!("/tenants/{}/devices?group={south}", acme.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    // What would widen the limit is withheld, and the 403 says why.
    let new = sally_b
        .get(&format!("/tenants/{}/devices/new", acme.id))
        .await;
    assert_eq!(new.status, StatusCode::FORBIDDEN);
    assert!(new.body.contains("limited to groups"), "{}", new.body);
    assert!(
        !list.body.contains("/devices/new"),
        "no link to what she may not do"
    );
    // Moving a device of hers to where she cannot see is possible only within her reach:
    // the list's cursor and the selection refuse the others as any foreign id.
    let cursor = sally_b
        .get(&format!(
            "/tenants/{}/devices?after=x&after_id={other}",
            acme.id
        ))
        .await;
    assert_eq!(cursor.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_device_that_moves_away_leaves_its_groups_and_the_preview_names_them() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let sally = app.user("sally@acme.example", &acme, Role::Viewer);
    let north = group_in(&app, &acme, "North fleet");
    let phone = device_in(&app, &acme, "NORTH-1");
    put_in(&app, north, acme.id, phone);
    join(&app, north, acme.id, sally);
    limit(&app, sally, acme.id);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut sally_b = app.signed_in("sally@acme.example").await;
    assert_eq!(
        sally_b.get(&crate::devices::page(&app, phone)).await.status,
        StatusCode::OK
    );

    let preview = ann
        .get(&format!(
            "/tenants/{}/devices/move?ids={phone}&to={}",
            acme.id, uk.id
        ))
        .await;
    assert!(
        preview.body.contains("id=\"move-groups\""),
        "{}",
        preview.body
    );
    assert!(
        preview.body.contains("North fleet (1 device)"),
        "{}",
        preview.body
    );
    let moved = ann
        .post(
            &format!("/tenants/{}/devices/move", acme.id),
            &[("ids", &phone.to_string()), ("to", &uk.id.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) AS n FROM group_devices"), 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'group.device_remove' AND detail->>'reason' = 'moved to another tenant'"),
        1
    );
    // Sally's group no longer holds it: it is out of her reach.
    assert_eq!(
        sally_b.get(&crate::devices::page(&app, phone)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn limits_are_set_on_the_members_page_and_a_limited_caller_lifts_no_ones() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let sally = app.user("sally@acme.example", &acme, Role::Operator);
    let limiter = crate::roles::custom_role(
        &app,
        &acme,
        "Dispatcher lead",
        &[
            canopy::domain::permissions::Permission::MembersView,
            canopy::domain::permissions::Permission::MembersChangeRole,
            canopy::domain::permissions::Permission::DevicesView,
            canopy::domain::permissions::Permission::DevicesEdit,
        ],
    );
    let lee = app.user("lee@acme.example", &acme, Role::Viewer);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        lee,
        &acme,
        canopy::domain::roles::custom::grant_of(&mut app.conn(), limiter).unwrap(),
    )
    .unwrap();
    let mut ann = app.signed_in("ann@acme.example").await;
    let page = ann
        .get(&format!("/tenants/{}/members/{sally}/role", acme.id))
        .await;
    assert!(page.body.contains("id=\"limit-form\""), "{}", page.body);
    assert!(
        page.body.contains("they are in no group yet"),
        "{}",
        page.body
    );
    let set = ann
        .post(
            &format!("/tenants/{}/members/{sally}/limit", acme.id),
            &[("limited", "1")],
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM memberships WHERE limited_to_groups"),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'membership.limit'"),
        1
    );
    // A limited caller who may change roles still lifts no limit.
    limit(&app, lee, acme.id);
    let mut lee_b = app.signed_in("lee@acme.example").await;
    let before = app.fingerprint();
    let lift = lee_b
        .post(
            &format!("/tenants/{}/members/{sally}/limit", acme.id),
            &[("limited", "0")],
        )
        .await;
    assert_eq!(lift.status, StatusCode::FORBIDDEN);
    assert!(lift.body.contains("limited to groups"), "{}", lift.body);
    assert_eq!(app.fingerprint(), before);
    // Nor their own.
    let own = ann
        .post(
            &format!("/tenants/{}/members/{lee}/limit", acme.id),
            &[("limited", "0")],
        )
        .await;
    assert_eq!(own.status, StatusCode::SEE_OTHER, "an admin may");
    let bad = ann
        .post(
            &format!("/tenants/{}/members/{sally}/limit", acme.id),
            &[("limited", "maybe")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn another_tenants_group_answers_404_under_every_group_route() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Admin);
    let foreign = group_in(&app, &other, "Theirs");
    // A group of Acme UK is in Ann's reach, but not a group of Acme: under Acme's path it is
    // not found either.
    let sibling = group_in(&app, &uk, "UK group");
    let device = device_in(&app, &acme, "OWN-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let before = app.fingerprint();
    for g in [foreign, sibling] {
        let base = format!("/tenants/{}/groups/{g}", acme.id);
        for path in [base.clone(), format!("{base}/delete")] {
            let res = ann.get(&path).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "GET {path}");
            assert!(!res.body.contains("Theirs"));
        }
        for (path, field, value) in [
            (base.clone(), "name", "Mine now".to_string()),
            (format!("{base}/delete"), "x", String::new()),
            (format!("{base}/devices"), "identifier", "OWN-1".to_string()),
            (
                format!("{base}/devices/remove"),
                "device",
                device.to_string(),
            ),
        ] {
            let res = ann.post(&path, &[(field, value.as_str())]).await;
            assert_eq!(res.status, StatusCode::NOT_FOUND, "POST {path}");
        }
    }
    assert_eq!(app.fingerprint(), before);
}
