//! Pages that keep answering: an ended session inside an htmx request sends the browser to
//! sign in and back; a refusal after a role change reloads the page; exports follow the list
//! as shown; the browser's icon is there.
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_htmx_request_after_the_session_ended_goes_to_sign_in_and_comes_back() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let page = format!("/tenants/{}/devices?q=abc", acme.id);
    ann.get(&page).await;
    // The session ends elsewhere (sign out everywhere, an admin, the idle timeout).
    diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM sessions"), &mut app.conn())
        .unwrap();
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{page}", app.base))
        .header("HX-Request", "true")
        .header("HX-Current-URL", format!("{}{page}", app.base))
        .send()
        .await
        .unwrap();
    // A 2xx, which htmx 4 acts on (a 3xx it would follow and swap in place).
    assert_eq!(res.status(), StatusCode::OK);
    let to = res.headers()["hx-redirect"].to_str().unwrap().to_string();
    assert!(to.starts_with("/login?next="), "{to}");
    // Signing in there brings the person back to the list they were on.
    let mut b = app.browser();
    let form = b.get(&to).await;
    assert!(
        form.body.contains("name=\"next\" value=\"/tenants/"),
        "{}",
        form.body
    );
    let next = form
        .body
        .split("name=\"next\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#x3D;", "=")
        .replace("&#x2F;", "/")
        .replace("&#x3F;", "?");
    let res = b
        .post(
            "/login",
            &[
                ("email", "ann@acme.example"),
                ("password", crate::helpers::PASSWORD),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(res.location(), Some(page.as_str()));
}

#[tokio::test]
async fn an_htmx_action_refused_after_a_role_change_reloads_the_page_saying_why() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    app.user("bob@acme.example", &acme, Role::Admin);
    let mut a = app.signed_in("ann@acme.example").await;
    let page = format!("/tenants/{}", acme.id);
    assert!(a.get(&page).await.body.contains("/rename"));
    // Bob makes Ann a viewer while her page still offers renaming.
    let mut bob = app.signed_in("bob@acme.example").await;
    bob.get(&page).await;
    let demoted = bob
        .post(
            &format!("/tenants/{}/members/{ann}/role", acme.id),
            &[("role", "viewer")],
        )
        .await;
    assert!(demoted.status.is_redirection(), "{}", demoted.status);
    let token = a.csrf.clone();
    let res = a
        .post_raw(
            &format!("/tenants/{}/rename", acme.id),
            &[("name", "Renamed"), ("csrf_token", &token)],
            &[
                ("HX-Request", "true"),
                ("HX-Current-URL", &format!("{}{page}", app.base)),
            ],
        )
        .await;
    // A 2xx with HX-Redirect: htmx loads the whole page again instead of swapping a refusal
    // into a page drawn for the old role.
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(res.headers["hx-redirect"], page.as_str());
    assert_eq!(app.tenant(acme.id).name, "Acme");
    let reloaded = a.get(&page).await;
    assert!(
        reloaded
            .body
            .contains("Not done: This needs the permission"),
        "{}",
        reloaded.body
    );
    assert!(!reloaded.body.contains("/rename"), "{}", reloaded.body);
    // The message is shown once.
    assert!(!a.get(&page).await.body.contains("Not done:"));
    // Without a page to go back to (no HX-Current-URL) the refusal is shown in place.
    let token = a.csrf.clone();
    let bare = a
        .post_raw(
            &format!("/tenants/{}/rename", acme.id),
            &[("name", "Renamed"), ("csrf_token", &token)],
            &[("HX-Request", "true")],
        )
        .await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN);
    assert_eq!(bare.headers["hx-retarget"], "#flash");
    // Nor to a page that is not this site's, however the address is written.
    let token = a.csrf.clone();
    let elsewhere = a
        .post_raw(
            &format!("/tenants/{}/rename", acme.id),
            &[("name", "Renamed"), ("csrf_token", &token)],
            &[
                ("HX-Request", "true"),
                ("HX-Current-URL", "https://portal.example/\\evil.example/x"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::FORBIDDEN);
    assert!(!elsewhere.headers.contains_key("hx-redirect"));
    // A fragment the page loads by itself is refused in place (a reload could loop).
    let fragment = a
        .client
        .get(format!("{}/tenants/{}/children", app.base, acme.id))
        .header("HX-Request", "true")
        .header("HX-Current-URL", format!("{}{page}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(fragment.status(), StatusCode::FORBIDDEN);
    assert!(!fragment.headers().contains_key("hx-redirect"));
}

#[tokio::test]
async fn the_export_link_follows_the_filter_and_each_row_names_its_tenant() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "HQ-1");
    crate::devices::device_in(&app, &uk, "UK-1");
    crate::devices::device_in(&app, &uk, "UK-2");
    let mut ann = app.signed_in("ann@acme.example").await;
    // The fragment htmx swaps in after typing carries the export link of that filter.
    let fragment = ann
        .get_htmx(&format!("/tenants/{}/devices?sub=1&q=UK", acme.id))
        .await;
    let href = fragment
        .body
        .split("id=\"export-link\"")
        .next()
        .and_then(|b| b.rsplit("href=\"").next())
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(href.contains("q=UK") && href.contains("sub=1"), "{href}");
    let csv = ann.get(&href).await;
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "exactly the rows the list shows: {}",
        csv.body
    );
    assert!(lines[0].ends_with(",tenant"), "{}", lines[0]);
    assert!(lines[1].ends_with("Acme / Acme UK"), "{}", lines[1]);
    // Such a file imports as it is: the tenant column is read past.
    let rows = canopy::domain::devices::import::read(csv.body.as_bytes()).unwrap();
    assert_eq!(rows.len(), 2);
}

