//! The tenant tree: create, rename, move, suspend, delete, and path consistency.
use std::collections::HashMap;

use canopy::domain::ids::TenantId;
use canopy::domain::restructure;
use canopy::domain::roles::Role;
use canopy::domain::tenants::{self, TenantError};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::helpers::{TestApp, spawn_app};

async fn admin_of(app: &TestApp, tenant: &tenants::Tenant) -> crate::helpers::Browser {
    let email = format!("admin-{}@example.com", Uuid::now_v7().simple());
    app.user(&email, tenant, Role::Admin);
    app.signed_in(&email).await
}

#[tokio::test]
async fn creating_a_sub_tenant_through_htmx_returns_the_updated_list() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let mut b = admin_of(&app, &acme).await;
    b.get(&format!("/tenants/{}", acme.id)).await;
    let token = b.csrf.clone();

    let res = b
        .post_raw(
            &format!("/tenants/{}/children", acme.id),
            &[("name", "Acme UK"), ("csrf_token", &token)],
            &[("HX-Request", "true")],
        )
        .await;

    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Acme UK") && res.body.contains("id=\"subtenants\""));
    assert!(!res.body.contains("<html"), "a partial, not a page");
    let uk = app.count(&format!(
        "SELECT count(*) AS n FROM tenants WHERE parent_id = '{}' AND name = 'Acme UK' \
         AND traversal_ids = ARRAY['{}'::uuid, id]",
        acme.id, acme.id
    ));
    assert_eq!(uk, 1);
}

#[tokio::test]
async fn a_bad_or_duplicate_name_is_refused_beside_the_field_and_nothing_is_written() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.child(&acme, "Acme UK");
    let mut b = admin_of(&app, &acme).await;
    b.get(&format!("/tenants/{}", acme.id)).await;
    let path = format!("/tenants/{}/children", acme.id);
    let long = "x".repeat(101);

    for (name, message) in [
        ("   ", "Enter a name."),
        (long.as_str(), "Use at most 100 characters."),
        ("acme uk", "already exists"),
        ("---", "at least one letter or digit"),
    ] {
        let res = b.post(&path, &[("name", name)]).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(
            res.body.contains("new-name-error") && res.body.contains(message),
            "{name:?}"
        );
    }
    assert_eq!(app.count("SELECT count(*) AS n FROM tenants"), 2);
}

#[tokio::test]
async fn renaming_a_tenant_is_audited() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let mut b = admin_of(&app, &acme).await;
    b.get(&format!("/tenants/{}", acme.id)).await;

    let res = b
        .post(
            &format!("/tenants/{}/rename", acme.id),
            &[("name", "Acme Group")],
        )
        .await;

    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(app.tenant(acme.id).name, "Acme Group");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.rename' AND actor_id IS NOT NULL AND client_addr = '127.0.0.1'"),
        1
    );
}

#[tokio::test]
async fn moving_a_subtree_rewrites_the_paths_of_its_tenants_and_members() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let depot = app.child(&uk, "Depot");
    let great = app.child(&root, "Great Expeditions");
    app.user("uma@acme.example", &depot, Role::Viewer);
    let mut b = admin_of(&app, &root).await;

    let preview = b
        .get(&format!("/tenants/{}/move?parent_id={}", uk.id, great.id))
        .await;
    assert!(preview.body.contains("2 tenants") && preview.body.contains("1 membership"));
    let res = b
        .post(
            &format!("/tenants/{}/move", uk.id),
            &[("parent_id", &great.id.to_string())],
        )
        .await;

    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.tenant(depot.id).traversal_ids,
        vec![root.id, great.id, uk.id, depot.id]
    );
    assert_eq!(app.tenant(uk.id).parent_id, Some(great.id));
    let stale = app.count(
        "SELECT count(*) AS n FROM memberships m JOIN tenants t ON t.id = m.tenant_id \
         WHERE m.tenant_path <> t.traversal_ids",
    );
    assert_eq!(stale, 0);
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.move'"),
        1
    );
}

#[tokio::test]
async fn a_move_into_the_tenants_own_subtree_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let mut b = admin_of(&app, &root).await;
    b.get(&format!("/tenants/{}", acme.id)).await;

    let res = b
        .post(
            &format!("/tenants/{}/move", acme.id),
            &[("parent_id", &uk.id.to_string())],
        )
        .await;

    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.body
            .contains("cannot be moved into itself or below itself")
    );
    assert_eq!(
        app.tenant(uk.id).traversal_ids,
        vec![root.id, acme.id, uk.id]
    );
}

#[tokio::test]
async fn a_tenant_that_still_holds_something_is_not_deleted() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    app.child(&acme, "Acme UK");
    app.user("olly@acme.example", &acme, Role::Viewer);
    let empty = app.child(&root, "Empty");
    let mut b = admin_of(&app, &root).await;

    let page = b.get(&format!("/tenants/{}/delete", acme.id)).await;
    let refused = b.post(&format!("/tenants/{}/delete", acme.id), &[]).await;
    let deleted = b.post(&format!("/tenants/{}/delete", empty.id), &[]).await;

    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(page.body.contains("1 sub-tenant") && page.body.contains("1 member"));
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) AS n FROM tenants"), 4 - 1);
}

