//! Invitations: an admin invites an email address into a tenant with a role; the invitee
//! accepts from a single-use link. Tokens are ≥128 bits from the OS CSPRNG; only their hash
//! is stored. The invitation and its email are written in one transaction.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::access::{Access, Grantable, Reached};
use crate::crypto;
use crate::db::schema::{invitations, memberships, users as user_rows};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::branding;
use crate::domain::error::DomainError;
use crate::domain::ids::RoleId;
use crate::domain::ids::{InvitationId, TenantId, UserId};
use crate::domain::permissions::Permission;
use crate::domain::roles::RoleGrant;
use crate::domain::states::InvitationState;
use crate::domain::tenants::Tenant;
use crate::domain::users::Email;
use crate::email::{messages, outbox};

mod accept;
mod limits;

pub use accept::{AcceptError, Acceptor, LinkError, Opened, accept, open};
pub use limits::Limits;
use limits::take_send;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub tenant_path: Vec<TenantId>,
    pub email: String,
    pub role_id: RoleId,
    pub inviter_id: Option<UserId>,
    pub state: InvitationState,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl Invitation {
    pub fn is_expired(&self) -> bool {
        self.state == InvitationState::Pending && self.expires_at <= Utc::now()
    }

    /// The state as people read it: expiry is a matter of time, not of a stored flag.
    pub fn shown_state(&self) -> &'static str {
        match self.state.as_str() {
            "accepted" => "accepted",
            "revoked" => "revoked",
            _ if self.is_expired() => "expired",
            _ => "pending",
        }
    }
}

/// What the link needs to be built and the message to be written.
pub struct Mail<'a> {
    pub base_url: &'a str,
    pub ttl: std::time::Duration,
    pub inviter_name: &'a str,
    pub limits: Limits,
}

#[derive(Debug)]
pub enum InviteOutcome {
    Sent(Invitation),
    /// A pending invitation exists already; nothing new was created.
    AlreadyPending(Invitation),
    AlreadyMember,
    /// An hourly limit is reached; the message says which.
    Limited(String),
    /// The tenant's security policy allows invitations to other domains only.
    OutsideDomains(String),
}

fn new_token() -> (String, String) {
    let token = crypto::random_hex(32);
    let hash = crypto::sha256_hex(token.as_bytes());
    (token, hash)
}

fn enqueue(
    conn: &mut PgConnection,
    inv: &Invitation,
    tenant: &Tenant,
    token: &str,
    mail: &Mail<'_>,
) -> Result<(), DomainError> {
    let brand = branding::effective(conn, tenant)?.for_mail(mail.base_url);
    let link = format!("{}/invitations/{token}", mail.base_url);
    let expires = inv.expires_at.format("%-d %B %Y, %H:%M UTC").to_string();
    let role = crate::domain::roles::custom::grant_of(conn, inv.role_id)?;
    let m = messages::invitation(
        &brand,
        &tenant.name,
        mail.inviter_name,
        &role.name,
        &link,
        &expires,
    )?;
    outbox::enqueue(
        conn,
        outbox::NewMessage {
            to: &inv.email,
            subject: &m.subject,
            text: &m.text,
            html: &m.html,
            invitation_id: Some(inv.id),
        },
    )?;
    Ok(())
}

fn expiry(mail: &Mail<'_>) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(mail.ttl.as_secs() as i64)
}

/// Invites `email` into the reached tenant with a role the caller may give there
/// (`Access::grantable`: on offer, no escalation), if they may invite there.
pub fn invite(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    email: &Email,
    role: &Grantable,
    mail: &Mail<'_>,
) -> Result<InviteOutcome, DomainError> {
    access.check(reached, Permission::MembersInvite)?;
    let policy = crate::domain::policies::effective(conn, reached.path())?;
    if !policy.allows_email(email.as_str())
        && let Some(d) = &policy.email_domains
    {
        return Ok(InviteOutcome::OutsideDomains(format!(
            "{}'s security policy allows invitations to addresses at {} only.",
            d.tenant_name,
            d.value.join(", ")
        )));
    }
    create(
        conn,
        &access.actor,
        reached.tenant(),
        email,
        role.role(),
        mail,
    )
}

