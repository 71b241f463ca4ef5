//! Who a key is and what it may do: shown once, hashed, refused when expired, revoked or its
//! creator's access is gone; never stronger than its creator; 404 outside its reach and 403
//! inside it, route by route and against a model of the access rule on random trees.
use std::collections::HashMap;

use canopy::domain::ids::{DeviceId, TenantId, UserId};
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use canopy::web::api::routes::API_ROUTES;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::api::{Api, acme_with_key, key_for, reply, secret_in};
use crate::helpers::spawn_app;
use crate::isolation::Rng;

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

#[tokio::test]
async fn a_key_is_shown_once_kept_hashed_and_refused_once_expired_or_revoked() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let made = ann
        .post(
            &format!("/tenants/{}/api-keys", acme.id),
            &[("name", "ERP sync"), ("role", "operator"), ("days", "")],
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let secret = secret_in(&made.body).unwrap();
    assert!(
        secret.starts_with("cnp_") && secret.len() == 4 + 64,
        "{secret}"
    );
    // Only its hash is kept, with a prefix to recognise it by; the list never shows it again.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM api_keys WHERE encode(secret_hash, 'hex') = '{}' \
             AND prefix = '{}' AND expires_at - created_at = interval '90 days'",
            sha256_hex(&secret),
            &secret[..12]
        )),
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM api_keys k WHERE k::text LIKE '%{}%'",
            &secret[12..]
        )),
        0
    );
    let list = ann.get(&format!("/tenants/{}/api-keys", acme.id)).await;
    assert!(list.body.contains("ERP sync") && list.body.contains(&secret[..12]));
    assert!(!list.body.contains(&secret), "shown once");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'api_key.create'"),
        1
    );

    let api = Api::new(&app, &secret);
    let me = api.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json["role"], "Operator");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM api_keys WHERE last_used_at IS NOT NULL"),
        1
    );

    // No key, a made-up key, a key with one character changed: the same 401.
    let anonymous = reply(
        reqwest::get(format!("{}/api/v1/me", app.base))
            .await
            .unwrap(),
    )
    .await;
    anonymous.assert_problem(StatusCode::UNAUTHORIZED, "no key");
    assert!(anonymous.headers.contains_key("www-authenticate"));
    let mut altered = secret.clone();
    altered.replace_range(20..21, if &secret[20..21] == "a" { "b" } else { "a" });
    for wrong in [altered.as_str(), "cnp_0000", "Basic abc", ""] {
        let r = Api::new(&app, wrong).get("/api/v1/me").await;
        r.assert_problem(StatusCode::UNAUTHORIZED, wrong);
        assert_eq!(
            r.json["detail"], anonymous.json["detail"],
            "one answer for all"
        );
    }
    // A cookie is no credential here: a signed-in browser is refused too.
    let with_cookie = ann.get("/api/v1/me").await;
    assert_eq!(with_cookie.status, StatusCode::UNAUTHORIZED);

    // Expired: 91 days on.
    crate::checkins::advance(&app, 91 * 24 * 60);
    api.get("/api/v1/me")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "expired");
    crate::checkins::advance(&app, -91 * 24 * 60);
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);

    // Revoked on the page.
    let key_id: String = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct K {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::sql_query("SELECT id::text AS id FROM api_keys")
            .get_result::<K>(&mut app.conn())
            .unwrap()
            .id
    };
    let revoked = ann
        .post(
            &format!("/tenants/{}/api-keys/{key_id}/revoke", acme.id),
            &[],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    api.get("/api/v1/me")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "revoked");
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'api_key.revoke'"),
        1
    );
    let again = ann
        .post(
            &format!("/tenants/{}/api-keys/{key_id}/revoke", acme.id),
            &[],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "revoked already");
}

