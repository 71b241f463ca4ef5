//! The access matrix, generated from the catalogue: every route states the permission it needs
//! (`Reach<perm::X>` in its handler's signature); a role holding every permission but that one
//! is refused (403, naming it), a role holding all of them is not. And the built-in presets
//! answer every page exactly as the three fixed roles did before the catalogue.
use std::collections::HashMap;

use canopy::domain::audit::Actor;
use canopy::domain::ids::TenantId;
use canopy::domain::memberships;
use canopy::domain::permissions::{Permission, Permissions};
use canopy::domain::roles::{Role, RoleReach};
use canopy::web::routes::{ROUTES, Route};
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use crate::helpers::{Browser, TestApp, spawn_app};
use crate::roles::role_with;

/// The permission a route's handler states, read from its signature under `src/web/`.
fn needs(route: &Route) -> Option<Permission> {
    needs_in(route, "src/web")
}

/// The same for a route table whose handlers live under `dir` (the API's: `src/web/api`).
pub fn needs_in(route: &Route, dir: &str) -> Option<Permission> {
    let (module, function) = route.handler.rsplit_once("::")?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = vec![dir.join(format!("{module}.rs"))];
    if let Ok(entries) = std::fs::read_dir(dir.join(module)) {
        files.extend(entries.filter_map(|e| e.ok()).map(|e| e.path()));
    }
    let texts: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .collect();
    // A handler re-exported under another name (`pub use import::{form as import_form}`).
    let original = texts
        .iter()
        .find_map(|t| {
            let alias = format!(" as {function}");
            let at = t.find(&alias)?;
            let before = &t[..at];
            let start = before.rfind(|c: char| !(c.is_alphanumeric() || c == '_'))? + 1;
            Some(before[start..].to_string())
        })
        .unwrap_or_else(|| function.to_string());
    for text in &texts {
        let Some(at) = text.find(&format!("async fn {original}(")) else {
            continue;
        };
        let signature = &text[at..at + text[at..].find(") ->").unwrap_or(0)];
        let key = signature.split("perm::").nth(1)?;
        let name: String = key.chars().take_while(|c| c.is_alphanumeric()).collect();
        return Permission::ALL
            .iter()
            .copied()
            .find(|p| format!("{p:?}") == name);
    }
    None
}

pub fn signed_in_with(app: &TestApp, email: &str, at: TenantId, role: canopy::domain::ids::RoleId) {
    let tenant = app.tenant(at);
    let user = app.user(email, &tenant, Role::Viewer);
    let role = canopy::domain::roles::custom::grant_of(&mut app.conn(), role).unwrap();
    memberships::grant(&mut app.conn(), &Actor::system(), user, &tenant, role).unwrap();
}

/// Fields that every form of the portal can parse (each takes what it knows): a malformed
/// form is refused before the access check is heard, and this test is about the check.
/// (The ids a form carries — a device, a group, a member — are added per run.)
const FORM: &[(&str, &str)] = &[
    ("name", "Probe"),
    ("identifier", "UK-1"),
    ("limited", "1"),
    ("status", "active"),
    ("role", "viewer"),
    ("email", "probe@acme.example"),
    ("kind", "tracker"),
    ("serial", "PROBE-1"),
    ("reach", "tenant"),
    ("permissions", "tenant.view"),
];

