//! What a key reaches: 404 outside its reach and 403 inside it, route by route, permission by
//! permission, and against a model of the access rule on random trees.
use std::collections::HashMap;

use canopy::domain::ids::{DeviceId, TenantId};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use canopy::web::api::routes::API_ROUTES;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::{Api, acme_with_key, key_for, reply, secret_in};
use crate::helpers::spawn_app;
use crate::isolation::Rng;

/// Every API route, with another tenant's ids in its path and body: 404, nothing changed;
/// without a key: 401.
#[tokio::test]
async fn every_api_route_hides_other_tenants() {
    let app = spawn_app().await;
    let (acme, uk, api) = acme_with_key(&app).await;
    let other = app.root("Other Co");
    app.user("otto@other.example", &other, Role::Admin);
    let device = crate::devices::device_in(&app, &other, "OTHER-001");
    let alert = crate::checkins::alert_for(&app, &other, device);
    let invitation = crate::invitations::invite_directly(&app, &other, "x@other.example");
    let client = reqwest::Client::new();
    let mut tried = 0;
    for r in API_ROUTES.iter().filter(|r| !r.public) {
        let path = r
            .path
            .replace("{id}", &other.id.to_string())
            .replace("{device}", &device.to_string())
            .replace("{alert}", &alert.to_string())
            .replace("{invitation}", &invitation.to_string());
        // A well-formed body, so that only the access rule can refuse it.
        let body = json!({"name": "x"});
        let method = reqwest::Method::from_bytes(r.method.to_uppercase().as_bytes()).unwrap();
        let anonymous = reply(
            client
                .request(method.clone(), format!("{}{path}", app.base))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap(),
        )
        .await;
        anonymous.assert_problem(
            StatusCode::UNAUTHORIZED,
            &format!("{} {}", r.method, r.path),
        );
        if !path.contains(&other.id.to_string()) {
            continue;
        }
        let res = api
            .send(r.method, &path, (r.method != "get").then_some(&body), &[])
            .await;
        res.assert_problem(
            StatusCode::NOT_FOUND,
            &format!("{} {} for another tenant", r.method, r.path),
        );
        tried += 1;
    }
    // Ids of another tenant in a body: the move's devices and target, the new parent.
    let ours = crate::devices::device_in(&app, &acme, "OURS-1");
    for (path, body) in [
        (
            format!("/api/v1/tenants/{}/devices/move", acme.id),
            json!({"ids": [device.to_string()], "to": acme.id.to_string(), "apply": true}),
        ),
        (
            format!("/api/v1/tenants/{}/devices/move", acme.id),
            json!({"ids": [ours.to_string()], "to": other.id.to_string(), "apply": true}),
        ),
        (
            format!("/api/v1/tenants/{}/move", uk.id),
            json!({"parent_id": other.id.to_string()}),
        ),
        (
            format!("/api/v1/tenants/{}/devices?tenant={}", acme.id, other.id),
            Value::Null,
        ),
    ] {
        let res = if body.is_null() {
            api.get(&path).await
        } else {
            api.post(&path, &body).await
        };
        res.assert_problem(StatusCode::NOT_FOUND, &path);
        tried += 1;
    }
    assert!(tried >= 20, "{tried}");
    // Nothing of the other tenant changed, and nothing was done in anyone's name.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM devices WHERE tenant_id = '{}'",
            other.id
        )),
        1
    );
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE api_key_id IS NOT NULL"),
        0
    );
}

fn strength(r: Role) -> u8 {
    match r {
        Role::Viewer => 0,
        Role::Operator => 1,
        Role::Admin => 2,
    }
}

