//! The access matrix: role × {own, ancestor, descendant, sibling, other root} ×
//! {view, create, rename, move, delete}, every cell with its expected status.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

const OK: u16 = 200;
const DONE: u16 = 303;
const DENIED: u16 = 403;
const HIDDEN: u16 = 404;

/// Expected statuses for [view, create, rename, move, delete].
fn expected(role: Role, relation: &str) -> [u16; 5] {
    match (role, relation) {
        (Role::Admin, "own") => [OK, DONE, DONE, DENIED, DENIED],
        (Role::Admin, "descendant") => [OK, DONE, DONE, DONE, DONE],
        (Role::Operator | Role::Viewer, "own") => [OK, DENIED, DENIED, DENIED, DENIED],
        // Non-admins never see below their tenant; nobody sees up or sideways.
        _ => [HIDDEN; 5],
    }
}

#[tokio::test]
async fn every_cell_of_the_access_matrix_answers_as_the_rule_says() {
    for role in Role::ALL {
        let app = spawn_app().await;
        let ancestor = app.root("Rent-a-fone");
        let own = app.child(&ancestor, "Acme");
        let sibling = app.child(&ancestor, "Great Expeditions");
        let other_root = app.root("Elsewhere");
        // Each action on a descendant gets its own, so that one cell cannot spoil another.
        let descendants: Vec<_> = (0..5)
            .map(|i| app.child(&own, &format!("Acme {i}")))
            .collect();
        let spare_parent = app.child(&own, "Spare");
        // Targets outside reach get a spare parent of their own, so a move would otherwise work.
        app.user("me@acme.example", &own, role);
        let mut b = app.signed_in("me@acme.example").await;

        for relation in ["own", "ancestor", "descendant", "sibling", "other root"] {
            let want = expected(role, relation);
            let mut got = [0u16; 5];
            for (i, slot) in got.iter_mut().enumerate() {
                let target = match relation {
                    "own" => &own,
                    "ancestor" => &ancestor,
                    "descendant" => &descendants[i],
                    "sibling" => &sibling,
                    _ => &other_root,
                };
                let id = target.id;
                let res = match i {
                    0 => b.get(&format!("/tenants/{id}")).await,
                    1 => {
                        b.post(&format!("/tenants/{id}/children"), &[("name", "New child")])
                            .await
                    }
                    2 => {
                        b.post(&format!("/tenants/{id}/rename"), &[("name", "Renamed")])
                            .await
                    }
                    3 => {
                        let parent = spare_parent.id.to_string();
                        b.post(&format!("/tenants/{id}/move"), &[("parent_id", &parent)])
                            .await
                    }
                    _ => b.post(&format!("/tenants/{id}/delete"), &[]).await,
                };
                *slot = res.status.as_u16();
                if res.status == StatusCode::NOT_FOUND {
                    assert!(
                        !res.body.contains(&target.name),
                        "a hidden tenant's name leaked"
                    );
                }
                // Keep a valid token for the next post.
                b.get("/tenants").await;
            }
            assert_eq!(
                got, want,
                "{role} on {relation} [view, create, rename, move, delete]"
            );
        }
    }
}

#[tokio::test]
async fn an_acme_admin_sees_its_countries_and_nothing_of_its_siblings_or_parent() {
    let app = spawn_app().await;
    let root = app.root("Rent-a-fone");
    let acme = app.child(&root, "Acme Haulage Ltd");
    let uk = app.child(&acme, "Acme UK");
    let great = app.child(&root, "Great Expeditions LLC");
    app.user("alice@rentafone.example", &root, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("olly@acme.example", &acme, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut olly = app.signed_in("olly@acme.example").await;

    let tree = ann.get("/tenants").await;
    let children = ann
        .get_htmx(&format!("/tenants/{}/children", acme.id))
        .await;
    let acme_page = ann.get(&format!("/tenants/{}", acme.id)).await;
    let olly_page = olly.get(&format!("/tenants/{}", acme.id)).await;

    assert!(crate::helpers::tree_of(&tree.body).contains("Acme Haulage Ltd"));
    assert!(children.body.contains("Acme UK"));
    for body in [&tree.body, &children.body, &acme_page.body, &olly_page.body] {
        assert!(!body.contains("Great Expeditions"));
        assert!(
            !body.contains("Rent-a-fone"),
            "no parent name in breadcrumbs or pages"
        );
        assert!(!body.contains("alice@rentafone.example"));
    }
    assert!(
        !olly_page.body.contains("Acme UK"),
        "a plain user sees that tenant only"
    );
    assert_eq!(
        olly.get(&format!("/tenants/{}", uk.id)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ann.get(&format!("/tenants/{}", great.id)).await.status,
        StatusCode::NOT_FOUND
    );
}
