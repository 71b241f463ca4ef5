//! Which devices a caller sees, and what they may do with one: a grant that is not limited to
//! groups admits every device where it applies; a limited one only the devices of its
//! holder's groups (`Grant::groups`). Worked out from the grants already loaded: a caller
//! without limits costs no statement and no allocation.
use super::grants::{At, Grant};
use crate::domain::ids::{GroupId, TenantId};
use crate::domain::roles::RoleReach;

/// The devices seen in a list's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// Every device in the scope.
    All,
    /// Only the devices inside one of these windows (and the scope).
    Only(Vec<Window>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Devices of this tenant, and of every tenant below it when `subtree`.
    pub path: Vec<TenantId>,
    pub subtree: bool,
    /// `None`: every device there; `Some`: only the devices of these groups.
    pub groups: Option<Vec<GroupId>>,
}

/// The devices seen at the tenant at `path` alone, or in its whole subtree.
pub fn seen(grants: &[Grant], path: &[TenantId], subtree: bool) -> Seen {
    let whole = |g: &Grant| g.groups.is_none() && (!subtree || g.role.reach == RoleReach::Subtree);
    if grants.iter().any(|g| g.applies_at(path) && whole(g)) {
        return Seen::All;
    }
    if !subtree {
        let mut groups: Vec<GroupId> = grants
            .iter()
            .filter(|g| g.applies_at(path))
            .flat_map(|g| g.groups.iter().flatten().copied())
            .collect();
        groups.sort();
        groups.dedup();
        return Seen::Only(vec![Window {
            path: path.to_vec(),
            subtree: false,
            groups: Some(groups),
        }]);
    }
    Seen::Only(
        grants
            .iter()
            .filter(|g| g.applies_at(path) || g.tenant_path.starts_with(path))
            .map(|g| {
                let below = g.role.reach == RoleReach::Subtree;
                Window {
                    // A grant from above covers the scope from its top.
                    path: if below && g.applies_at(path) {
                        path.to_vec()
                    } else {
                        g.tenant_path.clone()
                    },
                    subtree: below,
                    groups: g.groups.clone(),
                }
            })
            .collect(),
    )
}

/// Whether a grant limited to groups applies at `path`: only then do a device's groups matter.
pub fn limited_at(grants: &[Grant], path: &[TenantId]) -> bool {
    grants
        .iter()
        .any(|g| g.groups.is_some() && g.applies_at(path))
}

/// What applies to a device at `path` that belongs to `device_groups`: the union of the grants
/// that apply there and admit it; `None` when none does (the device is out of reach).
pub fn at_device(grants: &[Grant], path: &[TenantId], device_groups: &[GroupId]) -> Option<At> {
    let admitting: Vec<Grant> = grants
        .iter()
        .filter(|g| {
            g.applies_at(path)
                && g.groups
                    .as_ref()
                    .is_none_or(|mine| mine.iter().any(|id| device_groups.contains(id)))
        })
        .cloned()
        .collect();
    super::grants::at(&admitting, path)
}

/// The grants at `path` whose limit to groups withholds `p` although their role holds it.
pub fn withheld_at(
    grants: &[Grant],
    path: &[TenantId],
    p: crate::domain::permissions::Permission,
) -> bool {
    grants
        .iter()
        .any(|g| g.applies_at(path) && g.role.permissions.has(p) && !g.permissions().has(p))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::ids::RoleId;
    use crate::domain::permissions::{Permission, Permissions};
    use crate::domain::roles::RoleGrant;

    fn grant(path: &[TenantId], reach: RoleReach, groups: Option<Vec<GroupId>>) -> Grant {
        Grant {
            tenant_id: *path.last().unwrap(),
            tenant_path: path.to_vec(),
            role: RoleGrant {
                id: RoleId::new(),
                name: "r".into(),
                permissions: Permissions::of(&[Permission::DevicesView, Permission::GroupsManage]),
                reach,
            },
            tenant_name: "t".into(),
            groups,
            requires_two_factor: false,
            idle_minutes: None,
        }
    }

    #[test]
    fn a_limited_grant_sees_its_groups_and_an_unlimited_one_everything() {
        let (a, b) = (TenantId::new(), TenantId::new());
        let (g1, g2) = (GroupId::new(), GroupId::new());
        let limited = grant(&[a], RoleReach::Subtree, Some(vec![g1]));
        assert_eq!(
            seen(&[], &[a], false),
            Seen::Only(vec![Window {
                path: vec![a],
                subtree: false,
                groups: Some(vec![]),
            }])
        );
        assert_eq!(
            seen(std::slice::from_ref(&limited), &[a], false),
            Seen::Only(vec![Window {
                path: vec![a],
                subtree: false,
                groups: Some(vec![g1]),
            }])
        );
        // Below a limited grant: its groups still decide (none of them lives there).
        let below = seen(std::slice::from_ref(&limited), &[a, b], true);
        assert_eq!(
            below,
            Seen::Only(vec![Window {
                path: vec![a, b],
                subtree: true,
                groups: Some(vec![g1]),
            }])
        );
        // An unlimited grant inside the subtree opens its own part only.
        let inside = grant(&[a, b], RoleReach::Tenant, None);
        let both = [limited.clone(), inside.clone()];
        assert_eq!(seen(&both, &[a, b], false), Seen::All);
        match seen(&both, &[a], true) {
            Seen::Only(w) => assert_eq!(w.len(), 2),
            Seen::All => panic!("the limit was lost"),
        }
        // An unlimited subtree grant from above lifts every limit below it.
        let above = grant(&[a], RoleReach::Subtree, None);
        assert_eq!(seen(&[limited.clone(), above], &[a, b], true), Seen::All);
        // A device is admitted by the grants whose groups it is in.
        assert!(at_device(std::slice::from_ref(&limited), &[a], &[g1]).is_some());
        assert!(at_device(std::slice::from_ref(&limited), &[a], &[g2]).is_none());
        assert!(at_device(&both, &[a, b], &[]).is_some());
        assert!(limited_at(&both, &[a]) && !limited_at(&[inside], &[a, b]));
        // The limit withholds what would widen it, and the 403 can say so.
        assert!(!limited.permissions().has(Permission::GroupsManage));
        assert!(withheld_at(&[limited], &[a], Permission::GroupsManage));
    }
}
