//! Opening and accepting an invitation link: one transaction for the account (if new), the
//! membership and the spent token.
use diesel::prelude::*;

use super::Invitation;
use crate::crypto;
use crate::db::schema::{invitations, tenants, users as user_rows};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::TenantId;
use crate::domain::memberships as grants;
use crate::domain::password::Password;
use crate::domain::states::InvitationState;
use crate::domain::tenants::Tenant;
use crate::domain::users::{self, CreateUserError, Email, User};

/// What an invitation link shows: the invitation, its tenant and who invited.
pub struct Opened {
    pub invitation: Invitation,
    pub role_name: String,
    pub tenant_name: String,
    pub brand: crate::domain::branding::Brand,
    pub inviter: Option<(String, String)>,
}

/// Why a link no longer works; the page says which, and whom to ask.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("This invitation link is not valid. Check that you copied the whole link.")]
    Unknown,
    #[error("This invitation has expired.")]
    Expired(Box<Opened>),
    #[error("This invitation was withdrawn.")]
    Revoked(Box<Opened>),
    #[error("This invitation has already been used.")]
    Used(Box<Opened>),
    #[error("{0}")]
    Domain(#[from] DomainError),
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("invitation", &self.invitation.id)
            .finish()
    }
}

fn open_locked(conn: &mut PgConnection, token: &str, lock: bool) -> Result<Opened, LinkError> {
    let hash = crypto::sha256_hex(token.as_bytes());
    let query = invitations::table
        .filter(invitations::token_hash.eq(hash))
        .select(Invitation::as_select());
    let found = if lock {
        query.for_update().first(conn).optional()
    } else {
        query.first(conn).optional()
    };
    let invitation = found
        .map_err(DomainError::from)?
        .ok_or(LinkError::Unknown)?;
    // The page the invitee sees first carries the inviting tenant's brand.
    let (tenant, brand) = crate::domain::branding::tenant_with_brand(conn, invitation.tenant_id)?
        .ok_or(LinkError::Unknown)?;
    let tenant_name = tenant.name;
    let inviter = match invitation.inviter_id {
        Some(id) => user_rows::table
            .find(id)
            .select((user_rows::display_name, user_rows::email))
            .first(conn)
            .optional()
            .map_err(DomainError::from)?,
        None => None,
    };
    let role_name = crate::domain::roles::custom::grant_of(conn, invitation.role_id)?.name;
    let opened = Opened {
        invitation,
        role_name,
        tenant_name,
        brand,
        inviter,
    };
    match opened.invitation.shown_state() {
        // Re-checked at every opening: a sender disabled or demoted since cannot vouch for it.
        "pending" if !super::still_backed(conn, &opened.invitation)? => {
            Err(LinkError::Revoked(Box::new(opened)))
        }
        "pending" => Ok(opened),
        "expired" => Err(LinkError::Expired(Box::new(opened))),
        "revoked" => Err(LinkError::Revoked(Box::new(opened))),
        _ => Err(LinkError::Used(Box::new(opened))),
    }
}

pub fn open(conn: &mut PgConnection, token: &str) -> Result<Opened, LinkError> {
    open_locked(conn, token, false)
}

/// Who accepts: a new person with a name and password, or a signed-in user.
pub enum Acceptor<'a> {
    New {
        display_name: &'a str,
        password: &'a Password,
    },
    Existing(&'a User),
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("An account with this email address exists already: sign in to accept.")]
    HasAccount,
    #[error("This invitation is for {0}; you are signed in with another address.")]
    WrongAccount(String),
}

impl From<DomainError> for AcceptError {
    fn from(e: DomainError) -> Self {
        Self::Link(LinkError::Domain(e))
    }
}

impl From<diesel::result::Error> for AcceptError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Link(LinkError::Domain(e.into()))
    }
}

/// Accepts in one transaction: the account (if new), the membership, the spent token.
pub fn accept(
    conn: &mut PgConnection,
    token: &str,
    who: Acceptor<'_>,
    client_addr: Option<String>,
) -> Result<(User, TenantId), AcceptError> {
    conn.transaction(|conn| {
        let opened = open_locked(conn, token, true)?;
        let inv = &opened.invitation;
        let user = match who {
            Acceptor::Existing(user) => {
                if !user.email.eq_ignore_ascii_case(&inv.email) {
                    return Err(AcceptError::WrongAccount(inv.email.clone()));
                }
                user.clone()
            }
            Acceptor::New {
                display_name,
                password,
            } => {
                let email = Email::parse(&inv.email).map_err(DomainError::Invalid)?;
                users::create(conn, &email, display_name, password).map_err(|e| match e {
                    CreateUserError::EmailTaken => AcceptError::HasAccount,
                    CreateUserError::Domain(a) => a.into(),
                })?
            }
        };
        let tenant: Tenant = tenants::table
            .find(inv.tenant_id)
            .for_share()
            .select(Tenant::as_select())
            .first(conn)?;
        let actor = Actor {
            api_key: None,
            user_id: Some(user.id),
            client_addr,
        };
        let role = crate::domain::roles::custom::grant_of(conn, inv.role_id)?;
        grants::grant(conn, &actor, user.id, &tenant, &role)?;
        // The new membership is where the person lands, now and at their next sign-in.
        users::set_last_tenant(conn, user.id, tenant.id)?;
        diesel::update(invitations::table.find(inv.id))
            .set((
                invitations::state.eq(InvitationState::Accepted),
                invitations::accepted_by.eq(user.id),
                invitations::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        Event::new(AuditAction::InvitationAccept, &tenant.traversal_ids, inv.id)
            .detail(serde_json::json!({ "email": inv.email }))
            .record(conn, &actor)?;
        Ok((user, tenant.id))
    })
}
