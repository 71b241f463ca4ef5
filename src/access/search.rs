//! What a search may look through: for each kind of object, the parts of the tree where the
//! caller holds the permission to see it (`memberships::Window`), and the names of the tenants
//! on a result's path that the caller reaches (for its breadcrumbs).
use std::collections::HashMap;

use diesel::PgConnection;

use super::Access;
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::memberships::Window;
use crate::domain::permissions::Permission;
use crate::domain::roles::RoleReach;
use crate::domain::search::Scope;
use crate::domain::tenants;

impl Access {
    /// The search scope: a grant adds its tenant (and everything below it, for a role that
    /// reaches the subtree) to the windows of each kind its permissions show; a membership
    /// limited to groups adds only its groups' devices.
    pub fn search_scope(&self) -> Scope {
        Scope {
            tenants: self.windows(Permission::TenantView),
            devices: self.windows(Permission::DevicesView),
            people: self.windows(Permission::MembersView),
            contacts: self.windows(Permission::ContactsView),
        }
    }

    fn windows(&self, p: Permission) -> Vec<Window> {
        self.grants
            .iter()
            .filter(|g| g.permissions().has(p))
            .map(|g| Window {
                path: g.tenant_path.clone(),
                subtree: g.role.reach == RoleReach::Subtree,
                groups: if p == Permission::DevicesView {
                    g.groups.clone()
                } else {
                    None
                },
            })
            .collect()
    }

    /// The names of the tenants on these paths that the caller reaches: a result's
    /// breadcrumbs show those and nothing above them.
    pub fn crumb_names<'a>(
        &self,
        conn: &mut PgConnection,
        paths: impl Iterator<Item = &'a [TenantId]>,
    ) -> Result<HashMap<TenantId, String>, DomainError> {
        let mut ids: Vec<TenantId> = Vec::new();
        for path in paths {
            for n in 1..=path.len() {
                if self.reaches(&path[..n]) && !ids.contains(&path[n - 1]) {
                    ids.push(path[n - 1]);
                }
            }
        }
        Ok(tenants::find_many(conn, &ids)?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect())
    }
}
