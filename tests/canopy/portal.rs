//! The customer portal: landing on the dashboard, its figures, and switching tenants.
use canopy::domain::audit::Actor;
use canopy::domain::memberships;
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn signing_in_lands_on_the_dashboard_with_this_tenants_figures() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage Ltd");
    let uk = app.child(&acme, "Acme UK");
    let globex = app.child(&rent, "Globex");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("victor@acme.example", &acme, Role::Viewer);
    app.user("uma@acme.example", &uk, Role::Viewer);
    for n in 0..3 {
        crate::devices::device_in(&app, &acme, &format!("ACME-{n}"));
    }
    crate::devices::device_in(&app, &uk, "UK-1");
    crate::devices::device_in(&app, &globex, "GLOBEX-1");
    crate::invitations::invite_directly(&app, &uk, "new@acme.example");
    crate::invitations::invite_directly(&app, &acme, "hq@acme.example");

    let mut ann = app.browser();
    let res = ann
        .login("ann@acme.example", crate::helpers::PASSWORD)
        .await;
    assert_eq!(res.location(), Some("/"));
    let home = ann.get("/").await;
    let dashboard = format!("/tenants/{}/dashboard", acme.id);
    assert_eq!(home.location(), Some(dashboard.as_str()));
    let page = ann.get(&dashboard).await;
    assert_eq!(page.status, StatusCode::OK);
    // An admin's figures cover the subtree: 4 devices, 1 sub-tenant, 3 memberships; pending
    // invitations are this tenant's (what its invitations page lists), not Acme UK's.
    let card = |id: &str| {
        let start = page.body.find(&format!("id=\"{id}\"")).expect(id);
        let rest = &page.body[start..];
        let n = rest.find("class=\"number\">").expect("number") + 15;
        rest[n..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    assert_eq!(card("card-devices"), "4");
    assert_eq!(card("card-subtenants"), "1");
    assert_eq!(card("card-members"), "3");
    assert_eq!(card("card-invitations"), "1");
    assert!(
        page.body.contains("aria-label=\"Active: 4\""),
        "the chart bars link per status"
    );
    assert!(page.body.contains(&format!(
        "/tenants/{}/devices?status=active&amp;sub=1",
        acme.id
    )));
    assert!(page.body.contains("Recent activity"));
    assert!(page.body.contains("invited someone"));

    // A viewer sees their own tenant's figures only, and no activity feed.
    let mut victor = app.signed_in("victor@acme.example").await;
    let page = victor.get(&dashboard).await;
    assert!(page.body.contains("aria-label=\"Active: 3\""));
    assert!(!page.body.contains("card-subtenants"));
    assert!(!page.body.contains("Recent activity"));

    // Someone else's dashboard does not exist for them.
    let globex_dash = format!("/tenants/{}/dashboard", globex.id);
    assert_eq!(ann.get(&globex_dash).await.status, StatusCode::NOT_FOUND);
    let mut uma = app.signed_in("uma@acme.example").await;
    assert_eq!(uma.get(&dashboard).await.status, StatusCode::NOT_FOUND);
    let empty = uma.get(&format!("/tenants/{}/dashboard", uk.id)).await;
    assert!(empty.body.contains("aria-label=\"Active: 1\""));
}

#[tokio::test]
async fn a_user_with_two_memberships_switches_and_each_tenant_uses_its_own_role() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let globex = app.root("Globex");
    let other = app.root("Other Co");
    let pat = app.user("pat@example.com", &acme, Role::Viewer);
    memberships::grant(&mut app.conn(), &Actor::system(), pat, &globex, Role::Admin).unwrap();

    let mut pat_b = app.signed_in("pat@example.com").await;
    let first = pat_b.get("/").await.location().unwrap().to_string();
    let page = pat_b.get(&first).await;
    // The switcher lists both memberships with their roles.
    assert!(page.body.contains("Acme (Viewer)"));
    assert!(page.body.contains("Globex (Admin)"));
    assert!(!page.body.contains("Other Co"));

    let res = pat_b
        .post("/switch", &[("tenant", &globex.id.to_string())])
        .await;
    let globex_dash = format!("/tenants/{}/dashboard", globex.id);
    assert_eq!(res.location(), Some(globex_dash.as_str()));
    let page = pat_b.get(&globex_dash).await;
    assert!(
        page.body
            .contains(&format!("<option value=\"{}\" selected>", globex.id))
    );
    // The choice is remembered: the next sign-in lands in Globex.
    let mut again = app.signed_in("pat@example.com").await;
    assert_eq!(again.get("/").await.location(), Some(globex_dash.as_str()));

    // Each tenant's pages use that membership's role.
    assert_eq!(
        pat_b
            .get(&format!("/tenants/{}/devices/new", globex.id))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        pat_b
            .get(&format!("/tenants/{}/devices/new", acme.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        pat_b
            .get(&format!("/tenants/{}/audit", acme.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        pat_b
            .get(&format!("/tenants/{}/audit", globex.id))
            .await
            .status,
        StatusCode::OK
    );

    // Switching to a tenant that is not one of the user's memberships is refused.
    let res = pat_b
        .post("/switch", &[("tenant", &other.id.to_string())])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = pat_b.post("/switch", &[("tenant", "not-a-uuid")]).await;
    assert!(res.status.is_client_error());
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM users WHERE id = '{pat}' AND last_tenant_id = '{}'",
            globex.id
        )),
        1
    );
}
