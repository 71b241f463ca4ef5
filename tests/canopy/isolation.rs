//! Isolation, generated: random trees, memberships and devices; for random (user, object,
//! action) triples the portal's HTTP answer must equal the access rule computed by a plain
//! in-memory model. A failure prints the seed that reproduces it.
use std::collections::HashMap;

use canopy::domain::audit::Actor;
use canopy::domain::ids::TenantId;
use canopy::domain::memberships;
use canopy::domain::roles::Role;
use canopy::domain::tenants::Tenant;
use uuid::Uuid;

use crate::helpers::{Browser, spawn_app};

/// xorshift64*: small, seeded, and enough to shuffle a test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The access rule, written out plainly from the design rather than from the code.
struct Model {
    parent: HashMap<TenantId, Option<TenantId>>,
    grants: HashMap<usize, Vec<(TenantId, Role)>>,
}

impl Model {
    fn ancestors_and_self(&self, t: TenantId) -> Vec<TenantId> {
        let mut out = vec![t];
        let mut at = t;
        while let Some(Some(p)) = self.parent.get(&at) {
            out.push(*p);
            at = *p;
        }
        out
    }

    fn role(&self, user: usize, t: TenantId) -> Option<Role> {
        let above = self.ancestors_and_self(t);
        self.grants[&user]
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
    }

    /// 404 outside reach, 403 within reach but not allowed, 200 otherwise.
    fn expect(&self, user: usize, t: TenantId, action: &str) -> u16 {
        let Some(role) = self.role(user, t) else {
            return 404;
        };
        let allowed = match action {
            "view" => true,
            "administer" => role == Role::Admin,
            "operate" => role >= Role::Operator,
            "restructure" => {
                self.parent[&t].is_some_and(|p| self.role(user, p) == Some(Role::Admin))
            }
            _ => unreachable!(),
        };
        if allowed { 200 } else { 403 }
    }
}

const ROLES: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

/// A forest: two roots, then each tenant under a random earlier one; and the model of it.
fn forest(app: &crate::helpers::TestApp, rng: &mut Rng) -> (Vec<Tenant>, Model) {
    let mut tenants: Vec<Tenant> = vec![app.root("Root A"), app.root("Root B")];
    for n in 0..12 {
        let parent = tenants[rng.below(tenants.len())].clone();
        tenants.push(app.child(&parent, &format!("T{n}")));
    }
    let model = Model {
        parent: tenants.iter().map(|t| (t.id, t.parent_id)).collect(),
        grants: HashMap::new(),
    };
    (tenants, model)
}

/// Seven people `user0..6@example.com`, each with a random role somewhere and, half of them,
/// a second one elsewhere; signed in, and recorded in the model.
async fn people(
    app: &crate::helpers::TestApp,
    rng: &mut Rng,
    tenants: &[Tenant],
    model: &mut Model,
) -> Vec<Browser> {
    let mut users = Vec::new();
    for u in 0..7 {
        let email = format!("user{u}@example.com");
        let first = &tenants[rng.below(tenants.len())];
        let role = ROLES[rng.below(3)];
        let id = app.user(&email, first, role);
        let mut held = vec![(first.id, role)];
        let second = &tenants[rng.below(tenants.len())];
        if rng.below(2) == 0 && second.id != first.id {
            let role = ROLES[rng.below(3)];
            memberships::grant(&mut app.conn(), &Actor::system(), id, second, role).unwrap();
            held.push((second.id, role));
        }
        model.grants.insert(u, held);
        users.push(app.signed_in(&email).await);
    }
    users
}

/// A new seed every run (printed, so a failure can be replayed), or the one in
/// `CANOPY_ISOLATION_SEED`.
fn seed() -> u64 {
    let seed = std::env::var("CANOPY_ISOLATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x5EED_CA70, |d| d.as_nanos() as u64)
        });
    println!("isolation seed: CANOPY_ISOLATION_SEED={seed}");
    seed
}