#[tokio::test]
async fn every_permission_a_route_needs_is_checked_and_named() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let device = crate::devices::device_in(&app, &uk, "UK-1");
    let mo = app.user("mo@acme.example", &uk, Role::Viewer);
    let own_role = crate::roles::custom_role(&app, &uk, "Dispatcher", &[Permission::DevicesView]);
    let invitation = crate::invitations::invite_directly(&app, &uk, "inv@acme.example");
    let job =
        canopy::domain::devices::jobs::create(&mut app.conn(), &uk, None, "imei\n", 0).unwrap();
    let group = crate::groups::group_in(&app, &uk, "Probe group");
    let contact = crate::checkins::contact_in(&app, &uk, "Probe contact", "c@acme.example");
    let schedule = crate::checkins::schedule_in(&app, &uk, "Probe schedule", 60, 0, None, None);
    let alert = crate::checkins::alert_for(&app, &uk, device);
    let key = crate::api::key_row(&app, mo, uk.id);
    let ids = [device.to_string(), group.to_string(), mo.to_string()];
    let form: Vec<(&str, &str)> = FORM
        .iter()
        .copied()
        .chain([
            ("device", ids[0].as_str()),
            ("ids", ids[0].as_str()),
            ("group", ids[1].as_str()),
            ("user", ids[2].as_str()),
        ])
        .collect();

    let needed: Vec<(&Route, Permission)> = ROUTES
        .iter()
        .filter(|r| !r.public)
        .filter_map(|r| needs(r).map(|p| (r, p)))
        .collect();
    // Every route about a tenant or a device states what it needs.
    for r in ROUTES
        .iter()
        .filter(|r| !r.public && r.path.contains("{id}"))
    {
        assert!(
            needs(r).is_some(),
            "{} {} states no permission",
            r.method,
            r.path
        );
    }
    assert!(needed.len() > 40, "{} routes read", needed.len());

    // One person holding everything, and for each permission a route needs, one holding
    // everything but it; all through a subtree grant at Acme, so that the decision about
    // Acme UK's restructuring (taken at Acme) is theirs too.
    let all = role_with(
        &app,
        acme.id,
        "Everything",
        Permissions::all(),
        RoleReach::Subtree,
        false,
    );
    signed_in_with(&app, "all@acme.example", acme.id, all);
    let mut everything = app.signed_in("all@acme.example").await;
    let mut lacking: HashMap<Permission, Browser> = HashMap::new();
    for (_, p) in &needed {
        if lacking.contains_key(p) {
            continue;
        }
        let without: Vec<Permission> = Permission::ALL.iter().copied().filter(|q| q != p).collect();
        let role = role_with(
            &app,
            acme.id,
            &format!("All but {}", p.key()),
            Permissions::of(&without),
            RoleReach::Subtree,
            false,
        );
        let email = format!("no-{}@acme.example", p.key().replace('.', "-"));
        signed_in_with(&app, &email, acme.id, role);
        lacking.insert(*p, app.signed_in(&email).await);
    }

    let mut checked = 0;
    for (r, p) in &needed {
        let path = r
            .path
            .replace("{id}", &uk.id.to_string())
            .replace("{device}", &device.to_string())
            .replace("{user}", &mo.to_string())
            .replace("{role}", &own_role.to_string())
            .replace("{group}", &group.to_string())
            .replace("{contact}", &contact.to_string())
            .replace("{schedule}", &schedule.to_string())
            .replace("{alert}", &alert.to_string())
            .replace("{key}", &key.to_string())
            .replace("{invitation}", &invitation.to_string())
            .replace("{job}", &job.to_string());
        let what = format!("{} {} needing {}", r.method, r.path, p.key());
        let browser = lacking.get_mut(p).unwrap();
        let refused = match r.method {
            "get" => browser.get(&path).await,
            _ => browser.post(&path, &form).await,
        };
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            refused.body
        );
        let named = p.to_string().replace('&', "&amp;");
        assert!(
            refused.body.contains(&named),
            "{what}: the 403 names {named}: {}",
            refused.body
        );
        let allowed = match r.method {
            "get" => everything.get(&path).await,
            _ => everything.post(&path, &form).await,
        };
        assert!(
            allowed.status != StatusCode::FORBIDDEN && allowed.status != StatusCode::NOT_FOUND,
            "{what}: holding it gives {} {}",
            allowed.status,
            allowed.body
        );
        // Put back what a request may have removed.
        memberships::grant(&mut app.conn(), &Actor::system(), mo, &uk, Role::Viewer).unwrap();
        diesel::sql_query(
            "INSERT INTO groups (id, tenant_id, name, customer_id) \
             VALUES ($1, $2, 'Probe group', canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2))) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Uuid, _>(group)
        .bind::<diesel::sql_types::Uuid, _>(uk.id)
        .execute(&mut app.conn())
        .unwrap();
        diesel::sql_query(
            "INSERT INTO contacts (id, tenant_id, name, email, customer_id) \
             VALUES ($1, $2, 'Probe contact', 'c@acme.example', canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2))) \
             ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Uuid, _>(contact)
        .bind::<diesel::sql_types::Uuid, _>(uk.id)
        .execute(&mut app.conn())
        .unwrap();
        diesel::sql_query(
            "INSERT INTO schedules (id, tenant_id, name, time_zone, interval_minutes, customer_id) \
             VALUES ($1, $2, 'Probe schedule', 'UTC', 60, canopy_customer((SELECT traversal_ids FROM tenants WHERE id = $2))) ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Uuid, _>(schedule)
        .bind::<diesel::sql_types::Uuid, _>(uk.id)
        .execute(&mut app.conn())
        .unwrap();
        checked += 1;
    }
    println!("{checked} routes, each refused without its permission and allowed with it");

    // No page links to what its reader may not open: each lacking reader's pages about Acme
    // UK are read for links, and every link that names a route needing the missing
    // permission fails. (Tenant: view is every role's floor, see `roles::edit`.)
    let pages = [
        format!("/tenants/{}/dashboard", uk.id),
        format!("/tenants/{}", uk.id),
        format!("/tenants/{}/devices", uk.id),
        crate::devices::page(&app, device),
        format!("/tenants/{}/members", uk.id),
        format!("/tenants/{}/roles", uk.id),
    ];
    let mut links = 0;
    for (p, browser) in lacking.iter_mut() {
        if *p == Permission::TenantView {
            continue;
        }
        for page in &pages {
            let res = browser.get(page).await;
            if res.status != StatusCode::OK {
                continue;
            }
            for href in res.body.split("href=\"").skip(1) {
                let link = href.split(['"', '?']).next().unwrap_or_default();
                for (r, needed) in &needed {
                    if r.method == "get" && canopy::web::routes::matches(r.path, link) {
                        links += 1;
                        assert_ne!(
                            needed,
                            p,
                            "{page} links to {link} for a reader without {}",
                            p.key()
                        );
                    }
                }
            }
        }
    }
    assert!(links > 100, "{links} links read");
    // Each permission a route needs was tried on its own.
    let tried: std::collections::HashSet<Permission> = needed.iter().map(|(_, p)| *p).collect();
    assert!(tried.len() >= 15, "{tried:?}");
}

/// Before the catalogue, a page asked for one of four actions (see the table): viewing needed
/// any role, administering needed admin, operating devices needed operator or more, and
/// restructuring needed admin of the parent. A member of T reached T; an admin also reached
/// everything below.
fn before(path: &str) -> Option<&'static str> {
    Some(match path {
        "/tenants/{id}" | "/tenants/{id}/dashboard" | "/tenants/{id}/members" => "view",
        "/tenants/{id}/devices" | "/tenants/{id}/devices/export.csv" => "view",
        "/tenants/{id}/devices/{device}" => "view",
        "/tenants/{id}/devices/new" | "/tenants/{id}/devices/import" => "operate",
        "/tenants/{id}/devices/{device}/edit" => "operate",
        "/tenants/{id}/children"
        | "/tenants/{id}/branding"
        | "/tenants/{id}/audit"
        | "/tenants/{id}/audit/export.csv"
        | "/tenants/{id}/usage"
        | "/tenants/{id}/usage/export.csv"
        | "/tenants/{id}/devices/tenant-options"
        | "/tenants/{id}/invitations" => "administer",
        "/tenants/{id}/move" | "/tenants/{id}/suspend" | "/tenants/{id}/delete" => "restructure",
        _ => return None,
    })
}

