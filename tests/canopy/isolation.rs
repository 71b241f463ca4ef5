//! Isolation, generated: random trees, memberships and devices, and roles drawn at random —
//! built-in presets or custom roles of random permissions and reach, groups of random devices
//! and memberships limited to random groups; for random (user, object,
//! action) triples the portal's HTTP answer must equal the access rule computed by a plain
//! in-memory model. A failure prints the seed that reproduces it.
use std::collections::HashMap;

use canopy::domain::audit::Actor;
use canopy::domain::ids::{DeviceId, GroupId, TenantId};
use canopy::domain::memberships;
use canopy::domain::permissions::{Permission, Permissions};
use canopy::domain::roles::{Role, RoleReach};
use canopy::domain::tenants::Tenant;

use crate::helpers::{Browser, spawn_app};

/// xorshift64*: small, seeded, and enough to shuffle a test.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One membership as the model keeps it: where, and what its role gives.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) tenant: TenantId,
    /// For the failure message.
    #[allow(dead_code)]
    role: String,
    permissions: Permissions,
    reach: RoleReach,
    /// `Some` for a membership limited to groups: the groups its holder is in there.
    groups: Option<Vec<GroupId>>,
}

/// What a membership limited to groups does not give, as the design says: what would let its
/// holder reach devices outside their groups.
const WITHHELD: [Permission; 7] = [
    Permission::GroupsManage,
    Permission::DevicesCreate,
    Permission::DevicesImport,
    Permission::MembersInvite,
    Permission::AuditView,
    Permission::AuditExport,
    Permission::UsageView,
];

impl Held {
    fn gives(&self) -> Permissions {
        if self.groups.is_some() {
            Permissions::of(
                &self
                    .permissions
                    .iter()
                    .filter(|p| !WITHHELD.contains(p))
                    .collect::<Vec<_>>(),
            )
        } else {
            self.permissions
        }
    }
}

/// The access rule, written out plainly from the design rather than from the code.
pub(crate) struct Model {
    parent: HashMap<TenantId, Option<TenantId>>,
    pub(crate) grants: HashMap<usize, Vec<Held>>,
    /// The groups each device (by serial) is in.
    device_groups: HashMap<String, Vec<GroupId>>,
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

    /// What applies to `user` at `t`: the union of the permissions of the grants that reach
    /// it (a grant at `t`, or one above whose reach is the subtree), and whether one of them
    /// reaches below `t`; `None` out of reach.
    pub(crate) fn at(&self, user: usize, t: TenantId) -> Option<(Permissions, bool)> {
        self.applying(user, t).fold(None, |acc, h| {
            let (p, below) = acc.unwrap_or((Permissions::NONE, false));
            Some((p.union(h.gives()), below || h.reach == RoleReach::Subtree))
        })
    }

    /// The grants that reach `t`: one at `t`, or one above whose reach is the subtree.
    fn applying(&self, user: usize, t: TenantId) -> impl Iterator<Item = &Held> {
        let above = self.ancestors_and_self(t);
        self.grants[&user].iter().filter(move |h| {
            h.tenant == t || (h.reach == RoleReach::Subtree && above.contains(&h.tenant))
        })
    }

    /// What `user` may do with the device `serial` of `t`: the grants that reach `t` and admit
    /// it (a limited one admits its groups' devices only); `None` when none does.
    pub(crate) fn device_at(&self, user: usize, t: TenantId, serial: &str) -> Option<Permissions> {
        let in_groups = self.device_groups.get(serial).cloned().unwrap_or_default();
        self.applying(user, t)
            .filter(|h| {
                h.groups
                    .as_ref()
                    .is_none_or(|mine| mine.iter().any(|g| in_groups.contains(g)))
            })
            .fold(None, |acc, h| {
                Some(acc.unwrap_or(Permissions::NONE).union(h.gives()))
            })
    }

    fn expect_device(&self, user: usize, t: TenantId, serial: &str, p: Permission) -> u16 {
        match self.device_at(user, t, serial) {
            None => 404,
            Some(held) if held.has(p) => 200,
            Some(_) => 403,
        }
    }

    /// Whether every device below `t` is seen: a grant without a limit reaches the subtree.
    fn whole_below(&self, user: usize, t: TenantId) -> bool {
        self.applying(user, t)
            .any(|h| h.groups.is_none() && h.reach == RoleReach::Subtree)
    }