#[tokio::test]
async fn random_trees_answer_over_http_exactly_as_the_access_rule_says() {
    let seed = seed();
    let mut rng = Rng(seed | 1);
    let app = spawn_app().await;
    let (tenants, mut model) = forest(&app, &mut rng);
    let mut devices: Vec<(Uuid, TenantId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        if rng.below(3) > 0 {
            devices.push((
                crate::devices::device_in(&app, t, &format!("DEV-{i}")).uuid(),
                t.id,
            ));
        }
    }
    let mut users = people(&app, &mut rng, &tenants, &mut model).await;

    // What each action is, as a request, and which rule applies.
    let tenant_actions: [(&str, &str); 6] = [
        ("/tenants/{t}", "view"),
        ("/tenants/{t}/dashboard", "view"),
        ("/tenants/{t}/devices", "view"),
        ("/tenants/{t}/devices/new", "operate"),
        ("/tenants/{t}/audit", "administer"),
        ("/tenants/{t}/move", "restructure"),
    ];
    let device_actions: [(&str, &str); 2] =
        [("/devices/{d}", "view"), ("/devices/{d}/edit", "operate")];
    let mut seen: HashMap<u16, usize> = HashMap::new();
    for _ in 0..250 {
        let u = rng.below(users.len());
        let b: &mut Browser = &mut users[u];
        let (path, expected) = if rng.below(3) > 0 || devices.is_empty() {
            let t = tenants[rng.below(tenants.len())].id;
            let (template, action) = tenant_actions[rng.below(tenant_actions.len())];
            (
                template.replace("{t}", &t.to_string()),
                model.expect(u, t, action),
            )
        } else {
            let (d, t) = devices[rng.below(devices.len())];
            let (template, action) = device_actions[rng.below(device_actions.len())];
            (
                template.replace("{d}", &d.to_string()),
                model.expect(u, t, action),
            )
        };
        let got = b.get(&path).await.status.as_u16();
        assert_eq!(
            got, expected,
            "user{u} ({:?}) GET {path}; reproduce with CANOPY_ISOLATION_SEED={seed}",
            model.grants[&u]
        );
        *seen.entry(got).or_default() += 1;
    }
    // The sample exercised every kind of answer.
    for status in [200, 403, 404] {
        assert!(
            seen.get(&status).copied().unwrap_or(0) > 0,
            "no {status} in {seen:?} (seed {seed})"
        );
    }
}

impl Model {
    fn in_subtree(&self, t: TenantId, top: TenantId) -> bool {
        self.ancestors_and_self(t).contains(&top)
    }

    /// The device serials a list of `t` shows to `user` (the whole subtree for its admins when
    /// asked), `chosen` being the tenant filter; `Err(status)` when the request is refused.
    fn devices_listed(
        &self,
        user: usize,
        t: TenantId,
        chosen: Option<TenantId>,
        devices: &[(String, TenantId)],
    ) -> Result<Vec<String>, u16> {
        let role = self.role(user, t).ok_or(404u16)?;
        let admin = role == Role::Admin;
        let keep: Box<dyn Fn(TenantId) -> bool> = match chosen {
            Some(x) => {
                if self.role(user, x).is_none() || !self.in_subtree(x, t) {
                    return Err(404);
                }
                if admin {
                    Box::new(move |d| d == x)
                } else {
                    Box::new(move |d| d == t)
                }
            }
            None if admin => Box::new(move |d| self.in_subtree(d, t)),
            None => Box::new(move |d| d == t),
        };
        let mut out: Vec<String> = devices
            .iter()
            .filter(|(_, owner)| keep(*owner))
            .map(|(serial, _)| serial.clone())
            .collect();
        out.sort();
        Ok(out)
    }

