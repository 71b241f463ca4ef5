//! Route inventory: every route is public on purpose, or behind the access layer.
use canopy::domain::roles::Role;
use canopy::web::routes::ROUTES;
use reqwest::StatusCode;

use crate::helpers::spawn_app;

/// The routes that answer without sign-in, by decision. A new public route must be added here.
const PUBLIC_ON_PURPOSE: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/static/{file}"),
    // The browser's icon.
    ("get", "/favicon.ico"),
    ("get", "/login"),
    ("post", "/login"),
    ("post", "/logout"),
    // The second step of a sign-in: only for a browser whose password was right a moment ago.
    ("get", "/login/code"),
    ("post", "/login/code"),
    // The token in the path is the credential.
    ("get", "/password/forgot"),
    ("post", "/password/forgot"),
    ("get", "/password/reset/{token}"),
    ("post", "/password/reset/{token}"),
    ("get", "/invitations/{token}"),
    ("post", "/invitations/{token}"),
    // Only without SMTP on a loopback base URL, and only with the terminal's key; 404 otherwise.
    ("get", "/mailbox"),
    ("get", "/mailbox/{message}"),
    // A device's check-in URL and an alert email's acknowledge link: the token in the path is
    // the credential (a terminal has no session; a contact has no account).
    ("post", "/check-in/{token}"),
    ("get", "/alerts/acknowledge/{token}"),
    ("post", "/alerts/acknowledge/{token}"),
    // Content-addressed brand resources: they name no tenant, and emails link to logos.
    ("get", "/brand/accent/{color}"),
    ("get", "/logos/{hash}"),
    // The API's document and its page describe the API, not anyone's data.
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/docs"),
];

#[test]
fn every_public_route_is_public_on_purpose() {
    for r in canopy::web::routes::all().filter(|r| r.public) {
        assert!(
            PUBLIC_ON_PURPOSE.contains(&(r.method, r.path)),
            "{} {} is public",
            r.method,
            r.path
        );
    }
}

#[tokio::test]
async fn every_other_route_sends_strangers_to_sign_in_and_hides_other_tenants() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Admin);
    let otto = app.user("otto@other.example", &other, Role::Admin);
    let invitation = crate::invitations::invite_directly(&app, &other, "x@other.example");
    let foreign_role = crate::roles::custom_role(&app, &other, "Other's role", &[]);
    let foreign_group = crate::groups::group_in(&app, &other, "Other's group");
    let device = crate::devices::device_in(&app, &other, "OTHER-001");
    let job =
        canopy::domain::devices::jobs::create(&mut app.conn(), &other, Some(otto), "imei\n", 0)
            .unwrap();
    let foreign_contact = crate::checkins::contact_in(&app, &other, "Oscar", "oscar@other.example");
    let foreign_schedule =
        crate::checkins::schedule_in(&app, &other, "Other's schedule", 60, 0, None, None);
    let foreign_alert = crate::checkins::alert_for(&app, &other, device);
    let foreign_key = crate::api::key_row(&app, otto, other.id);
    let mut stranger = app.browser();
    stranger.get("/login").await;
    let mut ann = app.signed_in("ann@acme.example").await;

    for r in ROUTES.iter().filter(|r| !r.public) {
        let path = r
            .path
            .replace("{id}", &other.id.to_string())
            .replace("{device}", &device.to_string())
            .replace("{user}", &otto.to_string())
            .replace("{invitation}", &invitation.to_string())
            .replace("{role}", &foreign_role.to_string())
            .replace("{group}", &foreign_group.to_string())
            .replace("{contact}", &foreign_contact.to_string())
            .replace("{schedule}", &foreign_schedule.to_string())
            .replace("{alert}", &foreign_alert.to_string())
            .replace("{key}", &foreign_key.to_string())
            .replace("{job}", &job.to_string());
        let anonymous = match r.method {
            "get" => stranger.get(&path).await,
            _ => stranger.post(&path, &[]).await,
        };
        assert_eq!(
            anonymous.status,
            StatusCode::SEE_OTHER,
            "{} {}",
            r.method,
            r.path
        );
        assert_eq!(
            anonymous.location(),
            Some("/login"),
            "{} {}",
            r.method,
            r.path
        );

        if path.contains(&other.id.to_string()) {
            let res = match r.method {
                "get" => ann.get(&path).await,
                _ => {
                    // A well-formed request, so that only the access rule can refuse it.
                    let parent = acme.id.to_string();
                    let (device_id, user_id) = (device.to_string(), otto.to_string());
                    let status = if r.path.contains("/members/") {
                        "disabled"
                    } else {
                        "suspended"
                    };
                    let fields = [
                        ("name", "x"),
                        ("parent_id", parent.as_str()),
                        ("status", status),
                        ("role", "viewer"),
                        ("email", "x@example.com"),
                        ("device", &device_id),
                        ("user", &user_id),
                        ("limited", "1"),
                    ];
                    ann.post(&path, &fields).await
                }
            };
            assert_eq!(
                res.status,
                StatusCode::NOT_FOUND,
                "{} {} for another tenant: {}",
                r.method,
                r.path,
                res.body
            );
            assert!(!res.body.contains("Other Co"));
            ann.get("/tenants").await;
        }
    }
    assert_eq!(app.tenant(other.id).name, "Other Co");
    assert_eq!(
        app.tenant(other.id).status,
        canopy::domain::states::TenantStatus::Active
    );
}

