//! How many invitation emails one sender and one tenant may send in an hour.
use chrono::Utc;
use diesel::prelude::*;

use crate::db::schema::invitation_sends;
use crate::domain::audit::Actor;
use crate::domain::error::DomainError;
use crate::domain::tenants::Tenant;

/// How many invitation emails one sender, and one tenant, may send in an hour: the text of
/// an invitation is partly the sender's, so unlimited sending would make us a spam relay.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_sender: i64,
    pub per_tenant: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_sender: 20,
            per_tenant: 60,
        }
    }
}

/// Counts one more invitation email against the hourly limits, or says which limit is
/// reached (nothing is counted then).
pub(super) fn take_send(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    limits: Limits,
) -> Result<Option<String>, DomainError> {
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    let by_tenant: i64 = invitation_sends::table
        .filter(invitation_sends::tenant_id.eq(tenant.id))
        .filter(invitation_sends::at.gt(hour_ago))
        .count()
        .get_result(conn)?;
    if by_tenant >= limits.per_tenant {
        return Ok(Some(format!(
            "This tenant has sent {} invitations in the last hour, the most allowed. Try again later.",
            limits.per_tenant
        )));
    }
    if let Some(sender) = actor.user_id {
        let by_sender: i64 = invitation_sends::table
            .filter(invitation_sends::sender_id.eq(sender))
            .filter(invitation_sends::at.gt(hour_ago))
            .count()
            .get_result(conn)?;
        if by_sender >= limits.per_sender {
            return Ok(Some(format!(
                "You have sent {} invitations in the last hour, the most allowed. Try again later.",
                limits.per_sender
            )));
        }
    }
    diesel::delete(
        invitation_sends::table
            .filter(invitation_sends::tenant_id.eq(tenant.id))
            .filter(invitation_sends::at.lt(hour_ago)),
    )
    .execute(conn)?;
    diesel::insert_into(invitation_sends::table)
        .values((
            invitation_sends::tenant_id.eq(tenant.id),
            invitation_sends::sender_id.eq(actor.user_id),
        ))
        .execute(conn)?;
    Ok(None)
}