#[tokio::test]
async fn the_built_in_roles_answer_every_page_as_the_fixed_roles_did() {
    use canopy::domain::tenants::Tenant;
    use diesel::prelude::*;
    let app = spawn_app().await;
    let demo = canopy::domain::setup::demo(&mut app.conn()).unwrap();
    let tenants: Vec<Tenant> = canopy::db::schema::tenants::table
        .select(Tenant::as_select())
        .load(&mut app.conn())
        .unwrap();
    let device_of: HashMap<TenantId, String> = canopy::db::schema::devices::table
        .select((
            canopy::db::schema::devices::tenant_id,
            canopy::db::schema::devices::id,
        ))
        .load::<(TenantId, canopy::domain::ids::DeviceId)>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|(t, d)| (t, d.to_string()))
        .collect();
    let parent: HashMap<TenantId, Option<TenantId>> =
        tenants.iter().map(|t| (t.id, t.parent_id)).collect();
    let path_of: HashMap<TenantId, Vec<TenantId>> = tenants
        .iter()
        .map(|t| (t.id, t.traversal_ids.clone()))
        .collect();
    let routes: Vec<&Route> = ROUTES
        .iter()
        .filter(|r| r.method == "get" && before(r.path).is_some())
        .collect();
    assert!(routes.len() >= 18, "{} routes", routes.len());

    let mut compared = 0;
    for account in &demo.accounts {
        // Their grants, as the fixed roles were stored.
        let user: canopy::domain::ids::UserId = canopy::db::schema::users::table
            .filter(canopy::db::schema::users::email.eq(&account.email))
            .select(canopy::db::schema::users::id)
            .first(&mut app.conn())
            .unwrap();
        let grants: Vec<(TenantId, Role)> = memberships::active_grants(&mut app.conn(), user)
            .unwrap()
            .into_iter()
            .map(|g| (g.tenant_id, g.role.preset().unwrap()))
            .collect();
        let role_at = |t: TenantId| -> Option<Role> {
            let above = &path_of[&t];
            grants
                .iter()
                .filter_map(|(g, role)| {
                    if *g == t {
                        Some(*role)
                    } else if *role == Role::Admin && above.contains(g) {
                        Some(Role::Admin)
                    } else {
                        None
                    }
                })
                .max()
        };
        let mut b = app.browser();
        b.login(&account.email, &demo.password).await;
        for t in &tenants {
            for r in &routes {
                let path = if r.path.contains("{device}") {
                    match device_of.get(&t.id) {
                        Some(d) => r.path.replace("{device}", d),
                        None => continue,
                    }
                } else {
                    r.path.to_string()
                };
                let expected = match (role_at(t.id), before(r.path)) {
                    (None, _) => StatusCode::NOT_FOUND,
                    (Some(_), Some("view")) => StatusCode::OK,
                    (Some(role), Some("operate")) if role >= Role::Operator => StatusCode::OK,
                    (Some(Role::Admin), Some("administer")) => StatusCode::OK,
                    (Some(_), Some("restructure"))
                        if parent[&t.id].is_some_and(|p| role_at(p) == Some(Role::Admin)) =>
                    {
                        StatusCode::OK
                    }
                    _ => StatusCode::FORBIDDEN,
                };
                let res = b.get(&path.replace("{id}", &t.id.to_string())).await;
                // The delete page of a tenant that still holds something says so with 409.
                let status = match (r.path, res.status) {
                    ("/tenants/{id}/delete", StatusCode::CONFLICT) => StatusCode::OK,
                    (_, s) => s,
                };
                assert_eq!(
                    status, expected,
                    "{} ({:?}) GET {} on {}",
                    account.email, account.role, r.path, t.name
                );
                compared += 1;
            }
        }
    }
    println!("{compared} answers compared with the fixed roles");
    assert!(compared > 1000, "{compared}");
}
