//! What the caller's pages may show of the tree: names, ancestors, children, move targets.
use std::collections::HashMap;

use diesel::PgConnection;

use super::{Access, Reached};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::permissions::Permission;
use crate::domain::roles::RoleReach;
use crate::domain::tenants::{self, Tenant, TreeNode};

impl Access {
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
            .filter(|(_, _, path)| self.reaches(path))
            .map(|(id, name, _)| (id, name))
            .collect())
    }

    pub fn top_nodes(&self, conn: &mut PgConnection) -> Result<Vec<TreeNode>, DomainError> {
        tenants::nodes(conn, &self.tops())
    }

    /// The children of a tenant: only those who reach below it see them.
    pub fn children(
        &self,
        conn: &mut PgConnection,
        reached: &Reached,
        limit: i64,
    ) -> Result<Vec<TreeNode>, DomainError> {
        if !reached.sees_below() {
            return Ok(Vec::new());
        }
        tenants::children(conn, reached.id(), limit)
    }

    /// The tenant's ancestors that the caller reaches, root first (for breadcrumbs).
    pub fn visible_ancestors(
        &self,
        conn: &mut PgConnection,
        tenant: &Tenant,
    ) -> Result<Vec<Tenant>, DomainError> {
        let path = &tenant.traversal_ids;
        let ids: Vec<TenantId> = (1..path.len())
            .filter(|&n| self.reaches(&path[..n]))
            .map(|n| path[n - 1])
            .collect();
        let mut found = tenants::find_many(conn, &ids)?;
        found.sort_by_key(|t| t.traversal_ids.len());
        Ok(found)
    }

    /// Tenants the subtree of `moving` may be moved under: where the caller may restructure
    /// (a grant reaching the subtree with `tenant.restructure`), outside it.
    pub fn move_targets(
        &self,
        conn: &mut PgConnection,
        moving: &Tenant,
    ) -> Result<Vec<Tenant>, DomainError> {
        let mut targets = Vec::new();
        let holders = self.grants.iter().filter(|g| {
            g.role.reach == RoleReach::Subtree
                && g.role.permissions.has(Permission::TenantRestructure)
        });
        for grant in holders {
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
