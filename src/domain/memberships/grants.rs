//! The access rule, over a user's grants: a membership of T with a role whose reach is the
//! tenant gives its permissions at T; one whose reach is the subtree gives them at T and at
//! every tenant below. What applies at a tenant is the union of the grants that reach it.
use diesel::prelude::*;

use crate::domain::error::DomainError;
use crate::domain::ids::{GroupId, RoleId, TenantId, UserId};
use crate::domain::permissions::{Permission, Permissions};
use crate::domain::roles::{RoleGrant, RoleReach};

/// One of a user's memberships with what the access layer needs of its tenant and role.
#[derive(Debug, Clone)]
pub struct Grant {
    pub tenant_id: TenantId,
    pub tenant_path: Vec<TenantId>,
    pub role: RoleGrant,
    pub tenant_name: String,
    /// `Some` when the membership is limited to groups: the holder's groups in its tenant
    /// (possibly none). Such a grant sees only those groups' devices (`seen`) and withholds
    /// the permissions that would widen that (`LIMIT_WITHHOLDS`).
    pub groups: Option<Vec<GroupId>>,
    /// The security policy in force at its tenant (`domain::policies`): whether it requires
    /// two-factor sign-in, and its idle timeout in minutes, if shorter than the portal's.
    pub requires_two_factor: bool,
    pub idle_minutes: Option<i32>,
}

/// What a membership limited to groups does not give, whatever its role holds: each would let
/// its holder reach devices outside their groups — adding devices to groups, creating or
/// importing devices, inviting people (who would not be limited), and the tenant-wide
/// records that name every device (audit log, usage), and schedules and contacts, which act on
/// every device of the tenant, and the webhook, which carries every alert.
pub const LIMIT_WITHHOLDS: [Permission; 10] = [
    Permission::GroupsManage,
    Permission::DevicesCreate,
    Permission::DevicesImport,
    Permission::MembersInvite,
    Permission::AuditView,
    Permission::AuditExport,
    Permission::UsageView,
    Permission::SchedulesManage,
    Permission::ContactsManage,
    Permission::AlertsWebhook,
];

impl Grant {
    /// The permissions this grant gives where it applies.
    pub fn permissions(&self) -> Permissions {
        if self.groups.is_some() {
            self.role
                .permissions
                .without(Permissions::of(&LIMIT_WITHHOLDS))
        } else {
            self.role.permissions
        }
    }

    pub fn applies_at(&self, path: &[TenantId]) -> bool {
        match self.role.reach {
            RoleReach::Tenant => path.last() == Some(&self.tenant_id),
            RoleReach::Subtree => path.starts_with(&self.tenant_path),
        }
    }
}

/// What applies at one tenant: the permissions of every grant that reaches it, and whether
/// one of them reaches below it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At {
    pub permissions: Permissions,
    pub reach: RoleReach,
}

/// What applies at the tenant at `path`; `None` when no grant reaches it (out of reach).
pub fn at(grants: &[Grant], path: &[TenantId]) -> Option<At> {
    grants
        .iter()
        .filter(|g| g.applies_at(path))
        .fold(None, |acc: Option<At>, g| {
            let here = At {
                permissions: g.permissions(),
                reach: g.role.reach,
            };
            Some(match acc {
                None => here,
                Some(a) => At {
                    permissions: a.permissions.union(here.permissions),
                    reach: if a.reach == RoleReach::Subtree || here.reach == RoleReach::Subtree {
                        RoleReach::Subtree
                    } else {
                        RoleReach::Tenant
                    },
                },
            })
        })
}

/// The names of the roles whose grants apply at `path`, strongest reach first.
pub fn role_names_at(grants: &[Grant], path: &[TenantId]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut applying: Vec<&Grant> = grants.iter().filter(|g| g.applies_at(path)).collect();
    applying.sort_by_key(|g| g.role.reach != RoleReach::Subtree);
    for g in applying {
        if !names.contains(&g.role.name.as_str()) {
            names.push(&g.role.name);
        }
    }
    names.join(", ")
}

/// The tenants at the top of a user's reach: grants not inside another's subtree reach.
pub fn tops(grants: &[Grant]) -> Vec<TenantId> {
    grants
        .iter()
        .filter(|g| {
            !grants.iter().any(|o| {
                o.role.reach == RoleReach::Subtree
                    && o.tenant_id != g.tenant_id
                    && g.tenant_path.starts_with(&o.tenant_path)
            })
        })
        .map(|g| g.tenant_id)
        .collect()
}

/// Where a user lands: the membership they last switched to, else their first top.
pub fn home(last_tenant: Option<TenantId>, grants: &[Grant]) -> Option<TenantId> {
    last_tenant
        .filter(|id| grants.iter().any(|g| g.tenant_id == *id))
        .or_else(|| tops(grants).first().copied())
}

/// The user's memberships whose tenant, and every tenant above it, is active (the same
/// statement as `user_with_grants`).
pub fn active_grants(conn: &mut PgConnection, user_id: UserId) -> Result<Vec<Grant>, DomainError> {
    Ok(user_with_grants(conn, user_id)?
        .map(|(_, grants)| grants)
        .unwrap_or_default())
}

/// One row of `user_with_grants`: the user, and one of their active memberships (if any).
#[derive(QueryableByName)]
struct UserGrantRow {
    #[diesel(embed)]
    user: crate::domain::users::User,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    tenant_id: Option<TenantId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Uuid>>)]
    tenant_path: Option<Vec<TenantId>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    role_id: Option<RoleId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Text>>)]
    role_permissions: Option<Vec<String>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role_reach: Option<RoleReach>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    tenant_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Uuid>>)]
    groups: Option<Vec<GroupId>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    requires_two_factor: Option<bool>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    idle_minutes: Option<i32>,
}

