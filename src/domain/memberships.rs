//! Memberships: a user holds a role in a tenant. They carry a copy of the tenant's path so
//! that a subtree's members are one index range scan.
use crate::access::Reached;
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::{memberships, subtree_counts, tenants, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::roles::Role;
use crate::domain::states::UserStatus;
use crate::domain::tenants::Tenant;

/// One of a user's memberships with what the access layer needs of its tenant.
#[derive(Debug, Clone, Queryable)]
pub struct Grant {
    pub tenant_id: TenantId,
    pub tenant_path: Vec<TenantId>,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub tenant_name: String,
}

/// The tenants at the top of a user's reach: grants not inside one of their admin grants.
pub fn tops(grants: &[Grant]) -> Vec<TenantId> {
    grants
        .iter()
        .filter(|g| {
            !grants.iter().any(|o| {
                o.role == Role::Admin
                    && o.tenant_id != g.tenant_id
                    && g.tenant_path.starts_with(&o.tenant_path)
            })
        })
        .map(|g| g.tenant_id)
        .collect()
}

/// The role that applies at the tenant at `path`: the grant there, or admin through an admin
/// grant above it — the access rule, in one place.
pub fn role_at(grants: &[Grant], path: &[TenantId]) -> Option<Role> {
    let id = path.last()?;
    grants
        .iter()
        .filter_map(|g| {
            if g.tenant_id == *id {
                Some(g.role)
            } else if g.role == Role::Admin && path.starts_with(&g.tenant_path) {
                Some(Role::Admin)
            } else {
                None
            }
        })
        .max()
}

/// Where a user lands: the membership they last switched to, else their first top.
pub fn home(last_tenant: Option<TenantId>, grants: &[Grant]) -> Option<TenantId> {
    last_tenant
        .filter(|id| grants.iter().any(|g| g.tenant_id == *id))
        .or_else(|| tops(grants).first().copied())
}

/// The user's memberships whose tenant, and every tenant above it, is active (the same
/// statement as `user_with_grants`).
pub fn active_grants(conn: &mut PgConnection, user_id: UserId) -> Result<Vec<Grant>, DomainError> {
    Ok(user_with_grants(conn, user_id)?
        .map(|(_, grants)| grants)
        .unwrap_or_default())
}

/// One row of `user_with_grants`: the user, and one of their active memberships (if any).
#[derive(QueryableByName)]
struct UserGrantRow {
    #[diesel(embed)]
    user: crate::domain::users::User,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    tenant_id: Option<TenantId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Array<diesel::sql_types::Uuid>>)]
    tenant_path: Option<Vec<TenantId>>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    role: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    tenant_name: Option<String>,
}

/// A user and their active grants (as `active_grants`) in one statement, for every request.
pub fn user_with_grants(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<(crate::domain::users::User, Vec<Grant>)>, DomainError> {
    // A grant counts only while its tenant and every tenant above it are active.
    let rows: Vec<UserGrantRow> = crate::db::prepared::prepared(
        "SELECT u.id, u.email, u.display_name, u.password_hash, u.status, u.last_sign_in_at, \
                u.last_tenant_id, g.tenant_id, g.tenant_path, g.role, g.tenant_name \
         FROM users u LEFT JOIN LATERAL ( \
             SELECT m.tenant_id, tenants.traversal_ids AS tenant_path, m.role, \
                    tenants.name AS tenant_name \
             FROM memberships m JOIN tenants ON tenants.id = m.tenant_id \
             WHERE m.user_id = u.id AND NOT EXISTS (SELECT 1 FROM tenants s \
                 WHERE s.id = ANY(tenants.traversal_ids) AND s.status = 'suspended') \
         ) g ON true \
         WHERE u.id = $1 ORDER BY g.tenant_name",
    )
    .bind::<diesel::sql_types::Uuid, _>(user_id)
    .load(conn)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let user = first.user.clone();
    let grants = rows
        .into_iter()
        .filter_map(|r| {
            Some(Grant {
                tenant_id: r.tenant_id?,
                tenant_path: r.tenant_path?,
                role: Role::try_from(r.role?).ok()?,
                tenant_name: r.tenant_name?,
            })
        })
        .collect();
    Ok(Some((user, grants)))
}

#[derive(Debug, Clone, Queryable)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = String)]
    pub role: Role,
}

/// Members of exactly this tenant, by name.
pub fn members_of(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    limit: i64,
) -> Result<Vec<Member>, DomainError> {
    Ok(memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .order(users::display_name.asc())
        .limit(limit)
        .select((
            users::id,
            users::email,
            users::display_name,
            users::status,
            users::last_sign_in_at,
            memberships::role,
        ))
        .load(conn)?)
}

pub fn count_in(conn: &mut PgConnection, tenant_id: TenantId) -> Result<i64, DomainError> {
    Ok(memberships::table
        .filter(memberships::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)?)
}

#[derive(Insertable)]
#[diesel(table_name = memberships)]
struct NewMembership<'a> {
    user_id: UserId,
    tenant_id: TenantId,
    role: &'a str,
    tenant_path: &'a [TenantId],
}

