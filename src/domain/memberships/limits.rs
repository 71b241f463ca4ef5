//! Limiting a membership to groups: its holder then sees only the devices of the groups they
//! are in at that tenant (`seen`). Setting or lifting a limit is changing what someone may
//! reach, so it takes what changing their role takes, and a caller who is limited there
//! themselves changes no one's limit.
use diesel::prelude::*;

use super::{Seen, member};
use crate::access::{Access, Reached};
use crate::db::schema::{group_members, groups, memberships};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::UserId;
use crate::domain::permissions::Permission;

/// Limits (or frees) `user_id`'s membership of the reached tenant; audited with before and
/// after. Nothing happens when it is as asked already.
pub fn set_limit(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    user_id: UserId,
    limited: bool,
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let row = member(conn, reached, user_id)?.ok_or(DomainError::NotFound)?;
        access.check(reached, Permission::MembersChangeRole)?;
        if *reached.seen(false) != Seen::All {
            return Err(DomainError::NotAllowed(
                "Your own membership here is limited to groups: ask someone who sees every \
                 device here to change limits."
                    .into(),
            ));
        }
        let role = crate::domain::roles::custom::grant_of(conn, row.role_id)?;
        access.may_change_role(conn, reached, user_id, &role)?;
        if row.limited_to_groups == limited {
            return Ok(());
        }
        diesel::update(memberships::table.find((user_id, reached.id())))
            .set(memberships::limited_to_groups.eq(limited))
            .execute(conn)?;
        Event::new(AuditAction::MembershipLimit, reached.path(), user_id)
            .detail(serde_json::json!({
                "member": row.email,
                "before": { "limited_to_groups": row.limited_to_groups },
                "after": { "limited_to_groups": limited },
            }))
            .record(conn, &access.actor)?;
        Ok(())
    })
}

/// The names of the groups `user_id` is in at `tenant`.
pub fn groups_of(
    conn: &mut PgConnection,
    user_id: UserId,
    tenant: &crate::domain::tenants::Tenant,
) -> Result<Vec<String>, DomainError> {
    Ok(group_members::table
        .inner_join(groups::table)
        .filter(group_members::customer_id.eq(tenant.customer()))
        .filter(groups::customer_id.eq(tenant.customer()))
        .filter(group_members::user_id.eq(user_id))
        .filter(group_members::tenant_id.eq(tenant.id))
        .order(groups::name.asc())
        .select(groups::name)
        .load(conn)?)
}
