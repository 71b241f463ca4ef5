//! A tenant's security policy: what is in force there and which tenant set each value (also
//! loaded into the tenant page), and the form for its own settings, which may only tighten
//! what comes from above (`domain::policies`).
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::access::Reached;
use crate::db;
use crate::domain::permissions::{Permission, perm};
use crate::domain::policies::{self, Effective, FieldErrors, Policy, PolicyInput};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::htmx::is_htmx;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

/// What is in force at a tenant, as a section of its page.
#[derive(Template)]
#[template(path = "security/_summary.html")]
pub struct Summary {
    tenant_id: crate::domain::ids::TenantId,
    effective: Effective,
    /// The portal's own idle timeout, in minutes, for when no tenant sets one.
    portal_idle: u64,
}

#[derive(Template)]
#[template(path = "security/page.html")]
struct SecurityPage {
    chrome: Chrome,
    tenant: Tenant,
    summary: Summary,
    /// What applies from above: the floor of the form.
    above: Effective,
    can_manage: bool,
    input: PolicyInput,
    errors: FieldErrors,
    notice: Option<&'static str>,
}

impl SecurityPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

fn input_of(p: &Policy) -> PolicyInput {
    PolicyInput {
        require_two_factor: if p.require_two_factor { "1" } else { "" }.into(),
        email_domains: p.email_domains.clone().unwrap_or_default().join(", "),
        idle_minutes: p.idle_minutes.map(|m| m.to_string()).unwrap_or_default(),
    }
}

fn page(
    conn: &mut diesel::PgConnection,
    chrome: Chrome,
    reached: Reached,
    portal_idle: u64,
    input: Option<PolicyInput>,
    errors: FieldErrors,
) -> Result<SecurityPage, AppError> {
    let (effective, above) = policies::here_and_above(conn, reached.path())?;
    let input = match input {
        Some(i) => i,
        None => input_of(&policies::own(conn, reached.id())?),
    };
    Ok(SecurityPage {
        chrome,
        summary: Summary {
            tenant_id: reached.id(),
            effective,
            portal_idle,
        },
        above,
        can_manage: reached.may(Permission::SecurityManage),
        input,
        errors,
        notice: None,
        tenant: reached.into_tenant(),
    })
}

fn portal_idle(state: &AppState) -> u64 {
    state.settings.session_idle.as_secs() / 60
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    saved: Option<String>,
}

/// The policy page; to htmx, the summary alone (the tenant page loads it in place).
pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    r: Reach<perm::TenantView>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let idle = portal_idle(&state);
    let p = db::run(&pool, move |conn| {
        page(conn, chrome, reached, idle, None, FieldErrors::new())
    })
    .await?;
    if is_htmx(&req) {
        return html(&p.summary);
    }
    html(&SecurityPage {
        notice: done.saved.as_ref().map(|_| "Security policy saved."),
        ..p
    })
}

pub async fn save(
    state: web::Data<AppState>,
    r: Reach<perm::SecurityManage>,
    form: web::Form<PolicyInput>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let idle = portal_idle(&state);
    let input = form.into_inner();
    let refused = db::run(&pool, move |conn| {
        let max = i32::try_from(idle).unwrap_or(i32::MAX).clamp(5, 1440);
        match policies::save(conn, &access, &reached, &input, max)? {
            Ok(()) => Ok(None),
            Err(errors) => Ok(Some(page(
                conn,
                chrome,
                reached,
                idle,
                Some(input),
                errors,
            )?)),
        }
    })
    .await?;
    match refused {
        None => Ok(see_other(&format!("/tenants/{id}/security?saved=1"))),
        Some(p) => html_status(StatusCode::UNPROCESSABLE_ENTITY, &p),
    }
}
