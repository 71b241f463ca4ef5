//! Tenants and their tree. `parent_id` is the truth; `traversal_ids` (root .. self) is
//! rewritten in the same transaction as any change to it, here and nowhere else.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use uuid::Uuid;

use crate::db::schema::{memberships, tenants};
use crate::domain::audit::{self, Actor, Event};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tenants)]
pub struct Tenant {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub slug: String,
    pub traversal_ids: Vec<Uuid>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Tenant {
    pub fn is_suspended(&self) -> bool {
        self.status == "suspended"
    }
}

/// A validated tenant name.
#[derive(Debug, Clone)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter a name.".into());
        }
        if name.chars().count() > 100 {
            return Err("Use at most 100 characters.".into());
        }
        if name.chars().any(char::is_control) {
            return Err("The name contains characters that are not allowed.".into());
        }
        if !name.chars().any(char::is_alphanumeric) {
            return Err("The name needs at least one letter or digit.".into());
        }
        Ok(Self(name.to_string()))
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
    App(#[from] AppError),
}

impl From<diesel::result::Error> for TenantError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => Self::NameTaken,
            other => Self::App(other.into()),
        }
    }
}

/// The bounds of a subtree: every path that starts with `path`, as a btree range.
pub fn subtree_bounds(path: &[Uuid]) -> (Vec<Uuid>, Vec<Uuid>) {
    let mut upper = path.to_vec();
    // No real (v7) id equals the max uuid, so `path || [max]` bounds all descendants.
    upper.push(Uuid::max());
    (path.to_vec(), upper)
}

/// Unscoped lookup: for the access layer, which decides whether the caller may see it.
pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Option<Tenant>, AppError> {
    Ok(tenants::table
        .find(id)
        .select(Tenant::as_select())
        .first(conn)
        .optional()?)
}

pub fn find_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Tenant>, AppError> {
    Ok(tenants::table
        .filter(tenants::id.eq_any(ids))
        .select(Tenant::as_select())
        .load(conn)?)
}

/// Every tenant of the subtree rooted at `path`, in tree order.
pub fn subtree(conn: &mut PgConnection, path: &[Uuid]) -> Result<Vec<Tenant>, AppError> {
    let (lo, hi) = subtree_bounds(path);
    Ok(tenants::table
        .filter(
            tenants::traversal_ids
                .ge(lo)
                .and(tenants::traversal_ids.lt(hi)),
        )
        .order(tenants::traversal_ids.asc())
        .select(Tenant::as_select())
        .load(conn)?)
}

#[derive(Insertable)]
#[diesel(table_name = tenants)]
struct NewTenant<'a> {
    id: Uuid,
    parent_id: Option<Uuid>,
    name: &'a str,
    slug: &'a str,
    traversal_ids: &'a [Uuid],
}

fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    parent: Option<&Tenant>,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    let id = Uuid::now_v7();
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
    audit::record(
        conn,
        actor,
        Event {
            tenant_path: Some(&tenant.traversal_ids),
            action: "tenant.create",
            target_type: "tenant",
            target_id: Some(tenant.id),
            detail: serde_json::json!({ "name": tenant.name }),
        },
    )?;
    Ok(tenant)
}

pub fn create_root(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| insert(conn, actor, None, name))
}

pub fn create_child(
    conn: &mut PgConnection,
    actor: &Actor,
    parent_id: Uuid,
    name: &TenantName,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| {
        // Share-lock the parent so that a concurrent move cannot leave us a stale path.
        let parent = tenants::table
            .find(parent_id)
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
        audit::record(
            conn,
            actor,
            Event {
                tenant_path: Some(&tenant.traversal_ids),
                action: "tenant.rename",
                target_type: "tenant",
                target_id: Some(tenant.id),
                detail: serde_json::json!({ "from": tenant.name, "to": renamed.name }),
            },
        )?;
        Ok(renamed)
    })
}

pub fn set_suspended(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    suspended: bool,
) -> Result<(), AppError> {
    conn.transaction(|conn| {
        let status = if suspended { "suspended" } else { "active" };
        diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::status.eq(status),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            Event {
                tenant_path: Some(&tenant.traversal_ids),
                action: if suspended {
                    "tenant.suspend"
                } else {
                    "tenant.reactivate"
                },
                target_type: "tenant",
                target_id: Some(tenant.id),
                detail: serde_json::json!({}),
            },
        )
    })
}

/// What moves along with a tenant: its whole subtree and the members in it.
#[derive(Debug)]
pub struct MovePreview {
    pub tenants: Vec<Tenant>,
    pub members: i64,
}

pub fn move_preview(conn: &mut PgConnection, tenant: &Tenant) -> Result<MovePreview, AppError> {
    let tenants = subtree(conn, &tenant.traversal_ids)?;
    let (lo, hi) = subtree_bounds(&tenant.traversal_ids);
    let members = memberships::table
        .filter(
            memberships::tenant_path
                .ge(lo)
                .and(memberships::tenant_path.lt(hi)),
        )
        .count()
        .get_result(conn)?;
    Ok(MovePreview { tenants, members })
}