/// A user and their active grants (as `active_grants`) in one statement, for every request.
pub fn user_with_grants(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<(crate::domain::users::User, Vec<Grant>)>, DomainError> {
    // A grant counts only while its tenant and every tenant above it are active.
    let rows: Vec<UserGrantRow> = crate::db::prepared::prepared(
        "SELECT u.id, u.email, u.display_name, u.password_hash, u.status, u.last_sign_in_at, \
                u.last_tenant_id, u.time_zone, u.totp_secret IS NOT NULL AS second_factor, g.tenant_id, g.tenant_path, g.role_id, g.role_name, \
                g.role_permissions, g.role_reach, g.tenant_name, g.groups, \
                g.requires_two_factor, g.idle_minutes \
         FROM users u LEFT JOIN LATERAL ( \
             SELECT m.tenant_id, tenants.traversal_ids AS tenant_path, m.role_id, \
                    r.name AS role_name, r.permissions AS role_permissions, \
                    r.reach AS role_reach, tenants.name AS tenant_name, \
                    CASE WHEN m.limited_to_groups THEN ARRAY(SELECT gm.group_id \
                        FROM group_members gm WHERE gm.user_id = m.user_id \
                        AND gm.tenant_id = m.tenant_id) END AS groups, \
                    EXISTS (SELECT 1 FROM security_policies p WHERE p.require_two_factor \
                        AND p.tenant_id = ANY(tenants.traversal_ids)) AS requires_two_factor, \
                    (SELECT min(p.idle_minutes) FROM security_policies p \
                        WHERE p.tenant_id = ANY(tenants.traversal_ids)) AS idle_minutes \
             FROM memberships m JOIN tenants ON tenants.id = m.tenant_id \
                  JOIN roles r ON r.id = m.role_id \
             WHERE m.user_id = u.id AND NOT EXISTS (SELECT 1 FROM tenants s \
                 WHERE s.id = ANY(tenants.traversal_ids) AND s.status = 'suspended') \
         ) g ON true \
         WHERE u.id = $1 ORDER BY g.tenant_name",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .load(conn)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = first.user.clone();
    let grants = rows
        .into_iter()
        .filter_map(|r| {
            Some(Grant {
                tenant_id: r.tenant_id?,
                tenant_path: r.tenant_path?,
                role: RoleGrant::loaded(
                    r.role_id?,
                    r.role_name?,
                    &r.role_permissions?,
                    r.role_reach?,
                ),
                tenant_name: r.tenant_name?,
                groups: r.groups,
                requires_two_factor: r.requires_two_factor.unwrap_or(false),
                idle_minutes: r.idle_minutes,
            })
        })
        .collect();
    Ok(Some((user, grants)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::permissions::Permission;

    fn grant(path: &[TenantId], permissions: &[Permission], reach: RoleReach) -> Grant {
        let name = if reach == RoleReach::Subtree {
            "Regional"
        } else {
            "Local"
        };
        Grant {
            tenant_id: *path.last().unwrap(),
            tenant_path: path.to_vec(),
            role: RoleGrant {
                id: RoleId::new(),
                name: name.into(),
                permissions: Permissions::of(permissions),
                reach,
            },
            tenant_name: "t".into(),
            groups: None,
            requires_two_factor: false,
            idle_minutes: None,
        }
    }

    #[test]
    fn what_applies_is_the_union_of_the_grants_that_reach_a_tenant() {
        let (a, b, c, z) = (
            TenantId::new(),
            TenantId::new(),
            TenantId::new(),
            TenantId::new(),
        );
        let above = grant(&[a], &[Permission::TenantView], RoleReach::Subtree);
        let here = grant(&[a, b], &[Permission::DevicesEdit], RoleReach::Tenant);
        for grants in [
            vec![above.clone(), here.clone()],
            vec![here.clone(), above.clone()],
        ] {
            let at_b = at(&grants, &[a, b]).unwrap();
            assert_eq!(
                at_b.permissions,
                Permissions::of(&[Permission::TenantView, Permission::DevicesEdit])
            );
            assert_eq!(
                at_b.reach,
                RoleReach::Subtree,
                "the subtree grant reaches below b"
            );
            let at_c = at(&grants, &[a, b, c]).unwrap();
            assert_eq!(at_c.permissions, Permissions::of(&[Permission::TenantView]));
            assert_eq!(at(&grants, &[a]).unwrap().permissions, at_c.permissions);
            assert_eq!(at(&grants, &[z]), None);
        }
        // Tenant reach stops at its tenant.
        let only_here = vec![here];
        assert_eq!(at(&only_here, &[a, b]).unwrap().reach, RoleReach::Tenant);
        assert_eq!(at(&only_here, &[a, b, c]), None);
        assert_eq!(at(&only_here, &[a]), None);
        assert_eq!(tops(&only_here), vec![b]);
        let both = vec![above, only_here[0].clone()];
        assert_eq!(tops(&both), vec![a], "b lies inside a's subtree reach");
        // The role reaching furthest is named first, whatever the order of the grants.
        assert_eq!(role_names_at(&both, &[a, b]), "Regional, Local");
        // Home: the tenant last switched to while it is one of the memberships, else a top.
        assert_eq!(home(Some(b), &both), Some(b));
        assert_eq!(home(Some(z), &both), Some(a));
        assert_eq!(home(None, &both), Some(a));
        let reversed = vec![both[1].clone(), both[0].clone()];
        assert_eq!(role_names_at(&reversed, &[a, b]), "Regional, Local");
    }
}
