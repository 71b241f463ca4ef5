//! Tenants and their tree. `parent_id` is the truth; `traversal_ids` (root .. self) is
//! rewritten in the same transaction as any change to it, here and nowhere else.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::access::Reached;
use crate::db::schema::{deleted_tenants, tenants};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::states::TenantStatus;

mod tree;

pub use tree::{TreeNode, children, nodes};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: TenantId,
    pub parent_id: Option<TenantId>,
    pub name: String,
    pub slug: String,
    pub traversal_ids: Vec<TenantId>,
    pub status: TenantStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub brand_name: Option<String>,
    pub brand_accent: Option<String>,
    pub brand_logo: Option<String>,
    /// The default time zone for people here and below (`branding`): `None` inherits.
    pub time_zone: Option<String>,
}

impl Tenant {
    /// The customer this tenant's rows belong to.
    pub fn customer(&self) -> crate::domain::ids::CustomerId {
        crate::domain::ids::CustomerId::of(&self.traversal_ids)
    }
    pub fn is_suspended(&self) -> bool {
        self.status == TenantStatus::Suspended
    }
}

/// A validated tenant name.
#[derive(Debug, Clone)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = crate::domain::users::parse_display_name(raw)?;
        if !name.chars().any(char::is_alphanumeric) {
            return Err("The name needs at least one letter or digit.".into());
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn slug(&self) -> String {
        let mut slug = String::new();
        for c in self.0.to_lowercase().chars() {
            if c.is_alphanumeric() {
                slug.push(c);
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
        }
        slug.trim_end_matches('-').to_string()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    #[error("A tenant with this name already exists here.")]
    NameTaken,
    #[error("A tenant cannot be moved into itself or below itself.")]
    Cycle,
    #[error("The tenant is already there.")]
    SameParent,
    #[error("This tenant still holds {}.", .0.join(" and "))]
    NotEmpty(Vec<String>),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for TenantError {
    fn from(e: diesel::result::Error) -> Self {
        match crate::db::unique_violation(e) {
            Ok(()) => Self::NameTaken,
            Err(other) => Self::Domain(other),
        }
    }
}

/// The bounds of a subtree: every path that starts with `path`, as a btree range.
pub fn subtree_bounds(path: &[TenantId]) -> (Vec<TenantId>, Vec<TenantId>) {
    let mut upper = path.to_vec();
    // No real (v7) id equals the max uuid, so `path || [max]` bounds all descendants.
    upper.push(TenantId::from(Uuid::max()));
    (path.to_vec(), upper)
}

/// Unscoped lookup: for the access layer, which decides whether the caller may see it.
pub fn find(conn: &mut PgConnection, id: TenantId) -> Result<Option<Tenant>, DomainError> {
    Ok(tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_many(conn: &mut PgConnection, ids: &[TenantId]) -> Result<Vec<Tenant>, DomainError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(tenants::table
        .filter(tenants::id.eq_any(ids))
        .select(Tenant::as_select())
        .load(conn)?)
}

/// Every tenant of the subtree rooted at `path`, in tree order.
pub fn subtree(conn: &mut PgConnection, path: &[TenantId]) -> Result<Vec<Tenant>, DomainError> {
    subtree_limited(conn, path, i64::MAX)
}

/// The first `limit` tenants of a subtree, in tree order.
pub fn subtree_limited(
    conn: &mut PgConnection,
    path: &[TenantId],
    limit: i64,
) -> Result<Vec<Tenant>, DomainError> {
    let (lo, hi) = subtree_bounds(path);
    crate::db::plans::per_execution(conn, |conn| {
        Ok(tenants::table
            .filter(
                tenants::traversal_ids
                    .ge(lo)
                    .and(tenants::traversal_ids.lt(hi)),
            )
            .order(tenants::traversal_ids.asc())
            .limit(limit)
            .select(Tenant::as_select())
            .load(conn)?)
    })
}

#[derive(Insertable)]
#[diesel(table_name = tenants)]
struct NewTenant<'a> {
    id: TenantId,
    parent_id: Option<TenantId>,
    name: &'a str,
    slug: &'a str,
    traversal_ids: &'a [TenantId],
}

fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    parent: Option<&Tenant>,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    let id = TenantId::new();
    let mut path = parent.map(|p| p.traversal_ids.clone()).unwrap_or_default();
    path.push(id);
    let tenant = diesel::insert_into(tenants::table)
        .values(NewTenant {
            id,
            parent_id: parent.map(|p| p.id),
            name: name.as_str(),
            slug: &name.slug(),
            traversal_ids: &path,
        })
        .returning(Tenant::as_returning())
        .get_result(conn)?;
    Event::new(AuditAction::TenantCreate, &tenant.traversal_ids, tenant.id)
        .detail(serde_json::json!({ "name": tenant.name }))
        .record(conn, actor)?;
    Ok(tenant)
}

pub fn create_root(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| insert(conn, actor, None, name))
}

/// Creates a sub-tenant of a tenant the caller reaches (the proof says so).
pub fn create_child(
    conn: &mut PgConnection,
    actor: &Actor,
    parent: &Reached,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| {
        // Share-lock the parent so that a concurrent move cannot leave us a stale path.
        let parent = tenants::table
            .find(parent.id())
            .for_share()
            .select(Tenant::as_select())
            .first(conn)?;
        insert(conn, actor, Some(&parent), name)
    })
}

pub fn rename(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| {
        let renamed = diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::name.eq(name.as_str()),
                tenants::slug.eq(name.slug()),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Tenant::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::TenantRename, &tenant.traversal_ids, tenant.id)
            .detail(serde_json::json!({ "from": tenant.name, "to": renamed.name }))
            .record(conn, actor)?;
        Ok(renamed)
    })
}

pub fn set_suspended(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    suspended: bool,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let status = if suspended {
            TenantStatus::Suspended
        } else {
            TenantStatus::Active
        };
        diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::status.eq(status),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Event::new(
            if suspended {
                AuditAction::TenantSuspend
            } else {
                AuditAction::TenantReactivate
            },
            &tenant.traversal_ids,
            tenant.id,
        )
        .record(conn, actor)
    })
}

/// Tenants that were deleted, with their last name and path (for history that names them).
pub fn find_deleted(
    conn: &mut PgConnection,
    ids: &[TenantId],
) -> Result<Vec<(TenantId, String, Vec<TenantId>)>, DomainError> {
    Ok(deleted_tenants::table
        .filter(deleted_tenants::id.eq_any(ids))
        .select((
            deleted_tenants::id,
            deleted_tenants::name,
            deleted_tenants::traversal_ids,
        ))
        .load(conn)?)
}

pub fn any_exists(conn: &mut PgConnection) -> Result<bool, DomainError> {
    Ok(diesel::select(diesel::dsl::exists(tenants::table.select(tenants::id))).get_result(conn)?)
}
