//! Where a signed-in user lands: their tenant's dashboard, and the switcher between tenants.
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::Access;
use crate::db;
use crate::domain::audit::log::{self, LogFilter};
use crate::domain::dashboard::{self, Bar, Figures};
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::permissions::{Permission, Permissions};
use crate::domain::tenants::Tenant;
use crate::domain::users;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, see_other};

/// Events shown under "Recent activity".
const RECENT: i64 = 8;

#[derive(Template)]
#[template(path = "portal/no_tenant.html")]
struct NoTenant {
    chrome: Chrome,
}

/// `/`: the dashboard of the tenant the user last switched to, or of their first one.
pub async fn home(access: Access, chrome: Chrome) -> Result<HttpResponse, AppError> {
    match access.home() {
        Some(id) => Ok(see_other(&format!("/tenants/{id}/dashboard"))),
        None => html(&NoTenant { chrome }),
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    tenant: TenantId,
}

/// The header's switcher: only the user's own memberships are offered, and only they count.
pub async fn switch(
    req: HttpRequest,
    access: Access,
    state: web::Data<AppState>,
    form: web::Form<SwitchForm>,
) -> Result<HttpResponse, AppError> {
    let tenant = access.own_membership(form.tenant)?;
    let user = access.user.id;
    db::run(&state.pool, move |conn| {
        Ok(users::set_last_tenant(conn, user, tenant)?)
    })
    .await?;
    Ok(crate::web::htmx::redirect(
        &req,
        &format!("/tenants/{tenant}/dashboard"),
    ))
}

#[derive(Template)]
#[template(path = "portal/dashboard.html")]
struct Dashboard {
    chrome: Chrome,
    tenant: Tenant,
    role: String,
    may: Permissions,
    /// The figures cover the whole subtree.
    admin: bool,
    figures: Figures,
    bars: Vec<Bar>,
    recent: Vec<crate::web::audit::Told>,
}

/// Bar geometry of the device chart, in SVG user units.
pub const BAR_FULL: u32 = 300;
pub const BAR_STEP: u32 = 34;

pub async fn dashboard(
    r: Reach<perm::TenantView>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let role = access.role_names(&reached);
    let (reached, figures, recent) =
        db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
            let figures = dashboard::figures(conn, &reached, reached.sees_below())?;
            let recent = if reached.may(Permission::AuditView) {
                let entries = log::search(conn, &reached, &LogFilter::default(), RECENT)?;
                crate::web::audit::told(conn, &access, entries)?
            } else {
                Vec::new()
            };
            Ok((reached, figures, recent))
        })
        .await?;
    let bars = dashboard::bars(&figures.devices, BAR_FULL, BAR_STEP);
    html(&Dashboard {
        chrome,
        admin: reached.sees_below(),
        may: reached.permissions(),
        role,
        tenant: reached.into_tenant(),
        figures,
        bars,
        recent,
    })
}
