//! Roles: a name, a set of permissions from the catalogue and a reach. Three are built in and
//! read-only (Admin, Operator, Viewer: the roles Canopy always had, as catalogue presets);
//! a tenant defines its own (`custom`). A membership or an invitation holds one role.
pub mod custom;
pub mod edit;

use std::fmt;

use crate::domain::ids::RoleId;
use crate::domain::permissions::{Permission, Permissions};
use crate::domain::states::text_enum;

text_enum!(
    /// How far a role's permissions go from the membership's tenant.
    RoleReach {
        Tenant => "tenant",
        Subtree => "subtree",
    }
);

impl RoleReach {
    /// Whether `self` goes no further than `other`.
    pub fn within(self, other: RoleReach) -> bool {
        self == RoleReach::Tenant || other == RoleReach::Subtree
    }

    pub fn describe(self) -> &'static str {
        match self {
            RoleReach::Tenant => "this tenant only",
            RoleReach::Subtree => "this tenant and every tenant below it",
        }
    }
}

/// The built-in roles. Their rows exist (memberships refer to them by id) but what they
/// allow is read from here, never from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Operator, Role::Viewer];

    /// The word forms and the CLI use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Admin => "Admin",
            Self::Operator => "Operator",
            Self::Viewer => "Viewer",
        }
    }

    /// The fixed id of the preset's row (migration 000011 inserts the same).
    pub fn id(self) -> RoleId {
        RoleId::from(uuid::Uuid::from_u128(match self {
            Self::Admin => 0x0000_0000_0000_7000_8000_0000_0000_0001,
            Self::Operator => 0x0000_0000_0000_7000_8000_0000_0000_0002,
            Self::Viewer => 0x0000_0000_0000_7000_8000_0000_0000_0003,
        }))
    }

    pub fn from_id(id: RoleId) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    pub fn permissions(self) -> Permissions {
        use Permission::*;
        let viewer = Permissions::of(&[
            TenantView,
            MembersView,
            DevicesView,
            DevicesExport,
            GroupsView,
            ContactsView,
            SchedulesView,
            AlertsView,
            ApiKeysCreate,
        ]);
        match self {
            Self::Viewer => viewer,
            Self::Operator => viewer.union(Permissions::of(&[
                DevicesCreate,
                DevicesEdit,
                DevicesImport,
                DevicesRetire,
                DevicesCheckIn,
                AlertsAcknowledge,
            ])),
            Self::Admin => Permissions::all(),
        }
    }

    pub fn reach(self) -> RoleReach {
        match self {
            Self::Admin => RoleReach::Subtree,
            Self::Operator | Self::Viewer => RoleReach::Tenant,
        }
    }

    pub fn grant(self) -> RoleGrant {
        RoleGrant {
            id: self.id(),
            name: self.name().to_string(),
            permissions: self.permissions(),
            reach: self.reach(),
        }
    }
}

/// A role as a form names it: its id, or a preset's word (`viewer`); `None` for anything else.
pub fn choice(text: &str) -> Option<RoleId> {
    let text = text.trim();
    Role::parse(text)
        .map(Role::id)
        .or_else(|| text.parse::<RoleId>().ok())
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Role> for RoleId {
    fn from(r: Role) -> Self {
        r.id()
    }
}

impl From<Role> for RoleGrant {
    fn from(r: Role) -> Self {
        r.grant()
    }
}

impl From<&RoleGrant> for RoleGrant {
    fn from(r: &RoleGrant) -> Self {
        r.clone()
    }
}

/// What a role gives whoever holds it: the part of a role that access decisions read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrant {
    pub id: RoleId,
    pub name: String,
    pub permissions: Permissions,
    pub reach: RoleReach,
}

impl RoleGrant {
    /// A role as loaded: a preset's permissions come from the code, a custom role's from its
    /// stored keys.
    pub fn loaded(id: RoleId, name: String, keys: &[String], reach: RoleReach) -> Self {
        match Role::from_id(id) {
            Some(preset) => preset.grant(),
            None => RoleGrant {
                id,
                name,
                permissions: Permissions::from_keys(keys),
                reach,
            },
        }
    }

    pub fn preset(&self) -> Option<Role> {
        Role::from_id(self.id)
    }

    /// Whether holding `self` gives nothing that holding `other` does not.
    pub fn within(&self, other_permissions: Permissions, other_reach: RoleReach) -> bool {
        self.permissions.is_subset_of(other_permissions) && self.reach.within(other_reach)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_keep_their_order_of_power() {
        let (a, o, v) = (
            Role::Admin.grant(),
            Role::Operator.grant(),
            Role::Viewer.grant(),
        );
        assert!(v.within(o.permissions, o.reach));
        assert!(o.within(a.permissions, a.reach));
        assert!(!a.within(o.permissions, o.reach));
        assert!(!o.within(v.permissions, v.reach));
        for r in Role::ALL {
            assert_eq!(Role::from_id(r.id()), Some(r));
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
    }
}