/// A request with `values` for every id the route declares, in its query or form.
async fn send(
    b: &mut crate::helpers::Browser,
    method: &str,
    path: &str,
    values: &[(&str, String)],
) -> crate::helpers::Reply {
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match method {
        "get" => {
            let query = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&");
            b.get(&format!("{path}?{query}")).await
        }
        _ => b.post(path, &pairs).await,
    }
}

/// The fields besides ids that a form needs to be accepted at all.
fn other_fields(path: &str) -> Vec<(&'static str, String)> {
    match path {
        "/tenants/{id}/invitations" => vec![("email", "new@acme.example".to_string())],
        "/tenants/{id}/api-keys" => vec![("name", "Probe key".to_string())],
        "/tenants/{id}/contacts" | "/tenants/{id}/contacts/{contact}" => vec![
            ("name", "Probe".to_string()),
            ("email", "probe@acme.example".to_string()),
        ],
        "/tenants/{id}/schedules" | "/tenants/{id}/schedules/{schedule}" => vec![
            // The second is renamed to the first's name no more than once: each its own.
            ("name", format!("Probe {}", path.len())),
            ("time_zone", "Europe/London".to_string()),
            ("kind", "interval".to_string()),
            ("every", "4".to_string()),
            ("unit", "hours".to_string()),
            ("grace", "30".to_string()),
            ("tier2_after", "60".to_string()),
        ],
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn every_id_in_a_query_or_form_outside_the_callers_reach_is_refused_and_changes_nothing() {
    use canopy::web::routes::IdKind;
    let app = spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let fr = app.child(&acme, "Acme France");
    app.user("ann@acme.example", &acme, Role::Admin);
    let own_device = crate::devices::device_in(&app, &acme, "OWN-001");
    let other = app.root("Other Co");
    let other_child = app.child(&other, "Other Sub");
    let otto = app.user("otto@other.example", &other_child, Role::Admin);
    let foreign_device = crate::devices::device_in(&app, &other_child, "OTHER-001");
    let invitation = crate::invitations::invite_directly(&app, &other, "x@other.example");
    let foreign_role = crate::roles::custom_role(&app, &other, "Other's role", &[]);
    let foreign_group = crate::groups::group_in(&app, &other, "Other's group");
    let foreign_contact = crate::checkins::contact_in(&app, &other, "Oscar", "oscar@other.example");
    let foreign_schedule =
        crate::checkins::schedule_in(&app, &other, "Other's schedule", 60, 0, None, None);
    let own_role = canopy::domain::roles::Role::Viewer.id();
    // Foreign ids of every kind: each must be refused in every id-carrying place.
    let foreign = [
        other.id.uuid(),
        other_child.id.uuid(),
        foreign_device.uuid(),
        otto.uuid(),
        invitation.uuid(),
        foreign_role.uuid(),
        foreign_group.uuid(),
        foreign_contact.uuid(),
        foreign_schedule.uuid(),
    ];
    // A member whose role the caller changes, and a role of Acme's own held by someone.
    let mo = app.user("mo@acme.example", &acme, Role::Operator);
    let own_custom = crate::roles::custom_role(&app, &acme, "Dispatcher", &[]);
    let mia = app.user("mia@acme.example", &acme, Role::Viewer);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        mia,
        &acme,
        canopy::domain::roles::custom::grant_of(&mut app.conn(), own_custom).unwrap(),
    )
    .unwrap();
    let own_group = crate::groups::group_in(&app, &acme, "Acme's group");
    let group_device = crate::devices::device_in(&app, &acme, "OWN-002");
    let own_contact = crate::checkins::contact_in(&app, &acme, "Olly", "olly@acme.example");
    let own_contact2 = crate::checkins::contact_in(&app, &acme, "Tess", "tess@acme.example");
    let own_schedule = crate::checkins::schedule_in(&app, &acme, "Fleet", 60, 0, None, None);
    let mut ann = app.signed_in("ann@acme.example").await;
    ann.get("/tenants").await;

    let mut tried = 0;
    for r in ROUTES.iter().filter(|r| !r.params.is_empty()) {
        let path = r
            .path
            .replace(
                "{id}",
                &if r.path.ends_with("/move") && !r.path.contains("devices") {
                    fr.id.uuid()
                } else {
                    acme.id.uuid()
                }
                .to_string(),
            )
            // A device that stays in Acme, where Acme's own schedules apply.
            .replace("{device}", &group_device.to_string())
            .replace("{user}", &mo.to_string())
            .replace("{role}", &own_custom.to_string())
            .replace("{group}", &own_group.to_string())
            .replace("{schedule}", &own_schedule.to_string())
            .replace("{contact}", &own_contact.to_string());
        // The caller's own values: the control request must pass the access rule.
        let own = |name: &str, kind: IdKind| -> String {
            match (kind, name, r.path) {
                (_, "tenant", "/switch") => acme.id.to_string(),
                (IdKind::Tenant, _, _) => uk.id.to_string(),
                // The moves above take `own_device` to Acme UK; a group holds Acme's own.
                (IdKind::Device, _, p) if p.contains("/groups/") || p.contains("/schedules/") => {
                    group_device.to_string()
                }
                (IdKind::Device | IdKind::Filter, _, _) => own_device.to_string(),
                (IdKind::Role, _, _) => own_role.to_string(),
                (IdKind::Group, _, _) => own_group.to_string(),
                (IdKind::User, _, _) => mo.to_string(),
                (IdKind::Contact, "tier2", _) => own_contact2.to_string(),
                (IdKind::Contact, _, _) => own_contact.to_string(),
                (IdKind::Schedule, _, _) => own_schedule.to_string(),
            }
        };
        for p in r.params {
            for f in &foreign {
                let values: Vec<(&str, String)> = r
                    .params
                    .iter()
                    .map(|q| {
                        let v = if q.name == p.name {
                            f.to_string()
                        } else {
                            own(q.name, q.kind)
                        };
                        (q.name, v)
                    })
                    .chain(other_fields(r.path))
                    .collect();
                let before = app.fingerprint();
                let res = send(&mut ann, r.method, &path, &values).await;
                tried += 1;
                let what = format!("{} {} with {}={f}", r.method, r.path, p.name);
                if p.kind == IdKind::Filter {
                    assert!(res.status.is_success(), "{what}: {}", res.status);
                } else {
                    assert!(
                        res.status == StatusCode::NOT_FOUND
                            || res.status == StatusCode::UNPROCESSABLE_ENTITY,
                        "{what}: {} {}",
                        res.status,
                        res.body
                    );
                }
                for secret in [
                    "Other Co",
                    "Other Sub",
                    "OTHER-001",
                    "otto@other",
                    "x@other",
                ] {
                    assert!(!res.body.contains(secret), "{what} shows {secret}");
                }
                assert_eq!(app.fingerprint(), before, "{what} changed something");
                ann.get("/tenants").await;
            }
        }
        // The same request with the caller's own ids is not refused: the refusals above came
        // from the foreign id alone.
        let values: Vec<(&str, String)> = r
            .params
            .iter()
            .map(|q| (q.name, own(q.name, q.kind)))
            .chain(other_fields(r.path))
            .collect();
        let res = send(&mut ann, r.method, &path, &values).await;
        assert!(
            res.status.is_success() || res.status.is_redirection(),
            "{} {} with its own ids: {} {}",
            r.method,
            r.path,
            res.status,
            res.body
        );
        ann.get("/tenants").await;
    }
    println!("{tried} requests with foreign ids in queries and forms");
    assert!(tried >= 50, "{tried}");
}

/// The types an id travels in: plain UUIDs and the typed ids of `domain::ids`.
const ID_TYPES: [&str; 11] = [
    "Uuid",
    "TenantId",
    "DeviceId",
    "UserId",
    "InvitationId",
    "JobId",
    "RoleId",
    "GroupId",
    "ContactId",
    "ScheduleId",
    "AlertId",
];

/// Every id-typed field of a query or form under `src/web/` (and every `"key" =>` that a
/// handler parses as a `Uuid`) is declared in the route table, so the test above tries it.
#[test]
fn every_id_a_handler_reads_from_a_query_or_form_is_declared_in_the_route_table() {
    let declared: Vec<&str> = canopy::web::routes::all()
        .flat_map(|r| r.params.iter().map(|p| p.name))
        .collect();
    let mut found = Vec::new();
    for (path, text) in web_sources() {
        let mut in_input = false;
        for line in text.lines() {
            let t = line.trim();
            if t.starts_with("#[derive(") {
                in_input = t.contains("Deserialize");
            } else if t == "}" {
                in_input = false;
            } else if in_input
                && ID_TYPES.iter().any(|id| t.contains(id))
                && let Some((name, _)) = t.trim_start_matches("pub ").split_once(':')
            {
                found.push((path.display().to_string(), name.trim().to_string()));
            }
            // Hand-parsed pairs: `"to" if … => … Uuid::parse_str` or `.parse()` into a typed id.
            if t.starts_with('"')
                && t.contains("=>")
                && (t.contains("Uuid::parse_str") || t.contains(".parse()"))
            {
                let name = t[1..].split('"').next().unwrap_or_default();
                found.push((path.display().to_string(), name.to_string()));
            }
        }
    }
    assert!(found.len() >= 5, "the scan found too little: {found:?}");
    for (file, name) in &found {
        assert!(
            declared.contains(&name.as_str()),
            "{file}: `{name}` carries an id but no route declares it"
        );
    }
}

#[test]
fn the_web_layer_reaches_tenants_only_through_the_requests_access() {
    for (path, text) in web_sources() {
        assert!(
            !text.contains("system_reach"),
            "{} makes a proof without the request's access",
            path.display()
        );
    }
}

/// Every file under `src/web/` with its text.
fn web_sources() -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![std::path::PathBuf::from("src/web")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    files
}

#[tokio::test]
async fn an_admin_cannot_export_a_sibling_customers_devices_by_naming_it_in_the_query() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage");
    let great = app.child(&rent, "Great Expeditions");
    app.user("ann@acme.example", &acme, Role::Admin);
    crate::devices::device_in(&app, &acme, "ACME-001");
    crate::devices::device_in(&app, &great, "GREAT-001");
    let mut ann = app.signed_in("ann@acme.example").await;

    let res = ann
        .get(&format!(
            "/tenants/{}/devices/export.csv?tenant={}",
            acme.id, great.id
        ))
        .await;

    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.body.contains("GREAT-001"));
    let own = ann
        .get(&format!("/tenants/{}/devices/export.csv", acme.id))
        .await;
    assert!(own.body.contains("ACME-001") && !own.body.contains("GREAT-001"));
}

