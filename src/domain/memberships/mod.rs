//! Memberships: a user holds a role in a tenant. They carry a copy of the tenant's path so
//! that a subtree's members are one index range scan.
mod grants;
mod limits;
mod seen;

use crate::access::{Access, Reached};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
pub use grants::{
    At, Grant, LIMIT_WITHHOLDS, active_grants, at, home, role_names_at, tops, user_with_grants,
};
pub use limits::{groups_of, set_limit};
pub use seen::{Seen, Window, at_device, limited_at, seen, withheld_at};

use crate::db::schema::{memberships, roles, subtree_counts, tenants, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::RoleId;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::roles::RoleGrant;
use crate::domain::states::UserStatus;
use crate::domain::tenants::Tenant;

#[derive(Debug, Clone, Queryable)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub status: UserStatus,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub role_id: RoleId,
    pub role_name: String,
}

/// Members of exactly this tenant, by name.
pub fn members_of(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    limit: i64,
) -> Result<Vec<Member>, DomainError> {
    Ok(memberships::table
        .inner_join(users::table)
        .inner_join(roles::table)
        .filter(memberships::tenant_id.eq(tenant_id))
        .order(users::display_name.asc())
        .limit(limit)
        .select((
            users::id,
            users::email,
            users::display_name,
            users::status,
            users::last_sign_in_at,
            roles::id,
            roles::name,
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
    role_id: RoleId,
    tenant_path: &'a [TenantId],
}

/// Adds (or changes) a membership, audited; call inside the caller's transaction. Whether
/// the actor may give this role here is the access layer's question (`Access::may_grant`).
pub fn grant(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: UserId,
    tenant: &Tenant,
    role: impl Into<RoleGrant>,
) -> Result<(), DomainError> {
    let role: RoleGrant = role.into();
    let before = role_in(conn, user_id, tenant.id)?;
    diesel::insert_into(memberships::table)
        .values(NewMembership {
            user_id,
            tenant_id: tenant.id,
            role_id: role.id,
            tenant_path: &tenant.traversal_ids,
        })
        .on_conflict((memberships::user_id, memberships::tenant_id))
        .do_update()
        .set(memberships::role_id.eq(role.id))
        .execute(conn)?;
    // A demoted admin's pending invitations go with the right to send them.
    crate::domain::invitations::revoke_unbacked(conn, user_id)?;
    Event::new(AuditAction::MembershipGrant, &tenant.traversal_ids, user_id)
        .detail(serde_json::json!({
            "role": role.name,
            "before": before.map(|r| r.name),
        }))
        .record(conn, actor)
}

/// Gives `user_id`, a member of `reached`, the role `role_id` (one on offer there), if the
/// caller may (`Access::may_change_role`): one transaction, audited with before and after.
pub fn change_role(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    user_id: UserId,
    role_id: RoleId,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let role = crate::domain::roles::custom::find_available(conn, reached.tenant(), role_id)?;
        access.may_change_role(conn, reached, user_id, &role.grant())?;
        grant(conn, &access.actor, user_id, reached.tenant(), role.grant())
    })
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

/// A member as the members pages show them: the person, their role, the tenant.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = memberships, check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    #[diesel(select_expression = users::id)]
    pub user_id: UserId,
    #[diesel(select_expression = users::email)]
    pub email: String,
    #[diesel(select_expression = users::display_name)]
    pub display_name: String,
    #[diesel(select_expression = users::status)]
    pub status: UserStatus,
    #[diesel(select_expression = users::last_sign_in_at)]
    pub last_sign_in_at: Option<DateTime<Utc>>,
    #[diesel(select_expression = roles::id)]
    pub role_id: RoleId,
    #[diesel(select_expression = roles::name)]
    pub role_name: String,
    #[diesel(select_expression = tenants::id)]
    pub tenant_id: TenantId,
    #[diesel(select_expression = tenants::name)]
    pub tenant_name: String,
    #[diesel(select_expression = memberships::limited_to_groups)]
    pub limited_to_groups: bool,
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
            .inner_join(roles::table)
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
        .select(MemberRow::as_select())
        .load(conn)?;
    Ok((rows, total))
}

/// One member of exactly the reached tenant, as the members page shows them.
pub fn member(
    conn: &mut PgConnection,
    reached: &Reached,
    user_id: UserId,
) -> Result<Option<MemberRow>, DomainError> {
    Ok(memberships::table
        .inner_join(users::table)
        .inner_join(tenants::table)
        .inner_join(roles::table)
        .filter(memberships::tenant_id.eq(reached.id()))
        .filter(memberships::user_id.eq(user_id))
        .select(MemberRow::as_select())
        .first(conn)
        .optional()?)
}

/// The role `user_id` holds in exactly this tenant, if any.
pub fn role_in(
    conn: &mut PgConnection,
    user_id: UserId,
    tenant_id: TenantId,
) -> Result<Option<RoleGrant>, DomainError> {
    let row: Option<(RoleId, String, Vec<String>, crate::domain::roles::RoleReach)> =
        memberships::table
            .inner_join(roles::table)
            .filter(memberships::user_id.eq(user_id))
            .filter(memberships::tenant_id.eq(tenant_id))
            .select((roles::id, roles::name, roles::permissions, roles::reach))
            .first(conn)
            .optional()?;
    Ok(row.map(|(id, name, keys, reach)| RoleGrant::loaded(id, name, &keys, reach)))
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
        crate::domain::api_keys::revoke_held(conn, user_id, Some(tenant.id))?;
        Event::new(
            AuditAction::MembershipRevoke,
            &tenant.traversal_ids,
            user_id,
        )
        .record(conn, actor)
    })
}