    /// Members listed with "include sub-tenants": the users holding a grant there.
    fn members_listed(&self, user: usize, t: TenantId) -> Result<Vec<String>, u16> {
        let role = self.role(user, t).ok_or(404u16)?;
        let mut out: Vec<String> = self
            .grants
            .iter()
            .filter(|(_, held)| {
                held.iter().any(|(g, _)| {
                    if role == Role::Admin {
                        self.in_subtree(*g, t)
                    } else {
                        *g == t
                    }
                })
            })
            .map(|(u, _)| format!("user{u}@"))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// What an admin-only report of `t` covers: the subtree, or a refusal.
    fn admin_report(&self, user: usize, t: TenantId) -> Result<(), u16> {
        match self.role(user, t) {
            None => Err(404),
            Some(Role::Admin) => Ok(()),
            Some(_) => Err(403),
        }
    }
}

/// The distinct tokens `prefix` + digits in `text` (`DEV-3`, `user4@`), sorted.
fn tokens(text: &str, prefix: &str, suffix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let boundary = rest[..at]
            .chars()
            .last()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if !digits.is_empty() && boundary && after[digits.len()..].starts_with(suffix) {
            out.push(format!("{prefix}{digits}{suffix}"));
        }
        rest = after;
    }
    out.sort();
    out.dedup();
    out
}

/// The part of a page that lists things (the header names the caller's own tenants).
fn main_part(body: &str) -> &str {
    let start = body.find("<main").unwrap_or(0);
    let end = body.rfind("</main>").unwrap_or(body.len());
    &body[start..end]
}