/// Random trees, members and keys; every key asks for every tenant and device, and creates a
/// device in every tenant: the answer must be the one the rule, written out here, gives.
#[tokio::test]
async fn random_trees_and_keys_answer_as_the_access_rule_says() {
    let seed: u64 = std::env::var("CANOPY_ISOLATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("seed {seed} (CANOPY_ISOLATION_SEED replays it)");
    let mut rng = Rng(seed);
    let app = spawn_app().await;
    let mut tenants: Vec<Tenant> = vec![app.root("Root A"), app.root("Root B")];
    let mut parent: HashMap<TenantId, Option<TenantId>> =
        tenants.iter().map(|t| (t.id, None)).collect();
    for i in 0..8 {
        let p = tenants[rng.below(tenants.len())].clone();
        let child = app.child(&p, &format!("T{i}"));
        parent.insert(child.id, Some(p.id));
        tenants.push(child);
    }
    let mut devices: Vec<(DeviceId, TenantId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        devices.push((
            crate::devices::device_in(&app, t, &format!("DEV-{i:03}")),
            t.id,
        ));
    }
    let below = |t: TenantId, top: TenantId| -> bool {
        let mut at = Some(t);
        while let Some(x) = at {
            if x == top {
                return true;
            }
            at = parent[&x];
        }
        false
    };
    let roles = [Role::Admin, Role::Operator, Role::Viewer];
    let mut checked = 0;
    for u in 0..6 {
        let home = tenants[rng.below(tenants.len())].clone();
        let held = roles[rng.below(3)];
        let email = format!("u{u}@example.com");
        app.user(&email, &home, held);
        // The key's tenant: the membership's, or one below it for a role reaching below.
        let candidates: Vec<&Tenant> = tenants
            .iter()
            .filter(|t| t.id == home.id || (held == Role::Admin && below(t.id, home.id)))
            .collect();
        let at = candidates[rng.below(candidates.len())].id;
        let asked = roles[rng.below(3)];
        let mut b = app.signed_in(&email).await;
        let made = b
            .post(
                &format!("/tenants/{at}/api-keys"),
                &[("name", "k"), ("role", asked.as_str())],
            )
            .await;
        if strength(asked) > strength(held) {
            assert_eq!(
                made.status,
                StatusCode::FORBIDDEN,
                "seed {seed}: escalation"
            );
            continue;
        }
        assert_eq!(
            made.status,
            StatusCode::CREATED,
            "seed {seed}: {}",
            made.body
        );
        let api = Api::new(&app, &secret_in(&made.body).unwrap());
        // The rule: the key reaches its tenant, and below it when both roles reach below;
        // it may what the weaker of the two roles may.
        let subtree = asked == Role::Admin && held == Role::Admin;
        let acting = if strength(asked) < strength(held) {
            asked
        } else {
            held
        };
        let reaches = |t: TenantId| t == at || (subtree && below(t, at));
        for t in &tenants {
            let res = api.get(&format!("/api/v1/tenants/{}", t.id)).await;
            let want = if reaches(t.id) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(
                res.status, want,
                "seed {seed}: user {u} key at {at}, tenant {}",
                t.name
            );
            let create = api
                .post(
                    &format!("/api/v1/tenants/{}/devices", t.id),
                    &json!({"serial": format!("NEW-{u}-{}", t.id.uuid().simple()), "name": "n", "kind": "other"}),
                )
                .await;
            let want = match (reaches(t.id), acting) {
                (false, _) => StatusCode::NOT_FOUND,
                (true, Role::Viewer) => StatusCode::FORBIDDEN,
                (true, _) => StatusCode::CREATED,
            };
            assert_eq!(
                create.status, want,
                "seed {seed}: create in {}: {}",
                t.name, create.body
            );
            checked += 2;
        }
        for (d, t) in &devices {
            let res = api.get(&format!("/api/v1/tenants/{t}/devices/{d}")).await;
            let want = if reaches(*t) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(res.status, want, "seed {seed}: device of {t}");
            checked += 1;
        }
        let list = api
            .get(&format!(
                "/api/v1/tenants/{at}/devices?subtree=true&limit=200"
            ))
            .await;
        for d in list.json["items"].as_array().unwrap() {
            let t: TenantId = d["tenant_id"].as_str().unwrap().parse().unwrap();
            assert!(reaches(t), "seed {seed}: a listed device is out of reach");
        }
    }
    println!("{checked} answers agree with the rule");
}

/// The API's access matrix, as the pages' (`permissions::`): every API route about a tenant or
/// a device states the permission it needs; a key whose role holds everything but that one is
/// refused with 403 naming it, a key holding everything is not.
#[tokio::test]
async fn every_permission_an_api_route_needs_is_checked_and_named() {
    use canopy::domain::permissions::{Permission, Permissions};
    use canopy::domain::roles::RoleReach;
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let device = crate::devices::device_in(&app, &uk, "UK-1");
    let alert = crate::checkins::alert_for(&app, &uk, device);
    let invitation = crate::invitations::invite_directly(&app, &uk, "inv@acme.example");
    let needed: Vec<(&canopy::web::routes::Route, Permission)> = API_ROUTES
        .iter()
        .filter(|r| !r.public)
        .filter_map(|r| crate::permissions::needs_in(r, "src/web/api").map(|p| (r, p)))
        .collect();
    for r in API_ROUTES.iter().filter(|r| r.path.contains("{id}")) {
        assert!(
            needed
                .iter()
                .any(|(n, _)| n.path == r.path && n.method == r.method),
            "{} {} states no permission",
            r.method,
            r.path
        );
    }
    // A key acting with `role`, made by someone holding it at Acme through a subtree grant.
    let key_with = |name: String, permissions: Permissions| {
        let app = &app;
        async move {
            let role = crate::roles::role_with(
                app,
                acme.id,
                &name,
                permissions,
                RoleReach::Subtree,
                false,
            );
            let email = format!(
                "{}@acme.example",
                name.to_lowercase().replace([' ', '.'], "-")
            );
            crate::permissions::signed_in_with(app, &email, acme.id, role);
            Api::new(app, &key_for(app, &email, acme.id, &role.to_string()).await)
        }
    };
    let everything = key_with("Everything".into(), Permissions::all()).await;
    let mut lacking: HashMap<Permission, Api> = HashMap::new();
    for (_, p) in &needed {
        if !lacking.contains_key(p) {
            let without: Vec<Permission> =
                Permission::ALL.iter().copied().filter(|q| q != p).collect();
            let api = key_with(format!("All but {}", p.key()), Permissions::of(&without)).await;
            lacking.insert(*p, api);
        }
    }
    for (r, p) in &needed {
        let path = r
            .path
            .replace("{id}", &uk.id.to_string())
            .replace("{device}", &device.to_string())
            .replace("{alert}", &alert.to_string())
            .replace("{invitation}", &invitation.to_string());
        let what = format!("{} {} needing {}", r.method, r.path, p.key());
        let body = json!({});
        let body = (r.method != "get").then_some(&body);
        let refused = lacking[p].send(r.method, &path, body, &[]).await;
        refused.assert_problem(StatusCode::FORBIDDEN, &what);
        assert!(
            refused.json["detail"]
                .as_str()
                .unwrap()
                .contains(&p.to_string()),
            "{what}: the 403 names it: {}",
            refused.body
        );
        let allowed = everything.send(r.method, &path, body, &[]).await;
        assert!(
            allowed.status != StatusCode::FORBIDDEN && allowed.status != StatusCode::NOT_FOUND,
            "{what}: holding it gives {} {}",
            allowed.status,
            allowed.body
        );
    }
    println!(
        "{} API routes, each refused without its permission",
        needed.len()
    );
}
