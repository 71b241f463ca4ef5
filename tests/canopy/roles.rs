//! Roles a tenant defines: the catalogue drives them, nobody escalates through them, and the
//! built-in presets answer exactly as the three fixed roles did.
use canopy::domain::ids::{RoleId, TenantId};
use canopy::domain::permissions::{Permission, Permissions};
use canopy::domain::roles::RoleReach;
use canopy::domain::tenants::Tenant;
use diesel::prelude::*;

use crate::helpers::TestApp;

/// A role defined at `tenant` (tenant reach, not shared) holding `permissions`; written
/// directly, as a fixture.
pub fn custom_role(
    app: &TestApp,
    tenant: &Tenant,
    name: &str,
    permissions: &[Permission],
) -> RoleId {
    role_with(
        app,
        tenant.id,
        name,
        Permissions::of(permissions),
        RoleReach::Tenant,
        false,
    )
}

pub fn role_with(
    app: &TestApp,
    tenant: TenantId,
    name: &str,
    permissions: Permissions,
    reach: RoleReach,
    shared: bool,
) -> RoleId {
    use canopy::db::schema::roles;
    let id = RoleId::new();
    diesel::insert_into(roles::table)
        .values((
            roles::id.eq(id),
            roles::tenant_id.eq(tenant),
            roles::name.eq(name),
            roles::permissions.eq(permissions.keys()),
            roles::reach.eq(reach),
            roles::shared.eq(shared),
        ))
        .execute(&mut app.conn())
        .unwrap();
    id
}

/// xorshift64*: small, seeded, and enough to draw permission sets.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn permissions(&mut self) -> Permissions {
        let bits = self.next();
        Permissions::of(
            &Permission::ALL
                .iter()
                .enumerate()
                .filter(|(n, _)| bits >> n & 1 == 1)
                .map(|(_, p)| *p)
                .collect::<Vec<_>>(),
        )
    }
    pub fn reach(&mut self) -> RoleReach {
        if self.next().is_multiple_of(2) {
            RoleReach::Tenant
        } else {
            RoleReach::Subtree
        }
    }
}

pub fn seed(name: &str) -> u64 {
    let seed = std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    println!("{name}={seed}");
    seed
}

