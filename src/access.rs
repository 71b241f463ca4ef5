//! The request's access: who is asking and which tenants they reach. Every query for
//! tenant-owned data starts here; a tenant outside the reach is `NotFound`, exactly like a
//! tenant that does not exist.
//!
//! The rule: a member of T reaches T; an admin of T also reaches every tenant below T.
//! Memberships in a suspended tenant (or below one) grant nothing.
use std::collections::HashMap;

use diesel::PgConnection;

use crate::domain::audit::Actor;
use crate::domain::branding::{self, Brand};
use crate::domain::devices::{self, Device};
use crate::domain::error::DomainError;
use crate::domain::ids::{DeviceId, TenantId, UserId};
use crate::domain::memberships::{self, Grant};
use crate::domain::roles::Role;
use crate::domain::tenants::{self, Tenant, TreeNode};
use crate::domain::users::User;

#[derive(Debug, Clone)]
pub struct Access {
    pub user: User,
    pub grants: Vec<Grant>,
    pub actor: Actor,
}

/// The proof that the caller reaches a tenant, with the role that applies there. Only this
/// module makes one (its fields are private), so a query that takes a `Reached` cannot be
/// given an id nobody checked.
#[derive(Debug, Clone)]
pub struct Reached {
    tenant: Tenant,
    role: Role,
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
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
    /// Whether `other` lies in this tenant's subtree (itself included).
    pub fn contains(&self, other: &Reached) -> bool {
        other.path().starts_with(self.path())
    }
}

/// A tenant reached by work that no person asked for — the CLI, the demo data, tests — which
/// acts everywhere as an admin. The web layer never calls it (a test reads `src/web/` to make
/// sure): requests reach tenants through `Access` only.
pub fn system_reach(conn: &mut PgConnection, id: TenantId) -> Result<Reached, DomainError> {
    let tenant = tenants::find(conn, id)?.ok_or(DomainError::NotFound)?;
    Ok(Reached {
        tenant,
        role: Role::Admin,
    })
}

