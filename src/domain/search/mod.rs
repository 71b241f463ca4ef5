//! Search across everything a person reaches: tenants by name, devices by IMEI or serial,
//! name or phone, people by name or email, contacts by name. Every field is matched by its
//! prefix (case aside) as one range scan of an index in that field's order, so a search costs
//! the same at a root of a million devices as at a leaf; the caller's reach comes in as a
//! `Scope` the access layer built, and every statement is confined to it.
mod sql;

use diesel::PgConnection;

use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::memberships::Window;

/// Shorter terms would match too much to be worth showing.
pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 100;
/// Pages of one kind go no further than this many results.
pub const MAX_OFFSET: i64 = 1000;

/// Where the caller may look, per kind (from `Access::search_scope`).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub tenants: Vec<Window>,
    pub devices: Vec<Window>,
    pub people: Vec<Window>,
    pub contacts: Vec<Window>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tenants,
    Devices,
    People,
    Contacts,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Tenants, Kind::Devices, Kind::People, Kind::Contacts];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Tenants => "tenants",
            Kind::Devices => "devices",
            Kind::People => "people",
            Kind::Contacts => "contacts",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Tenants => "Tenants",
            Kind::Devices => "Devices",
            Kind::People => "People",
            Kind::Contacts => "Contacts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == s)
    }
}

/// One thing found: what it is, where it lives (its tenant's path), and what to show.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: uuid::Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub tenant_id: TenantId,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Uuid>)]
    pub tenant_path: Vec<TenantId>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub title: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub detail: String,
}

/// A search term, checked: trimmed, between `MIN_LEN` and `MAX_LEN` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term(String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermError {
    Short,
    Long,
}

impl Term {
    pub fn parse(raw: &str) -> Result<Self, TermError> {
        let t = raw.trim();
        let n = t.chars().count();
        if n < MIN_LEN {
            Err(TermError::Short)
        } else if n > MAX_LEN || t.contains('\0') {
            Err(TermError::Long)
        } else {
            Ok(Self(t.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The prefix a phone number would start with: `+44…` as typed, or digits as `+…`.
    fn phone(&self) -> Option<String> {
        let compact: String = self.0.chars().filter(|c| *c != ' ').collect();
        let digits = compact.trim_start_matches('+');
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Some(format!("+{digits}"))
    }
}

/// Up to `limit` results of `kind` after the first `offset`, in the order shown; one more
/// than `limit` means there are more.
pub fn find(
    conn: &mut PgConnection,
    scope: &Scope,
    term: &Term,
    kind: Kind,
    limit: i64,
    offset: i64,
) -> Result<Vec<Hit>, DomainError> {
    let offset = offset.clamp(0, MAX_OFFSET);
    match kind {
        Kind::Tenants => sql::tenants(conn, &scope.tenants, term, limit, offset),
        Kind::Devices => sql::devices(conn, &scope.devices, term, limit, offset),
        Kind::People => sql::people(conn, &scope.people, term, limit, offset),
        Kind::Contacts => sql::contacts(conn, &scope.contacts, term, limit, offset),
    }
}

/// The bounds of the strings that start with `prefix`: `[prefix, next)` in code point order,
/// `next` being `prefix` with its last character one higher.
fn prefix_bounds(prefix: &str) -> (String, String) {
    let mut chars: Vec<char> = prefix.chars().collect();
    let upper = match chars.pop() {
        Some(last) => match char::from_u32(u32::from(last) + 1) {
            Some(next) => {
                chars.push(next);
                chars.into_iter().collect()
            }
            None => format!("{prefix}\u{10FFFF}"),
        },
        None => "\u{10FFFF}".to_string(),
    };
    (prefix.to_string(), upper)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_trimmed_and_bounded() {
        assert_eq!(Term::parse("  ab ").unwrap().as_str(), "ab");
        assert_eq!(Term::parse(" a "), Err(TermError::Short));
        assert_eq!(Term::parse(&"x".repeat(101)), Err(TermError::Long));
        assert_eq!(Term::parse("a\0b"), Err(TermError::Long));
    }

    #[test]
    fn a_phone_prefix_is_digits_with_or_without_a_plus() {
        assert_eq!(
            Term::parse("4420").unwrap().phone().as_deref(),
            Some("+4420")
        );
        assert_eq!(
            Term::parse("+44 20").unwrap().phone().as_deref(),
            Some("+4420")
        );
        assert_eq!(Term::parse("ab12").unwrap().phone(), None);
        assert_eq!(Term::parse("++").unwrap().phone(), None);
    }

    #[test]
    fn prefix_bounds_enclose_exactly_the_strings_with_the_prefix() {
        let (lo, hi) = prefix_bounds("olly");
        assert_eq!((lo.as_str(), hi.as_str()), ("olly", "ollz"));
        for s in ["olly", "olly operator", "ollyz", "olly\u{FFFF}"] {
            assert!(s >= lo.as_str() && s < hi.as_str(), "{s}");
        }
        for s in ["oll", "ollx", "ollz", "om"] {
            assert!(!(s >= lo.as_str() && s < hi.as_str()), "{s}");
        }
        let (_, hi) = prefix_bounds("35660");
        assert_eq!(hi, "35661");
    }
}