#[tokio::test]
async fn a_tenant_whose_devices_moved_away_can_be_deleted_and_history_keeps_its_name() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let depot = app.child(&root, "Old Depot");
    let acme = app.child(&root, "Acme");
    let device = crate::devices::device_in(&app, &depot, "HIST-1");
    let mut b = admin_of(&app, &root).await;
    b.get(&format!("/tenants/{}/devices", depot.id)).await;
    let moved = b
        .post(
            &format!("/tenants/{}/devices/move", depot.id),
            &[("ids", &device.to_string()), ("to", &acme.id.to_string())],
        )
        .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);

    let confirm = b.get(&format!("/tenants/{}/delete", depot.id)).await;
    let deleted = b.post(&format!("/tenants/{}/delete", depot.id), &[]).await;

    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM tenants WHERE id = '{}'",
            depot.id
        )),
        0
    );
    let page = b.get(&crate::devices::page(&app, device)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Old Depot (deleted)"), "{}", page.body);
}

#[tokio::test]
async fn a_name_with_a_bidi_override_or_zero_width_character_is_refused_beside_the_field() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let mut b = admin_of(&app, &root).await;
    b.get(&format!("/tenants/{}", root.id)).await;
    for (name, code) in [("Acme\u{202E}dtL", "U+202E"), ("Ac\u{200B}me", "U+200B")] {
        let before = app.fingerprint();

        let res = b
            .post(&format!("/tenants/{}/children", root.id), &[("name", name)])
            .await;

        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(res.body.contains(code), "{}", res.body);
        assert_eq!(app.fingerprint(), before);
        b.get(&format!("/tenants/{}", root.id)).await;
    }
}

#[tokio::test]
async fn suspending_and_reactivating_a_tenant_controls_who_can_sign_in() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = admin_of(&app, &root).await;
    b.get(&format!("/tenants/{}/suspend", acme.id)).await;

    let res = b
        .post(
            &format!("/tenants/{}/status", acme.id),
            &[("status", "suspended")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.browser()
            .login("ann@acme.example", crate::helpers::PASSWORD)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    b.post(
        &format!("/tenants/{}/status", acme.id),
        &[("status", "active")],
    )
    .await;
    assert_eq!(
        app.browser()
            .login("ann@acme.example", crate::helpers::PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

/// A tiny deterministic generator, so that a failing seed can be replayed.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn model_path(parents: &HashMap<TenantId, Option<TenantId>>, id: TenantId) -> Vec<TenantId> {
    let mut path = vec![id];
    let mut at = id;
    while let Some(Some(p)) = parents.get(&at) {
        path.insert(0, *p);
        at = *p;
    }
    path
}

#[tokio::test]
async fn after_random_moves_stored_paths_equal_those_recomputed_from_parents() {
    let app = spawn_app().await;
    let (mut moved, mut cycles) = (0, 0);
    for seed in 1..=12u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let root = app.root(&format!("Root {seed}"));
        let mover = app.admin_access(&[&root]);
        let mut ids = vec![root.id];
        let mut parents: HashMap<TenantId, Option<TenantId>> = HashMap::from([(root.id, None)]);
        for i in 0..15 {
            let parent = app.tenant(ids[rng.below(ids.len())]);
            let t = app.child(&parent, &format!("T{i}"));
            if i % 3 == 0 {
                app.user(&format!("u{seed}-{i}@example.com"), &t, Role::Viewer);
            }
            parents.insert(t.id, Some(parent.id));
            ids.push(t.id);
        }
        for _ in 0..25 {
            let moving = ids[1 + rng.below(ids.len() - 1)];
            let target = ids[rng.below(ids.len())];
            let cycle = model_path(&parents, target).contains(&moving);
            let same = parents[&moving] == Some(target);
            let result = restructure::move_subtree(
                &mut app.conn(),
                &mover,
                &app.reach(moving),
                &app.reach(target),
            );
            match result {
                Ok(_) => {
                    assert!(!cycle && !same, "seed {seed}: the model refuses this move");
                    parents.insert(moving, Some(target));
                    moved += 1;
                }
                Err(TenantError::Cycle) => {
                    assert!(cycle, "seed {seed}");
                    cycles += 1;
                }
                Err(TenantError::SameParent) => assert!(same, "seed {seed}"),
                // Sibling names may collide after a move; the model keeps its state then.
                Err(TenantError::NameTaken) => {}
                Err(e) => panic!("seed {seed}: {e}"),
            }
        }
        for id in &ids {
            let stored = app.tenant(*id);
            assert_eq!(
                stored.traversal_ids,
                model_path(&parents, *id),
                "seed {seed}"
            );
            assert_eq!(stored.parent_id, parents[id], "seed {seed}");
        }
    }
    assert!(
        moved > 50 && cycles > 10,
        "the sequences exercise both: {moved} moves, {cycles} cycles"
    );
    let stale = app.count(
        "SELECT count(*) AS n FROM memberships m JOIN tenants t ON t.id = m.tenant_id \
         WHERE m.tenant_path <> t.traversal_ids",
    );
    assert_eq!(stale, 0);
}

/// The breadcrumb trail of a tenant page.
fn crumbs(body: &str) -> &str {
    let start = body.find("class=\"crumbs\"").expect("breadcrumbs");
    let end = body[start..]
        .find("</nav>")
        .map_or(body.len(), |e| start + e);
    &body[start..end]
}

#[tokio::test]
async fn breadcrumbs_name_every_ancestor_in_reach_and_none_outside_it() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage");
    let uk = app.child(&acme, "Acme UK");
    let depot = app.child(&uk, "Leeds Depot");
    app.user("ann@acme.example", &acme, Role::Admin);
    // Two memberships on one chain, neither an admin: the tenant between them is not reached.
    let vic = app.user("vic@rent.example", &rent, Role::Viewer);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        vic,
        &uk,
        Role::Viewer,
    )
    .unwrap();
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut vic_b = app.signed_in("vic@rent.example").await;

    let ann_page = ann.get(&format!("/tenants/{}", depot.id)).await;
    let vic_page = vic_b.get(&format!("/tenants/{}", uk.id)).await;

    let trail = crumbs(&ann_page.body);
    assert!(
        trail.contains("Acme Haulage") && trail.contains("Acme UK"),
        "{trail}"
    );
    assert!(!trail.contains("Rent-a-fone"), "{trail}");
    let trail = crumbs(&vic_page.body);
    assert!(trail.contains("Rent-a-fone"), "{trail}");
    assert!(!trail.contains("Acme Haulage"), "{trail}");
}

