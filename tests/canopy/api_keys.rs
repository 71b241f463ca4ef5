//! A key's life: made on the page and shown once, kept hashed, refused once expired, revoked
//! or its creator's access is gone, never stronger than its creator, revoked by admins.
use canopy::domain::ids::UserId;
use canopy::domain::roles::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::api::{Api, key_for, reply, secret_in};
use crate::helpers::spawn_app;

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