/// Moves a tenant and everything below it under `new_parent_id`, in one transaction.
pub fn move_subtree(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant_id: Uuid,
    new_parent_id: Uuid,
) -> Result<Tenant, TenantError> {
    conn.transaction(|conn| {
        // Moves are rare; serialising them rules out two moves racing into a cycle.
        diesel::sql_query("SELECT pg_advisory_xact_lock(7461203)").execute(conn)?;
        let locked: Vec<Tenant> = tenants::table
            .filter(tenants::id.eq_any([tenant_id, new_parent_id]))
            .order(tenants::id.asc())
            .for_update()
            .select(Tenant::as_select())
            .load(conn)?;
        let tenant = locked
            .iter()
            .find(|t| t.id == tenant_id)
            .ok_or(AppError::NotFound)?;
        let parent = locked
            .iter()
            .find(|t| t.id == new_parent_id)
            .ok_or(AppError::NotFound)?;
        if parent.traversal_ids.contains(&tenant.id) {
            return Err(TenantError::Cycle);
        }
        if tenant.parent_id == Some(parent.id) {
            return Err(TenantError::SameParent);
        }
        let (lo, hi) = subtree_bounds(&tenant.traversal_ids);
        tenants::table
            .filter(
                tenants::traversal_ids
                    .ge(&lo)
                    .and(tenants::traversal_ids.lt(&hi)),
            )
            .for_update()
            .select(tenants::id)
            .load::<Uuid>(conn)?;
        // Keep each path's tail from the moved tenant down, behind the new parent's path.
        let keep_from = tenant.traversal_ids.len() as i64;
        for table in ["tenants", "memberships"] {
            let column = if table == "tenants" {
                "traversal_ids"
            } else {
                "tenant_path"
            };
            diesel::sql_query(format!(
                "UPDATE {table} SET {column} = $1 || {column}[$2:] \
                 WHERE {column} >= $3 AND {column} < $4"
            ))
            .bind::<Array<diesel::sql_types::Uuid>, _>(&parent.traversal_ids)
            .bind::<BigInt, _>(keep_from)
            .bind::<Array<diesel::sql_types::Uuid>, _>(&lo)
            .bind::<Array<diesel::sql_types::Uuid>, _>(&hi)
            .execute(conn)?;
        }
        let moved = diesel::update(tenants::table.find(tenant.id))
            .set((
                tenants::parent_id.eq(parent.id),
                tenants::updated_at.eq(diesel::dsl::now),
            ))
            .returning(Tenant::as_returning())
            .get_result(conn)?;
        audit::record(
            conn,
            actor,
            Event {
                tenant_path: Some(&moved.traversal_ids),
                action: "tenant.move",
                target_type: "tenant",
                target_id: Some(tenant.id),
                detail: serde_json::json!({ "from": tenant.parent_id, "to": parent.id }),
            },
        )?;
        Ok(moved)
    })
}

/// What deleting the tenant would lose; empty when it may go.
pub fn blockers(conn: &mut PgConnection, tenant: &Tenant) -> Result<Vec<String>, AppError> {
    let children: i64 = tenants::table
        .filter(tenants::parent_id.eq(tenant.id))
        .count()
        .get_result(conn)?;
    let members: i64 = memberships::table
        .filter(memberships::tenant_id.eq(tenant.id))
        .count()
        .get_result(conn)?;
    let mut found = Vec::new();
    if children > 0 {
        found.push(plural(children, "sub-tenant"));
    }
    if members > 0 {
        found.push(plural(members, "member"));
    }
    Ok(found)
}

fn plural(n: i64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

pub fn delete(conn: &mut PgConnection, actor: &Actor, tenant_id: Uuid) -> Result<(), TenantError> {
    conn.transaction(|conn| {
        let tenant = tenants::table
            .find(tenant_id)
            .for_update()
            .select(Tenant::as_select())
            .first(conn)?;
        let in_the_way = blockers(conn, &tenant)?;
        if !in_the_way.is_empty() {
            return Err(TenantError::NotEmpty(in_the_way));
        }
        diesel::delete(tenants::table.find(tenant.id)).execute(conn)?;
        audit::record(
            conn,
            actor,
            Event {
                tenant_path: Some(&tenant.traversal_ids),
                action: "tenant.delete",
                target_type: "tenant",
                target_id: Some(tenant.id),
                detail: serde_json::json!({ "name": tenant.name }),
            },
        )?;
        Ok(())
    })
}

/// A tenant as listed in the tree, with what lies directly inside it.
#[derive(Debug, QueryableByName)]
pub struct TreeNode {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = BigInt)]
    pub children: i64,
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

const TREE_NODE_SQL: &str = "SELECT t.id, t.name, t.status, \
    (SELECT count(*) FROM tenants c WHERE c.parent_id = t.id) AS children, \
    (SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) AS members \
    FROM tenants t";

/// The children of a tenant, by name (at most `limit`).
pub fn children(
    conn: &mut PgConnection,
    parent_id: Uuid,
    limit: i64,
) -> Result<Vec<TreeNode>, AppError> {
    Ok(diesel::sql_query(format!(
        "{TREE_NODE_SQL} WHERE t.parent_id = $1 ORDER BY lower(t.name) LIMIT $2"
    ))
    .bind::<diesel::sql_types::Uuid, _>(parent_id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Tree nodes for the given tenants (the tops of a user's reach), by name.
pub fn nodes(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<TreeNode>, AppError> {
    Ok(diesel::sql_query(format!(
        "{TREE_NODE_SQL} WHERE t.id = ANY($1) ORDER BY lower(t.name)"
    ))
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)?)
}

pub fn any_exists(conn: &mut PgConnection) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(tenants::table.select(tenants::id))).get_result(conn)?)
}
