//! Typed ids: a tenant's id and a device's id are both UUIDs, but a function that takes one
//! cannot be given the other. Each reads and writes as a PostgreSQL `uuid`, parses from a
//! path, query or form like a `Uuid`, and prints like one.
//!
//! ```compile_fail
//! use canopy::domain::ids::{DeviceId, TenantId};
//! fn wants_a_tenant(_: TenantId) {}
//! wants_a_tenant(DeviceId::from(uuid::Uuid::nil()));
//! ```
use diesel::deserialize::{self, FromSql};
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Uuid as SqlUuid;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[serde(transparent)]
        #[diesel(sql_type = SqlUuid)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl ToSql<SqlUuid, Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
                <Uuid as ToSql<SqlUuid, Pg>>::to_sql(&self.0, out)
            }
        }

        impl FromSql<SqlUuid, Pg> for $name {
            fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
                <Uuid as FromSql<SqlUuid, Pg>>::from_sql(bytes).map(Self)
            }
        }
    };
}

typed_id!(
    /// A tenant: a node of the tree.
    TenantId
);
typed_id!(
    /// A device (phone, tracker, router …).
    DeviceId
);
typed_id!(
    /// A person's account.
    UserId
);
typed_id!(
    /// An invitation to a tenant.
    InvitationId
);
typed_id!(
    /// A background import job.
    JobId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_prints_and_parses_as_its_uuid() {
        let id = TenantId::new();
        let text = id.to_string();
        assert_eq!(text.parse::<TenantId>().ok(), Some(id));
        assert_eq!(Uuid::from(id).to_string(), text);
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{text}\""));
    }

    #[test]
    fn a_customer_is_the_tenant_under_the_root_or_the_root_itself() {
        let (root, customer, below) = (TenantId::new(), TenantId::new(), TenantId::new());
        let id = |t: TenantId| CustomerId::from(t.uuid());
        assert_eq!(CustomerId::of(&[root]), id(root));
        assert_eq!(CustomerId::of(&[root, customer]), id(customer));
        assert_eq!(CustomerId::of(&[root, customer, below]), id(customer));
        assert_eq!(CustomerId::of(&[]), CustomerId::NONE);
        assert_eq!(
            CustomerId::along(&[root, customer, below]),
            vec![id(root), id(customer)]
        );
        assert_eq!(CustomerId::reaching(&[root]), None);
        assert_eq!(
            CustomerId::reaching(&[root, customer, below]),
            Some(id(customer))
        );
    }
}
typed_id!(
    /// A role: one of the built-in presets or one a tenant defined.
    RoleId
);

typed_id!(
    /// A group of a tenant's devices and members.
    GroupId
);

typed_id!(
    /// An entry of a tenant's address book.
    ContactId
);

typed_id!(
    /// A check-in schedule of a tenant.
    ScheduleId
);

typed_id!(
    /// An alert: one missed check-in of one device.
    AlertId
);

typed_id!(
    /// An API key (`domain::api_keys`).
    ApiKeyId
);

typed_id!(
    /// A customer: the tenant directly under the operator's root, or the root itself for the
    /// operator's own rows. Every tenant-owned data row carries the customer it belongs to, the
    /// key a distributed database would keep a customer's rows together by (`docs/scaling.md`).
    CustomerId
);

impl CustomerId {
    /// The customer of the tenant at `path` (its traversal ids, root first). A path is never
    /// empty; an empty one is the nil customer, as for events placed in no tenant.
    pub fn of(path: &[TenantId]) -> Self {
        path.get(1)
            .or_else(|| path.first())
            .map(|t| Self(t.uuid()))
            .unwrap_or(Self::NONE)
    }

    /// The customers of the tenants on `path`: the root's own and, below it, one customer.
    pub fn along(path: &[TenantId]) -> Vec<Self> {
        path.iter().take(2).map(|t| Self(t.uuid())).collect()
    }

    /// The one customer whose rows can refer to something of the tenant at `path` (a
    /// schedule shared below, a contact): its own, except for the operator's root, whose
    /// things every customer below may use (`None`).
    pub fn reaching(path: &[TenantId]) -> Option<Self> {
        (path.len() >= 2).then(|| Self::of(path))
    }

    /// The customer of events placed in no tenant (a person's own sign-ins).
    pub const NONE: Self = Self(Uuid::nil());
}

impl From<CustomerId> for TenantId {
    fn from(c: CustomerId) -> Self {
        Self(c.0)
    }
}

/// `column = customer`, or every customer when `only` is `None` (a read across the
/// operator's whole tree, from its root): either way the statement names the customer
/// (`customer_id = $1 OR $2`), so a distributed database routes it to one shard when it can.
macro_rules! in_customer {
    ($column:expr, $only:expr) => {{
        let only: Option<$crate::domain::ids::CustomerId> = $only;
        diesel::BoolExpressionMethods::or(
            diesel::ExpressionMethods::eq(
                $column,
                only.unwrap_or($crate::domain::ids::CustomerId::NONE),
            ),
            diesel::expression::IntoSql::into_sql::<diesel::sql_types::Bool>(only.is_none()),
        )
    }};
}
pub(crate) use in_customer;