    pub(crate) fn may(&self, user: usize, t: TenantId, p: Permission) -> bool {
        self.at(user, t).is_some_and(|(held, _)| held.has(p))
    }

    fn below(&self, user: usize, t: TenantId) -> bool {
        self.at(user, t).is_some_and(|(_, below)| below)
    }

    /// 404 outside reach, 403 within reach but without the permission, 200 otherwise.
    /// Restructuring is decided at the parent.
    fn expect(&self, user: usize, t: TenantId, p: Permission) -> u16 {
        if self.at(user, t).is_none() {
            return 404;
        }
        let allowed = match p {
            Permission::TenantRestructure => {
                self.parent[&t].is_some_and(|parent| self.may(user, parent, p))
            }
            _ => self.may(user, t, p),
        };
        if allowed { 200 } else { 403 }
    }
}

const ROLES: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

/// A role drawn at random: half the time a preset, else a custom role of `tenant` with
/// random permissions (each with even odds, and always "tenant: view") and a random reach.
fn draw_role(
    app: &crate::helpers::TestApp,
    rng: &mut Rng,
    tenant: &Tenant,
) -> (canopy::domain::roles::RoleGrant, Held) {
    let grant = if rng.below(2) == 0 {
        ROLES[rng.below(3)].grant()
    } else {
        let bits = rng.next();
        let mut permissions = Permissions::of(&[Permission::TenantView]);
        for (n, p) in Permission::ALL.iter().enumerate() {
            if bits >> n & 1 == 1 {
                permissions = permissions.with(*p);
            }
        }
        let reach = if rng.below(2) == 0 {
            RoleReach::Tenant
        } else {
            RoleReach::Subtree
        };
        let name = format!("Custom {}", rng.next() % 1_000_000);
        let id = crate::roles::role_with(app, tenant.id, &name, permissions, reach, false);
        canopy::domain::roles::custom::grant_of(&mut app.conn(), id).unwrap()
    };
    let held = Held {
        tenant: tenant.id,
        role: grant.name.clone(),
        permissions: grant.permissions,
        reach: grant.reach,
        groups: None,
    };
    (grant, held)
}

/// A forest: two roots, then each tenant under a random earlier one; and the model of it.
pub(crate) fn forest(app: &crate::helpers::TestApp, rng: &mut Rng) -> (Vec<Tenant>, Model) {
    let mut tenants: Vec<Tenant> = vec![app.root("Root A"), app.root("Root B")];
    for n in 0..12 {
        let parent = tenants[rng.below(tenants.len())].clone();
        tenants.push(app.child(&parent, &format!("T{n}")));
    }
    let model = Model {
        parent: tenants.iter().map(|t| (t.id, t.parent_id)).collect(),
        grants: HashMap::new(),
        device_groups: HashMap::new(),
    };
    (tenants, model)
}

/// Up to two groups per tenant, each holding a random half of its tenant's devices.
pub(crate) fn draw_groups(
    app: &crate::helpers::TestApp,
    rng: &mut Rng,
    tenants: &[Tenant],
    devices: &[(String, TenantId, DeviceId)],
    model: &mut Model,
) -> HashMap<TenantId, Vec<GroupId>> {
    let mut groups: HashMap<TenantId, Vec<GroupId>> = HashMap::new();
    for t in tenants {
        for n in 0..rng.below(3) {
            let g = crate::groups::group_in(app, t, &format!("G{n}"));
            for (serial, _, id) in devices.iter().filter(|(_, owner, _)| *owner == t.id) {
                if rng.below(2) == 0 {
                    crate::groups::put_in(app, g, t.id, *id);
                    model
                        .device_groups
                        .entry(serial.clone())
                        .or_default()
                        .push(g);
                }
            }
            groups.entry(t.id).or_default().push(g);
        }
    }
    groups
}

/// A third of the memberships are limited to groups: to a random part of their tenant's.
fn maybe_limit(
    app: &crate::helpers::TestApp,
    rng: &mut Rng,
    groups: &HashMap<TenantId, Vec<GroupId>>,
    user: canopy::domain::ids::UserId,
    held: &mut Held,
) {
    if rng.below(3) > 0 {
        return;
    }
    let mut mine = Vec::new();
    for g in groups.get(&held.tenant).into_iter().flatten() {
        if rng.below(2) == 0 {
            crate::groups::join(app, *g, held.tenant, user);
            mine.push(*g);
        }
    }
    crate::groups::limit(app, user, held.tenant);
    held.groups = Some(mine);
}

