//! Branding down the tree: inheritance, override, uploads, and no outside tenant's name in
//! pages, titles or emails.
use canopy::db::schema::{outbox, tenants};
use canopy::domain::roles::Role;
use diesel::prelude::*;
use reqwest::StatusCode;

use crate::helpers::{Browser, spawn_app};

const LOGO: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)"><script>alert(2)</script><rect width="10" height="10" fill="#8a2b1d"/></svg>"##;

async fn save(
    b: &mut Browser,
    tenant: uuid::Uuid,
    fields: &[(&str, &str)],
    files: &[(&str, &str, Vec<u8>)],
) -> crate::helpers::Reply {
    b.get(&format!("/tenants/{tenant}/branding")).await;
    b.post_multipart(&format!("/tenants/{tenant}/branding"), fields, files)
        .await
}

fn title(body: &str) -> &str {
    let start = body.find("<title>").expect("title") + 7;
    let end = body.find("</title>").expect("title end");
    &body[start..end]
}

#[tokio::test]
async fn a_brand_is_inherited_down_the_tree_until_a_tenant_sets_its_own() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone Holdings");
    let acme = app.child(&rent, "Acme Haulage Ltd");
    let uk = app.child(&acme, "Acme UK");
    app.user("root@rent.example", &rent, Role::Admin);
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("uma@acme.example", &uk, Role::Viewer);

    let mut root = app.signed_in("root@rent.example").await;
    let res = save(
        &mut root,
        rent.id.uuid(),
        &[("name", "Rent-a-fone"), ("accent", "#1D4F8A")],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);

    // Nothing set below: the customer's people see the rental company's brand.
    let mut uma = app.signed_in("uma@acme.example").await;
    let page = uma.get(&format!("/tenants/{}/dashboard", uk.id)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(title(&page.body), "Dashboard · Acme UK · Rent-a-fone");
    assert!(page.body.contains("/brand/accent/1d4f8a"));
    assert!(!page.body.contains("Rent-a-fone Holdings"));
    let css = uma.get("/brand/accent/1d4f8a").await;
    assert!(css.body.contains("--accent: #1d4f8a"));

    // Acme sets a name and a logo, keeps the inherited colour.
    let mut ann = app.signed_in("ann@acme.example").await;
    let res = save(
        &mut ann,
        acme.id.uuid(),
        &[("name", "Acme Haulage"), ("accent", "")],
        &[("logo", "acme.svg", LOGO.as_bytes().to_vec())],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = uma.get(&format!("/tenants/{}/devices", uk.id)).await;
    assert!(title(&page.body).ends_with(" · Acme UK · Acme Haulage"));
    assert!(
        page.body.contains("/brand/accent/1d4f8a"),
        "colour still inherited"
    );
    let hash = app
        .tenant(acme.id)
        .brand_logo
        .expect("Acme's logo is stored");
    assert!(page.body.contains(&format!("/logos/{hash}")));

    // The logo is served cleaned, and an SVG opened on its own runs nothing.
    let logo = uma.get(&format!("/logos/{hash}")).await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(logo.headers["content-type"], "image/svg+xml");
    assert!(
        logo.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert!(logo.body.contains("<rect"));
    assert!(!logo.body.contains("script") && !logo.body.contains("onload"));

    // The rental company's own pages keep its brand.
    let page = root.get(&format!("/tenants/{}/dashboard", rent.id)).await;
    assert!(title(&page.body).ends_with(" · Rent-a-fone Holdings · Rent-a-fone"));

    // Clearing Acme's name falls back to the brand above; removing the logo removes it.
    let res = save(
        &mut ann,
        acme.id.uuid(),
        &[("name", ""), ("remove_logo", "yes")],
        &[],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let page = uma.get(&format!("/tenants/{}/dashboard", uk.id)).await;
    assert_eq!(title(&page.body), "Dashboard · Acme UK · Rent-a-fone");
    assert!(!page.body.contains("/logos/"));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'tenant.branding'"),
        3
    );
}

#[tokio::test]
async fn bad_branding_is_refused_beside_its_field_and_nothing_is_saved() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    app.user("victor@acme.example", &acme, Role::Viewer);
    let mut ann = app.signed_in("ann@acme.example").await;

    let long = "x".repeat(61);
    let res = save(
        &mut ann,
        acme.id.uuid(),
        &[("name", &long), ("accent", "#ffff00")],
        &[("logo", "logo.gif", b"GIF89a\x01\x00".to_vec())],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("Use at most 60 characters."));
    assert!(res.body.contains("too light"));
    assert!(res.body.contains("Upload a PNG, JPEG or SVG image."));
    assert!(res.body.contains(&long), "the typed value is kept");

    let big = vec![b'a'; 300 * 1024];
    let res = save(
        &mut ann,
        acme.id.uuid(),
        &[("name", "Acme")],
        &[("logo", "big.png", big)],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("larger than 256 KB"));

    // Invalid UTF-8 in a text field is refused, never replaced.
    let res = save(
        &mut ann,
        acme.id.uuid(),
        &[("accent", "#1f6f5c")],
        &[("name", "name.txt", b"Acme \xff\xfe".to_vec())],
    )
    .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains("not valid UTF-8"), "{}", res.body);

    let stored = app.tenant(acme.id);
    assert_eq!(
        (stored.brand_name, stored.brand_accent, stored.brand_logo),
        (None, None, None)
    );
    assert_eq!(app.count("SELECT count(*) AS n FROM logos"), 0);

    // Viewers see the tenant but may not brand it.
    let mut victor = app.signed_in("victor@acme.example").await;
    assert_eq!(
        victor
            .get(&format!("/tenants/{}/branding", acme.id))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let res = victor
        .post_multipart(
            &format!("/tenants/{}/branding", acme.id),
            &[("name", "Mine")],
            &[],
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.tenant(acme.id).brand_name, None);
}

#[tokio::test]
async fn customers_never_see_the_names_of_tenants_outside_their_reach() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone Secret Holdings");
    let acme = app.child(&rent, "Acme Haulage Ltd");
    let globex = app.child(&rent, "Globex Confidential");
    diesel::update(tenants::table.find(rent.id))
        .set(tenants::brand_name.eq("Rent-a-fone"))
        .execute(&mut app.conn())
        .unwrap();
    app.user("ann@acme.example", &acme, Role::Admin);
    let olly = app.user("olly@acme.example", &acme, Role::Operator);
    let device = crate::devices::device_in(&app, &globex, "MOVED-1");
    // A device that came to Acme from another customer: its history must not name them.
    canopy::domain::devices::moves::move_all(
        &mut app.conn(),
        &app.admin_access(&[&rent]),
        &app.reach(rent.id),
        &[device],
        &app.reach(acme.id),
    )
    .unwrap();

    let mut ann = app.signed_in("ann@acme.example").await;
    let pages = [
        "/".to_string(),
        format!("/tenants/{}/dashboard", acme.id),
        format!("/tenants/{}", acme.id),
        format!("/tenants/{}/devices", acme.id),
        crate::devices::page(&app, device),
        format!("/tenants/{}/members", acme.id),
        format!("/tenants/{}/invitations", acme.id),
        format!("/tenants/{}/audit", acme.id),
        format!("/tenants/{}/audit/export.csv", acme.id),
        format!("/tenants/{}/usage", acme.id),
        format!("/tenants/{}/usage/export.csv", acme.id),
        format!("/tenants/{}/branding", acme.id),
        "/tenants".to_string(),
    ];
    for path in &pages {
        let mut res = ann.get(path).await;
        if res.status == StatusCode::SEE_OTHER {
            res = ann.get(res.location().unwrap()).await;
        }
        assert_eq!(res.status, StatusCode::OK, "{path}");
        for secret in ["Secret Holdings", "Globex"] {
            assert!(!res.body.contains(secret), "{path} shows {secret}");
        }
    }

    // Emails carry the tenant's brand, not the names above it.
    ann.get(&format!("/tenants/{}/invitations", acme.id)).await;
    let res = ann
        .post(
            &format!("/tenants/{}/invitations", acme.id),
            &[("email", "new@acme.example"), ("role", "viewer")],
        )
        .await;
    assert!(res.body.contains("Invitation sent to new@acme.example."));
    let mut anon = app.browser();
    anon.get("/password/forgot").await;
    anon.post("/password/forgot", &[("email", "olly@acme.example")])
        .await;
    // The worker turns the request into an email.
    app.worker().tick().await.unwrap();
    let mails: Vec<(String, String, String, String)> = outbox::table
        .select((
            outbox::to_email,
            outbox::subject,
            outbox::text_body,
            outbox::html_body,
        ))
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(mails.len(), 2);
    for (to, subject, text, html) in &mails {
        assert!(subject.contains("Rent-a-fone"), "{to}: {subject}");
        for part in [subject, text, html] {
            assert!(!part.contains("Secret Holdings") && !part.contains("Globex"));
            assert!(!part.contains("Canopy"), "{to}: the brand replaces Canopy");
        }
    }
    // The invitee's first page is the tenant's too.
    let (_, _, text, _) = mails.iter().find(|m| m.0 == "new@acme.example").unwrap();
    let start = text.find("/invitations/").unwrap();
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let page = app.browser().get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(title(&page.body), "Join Acme Haulage Ltd · Rent-a-fone");
    assert!(!page.body.contains("Secret Holdings") && !page.body.contains("Globex"));
    let _ = olly;
}