/// Adds (or changes) a membership, audited; call inside the caller's transaction.
pub fn grant(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: UserId,
    tenant: &Tenant,
    role: Role,
) -> Result<(), DomainError> {
    diesel::insert_into(memberships::table)
        .values(NewMembership {
            user_id,
            tenant_id: tenant.id,
            role: role.as_str(),
            tenant_path: &tenant.traversal_ids,
        })
        .on_conflict((memberships::user_id, memberships::tenant_id))
        .do_update()
        .set(memberships::role.eq(role.as_str()))
        .execute(conn)?;
    // A demoted admin's pending invitations go with the right to send them.
    crate::domain::invitations::revoke_unbacked(conn, user_id)?;
    Event::new(AuditAction::MembershipGrant, &tenant.traversal_ids, user_id)
        .detail(serde_json::json!({ "role": role.as_str() }))
        .record(conn, actor)
}

pub fn count_for_user(conn: &mut PgConnection, user_id: UserId) -> Result<i64, DomainError> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .count()
        .get_result(conn)?)
}

/// One page of members, searched by name or email: of the reached tenant alone, or of its
/// whole subtree when `subtree` is set.
pub struct MemberQuery<'a> {
    pub tenant: &'a Reached,
    pub subtree: bool,
    pub search: &'a str,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Debug, Clone, Queryable)]
pub struct MemberRow {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    #[diesel(deserialize_as = String)]
    pub role: Role,
    pub tenant_id: TenantId,
    pub tenant_name: String,
}

/// The memberships of a tenant's whole subtree, as the database keeps the count
/// (`subtree_counts`): one row, however large the subtree.
pub fn count_in_subtree(conn: &mut PgConnection, tenant: TenantId) -> Result<i64, DomainError> {
    let n: Option<i64> = subtree_counts::table
        .find(tenant)
        .select(subtree_counts::members)
        .first(conn)
        .optional()?;
    Ok(n.unwrap_or(0))
}

/// A page of members and the total that match.
pub fn search(
    conn: &mut PgConnection,
    q: &MemberQuery<'_>,
) -> Result<(Vec<MemberRow>, i64), DomainError> {
    // Without a search term a subtree's count is kept by the database (`subtree_counts`).
    let kept = if q.subtree && q.search.trim().is_empty() {
        Some(count_in_subtree(conn, q.tenant.id())?)
    } else {
        None
    };
    crate::db::plans::per_execution(conn, |conn| search_planned(conn, q, kept))
}

fn search_planned(
    conn: &mut PgConnection,
    q: &MemberQuery<'_>,
    kept: Option<i64>,
) -> Result<(Vec<MemberRow>, i64), DomainError> {
    let filtered = || {
        let mut query = memberships::table
            .inner_join(users::table)
            .inner_join(tenants::table)
            .into_boxed();
        query = match q.subtree.then(|| q.tenant.path()) {
            Some(path) => {
                let (lo, hi) = crate::domain::tenants::subtree_bounds(path);
                query.filter(
                    memberships::tenant_path
                        .ge(lo)
                        .and(memberships::tenant_path.lt(hi)),
                )
            }
            None => query.filter(memberships::tenant_id.eq(q.tenant.id())),
        };
        let term = q.search.trim();
        if !term.is_empty() {
            let pattern = format!("%{}%", crate::db::like_escape(term));
            query = query.filter(
                users::display_name
                    .ilike(pattern.clone())
                    .or(users::email.ilike(pattern)),
            );
        }
        query
    };
    let total = match (kept, q.search.trim().is_empty()) {
        (Some(n), _) => n,
        (None, true) => memberships::table
            .filter(memberships::tenant_id.eq(q.tenant.id()))
            .count()
            .get_result(conn)?,
        (None, false) => filtered().count().get_result(conn)?,
    };
    let rows = filtered()
        .order((
            users::display_name.asc(),
            users::id.asc(),
            tenants::name.asc(),
        ))
        .offset(q.offset)
        .limit(q.limit)
        .select((
            users::id,
            users::email,
            users::display_name,
            users::status,
            users::last_sign_in_at,
            memberships::role,
            tenants::id,
            tenants::name,
        ))
        .load(conn)?;
    Ok((rows, total))
}

/// The membership of `user_id` in exactly this tenant, if any.
pub fn role_in(
    conn: &mut PgConnection,
    user_id: UserId,
    tenant_id: TenantId,
) -> Result<Option<Role>, DomainError> {
    let role: Option<String> = memberships::table
        .find((user_id, tenant_id))
        .select(memberships::role)
        .first(conn)
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r)))
}

/// Every tenant path where the user holds a membership.
pub fn paths_of(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Vec<Vec<TenantId>>, DomainError> {
    Ok(memberships::table
        .filter(memberships::user_id.eq(user_id))
        .select(memberships::tenant_path)
        .load(conn)?)
}

pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: UserId,
    tenant: &Tenant,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let removed =
            diesel::delete(memberships::table.find((user_id, tenant.id))).execute(conn)?;
        if removed == 0 {
            return Err(DomainError::NotFound);
        }
        crate::domain::invitations::revoke_unbacked(conn, user_id)?;
        Event::new(
            AuditAction::MembershipRevoke,
            &tenant.traversal_ids,
            user_id,
        )
        .record(conn, actor)
    })
}
