//! A tenant's API keys page: make a key (its secret shown this once), list the keys made here
//! — one's own, or everyone's with `api_keys.manage` — and revoke them. Rules are the
//! domain's (`domain::api_keys`); the key's role passes the same no-escalation check as an
//! invitation's (`Access::grantable`).
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::api_keys::{self, FieldErrors, KeyInput, Listed};
use crate::domain::ids::{ApiKeyId, TenantId};
use crate::domain::permissions::{Permission, perm};
use crate::domain::roles::{self, custom::RoleDef};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::html_status;

#[derive(Template)]
#[template(path = "api_keys/list.html")]
struct Page {
    chrome: Chrome,
    tenant: Tenant,
    roles: Vec<RoleDef>,
    rows: Vec<Listed>,
    /// Whether the reader sees (and may revoke) everyone's keys here.
    manages: bool,
    now: DateTime<Utc>,
    input: KeyInput,
    errors: FieldErrors,
    /// A new key's name and secret, shown this once.
    secret: Option<(String, String)>,
    default_days: i64,
    max_days: i64,
    /// Offered first: the least a program needs is usually to read.
    default_role: String,
}

impl Page {
    fn load(
        conn: &mut diesel::PgConnection,
        access: &Access,
        chrome: Chrome,
        reached: &Reached,
    ) -> Result<Self, AppError> {
        let manages = reached.may(Permission::ApiKeysManage);
        let owner = (!manages).then_some(access.user.id);
        Ok(Page {
            chrome,
            tenant: reached.tenant().clone(),
            roles: roles::custom::grantable(conn, access, reached)?,
            rows: api_keys::list(conn, reached, owner)?,
            manages,
            now: crate::domain::clock::now(conn)?,
            input: KeyInput {
                days: api_keys::DEFAULT_DAYS.to_string(),
                ..KeyInput::default()
            },
            errors: FieldErrors::new(),
            secret: None,
            default_days: api_keys::DEFAULT_DAYS,
            max_days: api_keys::MAX_DAYS,
            default_role: roles::Role::Viewer.id().to_string(),
        })
    }

    fn state(&self, key: &Listed) -> &'static str {
        if key.key.revoked_at.is_some() {
            "revoked"
        } else if key.key.expires_at <= self.now {
            "expired"
        } else {
            "live"
        }
    }
}

pub async fn list(r: Reach<perm::ApiKeysCreate>) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        Page::load(conn, &access, chrome, &reached)
    })
    .await?;
    html_status(StatusCode::OK, &page)
}

pub async fn create(
    r: Reach<perm::ApiKeysCreate>,
    form: web::Form<KeyInput>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let input = form.into_inner();
    let (status, page) = db::run(&pool, move |conn| {
        let role = roles::choice(&input.role);
        // A role beyond the caller's own here is refused (403) before anything else.
        let grantable = match role {
            Some(r) => Some(access.grantable(conn, &reached, r)?),
            None => None,
        };
        let (fields, role) = match (input.parse(), grantable) {
            (Ok(f), Some(r)) => (f, r),
            (fields, role) => {
                let mut page = Page::load(conn, &access, chrome, &reached)?;
                page.errors = fields.err().unwrap_or_default();
                if role.is_none() {
                    page.errors.insert("role", "Choose a role.".into());
                }
                page.input = input;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page));
            }
        };
        let (key, secret) = api_keys::create(
            conn,
            &access.actor,
            access.user.id,
            &reached,
            &role,
            &fields,
        )?;
        // Loaded after the key is made, so that the list shows it; the form starts afresh.
        let mut page = Page::load(conn, &access, chrome, &reached)?;
        page.secret = Some((key.name, secret));
        Ok((StatusCode::CREATED, page))
    })
    .await?;
    html_status(status, &page)
}

/// Revokes one of the caller's own keys here, or anyone's with `api_keys.manage`.
pub async fn revoke(
    req: actix_web::HttpRequest,
    r: Reach<perm::ApiKeysCreate>,
    path: web::Path<(TenantId, ApiKeyId)>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    let (tenant, id) = path.into_inner();
    let name = db::run(&pool, move |conn| {
        let key = api_keys::find_in(conn, &reached, id)?;
        if key.user_id != access.user.id && !reached.may(Permission::ApiKeysManage) {
            // Someone else's key is as unknown as a missing one to those who cannot manage it.
            return Err(AppError::NotFound);
        }
        api_keys::revoke(conn, &access.actor, &reached, &key)?;
        Ok(key.name)
    })
    .await?;
    flash::set(
        &session,
        format!("API key “{name}” revoked: programs using it are refused from now on."),
    )?;
    // The button posts through htmx (for its confirmation): it needs HX-Redirect.
    Ok(crate::web::htmx::redirect(
        &req,
        &format!("/tenants/{tenant}/api-keys"),
    ))
}
