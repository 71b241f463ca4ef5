//! The header's search: what it finds, how it pages, what it refuses, and that nothing outside
//! the caller's reach ever appears in it (random trees against the model of the access rule).
use std::collections::{BTreeSet, HashMap};

use canopy::domain::ids::{DeviceId, TenantId};
use canopy::domain::permissions::Permission;
use canopy::domain::roles::Role;
use reqwest::StatusCode;

use crate::helpers::{Browser, spawn_app};
use crate::isolation::{Rng, admin_of, draw_groups, forest, people, seed};

/// The targets of the links listed under `#hits-{kind}` on a results page.
fn hrefs(body: &str, kind: &str) -> Vec<String> {
    let Some(list) = body.split(&format!("id=\"hits-{kind}\"")).nth(1) else {
        return Vec::new();
    };
    let list = list.split("</ul>").next().unwrap_or_default();
    list.split("<a href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or_default().to_string())
        .collect()
}

/// The breadcrumbs of every result on the page, each a list of tenant names.
fn crumbs(body: &str) -> Vec<Vec<String>> {
    body.split("<span class=\"path\">")
        .skip(1)
        .map(|s| {
            s.split("</span>")
                .next()
                .unwrap_or_default()
                .split(" › ")
                .map(|n| n.trim().to_string())
                .collect()
        })
        .collect()
}

/// Every result of one kind, following the pages.
async fn all_of(b: &mut Browser, q: &str, kind: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let (mut found, mut paths) = (Vec::new(), Vec::new());
    for page in 1..=20 {
        let res = b
            .get(&format!("/search?q={q}&kind={kind}&page={page}"))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        found.extend(hrefs(&res.body, kind));
        paths.extend(crumbs(&res.body));
        if !res.body.contains("id=\"next-page\"") {
            break;
        }
    }
    (found, paths)
}

#[tokio::test]
async fn random_trees_search_finds_exactly_what_the_access_rule_reaches() {
    let seed = seed();
    let mut rng = Rng(seed | 1);
    let app = spawn_app().await;
    let (tenants, mut model) = forest(&app, &mut rng);
    let mut devices: Vec<(String, TenantId, DeviceId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        for n in 0..=rng.below(3) {
            let serial = format!("DEV-{i}-{n}");
            let id = crate::devices::device_in(&app, t, &serial);
            devices.push((serial, t.id, id));
        }
        crate::checkins::contact_in(&app, t, &format!("Contact {i}"), "c@example.com");
    }
    let groups = draw_groups(&app, &mut rng, &tenants, &devices, &mut model);
    let mut users = people(&app, &mut rng, &tenants, &groups, &mut model).await;
    users.push(admin_of(&app, &tenants[0], &mut model).await);
    let names: HashMap<String, TenantId> = tenants.iter().map(|t| (t.name.clone(), t.id)).collect();
    let why = |u: usize| {
        format!(
            "user{u} {:?}; CANOPY_ISOLATION_SEED={seed}",
            model.grants[&u]
        )
    };

    let mut found_any = 0;
    for (u, b) in users.iter_mut().enumerate() {
        let may = |t: TenantId, p: Permission| model.may(u, t, p);
        // Devices by serial prefix and by name prefix: the same set, the model's.
        let expected: BTreeSet<String> = devices
            .iter()
            .filter(|(serial, t, _)| {
                model
                    .device_at(u, *t, serial)
                    .is_some_and(|p| p.has(Permission::DevicesView))
            })
            .map(|(_, _, id)| crate::devices::page(&app, id))
            .collect();
        for q in ["dev-", "Device%20DEV"] {
            let (got, paths) = all_of(b, q, "devices").await;
            assert_eq!(
                got.len(),
                got.iter().collect::<BTreeSet<_>>().len(),
                "once each"
            );
            let got: BTreeSet<String> = got.into_iter().collect();
            assert_eq!(got, expected, "devices for {q:?}: {}", why(u));
            // A breadcrumb names only tenants the person reaches.
            for name in paths.iter().flatten() {
                let t = names[name];
                assert!(model.at(u, t).is_some(), "{name} shown to {}", why(u));
            }
        }
        found_any += expected.len();
        // Tenants: those in reach.
        let expected: BTreeSet<String> = tenants
            .iter()
            .filter(|t| may(t.id, Permission::TenantView))
            .map(|t| format!("/tenants/{}", t.id))
            .collect();
        let mut got = BTreeSet::new();
        for q in [
            "ro", "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9",
        ] {
            got.extend(all_of(b, q, "tenants").await.0);
        }
        assert_eq!(got, expected, "tenants: {}", why(u));
        // Contacts: of the tenants where the person may see contacts.
        let expected: BTreeSet<String> = tenants
            .iter()
            .filter(|t| may(t.id, Permission::ContactsView))
            .map(|t| t.id.to_string())
            .collect();
        let (got, _) = all_of(b, "contact", "contacts").await;
        let got: BTreeSet<String> = got
            .iter()
            .map(|h| h.split('/').nth(2).unwrap_or_default().to_string())
            .collect();
        assert_eq!(got, expected, "contacts: {}", why(u));
        // People: those with a membership where the person may see members, shown there.
        let expected: BTreeSet<String> = model
            .grants
            .iter()
            .filter(|(_, held)| held.iter().any(|h| may(h.tenant, Permission::MembersView)))
            .map(|(other, _)| format!("user{other}%40example.com"))
            .collect();
        let (got, _) = all_of(b, "user", "people").await;
        for h in &got {
            let t: TenantId = h.split('/').nth(2).unwrap().parse().unwrap();
            assert!(may(t, Permission::MembersView), "{h}: {}", why(u));
        }
        let got: BTreeSet<String> = got
            .iter()
            .map(|h| h.split("?q=").nth(1).unwrap_or_default().to_string())
            .collect();
        assert_eq!(got, expected, "people: {}", why(u));
        // The box's quick results hold nothing the pages do not.
        let quick = b.get("/search/quick?q=dev-").await;
        for d in devices
            .iter()
            .map(|(_, _, id)| crate::devices::page(&app, id))
        {
            if quick.body.contains(&d) {
                assert!(
                    expected_device(&model, u, &devices, &d),
                    "{d} in quick results: {}",
                    why(u)
                );
            }
        }
    }
    assert!(found_any > 0, "no one found a device (seed {seed})");
}

fn expected_device(
    model: &crate::isolation::Model,
    u: usize,
    devices: &[(String, TenantId, DeviceId)],
    href: &str,
) -> bool {
    devices.iter().any(|(serial, t, id)| {
        format!("/tenants/{t}/devices/{id}") == href
            && model
                .device_at(u, *t, serial)
                .is_some_and(|p| p.has(Permission::DevicesView))
    })
}

#[tokio::test]
async fn search_finds_by_each_field_from_its_start_and_pages_through_the_rest() {
    let app = spawn_app().await;
    let rent = app.root("Rent-a-fone");
    let acme = app.child(&rent, "Acme Haulage");
    let leeds = app.child(&acme, "Acme Leeds");
    app.user("alice@rentafone.example", &rent, Role::Admin);
    app.user("olly@acme.example", &acme, Role::Admin);
    app.user("olly.other@acme.example", &leeds, Role::Viewer);
    let imei = crate::devices::phone_in(&app, &leeds, "356601000000047", "Van 7", "+447700900047");
    for n in 0..25 {
        crate::devices::device_in(&app, &leeds, &format!("BULK-{n:02}"));
    }
    let mut olly = app.signed_in("olly@acme.example").await;

    // IMEI prefix, name prefix (any case), phone with or without its plus.
    for q in ["3566010", "van%207", "4477009", "%2B447700"] {
        let (got, paths) = all_of(&mut olly, q, "devices").await;
        assert_eq!(got, vec![crate::devices::page(&app, imei)], "{q}");
        // Where it lives, from the top the person reaches (not Rent-a-fone, above them).
        assert_eq!(
            paths,
            vec![vec!["Acme Haulage".to_string(), "Acme Leeds".to_string()]]
        );
    }
    // Nothing in the middle of a name.
    assert!(all_of(&mut olly, "aul", "tenants").await.0.is_empty());
    // 25 devices: a first page of 20, then 5.
    let first = olly.get("/search?q=bulk&kind=devices").await;
    assert_eq!(hrefs(&first.body, "devices").len(), 20);
    assert!(first.body.contains("id=\"next-page\""));
    let second = olly.get("/search?q=bulk&kind=devices&page=2").await;
    assert_eq!(hrefs(&second.body, "devices").len(), 5);
    assert!(!second.body.contains("id=\"next-page\""));
    let all: BTreeSet<String> = hrefs(&first.body, "devices")
        .into_iter()
        .chain(hrefs(&second.body, "devices"))
        .collect();
    assert_eq!(all.len(), 25, "pages follow on without repeating");
    // The overview shows each kind, a link to more where there is more.
    let overview = olly.get("/search?q=olly").await;
    assert!(
        overview.body.contains("olly.other%40acme.example"),
        "{}",
        overview.body
    );
    let overview = olly.get("/search?q=bulk").await;
    assert!(overview.body.contains("id=\"more-devices\""));
    // The quick results under the box, and the header's box on every page.
    let quick = olly.get("/search/quick?q=3566").await;
    assert!(
        quick.body.contains(&crate::devices::page(&app, imei)),
        "{}",
        quick.body
    );
    assert!(quick.body.contains("id=\"quick-all\""));
    assert!(!quick.body.contains("<html"), "a fragment");
    let nothing = olly.get("/search/quick?q=zzzz").await;
    assert!(
        nothing.body.contains("Nothing found for “zzzz”"),
        "{}",
        nothing.body
    );
    let page = olly.get(&format!("/tenants/{}/dashboard", acme.id)).await;
    assert!(page.body.contains("id=\"search-q\""));
}

#[tokio::test]
async fn bad_search_input_is_refused_beside_the_field() {
    let app = spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let mut ann = app.signed_in("ann@acme.example").await;
    let long = "x".repeat(101);
    for (query, status, message) in [
        (
            format!("q={long}"),
            StatusCode::BAD_REQUEST,
            "at most 100 characters",
        ),
        (
            "q=ab%00c".to_string(),
            StatusCode::BAD_REQUEST,
            "NUL character",
        ),
        (
            "q=acme&kind=planets".to_string(),
            StatusCode::BAD_REQUEST,
            "one of tenants",
        ),
        (
            "q=acme&kind=devices&page=0".to_string(),
            StatusCode::BAD_REQUEST,
            "number from 1",
        ),
        (
            "q=acme&kind=devices&page=x".to_string(),
            StatusCode::BAD_REQUEST,
            "number from 1",
        ),
        (
            "q=acme&kind=devices&page=51".to_string(),
            StatusCode::BAD_REQUEST,
            "number from 1",
        ),
        ("q=a".to_string(), StatusCode::OK, "at least 2 characters"),
    ] {
        let res = ann.get(&format!("/search?{query}")).await;
        assert_eq!(res.status, status, "{query}");
        assert!(res.body.contains(message), "{query}: {}", res.body);
    }
    let empty = ann.get("/search").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(!empty.body.contains("Nothing found"));
}
