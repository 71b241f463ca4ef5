//! The API as a program uses it: keys made on the page, Bearer requests, problem details,
//! idempotent creation, the rate limit, the OpenAPI document — and schemathesis, a client
//! nobody here wrote, run against that document on a real database.
use canopy::domain::ids::TenantId;
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// An API answer: status, headers and the body as JSON (`Null` when it is not JSON).
pub struct ApiReply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub json: Value,
    pub body: String,
}

impl ApiReply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// A problem-details answer with this status.
    pub fn assert_problem(&self, status: StatusCode, what: &str) {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        assert_eq!(self.content_type(), "application/problem+json", "{what}");
        assert_eq!(self.json["status"], status.as_u16(), "{what}");
        assert!(
            self.json["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}"
        );
    }
}

/// A program holding one key.
pub struct Api {
    client: reqwest::Client,
    base: String,
    pub key: String,
}

impl Api {
    pub fn new(app: &TestApp, key: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: app.base.clone(),
            key: key.to_string(),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> ApiReply {
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            req = req
                .header("content-type", "application/json")
                .body(serde_json::to_vec(body).unwrap());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        reply(req.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> ApiReply {
        self.send("get", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> ApiReply {
        self.send("post", path, Some(body), &[]).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> ApiReply {
        self.send("patch", path, Some(body), &[]).await
    }
}

pub async fn reply(res: reqwest::Response) -> ApiReply {
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.text().await.unwrap();
    ApiReply {
        status,
        headers,
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
    }
}

/// A key of `user` at `tenant` written straight into the table (for tests that need one to
/// name in a path, not to use).
pub fn key_row(app: &TestApp, user: canopy::domain::ids::UserId, tenant: TenantId) -> uuid::Uuid {
    use diesel::RunQueryDsl;
    let id = uuid::Uuid::now_v7();
    diesel::sql_query(
        "INSERT INTO api_keys (id, user_id, tenant_id, role_id, name, prefix, secret_hash, \
         expires_at) VALUES ($1, $2, $3, $4, 'Probe key', 'cnp_probe', $5, now() + interval '1 day')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::Uuid, _>(user)
    .bind::<diesel::sql_types::Uuid, _>(tenant)
    .bind::<diesel::sql_types::Uuid, _>(Role::Viewer.id())
    .bind::<diesel::sql_types::Bytea, _>(id.as_bytes().to_vec())
    .execute(&mut app.conn())
    .unwrap();
    id
}

/// The secret a page shows once after making a key.
pub fn secret_in(body: &str) -> Option<String> {
    let at = body.find("<code id=\"secret\">")? + "<code id=\"secret\">".len();
    Some(body[at..].split('<').next()?.to_string())
}

/// A key made by `email` on `tenant`'s API keys page, with `role` (a preset's word or a
/// role id), as a person makes one.
pub async fn key_for(app: &TestApp, email: &str, tenant: TenantId, role: &str) -> String {
    let mut b = app.signed_in(email).await;
    let res = b
        .post(
            &format!("/tenants/{tenant}/api-keys"),
            &[("name", "Test program"), ("role", role), ("days", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    secret_in(&res.body).expect("the secret is shown")
}

/// Acme with a sub-tenant and a few devices, and an admin of Acme holding an Admin key.
pub async fn acme_with_key(app: &TestApp) -> (Tenant, Tenant, Api) {
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    app.user("ann@acme.example", &acme, Role::Admin);
    for (t, serial) in [(&acme, "ACME-001"), (&acme, "ACME-002"), (&uk, "UK-001")] {
        crate::devices::device_in(app, t, serial);
    }
    let key = key_for(app, "ann@acme.example", acme.id, "admin").await;
    (acme, uk, Api::new(app, &key))
}

#[tokio::test]
async fn a_device_list_and_a_new_device_as_the_readme_shows() {
    let app = spawn_app().await;
    let (acme, uk, api) = acme_with_key(&app).await;
    let me = api.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json["email"], "ann@acme.example");

    let list = api
        .get(&format!("/api/v1/tenants/{}/devices", acme.id))
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.json["total"], 2);
    let sub = api
        .get(&format!(
            "/api/v1/tenants/{}/devices?subtree=true&sort=identifier",
            acme.id
        ))
        .await;
    let ids: Vec<&str> = sub.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACME-001", "ACME-002", "UK-001"]);

    // Pages of one, followed by their cursor, give the same three.
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/tenants/{}/devices?subtree=true&limit=1", acme.id);
    loop {
        let page = api.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        for d in page.json["items"].as_array().unwrap() {
            seen.push(d["identifier"].as_str().unwrap().to_string());
        }
        let Some(next) = page.json["next"].as_object() else {
            break;
        };
        path = format!(
            "/api/v1/tenants/{}/devices?subtree=true&limit=1&after={}&after_id={}",
            acme.id,
            next["after"].as_str().unwrap().replace(' ', "%20"),
            next["after_id"].as_str().unwrap()
        );
        assert!(seen.len() < 10, "the cursor moves on");
    }
    seen.sort();
    assert_eq!(seen, ["ACME-001", "ACME-002", "UK-001"]);

    let made = api
        .post(
            &format!("/api/v1/tenants/{}/devices", uk.id),
            &json!({"imei": "356601000000047", "name": "Olly's phone", "kind": "phone"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.json["id"].as_str().unwrap().to_string();
    assert_eq!(
        made.headers["location"].to_str().unwrap(),
        format!("/api/v1/tenants/{}/devices/{id}", uk.id)
    );
    assert_eq!(made.json["status"], "in_stock");
    let read = api
        .get(&format!("/api/v1/tenants/{}/devices/{id}", uk.id))
        .await;
    assert_eq!(read.json["name"], "Olly's phone");
    // The page shows it too, and the audit log names the key that made it.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'device.create' \
             AND target_id = '{id}' AND api_key_id IS NOT NULL"
        )),
        1
    );
    let changed = api
        .patch(
            &format!("/api/v1/tenants/{}/devices/{id}", uk.id),
            &json!({"status": "active", "notes": "Issued"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.json["status"], "active");
    assert_eq!(changed.json["name"], "Olly's phone", "what is absent stays");
    let retired = api
        .post(
            &format!("/api/v1/tenants/{}/devices/{id}/retire", uk.id),
            &json!({}),
        )
        .await;
    assert_eq!(retired.json["status"], "retired", "{}", retired.body);

    // What a provisioning script reads before inviting: the roles on offer, the schedules.
    let roles = api.get(&format!("/api/v1/tenants/{}/roles", uk.id)).await;
    let names: Vec<&str> = roles
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for preset in ["Admin", "Operator", "Viewer"] {
        assert!(names.contains(&preset), "{names:?}");
    }
    crate::checkins::schedule_in(&app, &acme, "Shared", 60, 0, None, None);
    let schedules = api
        .get(&format!("/api/v1/tenants/{}/schedules", acme.id))
        .await;
    assert_eq!(schedules.json[0]["name"], "Shared", "{}", schedules.body);
    assert_eq!(schedules.json[0]["interval_minutes"], 60);
}

#[tokio::test]
async fn the_document_describes_every_api_route_and_its_page_lists_them() {
    let app = spawn_app().await;
    let res = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let page = reqwest::get(format!("{}/api/v1/docs", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for r in canopy::web::api::routes::API_ROUTES
        .iter()
        .filter(|r| !r.public)
    {
        assert!(
            doc["paths"][r.path][r.method].is_object(),
            "{} {} is in the document",
            r.method,
            r.path
        );
        assert!(
            page.contains(&format!("<code>{}</code>", r.path)),
            "{} on the page",
            r.path
        );
        let responses = &doc["paths"][r.path][r.method]["responses"];
        for status in ["401", "404", "429"] {
            assert!(
                responses[status].is_object() || r.path == "/api/v1/me" && status == "404",
                "{} {} documents {status}",
                r.method,
                r.path
            );
        }
    }
}

/// Schemathesis generates requests from the document — valid ones, and ones that break it —
/// and checks that no answer is a 5xx and every answer is one the document describes.
#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let Ok(st) = std::env::var("CANOPY_SCHEMATHESIS") else {
        panic!("CANOPY_SCHEMATHESIS is unset: run the suite with scripts/test");
    };
    let app = spawn_app_with(&[("CANOPY_API_RATE_PER_MINUTE", "100000")]).await;
    let (acme, uk, api) = acme_with_key(&app).await;
    let device = crate::devices::device_in(&app, &uk, "UK-FUZZ");
    let alert = crate::checkins::alert_for(&app, &uk, device);
    let invitation = crate::invitations::invite_directly(&app, &uk, "fuzz@acme.example");
    let dir = std::env::temp_dir().join(format!("canopy-st-{}", app.port));
    std::fs::create_dir_all(&dir).unwrap();
    // Real ids, so that its requests reach past the 404 of an unknown one: a sub-tenant (which
    // the key may also rename, move and suspend) and a device of it.
    let config = dir.join("schemathesis.toml");
    std::fs::write(
        &config,
        format!(
            "[[operations]]\ninclude-path-regex = \"^/api/v1/tenants/\"\n\
             parameters = {{ \"path.id\" = \"{}\", \"path.device\" = \"{device}\", \
             \"path.alert\" = \"{alert}\", \"path.invitation\" = \"{invitation}\" }}\n",
            uk.id
        ),
    )
    .unwrap();
    let run = || {
        tokio::process::Command::new(&st)
            .current_dir(&dir)
            .env("SCHEMATHESIS_HOOKS", "")
            .args([
                "--config-file",
                config.to_str().unwrap(),
                "run",
                &format!("{}/api/v1/openapi.json", app.base),
                "--url",
                &app.base,
                "--header",
                &format!("Authorization: Bearer {}", api.key),
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                "25",
                // One: CPython 3.11.2 (Debian 12's) can fail to parse in two threads at once
                // ("AST constructor recursion depth mismatch", CPython issue 106905), which
                // hypothesis does while it describes a strategy.
                "--workers",
                "1",
                "--seed",
                "1",
                "--suppress-health-check",
                "all",
                "--no-color",
            ])
            .output()
    };
    let text_of = |out: &std::process::Output| {
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let out = run().await.expect("schemathesis runs");
    let text = text_of(&out);
    println!("{text}");
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    // It really talked to the API: the key was used, and the tenant still answers.
    assert!(app.count("SELECT count(*) AS n FROM api_keys WHERE last_used_at IS NOT NULL") >= 1);
    let still = api.get(&format!("/api/v1/tenants/{}", acme.id)).await;
    assert!(still.status.is_success() || still.status == StatusCode::NOT_FOUND);
}
