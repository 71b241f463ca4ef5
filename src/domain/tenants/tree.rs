//! The tree as people browse it: nodes with counts of what lies directly inside.
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

use crate::db::prepared::prepared;
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::states::TenantStatus;

/// A tenant as listed in the tree, with what lies directly inside it.
#[derive(Debug, Clone, QueryableByName)]
pub struct TreeNode {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: TenantId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub status: TenantStatus,
    #[diesel(sql_type = BigInt)]
    pub children: i64,
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// The select list of a tree node; a macro so that each statement is one literal text,
/// prepared once per connection (`db::prepared`).
macro_rules! tree_node_sql {
    ($where:literal) => {
        concat!(
            "SELECT t.id, t.name, t.status, ",
            "(SELECT count(*) FROM tenants c WHERE c.parent_id = t.id) AS children, ",
            "(SELECT count(*) FROM memberships m WHERE m.tenant_id = t.id) AS members ",
            "FROM tenants t ",
            $where
        )
    };
}

/// The children of a tenant, by name (at most `limit`).
pub fn children(
    conn: &mut PgConnection,
    parent_id: TenantId,
    limit: i64,
) -> Result<Vec<TreeNode>, DomainError> {
    Ok(prepared(tree_node_sql!(
        "WHERE t.parent_id = $1 ORDER BY lower(t.name) LIMIT $2"
    ))
    .bind::<diesel::sql_types::Uuid, _>(parent_id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Tree nodes for the given tenants (the tops of a user's reach), by name.
pub fn nodes(conn: &mut PgConnection, ids: &[TenantId]) -> Result<Vec<TreeNode>, DomainError> {
    Ok(prepared(tree_node_sql!(
        "WHERE t.id = ANY($1) ORDER BY lower(t.name)"
    ))
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .load(conn)?)
}
