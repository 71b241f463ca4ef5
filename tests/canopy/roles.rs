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
        let mut theirs = Permissions::of(
            &rng.permissions()
                .iter()
                .filter(|p| mine.has(*p))
                .collect::<Vec<_>>(),
        );
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
            Err(RoleError::Invalid(e)) => assert!(theirs.is_empty(), "{what}: {e:?}"),
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
        let invited = invitations::invite(&mut conn, &access, &reached, &email, proposed, &mail);
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
