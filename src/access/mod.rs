//! The request's access: who is asking, which tenants they reach and what they may do there.
//! Every query for tenant-owned data starts here; a tenant outside the reach is `NotFound`,
//! exactly like a tenant that does not exist; within reach but without the permission is
//! `NotAllowed`, naming the permission.
//!
//! The rule (`memberships::at`): a membership of T reaches T, and every tenant below T when
//! its role's reach is the subtree; what applies at a tenant is the union of the permissions
//! of the grants that reach it. Memberships in a suspended tenant (or below one) grant
//! nothing. Moving, suspending or deleting a tenant is decided one level up: it needs
//! `tenant.restructure` at the parent.
mod devices;
mod people;
mod search;
mod views;

pub use people::Grantable;

use diesel::PgConnection;

use crate::domain::api_keys::ApiKey;
use crate::domain::audit::Actor;
use crate::domain::branding::{self, Brand};
use crate::domain::error::DomainError;
use crate::domain::ids::{GroupId, TenantId, UserId};
use crate::domain::memberships::{self, At, Grant, Seen};
use crate::domain::permissions::{Permission, Permissions};
use crate::domain::roles::{RoleGrant, RoleReach};
use crate::domain::tenants::{self, Tenant};
use crate::domain::users::User;

/// The caller, loaded once per request: who they are and their grants. It caches nothing.
#[derive(Debug, Clone)]
pub struct Access {
    pub user: User,
    pub grants: Vec<Grant>,
    pub actor: Actor,
}

/// The proof that the caller reaches a tenant, with what applies there. Only this module
/// makes one (its fields are private), so a query that takes a `Reached` cannot be given an
/// id nobody checked.
#[derive(Debug, Clone)]
pub struct Reached {
    tenant: Tenant,
    at: At,
    /// The devices seen at this tenant alone, and in its subtree (`memberships::seen`).
    seen: Seen,
    seen_below: Seen,
}

impl Reached {
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }
    pub fn into_tenant(self) -> Tenant {
        self.tenant
    }
    pub fn id(&self) -> TenantId {
        self.tenant.id
    }
    pub fn path(&self) -> &[TenantId] {
        &self.tenant.traversal_ids
    }
    /// The customer this tenant's rows belong to.
    pub fn customer(&self) -> crate::domain::ids::CustomerId {
        self.tenant.customer()
    }
    /// The one customer of everything at and below this tenant; `None` at the operator's
    /// root, whose subtree spans every customer.
    pub fn scope(&self) -> Option<crate::domain::ids::CustomerId> {
        crate::domain::ids::CustomerId::reaching(self.path())
    }
    /// What the caller may do here.
    pub fn permissions(&self) -> Permissions {
        self.at.permissions
    }
    pub fn may(&self, p: Permission) -> bool {
        self.at.permissions.has(p)
    }
    /// Whether the caller reaches the tenants below this one too.
    pub fn sees_below(&self) -> bool {
        self.at.reach == RoleReach::Subtree
    }
    pub fn reach(&self) -> RoleReach {
        self.at.reach
    }
    /// Whether the caller sees every device here and below: what a subtree's history and
    /// usage, which name and count them all, need.
    pub fn sees_all_below(&self) -> bool {
        self.sees_below() && self.seen_below == Seen::All
    }
    /// The devices the caller sees here (`subtree`: here and below).
    pub fn seen(&self, subtree: bool) -> &Seen {
        if subtree {
            &self.seen_below
        } else {
            &self.seen
        }
    }
    /// The groups a membership limited to groups confines the caller to at this tenant;
    /// `None` when the caller sees all of its devices.
    pub fn limited_to_groups(&self) -> Option<&[GroupId]> {
        match &self.seen {
            Seen::All => None,
            Seen::Only(windows) => Some(
                windows
                    .first()
                    .and_then(|w| w.groups.as_deref())
                    .unwrap_or_default(),
            ),
        }
    }
    /// Whether `other` lies in this tenant's subtree (itself included).
    pub fn contains(&self, other: &Reached) -> bool {
        other.path().starts_with(self.path())
    }
}