/// Random (actor role, proposed role) pairs at one tenant: a proposal is accepted exactly when
/// its permissions are a subset of the actor's and its reach no wider — when the actor defines
/// it, invites someone with it, or gives it to a member.
#[tokio::test]
async fn no_role_is_ever_given_beyond_the_givers_own() {
    use canopy::domain::invitations::{self, Mail};
    use canopy::domain::memberships;
    use canopy::domain::roles::edit::{self, RoleError, RoleInput};
    use canopy::domain::users::Email;

    let app = crate::helpers::spawn_app().await;
    let mut rng = Rng(seed("CANOPY_ESCALATION_SEED"));
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let base = Permissions::of(&[
        Permission::TenantView,
        Permission::RolesManage,
        Permission::MembersInvite,
        Permission::MembersChangeRole,
    ]);
    let weakest = role_with(
        &app,
        uk.id,
        "Looker",
        Permissions::of(&[Permission::TenantView]),
        RoleReach::Tenant,
        false,
    );
    let mail = Mail {
        base_url: &app.base,
        ttl: std::time::Duration::from_secs(3600),
        inviter_name: "Actor",
        limits: Default::default(),
    };
    let mut outcomes = [0usize; 2];
    for n in 0..24 {
        let (mine, my_reach) = (rng.permissions().union(base), rng.reach());
        // Half the time within the actor's permissions, half the time with one more.
        let mut theirs = Permissions::of(&[Permission::TenantView]).union(Permissions::of(
            &rng.permissions()
                .iter()
                .filter(|p| mine.has(*p))
                .collect::<Vec<_>>(),
        ));
        if rng.next().is_multiple_of(2) {
            let outside: Vec<Permission> = Permission::ALL
                .iter()
                .copied()
                .filter(|p| !mine.has(*p))
                .collect();
            if !outside.is_empty() {
                theirs = theirs.with(outside[rng.next() as usize % outside.len()]);
            }
        }
        let their_reach = rng.reach();
        let allowed = theirs.is_subset_of(mine)
            && (their_reach == RoleReach::Tenant || my_reach == RoleReach::Subtree);
        outcomes[allowed as usize] += 1;
        let what = format!(
            "actor {:?} {my_reach:?}, proposed {:?} {their_reach:?}",
            mine.keys(),
            theirs.keys()
        );
        // The actor holds their role at Acme UK (a subtree reach makes no difference to a
        // leaf, but is what a proposal's reach is compared with).
        let actor_role = role_with(&app, uk.id, &format!("Actor {n}"), mine, my_reach, false);
        let actor = app.user(
            &format!("actor{n}@acme.example"),
            &uk,
            canopy::domain::roles::Role::Viewer,
        );
        let member = app.user(
            &format!("member{n}@acme.example"),
            &uk,
            canopy::domain::roles::Role::Viewer,
        );
        let mut conn = app.conn();
        let grant = |conn: &mut diesel::PgConnection, user, role| {
            let role = canopy::domain::roles::custom::grant_of(conn, role).unwrap();
            memberships::grant(
                conn,
                &canopy::domain::audit::Actor::system(),
                user,
                &uk,
                role,
            )
            .unwrap();
        };
        grant(&mut conn, actor, actor_role);
        grant(&mut conn, member, weakest);
        let access = canopy::access::Access::load(&mut conn, actor, None)
            .unwrap()
            .unwrap();
        let reached = access.tenant(&mut conn, uk.id).unwrap();

        // 1. Defining it.
        let input = RoleInput {
            name: format!("Proposed {n}"),
            description: String::new(),
            permissions: theirs.keys(),
            reach: their_reach.to_string(),
            shared: false,
        };
        match edit::create(&mut conn, &access, &reached, &input) {
            Ok(_) => assert!(allowed, "defined: {what}"),
            Err(RoleError::Invalid(e)) => {
                assert!(!theirs.has(Permission::TenantView), "{what}: {e:?}")
            }
            Err(RoleError::Domain(e)) => assert!(!allowed, "refused to define: {what}: {e}"),
        }
        if theirs.is_empty() {
            continue;
        }
        // The same role as a fixture, for the other two ways of handing it out.
        let proposed = role_with(
            &app,
            uk.id,
            &format!("Fixture {n}"),
            theirs,
            their_reach,
            false,
        );
        // 2. Inviting someone with it.
        let email = Email::parse(&format!("invitee{n}@x.example")).unwrap();
        let invited = access
            .grantable(&mut conn, &reached, proposed)
            .and_then(|role| {
                invitations::invite(&mut conn, &access, &reached, &email, &role, &mail)
            });
        assert_eq!(invited.is_ok(), allowed, "invited: {what}: {invited:?}");
        // 3. Giving it to a member.
        let given = memberships::change_role(&mut conn, &access, &reached, member, proposed);
        assert_eq!(given.is_ok(), allowed, "given: {what}: {given:?}");
        let held = memberships::role_in(&mut conn, member, uk.id)
            .unwrap()
            .unwrap();
        assert_eq!(held.id == proposed, allowed, "{what}");
    }
    assert!(
        outcomes[0] > 0 && outcomes[1] > 0,
        "both outcomes drawn: {outcomes:?}"
    );
}