#[tokio::test]
async fn the_browser_finds_its_icon() {
    let app = spawn_app().await;
    let res = app.browser().get("/favicon.ico").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.headers["content-type"], "image/svg+xml");
    assert!(
        app.browser()
            .get("/login")
            .await
            .body
            .contains("rel=\"icon\"")
    );
}

#[tokio::test]
async fn a_change_says_it_happened_on_the_page_after_its_redirect_and_only_once() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let phones: Vec<String> = (0..3)
        .map(|n| crate::devices::device_in(&app, &acme, &format!("PH-{n}")).to_string())
        .collect();
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}/devices", acme.id)).await;
    let mut form: Vec<(&str, &str)> = phones.iter().map(|p| ("ids", p.as_str())).collect();
    let to = uk.id.to_string();
    form.push(("to", &to));
    let moved = ann
        .post(&format!("/tenants/{}/devices/move", acme.id), &form)
        .await;
    let after = ann.get(moved.location().unwrap()).await;
    assert!(
        after
            .body
            .contains("id=\"flash-message\">3 devices moved to Acme UK.<"),
        "{}",
        after.body
    );
    let again = ann.get(moved.location().unwrap()).await;
    assert!(!again.body.contains("flash-message"), "said once");

    ann.get(&format!("/tenants/{}", uk.id)).await;
    let renamed = ann
        .post(
            &format!("/tenants/{}/rename", uk.id),
            &[("name", "Acme Britain")],
        )
        .await;
    let page = ann.get(renamed.location().unwrap()).await;
    assert!(
        page.body.contains("Renamed to Acme Britain."),
        "{}",
        page.body
    );

    let created = ann
        .post(
            &format!("/tenants/{}/devices", acme.id),
            &[
                ("serial", "NEW-1"),
                ("name", "New unit"),
                ("kind", "tracker"),
                ("status", "active"),
            ],
        )
        .await;
    let page = ann.get(created.location().unwrap()).await;
    assert!(
        page.body.contains("New unit added to Acme."),
        "{}",
        page.body
    );
}

/// The audit log and the dashboard tell events as sentences naming their objects; raw values
/// such as a logo's hash stay behind "details", shortened.
#[tokio::test]
async fn history_reads_as_sentences_and_hides_raw_values_behind_details() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get(&format!("/tenants/{}", uk.id)).await;
    ann.post(
        &format!("/tenants/{}/rename", uk.id),
        &[("name", "Acme Britain")],
    )
    .await;
    // A logo's hash, as a branding change records it.
    let hash = "c4e1cd6a".repeat(8);
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(
            "INSERT INTO audit_events (customer_id, actor_id, tenant_id, tenant_path, action, \
             target_type, target_id, detail) SELECT canopy_customer(traversal_ids), NULL, id, \
             traversal_ids, 'tenant.branding', 'tenant', id, \
             jsonb_build_object('accent', '#8a2b1d', 'logo', $2::text) FROM tenants WHERE id = $1",
        )
        .bind::<diesel::sql_types::Uuid, _>(acme.id)
        .bind::<diesel::sql_types::Text, _>(&hash)
        .execute(&mut app.conn())
        .unwrap();
    }
    let log = ann.get(&format!("/tenants/{}/audit", acme.id)).await;
    assert!(
        log.body
            .contains("renamed a tenant from “Acme UK” to “Acme Britain”"),
        "{}",
        log.body
    );
    assert!(log.body.contains("changed the branding"));
    assert!(log.body.contains("<summary>Details</summary>"));
    assert!(log.body.contains("logo: c4e1cd6a…"));
    assert!(!log.body.contains(&hash), "no raw hash on the page");
    let dashboard = ann.get(&format!("/tenants/{}/dashboard", acme.id)).await;
    assert!(
        dashboard
            .body
            .contains("renamed a tenant from “Acme UK” to “Acme Britain”")
    );
    assert!(!dashboard.body.contains(&hash));
    // The CSV export keeps everything, for whoever audits the audit.
    let csv = ann
        .get(&format!("/tenants/{}/audit/export.csv", acme.id))
        .await;
    assert!(csv.body.contains(&hash));
}
