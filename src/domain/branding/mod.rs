//! Branding: a display name, a logo and an accent colour per tenant. Each field is inherited
//! from the nearest ancestor that sets it, so a reseller's brand covers its customers until
//! they set their own. Tenant names are never part of a brand: a customer sees an ancestor's
//! brand only as that ancestor chose to present itself.
mod logo;

pub use logo::{
    Logo, LogoError, MAX_BYTES as LOGO_MAX_BYTES, find as find_logo, parse as parse_logo,
};

use diesel::prelude::*;

use crate::db::schema::tenants;
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::tenants::Tenant;
use crate::email::messages::MailBrand;

/// The name shown where no tenant up the tree has chosen one.
pub const DEFAULT_NAME: &str = "Canopy";

/// The branding in effect for one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, lower case; `None` keeps the stylesheet's colour.
    pub accent: Option<String>,
    /// The logo's content hash (its URL is `/logos/{hash}`).
    pub logo: Option<String>,
    /// The default time zone (IANA name) for people who chose none; `None`: UTC.
    pub time_zone: Option<String>,
}

impl Default for Brand {
    fn default() -> Self {
        Self {
            name: DEFAULT_NAME.into(),
            accent: None,
            logo: None,
            time_zone: None,
        }
    }
}

impl Brand {
    /// The brand as an email shows it, with the logo as a URL under `base_url`.
    pub fn for_mail(&self, base_url: &str) -> MailBrand {
        MailBrand {
            name: self.name.clone(),
            accent: self.accent.clone().unwrap_or_else(|| "#1f6f5c".into()),
            logo_url: self.logo.as_ref().map(|h| format!("{base_url}/logos/{h}")),
        }
    }

    /// The accent without its `#`, as the stylesheet URL carries it.
    pub fn accent_hex(&self) -> Option<&str> {
        self.accent.as_deref().map(|a| a.trim_start_matches('#'))
    }
}

/// A tenant and, for each brand field, the nearest value set on its path.
#[derive(QueryableByName)]
struct BrandedRow {
    #[diesel(embed)]
    tenant: Tenant,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nearest_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nearest_accent: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nearest_logo: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nearest_zone: Option<String>,
}

/// The nearest non-empty value of a brand column on the path of `tenants`.
macro_rules! nearest {
    ($column:literal) => {
        concat!(
            "(SELECT a.",
            $column,
            " FROM tenants a WHERE a.id = ANY(tenants.traversal_ids) ",
            "AND a.",
            $column,
            " IS NOT NULL ORDER BY array_length(a.traversal_ids, 1) DESC LIMIT 1)"
        )
    };
}

/// A tenant's row and its nearest brand fields, for the tenants the condition that follows
/// names.
macro_rules! with_brand {
    ($condition:literal) => {
        concat!(
            "SELECT tenants.*, ",
            nearest!("brand_name"),
            " AS nearest_name, ",
            nearest!("brand_accent"),
            " AS nearest_accent, ",
            nearest!("brand_logo"),
            " AS nearest_logo, ",
            nearest!("time_zone"),
            " AS nearest_zone FROM tenants WHERE ",
            $condition
        )
    };
}

const TENANT_WITH_BRAND: &str = with_brand!("tenants.id = $1");
const TENANTS_WITH_BRANDS: &str = with_brand!("tenants.id = ANY($1)");

impl BrandedRow {
    fn split(self) -> (Tenant, Brand) {
        let brand = Brand {
            name: self.nearest_name.unwrap_or_else(|| DEFAULT_NAME.into()),
            accent: self.nearest_accent,
            logo: self.nearest_logo,
            time_zone: self.nearest_zone,
        };
        (self.tenant, brand)
    }
}

/// The branding in effect for `tenant`.
pub fn effective(conn: &mut PgConnection, tenant: &Tenant) -> Result<Brand, DomainError> {
    Ok(tenant_with_brand(conn, tenant.id)?
        .map(|(_, brand)| brand)
        .unwrap_or_default())
}

/// What `tenant` would show without its own settings: its parent's brand.
pub fn inherited(conn: &mut PgConnection, tenant: &Tenant) -> Result<Brand, DomainError> {
    match tenant.parent_id {
        Some(parent) => Ok(tenant_with_brand(conn, parent)?
            .map(|(_, brand)| brand)
            .unwrap_or_default()),
        None => Ok(Brand::default()),
    }
}