/// A tenant reached by work that no person asked for — the CLI, the demo data, tests — which
/// may do everything everywhere. The web layer never calls it (a test reads `src/web/` to make
/// sure): requests reach tenants through `Access` only.
pub fn system_reach(conn: &mut PgConnection, id: TenantId) -> Result<Reached, DomainError> {
    let tenant = tenants::find(conn, id)?.ok_or(DomainError::NotFound)?;
    Ok(Reached {
        tenant,
        at: At {
            permissions: Permissions::all(),
            reach: RoleReach::Subtree,
        },
        seen: Seen::All,
        seen_below: Seen::All,
    })
}

impl Access {
    /// Loads an active user's access; `None` when the user is gone or disabled.
    pub fn load(
        conn: &mut PgConnection,
        user_id: UserId,
        client_addr: Option<String>,
    ) -> Result<Option<Self>, DomainError> {
        let Some((user, grants)) = memberships::user_with_grants(conn, user_id)? else {
            return Ok(None);
        };
        if !user.is_active() {
            return Ok(None);
        }
        Ok(Some(Self {
            actor: Actor {
                api_key: None,
                user_id: Some(user.id),
                client_addr,
            },
            user,
            grants,
        }))
    }

    /// A program's access through an API key made at the tenant at `path`: its creator's
    /// grants that apply there, each re-rooted at that tenant (so nothing above or beside it
    /// is reached) and cut down to the key's role, in permissions and in reach. Read afresh on
    /// every request, so demoting the creator limits the key at once. `None` when the creator
    /// is disabled or no longer reaches the tenant.
    pub fn for_key(
        conn: &mut PgConnection,
        key: &ApiKey,
        path: &[TenantId],
        client_addr: Option<String>,
    ) -> Result<Option<Self>, DomainError> {
        let Some(mut access) = Self::load(conn, key.user_id, client_addr)? else {
            return Ok(None);
        };
        let role = crate::domain::roles::custom::grant_of(conn, key.role_id)?;
        let grants: Vec<Grant> = access
            .grants
            .iter()
            .filter(|g| g.applies_at(path))
            .map(|g| {
                let mut g = g.clone();
                g.role = RoleGrant {
                    id: role.id,
                    name: role.name.clone(),
                    permissions: role.permissions.intersection(g.role.permissions),
                    reach: if role.reach == RoleReach::Subtree && g.role.reach == RoleReach::Subtree
                    {
                        RoleReach::Subtree
                    } else {
                        RoleReach::Tenant
                    },
                };
                g.tenant_id = key.tenant_id;
                g.tenant_path = path.to_vec();
                g
            })
            .collect();
        if grants.is_empty() {
            return Ok(None);
        }
        access.grants = grants;
        access.actor.api_key = Some(key.id);
        Ok(Some(access))
    }

    /// Whether a tenant the caller belongs to requires two-factor sign-in and they have none:
    /// they may do nothing but set it up (or sign out).
    pub fn must_enrol(&self) -> bool {
        !self.user.second_factor && self.grants.iter().any(|g| g.requires_two_factor)
    }

    /// The shortest idle timeout, in minutes, that a tenant the caller belongs to sets.
    pub fn idle_minutes(&self) -> Option<i32> {
        self.grants.iter().filter_map(|g| g.idle_minutes).min()
    }

    /// What applies at the tenant at `path`; `None` when it is out of reach.
    pub fn at(&self, path: &[TenantId]) -> Option<At> {
        memberships::at(&self.grants, path)
    }

    /// The names of the caller's roles that apply at `reached`, as "Your role here" says it.
    pub fn role_names(&self, reached: &Reached) -> String {
        memberships::role_names_at(&self.grants, reached.path())
    }

    /// Whether the tenant at `path` is in reach.
    pub fn reaches(&self, path: &[TenantId]) -> bool {
        self.at(path).is_some()
    }

    /// Whether the caller holds `p` at the tenant at `path` (for checks repeated inside a
    /// transaction on rows it has locked, whose paths may have changed since the request began).
    pub fn permits(&self, path: &[TenantId], p: Permission) -> bool {
        if p == Permission::TenantRestructure {
            return self.may_restructure(path);
        }
        self.holds(path, p)
    }

    /// Whether `p` is among the permissions that apply at the tenant at `path` itself.
    pub fn holds(&self, path: &[TenantId], p: Permission) -> bool {
        self.at(path).is_some_and(|a| a.permissions.has(p))
    }

