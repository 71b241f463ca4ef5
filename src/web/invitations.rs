//! A tenant's invitations (admins): invite, resend, revoke, retry delivery.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::ids::{InvitationId, TenantId};
use crate::domain::invitations::{self, ChangeError, Invitation, InviteOutcome, Mail};
use crate::domain::permissions::perm;
use crate::domain::roles::{self, Role, custom::RoleDef};
use crate::domain::tenants::Tenant;
use crate::domain::users::Email;
use crate::email::outbox;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::htmx::redirect;
use crate::web::reach::Reach;
use crate::web::render::html_status;

pub struct Row {
    pub invitation: Invitation,
    pub role_name: String,
    pub state: &'static str,
    pub delivery: String,
}

#[derive(Template)]
#[template(path = "invitations/list.html")]
struct InvitationsPage {
    chrome: Chrome,
    tenant: Tenant,
    rows: Vec<Row>,
    roles: Vec<RoleDef>,
    email_value: String,
    role_value: String,
    email_error: Option<String>,
    role_error: Option<String>,
    /// The domains the tenant's security policy allows, if it limits them.
    domains: Option<String>,
}

fn rows(conn: &mut diesel::PgConnection, tenant_id: TenantId) -> Result<Vec<Row>, AppError> {
    let list = invitations::list(conn, tenant_id, 200)?;
    let ids: Vec<InvitationId> = list.iter().map(|(i, _)| i.id).collect();
    let messages = outbox::latest_for_invitations(conn, &ids)?;
    Ok(list
        .into_iter()
        .map(|(invitation, role_name)| {
            let m = messages
                .iter()
                .find(|m| m.invitation_id == Some(invitation.id));
            let failed = m.is_some_and(|m| m.failed_at.is_some());
            let state = match invitation.shown_state() {
                "pending" if failed => "delivery failed",
                s => s,
            };
            let delivery = match m {
                Some(m) if m.sent_at.is_some() => "sent".to_string(),
                Some(m) if m.failed_at.is_some() => format!(
                    "not delivered after {} attempts: {}",
                    m.attempts,
                    m.last_error.clone().unwrap_or_default()
                ),
                Some(m) if m.attempts > 0 => format!(
                    "retrying ({} attempts so far: {})",
                    m.attempts,
                    m.last_error.clone().unwrap_or_default()
                ),
                Some(_) => "queued".to_string(),
                None => String::new(),
            };
            Row {
                invitation,
                role_name,
                state,
                delivery,
            }
        })
        .collect())
}

impl InvitationsPage {
    fn load(
        conn: &mut diesel::PgConnection,
        access: &Access,
        chrome: Chrome,
        reached: Reached,
    ) -> Result<Self, AppError> {
        let domains = crate::domain::policies::effective(conn, reached.path())?
            .email_domains
            .map(|d| d.value.join(", "));
        Ok(Self {
            domains,
            chrome,
            rows: rows(conn, reached.tenant().id)?,
            roles: roles::custom::grantable(conn, access, &reached)?,
            tenant: reached.into_tenant(),
            email_value: String::new(),
            role_value: Role::Viewer.id().to_string(),
            email_error: None,
            role_error: None,
        })
    }
}

impl InvitationsPage {
    /// The pending ones among those listed: what the dashboard's card counts.
    fn pending(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.invitation.shown_state() == "pending")
            .count()
    }
}