/// A tenant with the branding in effect for it, in one statement: each field is the nearest
/// non-empty one on the tenant's path.
pub fn tenant_with_brand(
    conn: &mut PgConnection,
    id: TenantId,
) -> Result<Option<(Tenant, Brand)>, DomainError> {
    let found: Option<BrandedRow> = crate::db::prepared::prepared(TENANT_WITH_BRAND)
        .bind::<diesel::sql_types::Uuid, _>(id)
        .get_result(conn)
        .optional()?;
    Ok(found.map(BrandedRow::split))
}

/// Tenants with the branding in effect for each, in one statement (a scheduler pass's emails).
pub fn tenants_with_brands(
    conn: &mut PgConnection,
    ids: &[TenantId],
) -> Result<Vec<(Tenant, Brand)>, DomainError> {
    let found: Vec<BrandedRow> = diesel::sql_query(TENANTS_WITH_BRANDS)
        .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
        .load(conn)?;
    Ok(found.into_iter().map(BrandedRow::split).collect())
}

/// A validated change to a tenant's own branding; `None` fields fall back to inheritance.
#[derive(Debug, Clone, Default)]
pub struct BrandChange {
    pub name: Option<String>,
    pub accent: Option<String>,
    /// `Some(None)` removes the logo; `None` leaves it as it is.
    pub logo: Option<Option<Logo>>,
    /// The default time zone; `None` inherits.
    pub time_zone: Option<chrono_tz::Tz>,
}

/// Field messages for the branding form.
pub type BrandErrors = std::collections::BTreeMap<&'static str, String>;

pub fn parse_name(raw: &str) -> Result<Option<String>, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > 60 {
        return Err("Use at most 60 characters.".into());
    }
    if let Some(c) = crate::domain::text::hidden_char(name, &[]) {
        return Err(crate::domain::text::hidden_message(c));
    }
    Ok(Some(name.to_string()))
}

/// `#rrggbb`, dark enough that white text on it and it as text on white stay readable
/// (WCAG AA, contrast 4.5:1).
pub fn parse_accent(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim().to_ascii_lowercase();
    if raw.is_empty() {
        return Ok(None);
    }
    let hex = raw.strip_prefix('#').unwrap_or(&raw);
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("Give a colour as # and six hexadecimal digits, like #1f6f5c.".into());
    }
    let contrast = contrast_with_white(hex);
    if contrast < 4.5 {
        return Err(format!(
            "This colour is too light: white text on it has a contrast of {contrast:.1}:1, \
             and at least 4.5:1 keeps it readable. Pick a darker shade."
        ));
    }
    Ok(Some(format!("#{hex}")))
}

fn contrast_with_white(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
        if v <= 0.040_45 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
    1.05 / (l + 0.05)
}

/// Saves the tenant's own branding and audits it, in one transaction.
pub fn save(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    change: BrandChange,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let logo_hash = match &change.logo {
            None => tenant.brand_logo.clone(),
            Some(None) => None,
            Some(Some(logo)) => Some(logo::store(conn, logo)?),
        };
        diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::brand_name.eq(&change.name),
                tenants::brand_accent.eq(&change.accent),
                tenants::brand_logo.eq(&logo_hash),
                tenants::time_zone.eq(change.time_zone.map(|z| z.name().to_string())),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Event::new(
            AuditAction::TenantBranding,
            &tenant.traversal_ids,
            tenant.id,
        )
        .detail(serde_json::json!({
            "display_name": change.name,
            "accent": change.accent,
            "logo": logo_hash,
            "time_zone": change.time_zone.map(|z| z.name()),
        }))
        .record(conn, actor)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accents_must_be_readable_hex_colours() {
        assert_eq!(parse_accent(" #1F6F5C ").unwrap(), Some("#1f6f5c".into()));
        assert_eq!(parse_accent("").unwrap(), None);
        assert!(parse_accent("#ffff00").unwrap_err().contains("too light"));
        assert!(parse_accent("red").unwrap_err().contains("six hexadecimal"));
        assert!(parse_accent("#12345g").is_err());
    }
}