/// What the caller wants to do with a tenant they reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    View,
    /// Create sub-tenants, rename, see and manage the tenants below.
    Administer,
    /// Move, suspend or delete: decided by the parent's admins, not the tenant's own.
    Restructure,
    /// Create and edit devices, change their status, import them.
    OperateDevices,
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
                user_id: Some(user.id),
                client_addr,
            },
            user,
            grants,
        }))
    }

    /// The role that applies to the tenant at `path`, if it is in reach.
    pub fn role_on(&self, path: &[TenantId]) -> Option<Role> {
        memberships::role_at(&self.grants, path)
    }

    /// The tenant if it is in reach; `NotFound` otherwise.
    pub fn tenant(&self, conn: &mut PgConnection, id: TenantId) -> Result<Reached, DomainError> {
        let tenant = tenants::find(conn, id)?.ok_or(DomainError::NotFound)?;
        self.reached(tenant)
    }

    fn reached(&self, tenant: Tenant) -> Result<Reached, DomainError> {
        let role = self
            .role_on(&tenant.traversal_ids)
            .ok_or(DomainError::NotFound)?;
        Ok(Reached { tenant, role })
    }

    /// The tenant if it is in reach and `action` is allowed there: 404 outside, 403 inside.
    pub fn tenant_for(
        &self,
        conn: &mut PgConnection,
        id: TenantId,
        action: Action,
    ) -> Result<Reached, DomainError> {
        let reached = self.tenant(conn, id)?;
        self.check(&reached, action)?;
        Ok(reached)
    }

    /// `tenant_for` with the brand the tenant shows, in the same one statement: for pages.
    pub fn tenant_with_brand(
        &self,
        conn: &mut PgConnection,
        id: TenantId,
        action: Action,
    ) -> Result<(Reached, Brand), DomainError> {
        let (tenant, brand) =
            branding::tenant_with_brand(conn, id)?.ok_or(DomainError::NotFound)?;
        let reached = self.reached(tenant)?;
        self.check(&reached, action)?;
        Ok((reached, brand))
    }

    pub fn allows(&self, reached: &Reached, action: Action) -> bool {
        match action {
            Action::View => true,
            Action::Administer => reached.role == Role::Admin,
            Action::OperateDevices => reached.role >= Role::Operator,
            Action::Restructure => self.may_restructure(&reached.tenant.traversal_ids),
        }
    }

    /// Whether the caller administers the tenant at `path`: for checks repeated inside a
    /// transaction on rows it has locked, whose paths may have changed since the request began.
    pub fn administers(&self, path: &[TenantId]) -> bool {
        self.role_on(path) == Some(Role::Admin)
    }

    /// Whether the caller may move, suspend or delete the tenant at `path` (its parent's admin).
    pub fn may_restructure(&self, path: &[TenantId]) -> bool {
        // A root has no parent, so nobody restructures it.
        path.split_last()
            .is_some_and(|(_, parent)| self.administers(parent))
    }

    pub fn check(&self, reached: &Reached, action: Action) -> Result<(), DomainError> {
        if self.allows(reached, action) {
            return Ok(());
        }
        Err(DomainError::NotAllowed(match action {
            Action::View => "You cannot see this tenant.".into(),
            Action::Administer => "Only an admin of this tenant can do this.".into(),
            Action::OperateDevices => "Viewers can look at devices but not change them.".into(),
            Action::Restructure => format!(
                "Only an admin of the tenant above {:?} can move, suspend or delete it.",
                reached.tenant.name
            ),
        }))
    }

    /// A device in reach, with the role that applies to its tenant; `NotFound` otherwise.
    pub fn device(
        &self,
        conn: &mut PgConnection,
        id: DeviceId,
        action: Action,
    ) -> Result<(Device, Reached), DomainError> {
        let device = devices::find(conn, id)?.ok_or(DomainError::NotFound)?;
        self.role_on(&device.tenant_path)
            .ok_or(DomainError::NotFound)?;
        let reached = self.tenant_for(conn, device.tenant_id, action)?;
        Ok((device, reached))
    }

    /// Whether the caller may give `user_id`, a member of `reached`, the role `role`: never
    /// above their own, and never to themselves (another admin must do that).
    pub fn may_change_role(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
        role: Role,
    ) -> Result<(), DomainError> {
        self.check(reached, Action::Administer)?;
        if role > reached.role() {
            return Err(DomainError::NotAllowed(
                "You cannot grant a role above your own.".into(),
            ));
        }
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(
                "Ask another admin to change your own role.".into(),
            ));
        }
        memberships::role_in(conn, user_id, reached.id())?.ok_or(DomainError::NotFound)?;
        Ok(())
    }

    /// Whether the caller may end `user_id`'s membership of `reached`: not their own.
    pub fn may_remove(&self, reached: &Reached, user_id: UserId) -> Result<(), DomainError> {
        self.check(reached, Action::Administer)?;
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(
                "Ask another admin to remove your own membership.".into(),
            ));
        }
        Ok(())
    }

    /// Whether the caller may disable or enable `user_id`, a member of `reached`: never
    /// themselves, and only if they administer every tenant the person belongs to, so that no
    /// customer can lock out their provider's staff.
    pub fn may_set_status(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        user_id: UserId,
    ) -> Result<(), DomainError> {
        memberships::role_in(conn, user_id, reached.id())?.ok_or(DomainError::NotFound)?;
        if user_id == self.user.id {
            return Err(DomainError::NotAllowed(
                "You cannot disable yourself.".into(),
            ));
        }
        let everywhere = memberships::paths_of(conn, user_id)?;
        if everywhere
            .iter()
            .any(|p| self.role_on(p) != Some(Role::Admin))
        {
            return Err(DomainError::NotAllowed(
                "This person also belongs to tenants you do not administer; ask an admin above them."
                    .into(),
            ));
        }
        Ok(())
    }

    /// The names of those of `ids` the caller reaches — live tenants, and deleted ones by
    /// where they were ("… (deleted)"). The one place that decides which tenants a page may
    /// name; the others stay unnamed.
    pub fn names_in_reach(
        &self,
        conn: &mut PgConnection,
        ids: &[TenantId],
    ) -> Result<HashMap<TenantId, String>, DomainError> {
        let mut known: Vec<(TenantId, String, Vec<TenantId>)> = tenants::find_many(conn, ids)?
            .into_iter()
            .map(|t| (t.id, t.name, t.traversal_ids))
            .collect();
        let gone: Vec<TenantId> = ids
            .iter()
            .filter(|id| !known.iter().any(|k| k.0 == **id))
            .copied()
            .collect();
        if !gone.is_empty() {
            for (id, name, path) in tenants::find_deleted(conn, &gone)? {
                known.push((id, format!("{name} (deleted)"), path));
            }
        }
        Ok(known
            .into_iter()
            .filter(|(_, _, path)| self.role_on(path).is_some())
            .map(|(id, name, _)| (id, name))
            .collect())
    }

    /// One of the caller's own memberships (the switcher offers nothing else); `NotFound`
    /// for any other tenant, even one reached through an admin grant above it.
    pub fn own_membership(&self, id: TenantId) -> Result<TenantId, DomainError> {
        self.grants
            .iter()
            .find(|g| g.tenant_id == id)
            .map(|g| g.tenant_id)
            .ok_or(DomainError::NotFound)
    }

    /// A device in reach, whatever the role there (a list's cursor): one statement.
    pub fn device_seen(
        &self,
        conn: &mut PgConnection,
        id: DeviceId,
    ) -> Result<Device, DomainError> {
        let device = devices::find(conn, id)?.ok_or(DomainError::NotFound)?;
        self.role_on(&device.tenant_path)
            .ok_or(DomainError::NotFound)?;
        Ok(device)
    }

    /// Where the caller lands (see `memberships::home`).
    pub fn home(&self) -> Option<TenantId> {
        memberships::home(self.user.last_tenant_id, &self.grants)
    }

    /// The tenants at the top of the caller's reach (grants not inside an admin grant).
    pub fn tops(&self) -> Vec<TenantId> {
        memberships::tops(&self.grants)
    }

    pub fn top_nodes(&self, conn: &mut PgConnection) -> Result<Vec<TreeNode>, DomainError> {
        tenants::nodes(conn, &self.tops())
    }

    /// The children of a tenant: only its admins see below it.
    pub fn children(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        limit: i64,
    ) -> Result<Vec<TreeNode>, DomainError> {
        if reached.role != Role::Admin {
            return Ok(Vec::new());
        }
        tenants::children(conn, reached.tenant.id, limit)
    }

    /// The tenant's ancestors that the caller reaches, root first (for breadcrumbs).
    pub fn visible_ancestors(
        &self,
        conn: &mut PgConnection,
        tenant: &Tenant,
    ) -> Result<Vec<Tenant>, DomainError> {
        let path = &tenant.traversal_ids;
        let ids: Vec<TenantId> = (1..path.len())
            .filter(|&n| self.role_on(&path[..n]).is_some())
            .map(|n| path[n - 1])
            .collect();
        let mut found = tenants::find_many(conn, &ids)?;
        found.sort_by_key(|t| t.traversal_ids.len());
        Ok(found)
    }

    /// Tenants the subtree of `moving` may be moved under: administered, outside it.
    pub fn move_targets(
        &self,
        conn: &mut PgConnection,
        moving: &Tenant,
    ) -> Result<Vec<Tenant>, DomainError> {
        let mut targets = Vec::new();
        for grant in self.grants.iter().filter(|g| g.role == Role::Admin) {
            for t in tenants::subtree(conn, &grant.tenant_path)? {
                if !t.traversal_ids.contains(&moving.id)
                    && Some(t.id) != moving.parent_id
                    && !targets.iter().any(|x: &Tenant| x.id == t.id)
                {
                    targets.push(t);
                }
            }
        }
        Ok(targets)
    }
}
