//! Isolation, generated: random trees, memberships and devices; for random (user, object,
//! action) triples the portal's HTTP answer must equal the access rule computed by a plain
//! in-memory model. A failure prints the seed that reproduces it.
use std::collections::HashMap;

use canopy::domain::audit::Actor;
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
    parent: HashMap<Uuid, Option<Uuid>>,
    grants: HashMap<usize, Vec<(Uuid, Role)>>,
}

impl Model {
    fn ancestors_and_self(&self, t: Uuid) -> Vec<Uuid> {
        let mut out = vec![t];
        let mut at = t;
        while let Some(Some(p)) = self.parent.get(&at) {
            out.push(*p);
            at = *p;
        }
        out
    }

    fn role(&self, user: usize, t: Uuid) -> Option<Role> {
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
    fn expect(&self, user: usize, t: Uuid, action: &str) -> u16 {
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

#[tokio::test]
async fn random_trees_answer_over_http_exactly_as_the_access_rule_says() {
    let seed = std::env::var("CANOPY_ISOLATION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CA70_u64 ^ u64::from(std::process::id()));
    let mut rng = Rng(seed | 1);
    let app = spawn_app().await;

    // A forest: two roots, then each tenant under a random earlier one.
    let mut tenants: Vec<Tenant> = vec![app.root("Root A"), app.root("Root B")];
    for n in 0..12 {
        let parent = tenants[rng.below(tenants.len())].clone();
        tenants.push(app.child(&parent, &format!("T{n}")));
    }
    let mut model = Model {
        parent: tenants.iter().map(|t| (t.id, t.parent_id)).collect(),
        grants: HashMap::new(),
    };
    let mut devices: Vec<(Uuid, Uuid)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        if rng.below(3) > 0 {
            devices.push((
                crate::devices::device_in(&app, t, &format!("DEV-{i}")),
                t.id,
            ));
        }
    }
    let mut users = Vec::new();
    for u in 0..7 {
        let email = format!("user{u}@example.com");
        let first = &tenants[rng.below(tenants.len())];
        let role = ROLES[rng.below(3)];
        let id = app.user(&email, first, role);
        let mut held = vec![(first.id, role)];
        if rng.below(2) == 0 {
            let second = &tenants[rng.below(tenants.len())];
            if second.id != first.id {
                let role = ROLES[rng.below(3)];
                memberships::grant(&mut app.conn(), &Actor::system(), id, second, role).unwrap();
                held.push((second.id, role));
            }
        }
        model.grants.insert(u, held);
        users.push(app.signed_in(&email).await);
    }

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