/// Invites `email` into `tenant` with `role`, for work no person asked for (the demo data,
/// tests) and for `invite`, which has checked the caller may.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    email: &Email,
    role: &RoleGrant,
    mail: &Mail<'_>,
) -> Result<InviteOutcome, DomainError> {
    conn.transaction(|conn| {
        let member: i64 = memberships::table
            .inner_join(user_rows::table)
            .filter(memberships::tenant_id.eq(tenant.id))
            .filter(user_rows::email.eq(email.as_str()))
            .count()
            .get_result(conn)?;
        if member > 0 {
            return Ok(InviteOutcome::AlreadyMember);
        }
        let pending: Option<Invitation> = invitations::table
            .filter(invitations::tenant_id.eq(tenant.id))
            .filter(invitations::email.eq(email.as_str()))
            .filter(invitations::state.eq(InvitationState::Pending))
            .for_update()
            .select(Invitation::as_select())
            .first(conn)
            .optional()?;
        if let Some(p) = pending {
            if !p.is_expired() {
                return Ok(InviteOutcome::AlreadyPending(p));
            }
            if let Some(why) = take_send(conn, actor, tenant, mail.limits)? {
                return Ok(InviteOutcome::Limited(why));
            }
            return resend_locked(conn, actor, tenant, &p, mail).map(InviteOutcome::Sent);
        }
        if let Some(why) = take_send(conn, actor, tenant, mail.limits)? {
            return Ok(InviteOutcome::Limited(why));
        }
        let (token, hash) = new_token();
        let inv: Invitation = diesel::insert_into(invitations::table)
            .values((
                invitations::id.eq(InvitationId::new()),
                invitations::tenant_id.eq(tenant.id),
                invitations::tenant_path.eq(&tenant.traversal_ids),
                invitations::email.eq(email.as_str()),
                invitations::role_id.eq(role.id),
                invitations::inviter_id.eq(actor.user_id),
                invitations::token_hash.eq(&hash),
                invitations::expires_at.eq(expiry(mail)),
            ))
            .returning(Invitation::as_returning())
            .get_result(conn)?;
        enqueue(conn, &inv, tenant, &token, mail)?;
        Event::new(AuditAction::InvitationCreate, &tenant.traversal_ids, inv.id)
            .detail(serde_json::json!({ "email": inv.email, "role": role.name }))
            .record(conn, actor)?;
        Ok(InviteOutcome::Sent(inv))
    })
}

