//! Closed sets of values as enums: stored as checked text (the migrations' CHECK constraints
//! list the same words), compared as values, never as strings.

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, diesel::AsExpression, diesel::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$($name::$variant),+];

            /// The word stored in the database and shown in URLs and CSS classes.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(self.as_str(), out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                Self::parse(&text)
                    .ok_or_else(|| format!("not a {}: {text}", stringify!($name)).into())
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    /// Whether a tenant's people can sign in to it (a suspension covers its subtree).
    TenantStatus {
        Active => "active",
        Suspended => "suspended",
    }
);

text_enum!(
    /// Whether a person can sign in at all.
    UserStatus {
        Active => "active",
        Disabled => "disabled",
    }
);

text_enum!(
    /// Where an invitation stands (an expired one is still `Pending`: expiry is a time).
    InvitationState {
        Pending => "pending",
        Accepted => "accepted",
        Revoked => "revoked",
    }
);

text_enum!(
    /// Where a background import stands.
    JobState {
        Checked => "checked",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

text_enum!(
    /// What a device is.
    DeviceKind {
        SatellitePhone => "satellite_phone",
        Tracker => "tracker",
        Router => "router",
        Phone => "phone",
        Other => "other",
    }
);

text_enum!(
    /// Where a device is in its life.
    DeviceStatus {
        InStock => "in_stock",
        Active => "active",
        InRepair => "in_repair",
        Retired => "retired",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_reads_back_as_written() {
        for s in [TenantStatus::Active, TenantStatus::Suspended] {
            assert_eq!(TenantStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("done"), Some(JobState::Done));
        assert_eq!(InvitationState::parse("expired"), None);
        assert_eq!(UserStatus::Disabled.to_string(), "disabled");
    }
}
