//! Counts the database keeps so that pages of a subtree of any size read one row: devices
//! per tenant and status (`device_counts`), tenants and members per subtree
//! (`subtree_counts`). Each is checked against a recount after every kind of change.
use canopy::domain::roles::Role;

use crate::helpers::spawn_app;

/// The kept device counts against a recount of the devices themselves.
pub fn miscounted(app: &crate::helpers::TestApp) -> i64 {
    app.count(
        "WITH actual AS (
            SELECT a.tid, d.status, count(*) FILTER (WHERE a.tid = d.tenant_id) AS own, count(*) AS total
            FROM devices d CROSS JOIN LATERAL unnest(d.tenant_path) AS a(tid) GROUP BY 1, 2)
         SELECT count(*) AS n FROM actual FULL JOIN device_counts c
             ON c.tenant_id = actual.tid AND c.status = actual.status
         WHERE coalesce(actual.own, 0) <> coalesce(c.own, 0)
            OR coalesce(actual.total, 0) <> coalesce(c.total, 0)",
    )
}

#[tokio::test]
async fn the_kept_device_counts_follow_every_kind_of_change() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let globex = app.child(&rent, "Globex");
    let mut ids = Vec::new();
    for n in 0..12 {
        let t = [&rent, &acme, &uk, &globex][n % 4];
        ids.push(crate::devices::device_in(&app, t, &format!("C-{n:02}")));
    }
    assert_eq!(miscounted(&app), 0, "after creating");

    app.user("olly@acme.example", &acme, Role::Operator);
    let mut olly = app.signed_in("olly@acme.example").await;
    olly.get(&format!("{}/edit", crate::devices::page(&app, ids[1])))
        .await;
    let res = olly
        .post(
            &crate::devices::page(&app, ids[1]),
            &[
                ("serial", "C-01"),
                ("name", "Renamed"),
                ("kind", "tracker"),
                ("status", "in_repair"),
            ],
        )
        .await;
    assert_eq!(res.status, reqwest::StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(miscounted(&app), 0, "after a status change");

    let mover = app.admin_access(&[&rent]);
    canopy::domain::devices::moves::move_all(
        &mut app.conn(),
        &mover,
        &app.reach(rent.id),
        &ids[..4],
        &app.reach(globex.id),
    )
    .unwrap();
    assert_eq!(miscounted(&app), 0, "after moving devices");

    canopy::domain::restructure::move_subtree(
        &mut app.conn(),
        &mover,
        &app.reach(uk.id),
        &app.reach(globex.id),
    )
    .unwrap();
    assert_eq!(miscounted(&app), 0, "after moving a subtree");

    olly.get(&format!("/tenants/{}/devices/import", acme.id))
        .await;
    let csv = "imei,serial,name,model,kind,status,phone,notes\n\
               ,NEW-1,New one,,tracker,active,,\n\
               ,NEW-2,New two,,tracker,retired,,\n\
               ,C-01,Back in service,,tracker,active,,\n";
    let checked = olly
        .upload(
            &format!("/tenants/{}/devices/import", acme.id),
            csv.as_bytes().to_vec(),
        )
        .await;
    let job = crate::import::job_url(&checked.body);
    olly.post(&job, &[]).await;
    for _ in 0..100 {
        if olly.get_htmx(&job).await.body.contains("import-done") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM devices WHERE identifier LIKE 'NEW-%'"),
        2
    );
    assert_eq!(miscounted(&app), 0, "after an import");
}

/// The kept subtree counts against a recount of tenants and memberships. Rows of deleted
/// tenants may stay behind at zero.
fn subtree_miscounted(app: &crate::helpers::TestApp) -> i64 {
    app.count(
        "WITH actual AS (
            SELECT tid, sum(t) AS tenants, sum(m) AS members FROM (
                SELECT a.tid, 1 AS t, 0 AS m FROM tenants x CROSS JOIN LATERAL unnest(x.traversal_ids) a(tid)
                UNION ALL
                SELECT a.tid, 0, 1 FROM memberships x CROSS JOIN LATERAL unnest(x.tenant_path) a(tid)
            ) d GROUP BY tid)
         SELECT count(*) AS n FROM actual FULL JOIN subtree_counts c ON c.tenant_id = actual.tid
         WHERE coalesce(actual.tenants, 0) <> coalesce(c.tenants, 0)
            OR coalesce(actual.members, 0) <> coalesce(c.members, 0)",
    )
}

#[tokio::test]
async fn the_kept_subtree_counts_follow_every_kind_of_change() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let north = app.child(&uk, "North");
    let globex = app.child(&rent, "Globex");
    let spare = app.child(&globex, "Spare");
    app.user("alice@rent.example", &rent, Role::Admin);
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    app.user("uma@acme.example", &uk, Role::Viewer);
    app.user("nick@acme.example", &north, Role::Operator);
    assert_eq!(subtree_miscounted(&app), 0, "after creating");
    let kept = |id: uuid::Uuid| {
        app.count(&format!(
            "SELECT coalesce((SELECT members FROM subtree_counts WHERE tenant_id = '{id}'), 0) AS n"
        ))
    };
    assert_eq!(kept(rent.id.uuid()), 4);
    assert_eq!(kept(acme.id.uuid()), 3);

    // Shown as the dashboard's figures, without walking the subtree.
    let mut alice = app.signed_in("alice@rent.example").await;
    let dash = alice.get(&format!("/tenants/{}/dashboard", rent.id)).await;
    assert!(
        dash.body
            .contains("<span class=\"number\">4</span> memberships"),
        "{}",
        dash.body
    );
    assert!(dash.body.contains("(5 in all)"), "{}", dash.body);
    let members = alice
        .get(&format!("/tenants/{}/members?sub=1", acme.id))
        .await;
    assert!(members.body.contains("3 members"), "{}", members.body);

    let mover = app.admin_access(&[&rent]);
    canopy::domain::restructure::move_subtree(
        &mut app.conn(),
        &mover,
        &app.reach(uk.id),
        &app.reach(globex.id),
    )
    .unwrap();
    assert_eq!(subtree_miscounted(&app), 0, "after moving a subtree");
    assert_eq!(kept(acme.id.uuid()), 1);
    assert_eq!(kept(globex.id.uuid()), 2);

    let res = alice
        .post(&format!("/tenants/{}/members/{ann}/remove", acme.id), &[])
        .await;
    assert!(res.status.is_redirection(), "{}", res.body);
    assert_eq!(subtree_miscounted(&app), 0, "after removing a member");
    // Five with the admin `admin_access` made for the moves, less Ann.
    assert_eq!(kept(rent.id.uuid()), 4);

    canopy::domain::restructure::delete(&mut app.conn(), &mover.actor, spare.id).unwrap();
    assert_eq!(subtree_miscounted(&app), 0, "after deleting a tenant");
    let dash = alice.get(&format!("/tenants/{}/dashboard", rent.id)).await;
    assert!(dash.body.contains("(4 in all)"), "{}", dash.body);
}