/// The migration to roles keeps what everyone held: each membership and invitation of the
/// three fixed roles now holds the preset of the same name.
#[test]
fn the_roles_migration_keeps_every_membership_and_invitation() {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;
    let pg = crate::helpers::embedded();
    let name = format!("m_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::establish(&pg.url("postgres")).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let mut conn = PgConnection::establish(&crate::helpers::tests_own(&pg.url(&name))).unwrap();
    // Up to the last migration before roles.
    loop {
        let done = conn.run_next_migration(canopy::db::MIGRATIONS).unwrap();
        if done.to_string().replace('-', "").ends_with("000010") {
            break;
        }
    }
    conn.batch_execute(
        "INSERT INTO tenants (id, name, slug, traversal_ids) VALUES
             ('00000000-0000-7000-8000-0000000000a1', 'Acme', 'acme',
              ARRAY['00000000-0000-7000-8000-0000000000a1']::uuid[]);
         INSERT INTO users (id, email, display_name, password_hash) VALUES
             ('00000000-0000-7000-8000-0000000000b1', 'a@x.example', 'A', 'x'),
             ('00000000-0000-7000-8000-0000000000b2', 'o@x.example', 'O', 'x'),
             ('00000000-0000-7000-8000-0000000000b3', 'v@x.example', 'V', 'x');
         INSERT INTO memberships (user_id, tenant_id, role, tenant_path)
         SELECT u.id, t.id, r, t.traversal_ids
         FROM tenants t, (VALUES ('00000000-0000-7000-8000-0000000000b1'::uuid, 'admin'),
                                 ('00000000-0000-7000-8000-0000000000b2'::uuid, 'operator'),
                                 ('00000000-0000-7000-8000-0000000000b3'::uuid, 'viewer')) u(id, r);
         INSERT INTO invitations (id, tenant_id, tenant_path, email, role, token_hash, expires_at)
         SELECT gen_random_uuid(), t.id, t.traversal_ids, r || '@y.example', r, 'h-' || r,
                now() + interval '1 day'
         FROM tenants t, unnest(ARRAY['admin', 'operator', 'viewer']) r;",
    )
    .unwrap();
    conn.run_pending_migrations(canopy::db::MIGRATIONS).unwrap();

    #[derive(QueryableByName)]
    struct Held {
        #[diesel(sql_type = diesel::sql_types::Text)]
        who: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        preset: String,
    }
    let held: Vec<Held> = diesel::sql_query(
        "SELECT u.email AS who, r.preset FROM memberships m JOIN users u ON u.id = m.user_id
             JOIN roles r ON r.id = m.role_id
         UNION ALL
         SELECT i.email, r.preset FROM invitations i JOIN roles r ON r.id = i.role_id
         ORDER BY 1",
    )
    .load(&mut conn)
    .unwrap();
    let pairs: Vec<(String, String)> = held.into_iter().map(|h| (h.who, h.preset)).collect();
    let expected = [
        ("a@x.example", "admin"),
        ("admin@y.example", "admin"),
        ("o@x.example", "operator"),
        ("operator@y.example", "operator"),
        ("v@x.example", "viewer"),
        ("viewer@y.example", "viewer"),
    ];
    assert_eq!(
        pairs,
        expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>()
    );
    // And the code's ids for the presets are the rows the migration made.
    for preset in canopy::domain::roles::Role::ALL {
        let (id,): (uuid::Uuid,) = diesel::sql_query(format!(
            "SELECT id FROM roles WHERE preset = '{}'",
            preset.as_str()
        ))
        .get_result::<IdRow>(&mut conn)
        .map(|r| (r.id,))
        .unwrap();
        assert_eq!(id, preset.id().uuid(), "{preset}");
    }
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: uuid::Uuid,
}

fn role_id_in(location: &str) -> RoleId {
    location
        .split("/roles/")
        .nth(1)
        .and_then(|s| s.split('?').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no role in {location}"))
}

#[tokio::test]
async fn an_admin_defines_a_role_and_its_holder_gets_exactly_its_permissions() {
    use canopy::domain::roles::Role;
    use reqwest::StatusCode;
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    app.user("ann@acme.example", &acme, Role::Admin);
    let fred = app.user("fred@acme.example", &acme, Role::Viewer);
    let device = crate::devices::device_in(&app, &acme, "ACME-1");
    let roles = format!("/tenants/{}/roles", acme.id);
    let mut ann = app.signed_in("ann@acme.example").await;

    let list = ann.get(&roles).await;
    for preset in ["Admin", "Operator", "Viewer"] {
        assert!(list.body.contains(preset), "{preset} listed");
    }
    let form = ann.get(&format!("{roles}/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("value=\"devices.edit\""));
    let count = || app.count("SELECT count(*) AS n FROM roles WHERE tenant_id IS NOT NULL");

    // Refused with a message next to the field, and nothing stored.
    let nameless = ann
        .post(
            &roles,
            &[
                ("name", " "),
                ("permissions", "devices.view"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(nameless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nameless.body.contains("Give the role a name."));
    let unknown = ann
        .post(
            &roles,
            &[
                ("name", "X"),
                ("permissions", "devices.fly"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(count(), 0);

    let fields = [
        ("name", "Field technician"),
        ("description", "Edits and moves devices; never sees members"),
        ("permissions", "tenant.view"),
        ("permissions", "devices.view"),
        ("permissions", "devices.edit"),
        ("permissions", "devices.move"),
        ("reach", "tenant"),
    ];
    let created = ann.post(&roles, &fields).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let tech = role_id_in(created.location().unwrap());
    assert_eq!(count(), 1);
    let saved = ann.get(created.location().unwrap()).await;
    assert!(
        saved.body.contains("Role saved."),
        "the change says it happened"
    );
    let twice = ann.post(&roles, &fields).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("exists here already"));
    assert_eq!(
        app.count("SELECT count(*) AS n FROM audit_events WHERE action = 'role.create'"),
        1
    );

    // Given to Fred: he edits devices, and members are closed to him.
    let given = ann
        .post(
            &format!("/tenants/{}/members/{fred}/role", acme.id),
            &[("role", &tech.to_string())],
        )
        .await;
    assert_eq!(given.status, StatusCode::SEE_OTHER, "{}", given.body);
    let after = ann.get(given.location().unwrap()).await;
    assert!(after.body.contains("Role changed."));
    let mut fred_b = app.signed_in("fred@acme.example").await;
    assert_eq!(
        fred_b
            .get(&format!("{}/edit", crate::devices::page(&app, device)))
            .await
            .status,
        StatusCode::OK
    );
    let members = fred_b.get(&format!("/tenants/{}/members", acme.id)).await;
    assert_eq!(members.status, StatusCode::FORBIDDEN);
    assert!(members.body.contains("Members: view"), "{}", members.body);
    let dashboard = fred_b.get(&format!("/tenants/{}/dashboard", acme.id)).await;
    assert!(dashboard.body.contains("Field technician"));
    assert!(
        !dashboard
            .body
            .contains(&format!("/tenants/{}/members\"", acme.id))
    );

    // Changed: without "devices: edit" the edit page closes at once.
    let changed = ann
        .post(
            &format!("{roles}/{tech}"),
            &[
                ("name", "Field technician"),
                ("permissions", "tenant.view"),
                ("permissions", "devices.view"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert_eq!(
        fred_b
            .get(&format!("{}/edit", crate::devices::page(&app, device)))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let audited = app.count(
        "SELECT count(*) AS n FROM audit_events WHERE action = 'role.update' \
         AND detail->'before'->'permissions' ? 'devices.edit' \
         AND NOT detail->'after'->'permissions' ? 'devices.edit'",
    );
    assert_eq!(audited, 1, "before and after are in the log");

    // Deleting a role someone holds needs a role to move them to, in the same step.
    let delete = format!("{roles}/{tech}/delete");
    let page = ann.get(&delete).await;
    assert!(page.body.contains("fred@acme.example"));
    let refused = ann.post(&delete, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("1 person holds this role"));
    assert_eq!(count(), 1);
    let deleted = ann
        .post(&delete, &[("to", &Role::Viewer.id().to_string())])
        .await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.body);
    assert_eq!(count(), 0);
    let listed = ann.get(deleted.location().unwrap()).await;
    assert!(listed.body.contains("Role deleted"));
    let held = canopy::domain::memberships::role_in(&mut app.conn(), fred, acme.id)
        .unwrap()
        .unwrap();
    assert_eq!(held.id, Role::Viewer.id());
    assert_eq!(
        app.count(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'role.delete' \
             AND detail->>'moved_to' = 'Viewer'"
        ),
        1
    );
}

#[tokio::test]
async fn roles_never_outgrow_their_editor_and_presets_stay_as_built() {
    use canopy::domain::roles::Role;
    use reqwest::StatusCode;
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    let manager = custom_role(
        &app,
        &acme,
        "Role manager",
        &[
            Permission::TenantView,
            Permission::RolesView,
            Permission::RolesManage,
            Permission::DevicesView,
        ],
    );
    let rita = app.user("rita@acme.example", &acme, Role::Viewer);
    let held = canopy::domain::roles::custom::grant_of(&mut app.conn(), manager).unwrap();
    canopy::domain::memberships::grant(
        &mut app.conn(),
        &canopy::domain::audit::Actor::system(),
        rita,
        &acme,
        held,
    )
    .unwrap();
    let roles = format!("/tenants/{}/roles", acme.id);
    let count = || app.count("SELECT count(*) AS n FROM roles WHERE tenant_id IS NOT NULL");
    let mut rita_b = app.signed_in("rita@acme.example").await;

    // The matrix offers only what she holds.
    let form = rita_b.get(&format!("{roles}/new")).await;
    assert!(
        form.body
            .contains("value=\"devices.edit\" aria-label=\"Devices: edit\" disabled")
    );
    let stronger = rita_b
        .post(
            &roles,
            &[
                ("name", "Editor"),
                ("permissions", "tenant.view"),
                ("permissions", "devices.edit"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(stronger.status, StatusCode::FORBIDDEN);
    assert!(stronger.body.contains("Devices: edit"), "{}", stronger.body);
    let wider = rita_b
        .post(
            &roles,
            &[
                ("name", "Wide"),
                ("permissions", "tenant.view"),
                ("permissions", "devices.view"),
                ("reach", "subtree"),
            ],
        )
        .await;
    assert_eq!(wider.status, StatusCode::FORBIDDEN);
    assert_eq!(count(), 1, "nothing stored");
    let fine = rita_b
        .post(
            &roles,
            &[
                ("name", "Looker"),
                ("permissions", "tenant.view"),
                ("permissions", "devices.view"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(fine.status, StatusCode::SEE_OTHER);

    // Built-in roles are read only; her own role is someone else's to change.
    let viewer = format!("{roles}/{}", Role::Viewer.id());
    let preset = rita_b
        .post(
            &viewer,
            &[
                ("name", "Viewer"),
                ("permissions", "tenant.view"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(preset.status, StatusCode::FORBIDDEN);
    assert!(preset.body.contains("Built-in roles cannot be changed."));
    assert_eq!(
        rita_b.get(&format!("{viewer}/delete")).await.status,
        StatusCode::NOT_FOUND
    );
    let own = rita_b
        .post(
            &format!("{roles}/{manager}"),
            &[
                ("name", "Role manager"),
                ("permissions", "tenant.view"),
                ("reach", "tenant"),
            ],
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    assert!(own.body.contains("You hold this role yourself"));
}

#[tokio::test]
async fn roles_reach_sub_tenants_only_when_offered_and_never_other_trees() {
    use canopy::domain::roles::Role;
    use reqwest::StatusCode;
    let app = crate::helpers::spawn_app().await;
    let acme = app.root("Acme");
    let uk = app.child(&acme, "Acme UK");
    let other = app.root("Other Co");
    app.user("ann@acme.example", &acme, Role::Admin);
    let uma = app.user("uma@acme.example", &uk, Role::Viewer);
    app.user("otto@other.example", &other, Role::Admin);
    let otis = app.user("otis@other.example", &other, Role::Viewer);
    let all = Permissions::of(&[Permission::TenantView, Permission::DevicesView]);
    let regional = role_with(&app, acme.id, "Regional", all, RoleReach::Tenant, true);
    let local = role_with(&app, acme.id, "Local", all, RoleReach::Tenant, false);
    let mut ann = app.signed_in("ann@acme.example").await;

    let below = ann.get(&format!("/tenants/{}/roles", uk.id)).await;
    assert!(below.body.contains("Regional"));
    assert!(!below.body.contains("Local"));
    assert_eq!(
        ann.get(&format!("/tenants/{}/roles/{local}", uk.id))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let not_offered = ann
        .post(
            &format!("/tenants/{}/members/{uma}/role", uk.id),
            &[("role", &local.to_string())],
        )
        .await;
    assert_eq!(not_offered.status, StatusCode::NOT_FOUND);
    let offered = ann
        .post(
            &format!("/tenants/{}/members/{uma}/role", uk.id),
            &[("role", &regional.to_string())],
        )
        .await;
    assert_eq!(offered.status, StatusCode::SEE_OTHER, "{}", offered.body);

    // Another tree knows neither.
    let mut otto = app.signed_in("otto@other.example").await;
    for id in [regional, local] {
        let page = otto.get(&format!("/tenants/{}/roles/{id}", other.id)).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(!page.body.contains("Regional") && !page.body.contains("Acme"));
        let given = otto
            .post(
                &format!("/tenants/{}/members/{otis}/role", other.id),
                &[("role", &id.to_string())],
            )
            .await;
        assert_eq!(given.status, StatusCode::NOT_FOUND);
        let invited = otto
            .post(
                &format!("/tenants/{}/invitations", other.id),
                &[("email", "z@other.example"), ("role", &id.to_string())],
            )
            .await;
        assert_eq!(invited.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        app.count("SELECT count(*) AS n FROM invitations WHERE email = 'z@other.example'"),
        0
    );
}