/// Seven people `user0..6@example.com`, each with a random role somewhere and, half of them,
/// a second one elsewhere; signed in, and recorded in the model.
pub(crate) async fn people(
    app: &crate::helpers::TestApp,
    rng: &mut Rng,
    tenants: &[Tenant],
    groups: &HashMap<TenantId, Vec<GroupId>>,
    model: &mut Model,
) -> Vec<Browser> {
    let mut users = Vec::new();
    for u in 0..7 {
        let email = format!("user{u}@example.com");
        let first = &tenants[rng.below(tenants.len())];
        let (role, mut h) = draw_role(app, rng, first);
        let id = app.user(&email, first, Role::Viewer);
        memberships::grant(&mut app.conn(), &Actor::system(), id, first, role).unwrap();
        maybe_limit(app, rng, groups, id, &mut h);
        let mut held = vec![h];
        let second = &tenants[rng.below(tenants.len())];
        if rng.below(2) == 0 && second.id != first.id {
            let (role, mut h) = draw_role(app, rng, second);
            memberships::grant(&mut app.conn(), &Actor::system(), id, second, role).unwrap();
            maybe_limit(app, rng, groups, id, &mut h);
            held.push(h);
        }
        model.grants.insert(u, held);
        users.push(app.signed_in(&email).await);
    }
    users
}

/// An admin of `tenant` outside the random draw (`user{n}@example.com`, `n` the next model
/// index), so that a sample always has someone who sees that subtree.
pub(crate) async fn admin_of(
    app: &crate::helpers::TestApp,
    tenant: &Tenant,
    model: &mut Model,
) -> Browser {
    let n = model.grants.len();
    let email = format!("user{n}@example.com");
    app.user(&email, tenant, Role::Admin);
    let grant = Role::Admin.grant();
    model.grants.insert(
        n,
        vec![Held {
            tenant: tenant.id,
            role: grant.name.clone(),
            permissions: grant.permissions,
            reach: grant.reach,
            groups: None,
        }],
    );
    app.signed_in(&email).await
}

