//! The permission catalogue: every (object, action) pair a role can hold. This table is the
//! single source of truth — the built-in roles, the role editor's matrix, the access layer's
//! checks, the routes' needs and the generated access tests are all read from it.
//!
//! Stored by key (`devices.edit`), so the order below may change without a migration; a key
//! the code no longer knows is dropped on load (never granted).
use std::fmt;

macro_rules! catalogue {
    ($($variant:ident => $key:literal, $object:literal, $label:literal;)+) => {
        /// One (object, action) pair of the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $($variant),+
        }

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant),+];

            /// The stored and submitted name, `object.action`.
            pub fn key(self) -> &'static str {
                match self {
                    $(Permission::$variant => $key),+
                }
            }

            /// The object it is about, as the matrix groups it.
            pub fn object(self) -> &'static str {
                match self {
                    $(Permission::$variant => $object),+
                }
            }

            /// What it allows, as the matrix's column says it.
            pub fn label(self) -> &'static str {
                match self {
                    $(Permission::$variant => $label),+
                }
            }

            pub fn parse(key: &str) -> Option<Self> {
                match key {
                    $($key => Some(Permission::$variant),)+
                    _ => None,
                }
            }
        }

        /// Each permission as a type, for a route to state what it needs
        /// (`Reach<perm::DevicesEdit>`).
        pub mod perm {
            $(
                #[doc = concat!("`", $key, "`")]
                pub struct $variant;
                impl super::Needs for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )+
        }
    };
}

/// A permission as a type (see `perm`).
pub trait Needs: 'static {
    const PERMISSION: Permission;
}

catalogue! {
    TenantView => "tenant.view", "Tenant", "view";
    TenantCreate => "tenant.create", "Tenant", "create sub-tenants";
    TenantRename => "tenant.rename", "Tenant", "rename";
    TenantRestructure => "tenant.restructure", "Tenant", "move, suspend, delete sub-tenants";
    MembersView => "members.view", "Members", "view";
    MembersInvite => "members.invite", "Members", "invite";
    MembersChangeRole => "members.change_role", "Members", "change role";
    MembersRemove => "members.remove", "Members", "disable, remove";
    DevicesView => "devices.view", "Devices", "view";
    DevicesCreate => "devices.create", "Devices", "create";
    DevicesEdit => "devices.edit", "Devices", "edit";
    DevicesMove => "devices.move", "Devices", "move";
    DevicesImport => "devices.import", "Devices", "import";
    DevicesExport => "devices.export", "Devices", "export";
    DevicesRetire => "devices.retire", "Devices", "retire";
    DevicesCheckIn => "devices.check_in", "Devices", "check in";
    GroupsView => "groups.view", "Groups", "view";
    GroupsManage => "groups.manage", "Groups", "manage";
    BrandingEdit => "branding.edit", "Branding", "edit";
    AuditView => "audit.view", "Audit log", "view";
    AuditExport => "audit.export", "Audit log", "export";
    UsageView => "usage.view", "Usage", "view";
    RolesView => "roles.view", "Roles", "view";
    RolesManage => "roles.manage", "Roles", "manage";
    SecurityManage => "security.manage", "Security policy", "set";
    ContactsView => "contacts.view", "Contacts", "view";
    ContactsManage => "contacts.manage", "Contacts", "manage";
    SchedulesView => "schedules.view", "Check-in schedules", "view";
    SchedulesManage => "schedules.manage", "Check-in schedules", "manage, assign";
    AlertsView => "alerts.view", "Alerts", "view";
    AlertsAcknowledge => "alerts.acknowledge", "Alerts", "acknowledge";
    AlertsWebhook => "alerts.webhook", "Alerts", "set the webhook";
    ApiKeysCreate => "api_keys.create", "API keys", "create own";
    ApiKeysManage => "api_keys.manage", "API keys", "see, revoke members' keys";
}
// What later work adds (API keys …) is a new line above; the built-in Admin holds it at once
// (it holds `ALL`).

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.object(), self.label())
    }
}

/// A set of permissions, as bits (the catalogue has fewer than 64 entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Permissions(u64);

const _: () = assert!(Permission::ALL.len() <= 64);

impl Permissions {
    pub const NONE: Permissions = Permissions(0);

    pub fn all() -> Self {
        Self::of(Permission::ALL)
    }

    pub fn of(list: &[Permission]) -> Self {
        list.iter().fold(Self::NONE, |set, p| set.with(*p))
    }

    pub fn with(self, p: Permission) -> Self {
        Permissions(self.0 | 1 << p as u32)
    }

    pub fn has(self, p: Permission) -> bool {
        self.0 & (1 << p as u32) != 0
    }

    pub fn union(self, other: Self) -> Self {
        Permissions(self.0 | other.0)
    }

    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
    pub fn without(self, other: Self) -> Self {
        Permissions(self.0 & !other.0)
    }

    pub fn is_subset_of(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions of `self` that `other` lacks.
    pub fn beyond(self, other: Self) -> Vec<Permission> {
        Permissions(self.0 & !other.0).iter().collect()
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.has(*p))
    }

    /// From stored keys; unknown keys grant nothing.
    pub fn from_keys<S: AsRef<str>>(keys: &[S]) -> Self {
        keys.iter()
            .filter_map(|k| Permission::parse(k.as_ref()))
            .fold(Self::NONE, Self::with)
    }

    pub fn keys(self) -> Vec<String> {
        self.iter().map(|p| p.key().to_string()).collect()
    }
}

/// The objects of the catalogue in order, each with its permissions: the matrix's rows.
pub fn by_object() -> Vec<(&'static str, Vec<Permission>)> {
    let mut rows: Vec<(&'static str, Vec<Permission>)> = Vec::new();
    for p in Permission::ALL {
        match rows.last_mut() {
            Some((object, list)) if *object == p.object() => list.push(*p),
            _ => rows.push((p.object(), vec![*p])),
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_parse_back() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.key()), Some(*p));
            assert_eq!(
                Permission::ALL
                    .iter()
                    .filter(|q| q.key() == p.key())
                    .count(),
                1
            );
        }
    }

    #[test]
    fn sets_hold_what_was_put_in() {
        let s = Permissions::of(&[Permission::DevicesEdit, Permission::TenantView]);
        assert!(s.has(Permission::DevicesEdit) && s.has(Permission::TenantView));
        assert!(!s.has(Permission::DevicesMove));
        assert!(s.is_subset_of(Permissions::all()));
        assert!(!Permissions::all().is_subset_of(s));
        assert_eq!(Permissions::from_keys(&s.keys()), s);
        assert_eq!(
            Permissions::from_keys(&["devices.edit", "no.such"]),
            Permissions::of(&[Permission::DevicesEdit])
        );
        assert_eq!(
            s.beyond(Permissions::of(&[Permission::TenantView])),
            vec![Permission::DevicesEdit]
        );
    }

    #[test]
    fn every_object_is_one_row_of_the_matrix() {
        let rows = by_object();
        let total: usize = rows.iter().map(|(_, l)| l.len()).sum();
        assert_eq!(total, Permission::ALL.len());
        let mut objects: Vec<_> = rows.iter().map(|(o, _)| *o).collect();
        objects.dedup();
        assert_eq!(
            objects.len(),
            rows.len(),
            "an object's permissions must be adjacent"
        );
    }
}