fn resend_locked(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    inv: &Invitation,
    mail: &Mail<'_>,
) -> Result<Invitation, DomainError> {
    let (token, hash) = new_token();
    // A new hash kills the old link: only the newest token matches.
    let renewed: Invitation = diesel::update(invitations::table.find(inv.id))
        .set((
            invitations::token_hash.eq(&hash),
            invitations::expires_at.eq(expiry(mail)),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Invitation::as_returning())
        .get_result(conn)?;
    enqueue(conn, &renewed, tenant, &token, mail)?;
    Event::new(AuditAction::InvitationResend, &tenant.traversal_ids, inv.id)
        .detail(serde_json::json!({ "email": inv.email }))
        .record(conn, actor)?;
    Ok(renewed)
}

/// Whether the invitation's sender could still send it: active, holding `members.invite` at
/// its tenant and at least what its role gives there (invitations made by the system, with no
/// sender, always could).
pub fn still_backed(conn: &mut PgConnection, inv: &Invitation) -> Result<bool, DomainError> {
    let Some(inviter) = inv.inviter_id else {
        return Ok(true);
    };
    let active = crate::domain::users::find(conn, inviter)?.is_some_and(|u| u.is_active());
    if !active {
        return Ok(false);
    }
    let grants = crate::domain::memberships::active_grants(conn, inviter)?;
    let Some(at) = crate::domain::memberships::at(&grants, &inv.tenant_path) else {
        return Ok(false);
    };
    let role = crate::domain::roles::custom::grant_of(conn, inv.role_id)?;
    Ok(at.permissions.has(Permission::MembersInvite) && role.within(at.permissions, at.reach))
}

/// Revokes the pending invitations that `inviter` could no longer send (after being disabled,
/// demoted or removed); each is audited with the reason.
pub fn revoke_unbacked(conn: &mut PgConnection, inviter: UserId) -> Result<usize, DomainError> {
    let pending: Vec<Invitation> = invitations::table
        .filter(invitations::inviter_id.eq(inviter))
        .filter(invitations::state.eq(InvitationState::Pending))
        .for_update()
        .select(Invitation::as_select())
        .load(conn)?;
    let mut revoked = 0;
    for inv in &pending {
        if still_backed(conn, inv)? {
            continue;
        }
        mark_revoked(
            conn,
            &Actor::system(),
            inv,
            serde_json::json!({
                "email": inv.email,
                "reason": "the inviter can no longer grant this access",
            }),
        )?;
        revoked += 1;
    }
    Ok(revoked)
}

/// Revokes a pending invitation and audits it with `detail`; inside the caller's transaction.
fn mark_revoked(
    conn: &mut PgConnection,
    actor: &Actor,
    inv: &Invitation,
    detail: serde_json::Value,
) -> Result<(), DomainError> {
    diesel::update(invitations::table.find(inv.id))
        .set((
            invitations::state.eq(InvitationState::Revoked),
            invitations::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Event::new(AuditAction::InvitationRevoke, &inv.tenant_path, inv.id)
        .detail(detail)
        .record(conn, actor)
}

/// An invitation of exactly this tenant, locked for a change.
fn locked_in(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: InvitationId,
) -> Result<Invitation, DomainError> {
    Ok(invitations::table
        .filter(invitations::id.eq(id))
        .filter(invitations::tenant_id.eq(tenant.id))
        .for_update()
        .select(Invitation::as_select())
        .first(conn)?)
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("Only pending invitations can be changed; this one is {0}.")]
    NotPending(&'static str),
    #[error("{0}")]
    Limited(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for ChangeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

pub fn resend(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    id: InvitationId,
    mail: &Mail<'_>,
) -> Result<Invitation, ChangeError> {
    conn.transaction(|conn| {
        let inv = locked_in(conn, tenant, id)?;
        if inv.state != InvitationState::Pending {
            return Err(ChangeError::NotPending(inv.shown_state()));
        }
        if let Some(why) = take_send(conn, actor, tenant, mail.limits)? {
            return Err(ChangeError::Limited(why));
        }
        Ok(resend_locked(conn, actor, tenant, &inv, mail)?)
    })
}

pub fn revoke(
    conn: &mut PgConnection,
    actor: &Actor,
    tenant: &Tenant,
    id: InvitationId,
) -> Result<(), ChangeError> {
    conn.transaction(|conn| {
        let inv = locked_in(conn, tenant, id)?;
        if inv.state != InvitationState::Pending {
            return Err(ChangeError::NotPending(inv.shown_state()));
        }
        mark_revoked(conn, actor, &inv, serde_json::json!({ "email": inv.email }))?;
        Ok(())
    })
}

/// After delivery failed for good: try again, keeping the same link.
pub fn retry_delivery(
    conn: &mut PgConnection,
    tenant: &Tenant,
    id: InvitationId,
) -> Result<(), ChangeError> {
    conn.transaction(|conn| {
        let inv = locked_in(conn, tenant, id)?;
        if inv.state != InvitationState::Pending {
            return Err(ChangeError::NotPending(inv.shown_state()));
        }
        outbox::retry_for_invitation(conn, id)?;
        Ok(())
    })
}

/// A tenant's invitations, newest first.
/// The latest invitations of a tenant, each with its role's name.
pub fn list(
    conn: &mut PgConnection,
    tenant_id: TenantId,
    limit: i64,
) -> Result<Vec<(Invitation, String)>, DomainError> {
    Ok(invitations::table
        .inner_join(crate::db::schema::roles::table)
        .filter(invitations::tenant_id.eq(tenant_id))
        .order(invitations::created_at.desc())
        .limit(limit)
        .select((Invitation::as_select(), crate::db::schema::roles::name))
        .load(conn)?)
}