/// A new seed every run (printed, so a failure can be replayed), or the one in
/// `CANOPY_ISOLATION_SEED`.
pub(crate) fn seed() -> u64 {
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
    let mut devices: Vec<(String, TenantId, DeviceId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        if rng.below(3) > 0 {
            let serial = format!("DEV-{i}");
            let id = crate::devices::device_in(&app, t, &serial);
            devices.push((serial, t.id, id));
        }
    }
    let groups = draw_groups(&app, &mut rng, &tenants, &devices, &mut model);
    let mut users = people(&app, &mut rng, &tenants, &groups, &mut model).await;

    // What each action is, as a request, and which rule applies.
    let tenant_actions: [(&str, Permission); 9] = [
        ("/tenants/{t}/groups", Permission::GroupsView),
        ("/tenants/{t}", Permission::TenantView),
        ("/tenants/{t}/dashboard", Permission::TenantView),
        ("/tenants/{t}/devices", Permission::DevicesView),
        ("/tenants/{t}/devices/new", Permission::DevicesCreate),
        ("/tenants/{t}/members", Permission::MembersView),
        ("/tenants/{t}/audit", Permission::AuditView),
        ("/tenants/{t}/roles", Permission::RolesView),
        ("/tenants/{t}/move", Permission::TenantRestructure),
    ];
    let device_actions: [(&str, Permission); 2] = [
        ("/tenants/{t}/devices/{d}", Permission::DevicesView),
        ("/tenants/{t}/devices/{d}/edit", Permission::DevicesEdit),
    ];
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
            let (serial, t, d) = &devices[rng.below(devices.len())];
            let (template, action) = device_actions[rng.below(device_actions.len())];
            (
                template
                    .replace("{t}", &t.to_string())
                    .replace("{d}", &d.to_string()),
                model.expect_device(u, *t, serial, action),
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
        need: Permission,
    ) -> Result<Vec<String>, u16> {
        self.at(user, t).ok_or(404u16)?;
        if !self.may(user, t, need) {
            return Err(403);
        }
        let admin = self.below(user, t);
        let keep: Box<dyn Fn(TenantId) -> bool> = match chosen {
            Some(x) => {
                if self.at(user, x).is_none() || !self.in_subtree(x, t) {
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
            .filter(|(serial, owner)| {
                keep(*owner) && self.device_at(user, *owner, serial).is_some()
            })
            .map(|(serial, _)| serial.clone())
            .collect();
        out.sort();
        Ok(out)
    }

    /// Members listed with "include sub-tenants": the users holding a grant there.
    fn members_listed(&self, user: usize, t: TenantId) -> Result<Vec<String>, u16> {
        self.at(user, t).ok_or(404u16)?;
        if !self.may(user, t, Permission::MembersView) {
            return Err(403);
        }
        let below = self.below(user, t);
        let mut out: Vec<String> = self
            .grants
            .iter()
            .filter(|(_, held)| {
                held.iter().any(|h| {
                    if below {
                        self.in_subtree(h.tenant, t)
                    } else {
                        h.tenant == t
                    }
                })
            })
            .map(|(u, _)| format!("user{u}@"))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Whether a report of `t` needing `p` is given: 404 out of reach, 403 without `p`.
    fn report(&self, user: usize, t: TenantId, p: Permission) -> Result<(), u16> {
        self.at(user, t).ok_or(404u16)?;
        if self.may(user, t, p) {
            Ok(())
        } else {
            Err(403)
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
    let mut drawn: Vec<(String, TenantId, DeviceId)> = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        for k in 0..rng.below(3) {
            let serial = format!("DEV-{}", i * 10 + k);
            let id = crate::devices::device_in(&app, t, &serial);
            drawn.push((serial, t.id, id));
        }
    }
    let groups = draw_groups(&app, &mut rng, &tenants, &drawn, &mut model);
    let devices: Vec<(String, TenantId)> = drawn.iter().map(|(s, t, _)| (s.clone(), *t)).collect();
    let mut users = people(&app, &mut rng, &tenants, &groups, &mut model).await;
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
                let need = if csv {
                    Permission::DevicesExport
                } else {
                    Permission::DevicesView
                };
                let expected = model.devices_listed(u, t, None, &devices, need);
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
                let need = if csv {
                    Permission::DevicesExport
                } else {
                    Permission::DevicesView
                };
                let expected = model.devices_listed(u, t, Some(x), &devices, need);
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
                let need = if csv {
                    Permission::AuditExport
                } else {
                    Permission::AuditView
                };
                // The log names the devices created where the reader reaches.
                let expected = model.report(u, t, need).and_then(|()| {
                    let all = Permissions::all();
                    let mut as_if = Model {
                        parent: model.parent.clone(),
                        grants: HashMap::new(),
                        device_groups: HashMap::new(),
                    };
                    // The subtree's history only for those who see every device in it.
                    let below = model.whole_below(u, t);
                    as_if.grants.insert(
                        0,
                        vec![Held {
                            tenant: t,
                            role: String::new(),
                            permissions: all,
                            reach: if below {
                                RoleReach::Subtree
                            } else {
                                RoleReach::Tenant
                            },
                            groups: None,
                        }],
                    );
                    as_if.devices_listed(0, t, None, &devices, Permission::DevicesView)
                });
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
                let expected = match model.at(u, t) {
                    None => Err(404),
                    Some((p, true)) if p.has(Permission::TenantView) => {
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
                // The tops of the reach: grants not inside another's subtree reach.
                let held = &model.grants[&u];
                let mut expected: Vec<String> = held
                    .iter()
                    .filter(|g| {
                        !held.iter().any(|o| {
                            o.reach == RoleReach::Subtree
                                && o.tenant != g.tenant
                                && model.in_subtree(g.tenant, o.tenant)
                        })
                    })
                    .map(|g| name_of[&g.tenant].clone())
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
                // The usage report sums up the subtree: for those who see all of it.
                let expected = model.report(u, t, Permission::UsageView).and_then(|()| {
                    if !model.whole_below(u, t) {
                        return Err(403);
                    }
                    Ok(())
                });
                let expected = expected.map(|()| {
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