    /// A tenant that a subtree may be moved under: in reach, and the caller holds
    /// `tenant.restructure` there (its children are theirs to arrange).
    pub fn move_target(
        &self,
        conn: &mut PgConnection,
        id: TenantId,
    ) -> Result<Reached, DomainError> {
        let target = self.tenant(conn, id)?;
        if !self.holds(target.path(), Permission::TenantRestructure) {
            return Err(DomainError::NotAllowed(format!(
                "Moving a tenant under {:?} needs the permission “{}” there.",
                target.tenant.name,
                Permission::TenantRestructure
            )));
        }
        Ok(target)
    }

    /// Whether the caller may move, suspend or delete the tenant at `path`: decided at its
    /// parent, so a root is restructured by nobody and nobody restructures their own top.
    pub fn may_restructure(&self, path: &[TenantId]) -> bool {
        path.split_last()
            .is_some_and(|(_, parent)| self.holds(parent, Permission::TenantRestructure))
    }

    fn reached(&self, tenant: Tenant) -> Result<Reached, DomainError> {
        let at = self
            .at(&tenant.traversal_ids)
            .ok_or(DomainError::NotFound)?;
        Ok(Reached {
            seen: memberships::seen(&self.grants, &tenant.traversal_ids, false),
            seen_below: memberships::seen(&self.grants, &tenant.traversal_ids, true),
            tenant,
            at,
        })
    }

    /// The tenant if it is in reach; `NotFound` otherwise.
    pub fn tenant(&self, conn: &mut PgConnection, id: TenantId) -> Result<Reached, DomainError> {
        let tenant = tenants::find(conn, id)?.ok_or(DomainError::NotFound)?;
        self.reached(tenant)
    }

    /// The tenant if it is in reach and `p` is held there: 404 outside, 403 inside.
    pub fn tenant_for(
        &self,
        conn: &mut PgConnection,
        id: TenantId,
        p: Permission,
    ) -> Result<Reached, DomainError> {
        let reached = self.tenant(conn, id)?;
        self.check(&reached, p)?;
        Ok(reached)
    }

    /// `tenant` with the brand the tenant shows, in the same one statement: for pages, which
    /// check what they need of it (`check`).
    pub fn tenant_with_brand(
        &self,
        conn: &mut PgConnection,
        id: TenantId,
    ) -> Result<(Reached, Brand), DomainError> {
        let (tenant, brand) =
            branding::tenant_with_brand(conn, id)?.ok_or(DomainError::NotFound)?;
        Ok((self.reached(tenant)?, brand))
    }

    /// Whether `p` applies to what `reached` stands for: the tenant, or one of its devices
    /// (`device_reached`), whose grants may be narrower.
    pub fn allows(&self, reached: &Reached, p: Permission) -> bool {
        if p == Permission::TenantRestructure {
            return self.may_restructure(reached.path());
        }
        reached.may(p)
    }

    pub fn check(&self, reached: &Reached, p: Permission) -> Result<(), DomainError> {
        if self.allows(reached, p) {
            return Ok(());
        }
        Err(DomainError::NotAllowed(match p {
            Permission::TenantRestructure => format!(
                "Moving, suspending or deleting {:?} is decided at the tenant above it: it needs \
                 the permission “{p}” there.",
                reached.tenant.name
            ),
            _ if memberships::withheld_at(&self.grants, reached.path(), p) => format!(
                "This needs the permission “{p}”: your role holds it, but your membership here \
                 is limited to groups, which withholds it."
            ),
            _ => format!("This needs the permission “{p}”, which your role here does not hold."),
        }))
    }

    /// One of the caller's own memberships (the switcher offers nothing else); `NotFound`
    /// for any other tenant, even one reached through a grant above it.
    pub fn own_membership(&self, id: TenantId) -> Result<TenantId, DomainError> {
        self.grants
            .iter()
            .find(|g| g.tenant_id == id)
            .map(|g| g.tenant_id)
            .ok_or(DomainError::NotFound)
    }

    /// Where the caller lands (see `memberships::home`).
    pub fn home(&self) -> Option<TenantId> {
        memberships::home(self.user.last_tenant_id, &self.grants)
    }

    /// The tenants at the top of the caller's reach.
    pub fn tops(&self) -> Vec<TenantId> {
        memberships::tops(&self.grants)
    }
}