#[tokio::test]
async fn random_trees_list_and_export_exactly_what_the_access_rule_reaches() {
    let seed = seed();
    let mut rng = Rng(seed | 1);
    let app = spawn_app().await;
    let (tenants, mut model) = forest(&app, &mut rng);
    let mut devices: Vec<(String, TenantId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        for k in 0..rng.below(3) {
            let serial = format!("DEV-{}", i * 10 + k);
            crate::devices::device_in(&app, t, &serial);
            devices.push((serial, t.id));
        }
    }
    let mut users = people(&app, &mut rng, &tenants, &mut model).await;
    let name_of: HashMap<TenantId, String> =
        tenants.iter().map(|t| (t.id, t.name.clone())).collect();

    let mut checked: HashMap<&str, usize> = HashMap::new();
    for _ in 0..160 {
        let u = rng.below(users.len());
        let t = tenants[rng.below(tenants.len())].id;
        let x = tenants[rng.below(tenants.len())].id;
        let kind = rng.below(10);
        let b: &mut Browser = &mut users[u];
        let (what, path, expected, got): (&str, String, Result<Vec<String>, u16>, _) = match kind {
            0 | 1 => {
                let csv = kind == 1;
                let path = format!(
                    "/tenants/{t}/devices{}?sub=1",
                    if csv { "/export.csv" } else { "" }
                );
                let res = b.get(&path).await;
                let body = if csv {
                    res.body.clone()
                } else {
                    main_part(&res.body).to_string()
                };
                let expected = model.devices_listed(u, t, None, &devices);
                (
                    if csv { "device export" } else { "device list" },
                    path,
                    expected,
                    (res.status.as_u16(), tokens(&body, "DEV-", "")),
                )
            }
            2 | 3 => {
                let csv = kind == 3;
                let path = format!(
                    "/tenants/{t}/devices{}?tenant={x}",
                    if csv { "/export.csv" } else { "" }
                );
                let res = b.get(&path).await;
                let body = if csv {
                    res.body.clone()
                } else {
                    main_part(&res.body).to_string()
                };
                let expected = model.devices_listed(u, t, Some(x), &devices);
                (
                    if csv {
                        "filtered export"
                    } else {
                        "filtered list"
                    },
                    path,
                    expected,
                    (res.status.as_u16(), tokens(&body, "DEV-", "")),
                )
            }
            4 => {
                let path = format!("/tenants/{t}/members?sub=1");
                let res = b.get(&path).await;
                let expected = model.members_listed(u, t);
                (
                    "members",
                    path,
                    expected,
                    (
                        res.status.as_u16(),
                        tokens(main_part(&res.body), "user", "@"),
                    ),
                )
            }
            5 | 6 => {
                let csv = kind == 6;
                let path = format!("/tenants/{t}/audit{}", if csv { "/export.csv" } else { "" });
                let res = b.get(&path).await;
                let body = if csv {
                    res.body.clone()
                } else {
                    main_part(&res.body).to_string()
                };
                let expected = model
                    .admin_report(u, t)
                    .and_then(|()| model.devices_listed(u, t, None, &devices));
                (
                    if csv { "audit export" } else { "audit log" },
                    path,
                    expected,
                    (res.status.as_u16(), tokens(&body, "DEV-", "")),
                )
            }
            8 => {
                let path = format!("/tenants/{t}/children");
                let res = b.get(&path).await;
                let expected = match model.role(u, t) {
                    None => Err(404),
                    Some(Role::Admin) => {
                        let mut names: Vec<String> = tenants
                            .iter()
                            .filter(|c| c.parent_id == Some(t))
                            .map(|c| c.name.clone())
                            .collect();
                        names.sort();
                        Ok(names)
                    }
                    Some(_) => Err(403),
                };
                (
                    "children",
                    path,
                    expected,
                    (res.status.as_u16(), tokens(&res.body, "T", "")),
                )
            }
            9 => {
                let path = "/tenants".to_string();
                let res = b.get(&path).await;
                // The tops of the reach: grants not inside one of the user's admin grants.
                let held = &model.grants[&u];
                let mut expected: Vec<String> = held
                    .iter()
                    .filter(|(g, _)| {
                        !held
                            .iter()
                            .any(|(o, r)| *r == Role::Admin && o != g && model.in_subtree(*g, *o))
                    })
                    .map(|(g, _)| name_of[g].clone())
                    .collect();
                expected.sort();
                expected.dedup();
                let tree = crate::helpers::tree_of(&res.body);
                let mut got = tokens(tree, "T", "");
                for root in ["Root A", "Root B"] {
                    if tree.contains(&format!(">{root}<")) {
                        got.push(root.to_string());
                    }
                }
                got.sort();
                ("tree", path, Ok(expected), (res.status.as_u16(), got))
            }
            _ => {
                let path = format!("/tenants/{t}/usage/export.csv");
                let res = b.get(&path).await;
                let expected = model.admin_report(u, t).map(|()| {
                    let mut names: Vec<String> = tenants
                        .iter()
                        .filter(|s| model.in_subtree(s.id, t))
                        .map(|s| s.name.clone())
                        .collect();
                    names.sort();
                    names
                });
                let mut names: Vec<String> = name_of
                    .values()
                    .filter(|n| {
                        res.body
                            .lines()
                            .any(|l| l.split(',').any(|c| c.trim_matches('"') == n.as_str()))
                    })
                    .cloned()
                    .collect();
                names.sort();
                ("usage export", path, expected, (res.status.as_u16(), names))
            }
        };
        let context = format!(
            "user{u} ({:?}) GET {path}; reproduce with CANOPY_ISOLATION_SEED={seed}",
            model.grants[&u]
        );
        match expected {
            Ok(rows) => {
                assert_eq!(got.0, 200, "{what}: {context}");
                assert_eq!(got.1, rows, "{what} rows: {context}");
            }
            Err(status) => {
                assert_eq!(got.0, status, "{what}: {context}");
                assert!(got.1.is_empty(), "{what} leaked {:?}: {context}", got.1);
            }
        }
        *checked.entry(what).or_default() += 1;
    }
    println!("lists and exports checked: {checked:?}");
    assert!(checked.len() >= 10, "{checked:?} (seed {seed})");
}