#[tokio::test]
async fn a_key_dies_with_its_creators_access_and_never_exceeds_it() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    app.user("olga@acme.example", &uk, Role::Operator);

    // Above one's own role: refused, and nothing is stored.
    let mut olga = app.signed_in("olga@acme.example").await;
    let before = app.fingerprint();
    let refused = olga
        .post(
            &format!("/tenants/{}/api-keys", uk.id),
            &[("name", "Too strong"), ("role", "admin")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(app.fingerprint(), before);
    // Over a year, or no name: refused beside the field.
    for (name, days, field) in [("x", "366", "days-error"), ("", "30", "name-error")] {
        let r = olga
            .post(
                &format!("/tenants/{}/api-keys", uk.id),
                &[("name", name), ("role", "viewer"), ("days", days)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains(&format!("id=\"{field}\"")), "{}", r.body);
    }
    assert_eq!(app.fingerprint(), before);

    // Ann's admin key, made at Acme UK: it reaches UK, not Acme above it.
    let key = key_for(&app, "ann@acme.example", uk.id, "admin").await;
    let api = Api::new(&app, &key);
    assert_eq!(
        api.get(&format!("/api/v1/tenants/{}", uk.id)).await.status,
        StatusCode::OK
    );
    api.get(&format!("/api/v1/tenants/{}", acme.id))
        .await
        .assert_problem(StatusCode::NOT_FOUND, "above the key's tenant");
    let made = api
        .post(
            &format!("/api/v1/tenants/{}/devices", uk.id),
            &json!({"serial": "UK-1", "name": "One", "kind": "tracker"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);

    // Ann demoted to viewer at Acme: the admin key can read, and create nothing, at once.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE memberships SET role_id = $1 WHERE user_id = $2")
            .bind::<diesel::sql_types::Uuid, _>(Role::Viewer.id())
            .bind::<diesel::sql_types::Uuid, _>(ann)
            .execute(&mut app.conn())
            .unwrap();
    }
    // A viewer's role reaches its own tenant only: the key at UK (below) reaches nothing.
    api.get(&format!("/api/v1/tenants/{}", uk.id))
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "demoted below the key's tenant");
    let atacme = {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE memberships SET role_id = $1 WHERE user_id = $2")
            .bind::<diesel::sql_types::Uuid, _>(Role::Admin.id())
            .bind::<diesel::sql_types::Uuid, _>(ann)
            .execute(&mut app.conn())
            .unwrap();
        let key = key_for(&app, "ann@acme.example", acme.id, "admin").await;
        diesel::sql_query("UPDATE memberships SET role_id = $1 WHERE user_id = $2")
            .bind::<diesel::sql_types::Uuid, _>(Role::Operator.id())
            .bind::<diesel::sql_types::Uuid, _>(ann)
            .execute(&mut app.conn())
            .unwrap();
        Api::new(&app, &key)
    };
    let me = atacme.get("/api/v1/me").await;
    assert!(
        !me.json["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "tenant.create"),
        "an admin key of an operator holds the operator's permissions: {}",
        me.body
    );
    atacme
        .post(
            &format!("/api/v1/tenants/{}/children", acme.id),
            &json!({"name": "Not allowed"}),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN, "creating a tenant as an operator");
    let device = atacme
        .post(
            &format!("/api/v1/tenants/{}/devices", acme.id),
            &json!({"serial": "ACME-1", "name": "One", "kind": "tracker"}),
        )
        .await;
    assert_eq!(
        device.status,
        StatusCode::CREATED,
        "operators create devices"
    );

    // Disabled: refused at once; the domain also revokes the keys for good.
    {
        use diesel::RunQueryDsl;
        diesel::sql_query("UPDATE users SET status = 'disabled' WHERE id = $1")
            .bind::<diesel::sql_types::Uuid, _>(ann)
            .execute(&mut app.conn())
            .unwrap();
    }
    atacme
        .get("/api/v1/me")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED, "disabled creator");
}

#[tokio::test]
async fn leaving_the_tenant_revokes_the_keys_and_admins_revoke_their_members_keys() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let olga = app.user("olga@acme.example", &acme, Role::Operator);
    app.user("vic@acme.example", &acme, Role::Viewer);
    let olgas = key_for(&app, "olga@acme.example", acme.id, "viewer").await;
    let anns = key_for(&app, "ann@acme.example", acme.id, "viewer").await;

    // Vic sees only his own (none); Ann, who manages keys, sees Olga's and may revoke it.
    let mut vic = app.signed_in("vic@acme.example").await;
    let list = vic.get(&format!("/tenants/{}/api-keys", acme.id)).await;
    assert!(!list.body.contains(&olgas[..12]) && !list.body.contains(&anns[..12]));
    let olgas_id = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct K {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        diesel::sql_query(format!(
            "SELECT id::text AS id FROM api_keys WHERE user_id = '{olga}'"
        ))
        .get_result::<K>(&mut app.conn())
        .unwrap()
        .id
    };
    let path = format!("/tenants/{}/api-keys/{olgas_id}/revoke", acme.id);
    assert_eq!(vic.post(&path, &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        Api::new(&app, &olgas).get("/api/v1/me").await.status,
        StatusCode::OK
    );
    let mut ann = app.signed_in("ann@acme.example").await;
    let list = ann.get(&format!("/tenants/{}/api-keys", acme.id)).await;
    assert!(list.body.contains(&olgas[..12]) && list.body.contains("olga@acme.example"));
    assert_eq!(ann.post(&path, &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        Api::new(&app, &olgas).get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Removing a member revokes their keys there, so they stay dead if she is let back in.
    let vics = key_for(&app, "vic@acme.example", acme.id, "viewer").await;
    let vic_user: UserId = {
        use diesel::prelude::*;
        canopy::db::schema::users::table
            .filter(canopy::db::schema::users::email.eq("vic@acme.example"))
            .select(canopy::db::schema::users::id)
            .first(&mut app.conn())
            .unwrap()
    };
    let removed = ann
        .post(
            &format!("/tenants/{}/members/{vic_user}/remove", acme.id),
            &[],
        )
        .await;
    assert!(removed.status.is_redirection() || removed.status.is_success());
    assert_eq!(
        Api::new(&app, &vics).get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED
    );
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        vic_user,
        &acme,
        Role::Viewer,
    )
    .unwrap();
    assert_eq!(
        Api::new(&app, &vics).get("/api/v1/me").await.status,
        StatusCode::UNAUTHORIZED,
        "a key stays revoked when its creator comes back"
    );
}

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
        let object = if r.path.starts_with("/api/v1/devices/") {
            device.to_string()
        } else {
            other.id.to_string()
        };
        let path = r
            .path
            .replace("{id}", &object)
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
        if !path.contains(&object) {
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
            let res = api.get(&format!("/api/v1/devices/{d}")).await;
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
        let object = if r.path.starts_with("/api/v1/devices/") {
            device.to_string()
        } else {
            uk.id.to_string()
        };
        let path = r
            .path
            .replace("{id}", &object)
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