#[tokio::test]
async fn head_answers_wherever_get_does_without_a_body_and_options_names_the_methods() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let device = crate::devices::device_in(&app, &acme, "HEAD-1");
    let mut ann = app.signed_in("ann@acme.example").await;
    let mut checked = 0;
    for r in ROUTES.iter().filter(|r| r.method == "get") {
        let path = r
            .path
            .replace("{id}", &acme.id.to_string())
            .replace("{device}", &device.to_string())
            .replace("{file}", "app.css");
        if path.contains('{') {
            continue; // tokens, jobs, hashes: covered by their own tests
        }
        let get = ann.get(&path).await;
        let head = ann
            .client
            .head(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), get.status, "HEAD {path}");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} sent a body"
        );
        checked += 1;
    }
    assert!(checked > 20, "{checked}");

    let options = ann
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/tenants/{}/devices", app.base, acme.id),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    assert_eq!(options.headers()["allow"], "GET, HEAD, POST, OPTIONS");
    let nowhere = ann
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/no/such/page", app.base),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_tenant_filter_outside_the_pages_subtree_is_refused_even_where_the_caller_has_a_grant() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme");
    let globex = app.child(&rent, "Globex");
    let ann = app.user("ann@acme.example", &acme, Role::Admin);
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        ann,
        &globex,
        Role::Viewer,
    )
    .unwrap();
    crate::devices::device_in(&app, &globex, "GLOBEX-1");
    let mut b = app.signed_in("ann@acme.example").await;

    for path in [
        format!("/tenants/{}/devices?tenant={}", acme.id, globex.id),
        format!(
            "/tenants/{}/devices/export.csv?tenant={}",
            acme.id, globex.id
        ),
    ] {
        let res = b.get(&path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!res.body.contains("GLOBEX-1"));
    }
    // Through its own page the grant shows it, as a viewer.
    let own = b.get(&format!("/tenants/{}/devices", globex.id)).await;
    assert!(own.body.contains("GLOBEX-1"));
}