pub async fn list(r: Reach<perm::MembersInvite>) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        InvitationsPage::load(conn, &access, chrome, reached)
    })
    .await?;
    html_status(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    r: Reach<perm::MembersInvite>,
    state: web::Data<AppState>,
    form: web::Form<InviteForm>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let form = form.into_inner();
    let email = Email::parse(&form.email);
    let role = roles::choice(&form.role);
    let state2 = state.clone();
    let (status, page) = db::run(&pool, move |conn| {
        // Out of reach or beyond the caller's own role is refused before anything else.
        let grantable = match role {
            Some(r) => Some(access.grantable(conn, &reached, r)?),
            None => None,
        };
        let tenant = reached.tenant().clone();
        let mut page = InvitationsPage::load(conn, &access, chrome, reached.clone())?;
        page.email_value = form.email.chars().take(254).collect();
        page.role_value =
            role.map_or_else(|| form.role.chars().take(40).collect(), |r| r.to_string());
        let (email, role) = match (email, grantable) {
            (Ok(e), Some(r)) => (e, r),
            (email, role) => {
                page.email_error = email.err();
                page.role_error = role.is_none().then(|| "Choose a role.".to_string());
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page));
            }
        };
        let mail = mail(&state2, &access.user.display_name);
        let status = match invitations::invite(conn, &access, &reached, &email, &role, &mail)? {
            InviteOutcome::Sent(inv) => {
                page.chrome.flash = Some(format!("Invitation sent to {}.", inv.email));
                page.email_value.clear();
                StatusCode::OK
            }
            InviteOutcome::AlreadyPending(inv) => {
                page.chrome.flash = Some(format!(
                    "{} already has a pending invitation; use Resend to send a new link.",
                    inv.email
                ));
                StatusCode::OK
            }
            InviteOutcome::Limited(why) => {
                page.email_error = Some(why);
                StatusCode::TOO_MANY_REQUESTS
            }
            InviteOutcome::OutsideDomains(why) => {
                page.email_error = Some(why);
                StatusCode::UNPROCESSABLE_ENTITY
            }
            InviteOutcome::AlreadyMember => {
                page.email_error = Some(format!(
                    "{} is already a member of this tenant.",
                    email.as_str()
                ));
                StatusCode::UNPROCESSABLE_ENTITY
            }
        };
        page.rows = rows(conn, tenant.id)?;
        Ok((status, page))
    })
    .await?;
    html_status(status, &page)
}

/// What to do with one invitation.
#[derive(Clone, Copy)]
enum Change {
    Resend,
    Revoke,
    Retry,
}

async fn change(
    req: HttpRequest,
    r: Reach<perm::MembersInvite>,
    state: web::Data<AppState>,
    path: web::Path<(TenantId, InvitationId)>,
    what: Change,
) -> Result<HttpResponse, AppError> {
    let (id, invitation_id) = path.into_inner();
    let (access, _, reached, _) = r.into_parts();
    let state2 = state.clone();
    db::run(&state.pool, move |conn| {
        let mail = mail(&state2, &access.user.display_name);
        let done = match what {
            Change::Resend => {
                invitations::resend(conn, &access.actor, reached.tenant(), invitation_id, &mail)
                    .map(|_| ())
            }
            Change::Revoke => {
                invitations::revoke(conn, &access.actor, reached.tenant(), invitation_id)
            }
            Change::Retry => invitations::retry_delivery(conn, reached.tenant(), invitation_id),
        };
        match done {
            Ok(()) => Ok(()),
            Err(ChangeError::Domain(e)) => Err(e.into()),
            Err(ChangeError::Limited(why)) => Err(AppError::TooMany(why)),
            Err(e) => Err(AppError::Conflict(e.to_string())),
        }
    })
    .await?;
    Ok(redirect(&req, &format!("/tenants/{id}/invitations")))
}

pub async fn resend(
    req: HttpRequest,
    r: Reach<perm::MembersInvite>,
    state: web::Data<AppState>,
    path: web::Path<(TenantId, InvitationId)>,
) -> Result<HttpResponse, AppError> {
    change(req, r, state, path, Change::Resend).await
}

pub async fn revoke(
    req: HttpRequest,
    r: Reach<perm::MembersInvite>,
    state: web::Data<AppState>,
    path: web::Path<(TenantId, InvitationId)>,
) -> Result<HttpResponse, AppError> {
    change(req, r, state, path, Change::Revoke).await
}

pub async fn retry(
    req: HttpRequest,
    r: Reach<perm::MembersInvite>,
    state: web::Data<AppState>,
    path: web::Path<(TenantId, InvitationId)>,
) -> Result<HttpResponse, AppError> {
    change(req, r, state, path, Change::Retry).await
}

/// What an invitation email is written with: the portal's settings and the inviter's name.
pub(crate) fn mail<'a>(state: &'a AppState, inviter_name: &'a str) -> Mail<'a> {
    Mail {
        base_url: &state.settings.base_url,
        ttl: state.settings.mail.invitation_ttl,
        inviter_name,
        limits: state.settings.mail.invitation_limits,
    }
}
