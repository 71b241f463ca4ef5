//! What a program sends that it should not: bad bodies and queries (problem details, nothing
//! stored), a retried creating request (`Idempotency-Key`), too many requests (429).
use canopy::domain::roles::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::api::{Api, acme_with_key, key_for, reply};
use crate::helpers::{spawn_app, spawn_app_with};

/// Bad input of every kind: a 4xx problem naming what was wrong, and nothing stored.
#[tokio::test]
async fn bad_input_gets_problem_details_and_stores_nothing() {
    let app = spawn_app().await;
    let (acme, _uk, api) = acme_with_key(&app).await;
    let devices = format!("/api/v1/tenants/{}/devices", acme.id);
    // The first request marks the key used; after it, nothing may change.
    assert_eq!(api.get("/api/v1/me").await.status, StatusCode::OK);
    let before = app.fingerprint();
    let client = reqwest::Client::new();
    let raw = |body: Vec<u8>, content_type: &'static str| {
        client
            .post(format!("{}{devices}", app.base))
            .bearer_auth(&api.key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, Vec<u8>, &'static str, StatusCode, &str)> = vec![
        (
            "malformed JSON",
            b"{\"name\": ".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/",
        ),
        (
            "a number for a name",
            br#"{"serial":"ABC-1","name":5,"kind":"tracker"}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/name",
        ),
        (
            "an unknown field",
            br#"{"serial":"ABC-1","name":"x","kind":"tracker","colour":"red"}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/colour",
        ),
        (
            "a NUL in a name",
            br#"{"serial":"ABC-1","name":"a\u0000b","kind":"tracker"}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/name",
        ),
        (
            "a kind not in the list",
            br#"{"serial":"ABC-1","name":"x","kind":"toaster"}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/kind",
        ),
        (
            "an IMEI with a wrong check digit",
            br#"{"imei":"356601000000048","name":"x","kind":"phone"}"#.to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/imei",
        ),
        (
            "a huge body",
            format!(
                r#"{{"serial":"ABC-1","name":"x","kind":"tracker","notes":"{}"}}"#,
                "n".repeat(200_000)
            )
            .into_bytes(),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
        (
            "a form instead of JSON",
            b"serial=ABC-1&name=x&kind=tracker".to_vec(),
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "",
        ),
        (
            "an array",
            b"[1,2]".to_vec(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "/",
        ),
    ];
    for (what, body, ct, status, field) in cases {
        let res = reply(raw(body, ct).await.unwrap()).await;
        res.assert_problem(status, what);
        if !field.is_empty() {
            let fields: Vec<&str> = res.json["errors"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: {}", res.body))
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(fields.contains(&field), "{what}: {field} in {fields:?}");
        }
    }
    for (what, query) in [
        ("a limit of 0", "limit=0"),
        ("a limit past the page size", "limit=201"),
        ("an unknown status", "status=lost"),
        ("an unknown parameter", "colour=red"),
        ("a NUL in the search", "q=a%00b"),
        ("a cursor half given", "after=x"),
        ("a malformed id", "tenant=not-a-uuid"),
    ] {
        api.get(&format!("{devices}?{query}"))
            .await
            .assert_problem(StatusCode::BAD_REQUEST, what);
    }
    let tenant = format!("/api/v1/tenants/{}", acme.id);
    api.patch(&tenant, &json!({"name": ""}))
        .await
        .assert_problem(StatusCode::BAD_REQUEST, "an empty name");
    api.send(
        "post",
        &format!("{tenant}/children"),
        Some(&json!({"name": "x"})),
        &[("Idempotency-Key", "")],
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "an empty Idempotency-Key");
    api.post(
        &format!("{tenant}/devices/move"),
        &json!({"ids": [], "to": acme.id.to_string()}),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST, "a move of nothing");
    assert_eq!(app.fingerprint(), before, "nothing was stored");
}

/// The same creating request twice with one Idempotency-Key creates once and answers the
/// same — one after the other, and all at once.
#[tokio::test]
async fn an_idempotency_key_creates_once_even_when_retried_concurrently() {
    let app = spawn_app().await;
    let (acme, _uk, api) = acme_with_key(&app).await;
    let path = format!("/api/v1/tenants/{}/devices", acme.id);
    let body = json!({"serial": "RETRY-1", "name": "Retried", "kind": "tracker"});
    let first = api
        .send("post", &path, Some(&body), &[("Idempotency-Key", "k-1")])
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = api
        .send("post", &path, Some(&body), &[("Idempotency-Key", "k-1")])
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    assert_eq!(second.json, first.json, "the first answer again");
    assert_eq!(second.headers["location"], first.headers["location"]);
    let count = |serial: &str| {
        app.count(&format!(
            "SELECT count(*) AS n FROM devices WHERE identifier = '{serial}'"
        ))
    };
    assert_eq!(count("RETRY-1"), 1);
    // The same key with another request is refused, not replayed.
    let other = json!({"serial": "RETRY-2", "name": "Other", "kind": "tracker"});
    api.send("post", &path, Some(&other), &[("Idempotency-Key", "k-1")])
        .await
        .assert_problem(StatusCode::CONFLICT, "the key reused for another body");
    assert_eq!(count("RETRY-2"), 0);
    // Without a key, a retry is a second request (and here a duplicate serial).
    api.post(&path, &body)
        .await
        .assert_problem(StatusCode::CONFLICT, "a duplicate without a key");

    // Eight at once with one key: one device, eight identical answers.
    let body = json!({"serial": "RACE-1", "name": "Raced", "kind": "tracker"});
    let tries =
        (0..8).map(|_| api.send("post", &path, Some(&body), &[("Idempotency-Key", "race")]));
    let answers = futures_util::future::join_all(tries).await;
    for a in &answers {
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        assert_eq!(a.json, answers[0].json);
    }
    assert_eq!(count("RACE-1"), 1);
    // A failed first attempt stores nothing: the retry runs afresh.
    let bad = json!({"serial": "OK-1", "name": "", "kind": "tracker"});
    assert_eq!(
        api.send("post", &path, Some(&bad), &[("Idempotency-Key", "fix")])
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    let fixed = json!({"serial": "OK-1", "name": "Fixed", "kind": "tracker"});
    let res = api
        .send("post", &path, Some(&fixed), &[("Idempotency-Key", "fix")])
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}

/// Past its share of requests in a minute a key is told to wait; another key is not.
#[tokio::test]
async fn the_rate_limit_is_per_key_with_retry_after() {
    let app = spawn_app_with(&[("CANOPY_API_RATE_PER_MINUTE", "5")]).await;
    let (acme, _uk, api) = acme_with_key(&app).await;
    app.user("bob@acme.example", &acme, Role::Viewer);
    let other = Api::new(
        &app,
        &key_for(&app, "bob@acme.example", acme.id, "viewer").await,
    );
    // Twelve requests: whichever minute boundary falls among them, one minute sees six.
    let mut limited = None;
    for _ in 0..12 {
        let r = api.get("/api/v1/me").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
        }
    }
    let limited = limited.expect("a 429 among twelve requests at five a minute");
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS, "over the limit");
    let wait: u32 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        other.get("/api/v1/me").await.status,
        StatusCode::OK,
        "another key"
    );
    // Counted in the database, so every instance shares it.
    assert!(app.count("SELECT coalesce(max(requests), 0)::bigint AS n FROM api_rate") >= 6);
}