/// The names offered as new parents on a move page.
fn move_options(body: &str) -> Vec<String> {
    let start = body
        .find("<select id=\"parent\"")
        .expect("the parent select");
    let end = body[start..].find("</select>").expect("end") + start;
    body[start..end]
        .split("<option")
        .skip(1)
        .filter_map(|o| {
            let text = o.split('>').nth(1)?.split('<').next()?;
            Some(text.trim_start_matches(['—', ' ']).to_string())
        })
        .filter(|n| !n.is_empty())
        .collect()
}

#[tokio::test]
async fn a_move_offers_exactly_the_administered_tenants_outside_the_subtree() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let north = app.child(&acme, "North");
    let north_depot = app.child(&north, "North Depot");
    app.child(&acme, "South");
    let other = app.root("Other");
    app.child(&other, "Other Child");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    // A viewer grant elsewhere reaches tenants, but moves go only under administered ones.
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        ann,
        &other,
        Role::Viewer,
    )
    .unwrap();
    let mut b = app.signed_in("ann@acme.example").await;

    let page = b.get(&format!("/tenants/{}/move", north.id)).await;

    let mut offered = move_options(&page.body);
    offered.sort();
    assert_eq!(offered, ["South"], "{offered:?}");
    let deeper = b.get(&format!("/tenants/{}/move", north_depot.id)).await;
    let mut offered = move_options(&deeper.body);
    offered.sort();
    assert_eq!(offered, ["Acme", "South"], "{offered:?}");
}

#[tokio::test]
async fn a_move_checks_the_callers_reach_again_on_the_rows_it_locked() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let x = app.child(&acme, "X");
    let y = app.child(&acme, "Y");
    let other = app.root("Other");
    let z = app.child(&other, "Z");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    let access = canopy::access::Access::load(&mut app.conn(), ann, None)
        .unwrap()
        .unwrap();
    let device = crate::devices::device_in(&app, &x, "X-1");
    // Proofs made elsewhere (as a concurrent change could leave them): the move itself must
    // refuse whichever side the caller does not reach.
    for (moving, target) in [(&x, &z), (&z, &y)] {
        let result = restructure::move_subtree(
            &mut app.conn(),
            &access,
            &app.reach(moving.id),
            &app.reach(target.id),
        );
        assert!(
            matches!(
                result,
                Err(TenantError::Domain(
                    canopy::domain::error::DomainError::NotFound
                ))
            ),
            "{} under {}: {result:?}",
            moving.name,
            target.name
        );
        assert_eq!(app.tenant(moving.id).parent_id, moving.parent_id);
    }
    let refused = canopy::domain::devices::moves::move_all(
        &mut app.conn(),
        &access,
        &app.reach(x.id),
        &[device],
        &app.reach(z.id),
    );
    assert!(matches!(
        refused,
        Err(canopy::domain::error::DomainError::NotFound)
    ));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM devices WHERE tenant_id = '{}'",
            x.id
        )),
        1
    );
    // Both sides in reach: it moves.
    restructure::move_subtree(&mut app.conn(), &access, &app.reach(x.id), &app.reach(y.id))
        .unwrap();
    assert_eq!(app.tenant(x.id).parent_id, Some(y.id));
}
