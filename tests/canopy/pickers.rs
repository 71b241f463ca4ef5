//! The device list's tenant pickers load when reached for, not with every page.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn tenant_pickers_list_the_subtree_on_demand_for_admins_only() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let uk = app.child(&acme, "Acme UK");
    let globex = app.child(&rent, "Globex");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("oli@acme.example", &acme, Role::Operator);
    let mut ann = app.signed_in("ann@acme.example").await;

    // The page names no sub-tenant until a picker is opened …
    let page = ann.get(&format!("/tenants/{}/devices", acme.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("Acme UK"), "no options on the page");
    assert!(page.body.contains("devices/tenant-options"));
    // … except the one it is filtered to, selected.
    let page = ann
        .get(&format!("/tenants/{}/devices?tenant={}", acme.id, uk.id))
        .await;
    assert!(page.body.contains(&format!(
        "<option value=\"{}\" selected>Acme UK</option>",
        uk.id
    )));

    let options = ann
        .get_htmx(&format!(
            "/tenants/{}/devices/tenant-options?for=filter&tenant={}",
            acme.id, uk.id
        ))
        .await;
    assert_eq!(options.status, StatusCode::OK);
    assert!(options.body.starts_with(
        "<span><select id=\"tenant-filter\" name=\"tenant\"><option value=\"\">Any</option>"
    ));
    assert!(
        options
            .body
            .contains(&format!("<option value=\"{}\">Acme</option>", acme.id))
    );
    assert!(options.body.contains(&format!(
        "<option value=\"{}\" selected>Acme UK</option>",
        uk.id
    )));
    assert!(!options.body.contains("Globex") && !options.body.contains("Rent-a-fone"));
    let targets = ann
        .get_htmx(&format!(
            "/tenants/{}/devices/tenant-options?for=move",
            acme.id
        ))
        .await;
    assert!(targets.body.starts_with(
        "<span><select id=\"move-to\" name=\"to\"><option value=\"\">Choose a tenant…</option>"
    ));
    assert!(!targets.body.contains(" selected"));

    // Outside the page's subtree, or outside reach: 404; an operator: 403.
    let sideways = ann
        .get_htmx(&format!(
            "/tenants/{}/devices/tenant-options?tenant={}",
            uk.id, acme.id
        ))
        .await;
    assert_eq!(sideways.status, StatusCode::NOT_FOUND);
    let foreign = ann
        .get_htmx(&format!("/tenants/{}/devices/tenant-options", globex.id))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let mut oli = app.signed_in("oli@acme.example").await;
    let refused = oli
        .get_htmx(&format!("/tenants/{}/devices/tenant-options", acme.id))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("Acme UK"));
}
