//! The tree page: which branches are open is kept in its address.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The open branches are kept in the address: the page shows them open, nested, with links
/// that close them; an id beyond reach is 404, a malformed one 400.
#[tokio::test]
async fn the_tree_shows_the_branches_its_address_keeps_open() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let leeds = app.child(&uk, "Acme Leeds");
    let other = app.root("Globex");
    app.child(&other, "Globex EU");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut b = app.signed_in("ann@acme.example").await;

    let closed = b.get("/tenants").await;
    assert!(
        !closed.body.contains("Acme UK"),
        "a closed branch loads nothing"
    );
    let tree = b
        .get(&format!("/tenants?open={}&open={}", acme.id, uk.id))
        .await;
    assert_eq!(tree.status, StatusCode::OK);
    let inside_uk = tree
        .body
        .split(&format!("id=\"children-{}\"", uk.id))
        .nth(1)
        .unwrap();
    assert!(inside_uk.contains(&format!("id=\"node-{}\"", leeds.id)));
    assert!(tree.body.contains("aria-expanded=\"true\""));
    // Each open branch's toggle closes it and keeps the other open.
    assert!(
        tree.body.contains(&format!(
            "href=\"/tenants?open={}\" data-node=\"{}\"",
            acme.id, uk.id
        )),
        "{}",
        tree.body
    );
    // Leeds has no sub-tenants: nothing to open.
    assert!(!tree.body.contains(&format!("data-node=\"{}\"", leeds.id)));

    let foreign = b.get(&format!("/tenants?open={}", other.id)).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(!foreign.body.contains("Globex"));
    let bad = b.get("/tenants?open=not-an-id").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("is not a tenant"), "{}", bad.body);
}
