//! Alerts over the web: a tenant's list (its subtree's, for who sees below), acknowledging one
//! from the list, and the signed link from an alert email (a page to confirm, then the
//! acknowledgement: a GET changes nothing).
use actix_session::Session;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::alerts::links::{self, Refused};
use crate::domain::alerts::{self, AlertRow, Show};
use crate::domain::audit::Actor;
use crate::domain::contacts::Contact;
use crate::domain::error::DomainError;
use crate::domain::ids::{AlertId, TenantId};
use crate::domain::permissions::{Permission, perm};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    show: String,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "alerts/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    rows: Vec<AlertRow>,
    show: Show,
    page: i64,
    more: bool,
    subtree: bool,
    can_acknowledge: bool,
    can_webhook: bool,
}

impl ListPage {
    fn tabs(&self) -> [(Show, &'static str); 5] {
        [
            (Show::Unresolved, "Needing a check-in"),
            (Show::Open, "Open"),
            (Show::Acknowledged, "Acknowledged"),
            (Show::Resolved, "Resolved"),
            (Show::All, "All"),
        ]
    }
}

pub async fn list(
    r: Reach<perm::AlertsView>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let show = Show::parse(&query.show);
    let page = query.page.unwrap_or(0).clamp(0, 10_000);
    let view = db::run(&pool, move |conn| {
        let (rows, more) = alerts::list(conn, &reached, show, page)?;
        Ok(ListPage {
            chrome,
            rows,
            show,
            page,
            more,
            subtree: reached.sees_below(),
            can_acknowledge: reached.may(Permission::AlertsAcknowledge),
            can_webhook: reached.may(Permission::AlertsWebhook),
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&view)
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Note {
    #[serde(default)]
    note: String,
}

pub async fn acknowledge(
    r: Reach<perm::AlertsAcknowledge>,
    path: web::Path<(TenantId, AlertId)>,
    form: web::Form<Note>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let by = chrome.user_name.clone();
    let note = form.into_inner().note;
    let outcome = db::run(&pool, move |conn| {
        let alert = alerts::find(conn, &access, &reached, id)?;
        match alerts::acknowledge(conn, &alert, &by, &note, &access.actor) {
            Ok(_) => Ok(Ok(())),
            Err(DomainError::Conflict(why) | DomainError::Invalid(why)) => Ok(Err(why)),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    let said = match outcome {
        Ok(()) => "Alert acknowledged: its reminders stop; it resolves when the device checks in."
            .to_string(),
        Err(why) => why,
    };
    flash::set(&session, said)?;
    Ok(see_other(&format!("/tenants/{tenant}/alerts")))
}

/// The alert-email link's page: what the alert is about, and a button to acknowledge it.
#[derive(Template)]
#[template(path = "alerts/link.html")]
struct LinkPage {
    csrf: String,
    brand: crate::domain::branding::Brand,
    token: String,
    device: String,
    tenant: String,
    alert: Option<alerts::Alert>,
    contact: String,
    /// Why the link does nothing (expired, unknown, used), or what it did.
    message: Option<String>,
    done: bool,
}

fn key(state: &AppState) -> Vec<u8> {
    state.alert_key.clone()
}

type Opened = (
    alerts::Alert,
    Contact,
    String,
    String,
    crate::domain::branding::Brand,
);

/// What a link names, if it is a link this portal made and it has not expired.
fn open_link(
    conn: &mut diesel::PgConnection,
    key: &[u8],
    token: &str,
) -> Result<Result<Opened, &'static str>, AppError> {
    use diesel::prelude::*;
    let now = crate::domain::clock::now(conn)?;
    let named = match links::verify(key, token, now) {
        Ok(named) => named,
        Err(Refused::Expired) => {
            return Ok(Err(
                "This link has expired. Sign in to the portal to acknowledge the alert.",
            ));
        }
        Err(Refused::Unknown) => return Err(AppError::NotFound),
    };
    use crate::db::schema::{alerts as a, contacts as c};
    let alert: alerts::Alert = a::table
        .filter(a::customer_id.eq(named.alert_customer))
        .filter(a::id.eq(named.alert))
        .select(alerts::Alert::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let contact: Contact = c::table
        .filter(c::customer_id.eq(named.contact_customer))
        .filter(c::id.eq(named.contact))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    let device = crate::domain::devices::find_in(conn, alert.customer_id, alert.device_id)?
        .ok_or(AppError::NotFound)?;
    let tenant = crate::domain::tenants::find(conn, alert.tenant_id)?.ok_or(AppError::NotFound)?;
    let brand = crate::domain::branding::effective(conn, &tenant)?;
    Ok(Ok((alert, contact, device.name, tenant.name, brand)))
}

pub async fn link_form(
    path: web::Path<String>,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let key = key(&state);
    let csrf = crate::web::csrf::token(&session);
    let page = db::run(&state.pool, move |conn| {
        Ok(match open_link(conn, &key, &token)? {
            Ok((alert, contact, device, tenant, brand)) => LinkPage {
                csrf,
                brand,
                message: match alert.state.as_str() {
                    "open" => None,
                    "acknowledged" => Some(format!(
                        "This alert was acknowledged already, by {}.",
                        alert.acknowledged_by.clone().unwrap_or_default()
                    )),
                    _ => Some("This alert is resolved already: the device checked in.".into()),
                },
                token,
                device,
                tenant,
                contact: contact.name,
                alert: Some(alert),
                done: false,
            },
            Err(why) => expired(csrf, why),
        })
    })
    .await?;
    html(&page)
}

fn expired(csrf: String, why: &str) -> LinkPage {
    LinkPage {
        csrf,
        brand: crate::domain::branding::Brand::default(),
        token: String::new(),
        device: String::new(),
        tenant: String::new(),
        alert: None,
        contact: String::new(),
        message: Some(why.to_string()),
        done: false,
    }
}

pub async fn link_acknowledge(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Note>,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let token = path.into_inner();
    let key = key(&state);
    let note = form.into_inner().note;
    let csrf = crate::web::csrf::token(&session);
    let actor = Actor {
        api_key: None,
        user_id: None,
        client_addr: crate::web::current::client_addr(&req),
    };
    let (status, page) = db::run(&state.pool, move |conn| {
        let (alert, contact, device, tenant, brand) = match open_link(conn, &key, &token)? {
            Ok(found) => found,
            Err(why) => return Ok((actix_web::http::StatusCode::GONE, expired(csrf, why))),
        };
        let by = format!("{} (from the email)", contact.name);
        let (status, message, done) = match alerts::acknowledge(conn, &alert, &by, &note, &actor) {
            Ok(_) => (
                actix_web::http::StatusCode::OK,
                "Thank you: the alert is acknowledged and its reminders stop.".to_string(),
                true,
            ),
            Err(DomainError::Conflict(why)) => (actix_web::http::StatusCode::CONFLICT, why, false),
            Err(DomainError::Invalid(why)) => (
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                why,
                false,
            ),
            Err(e) => return Err(e.into()),
        };
        Ok((
            status,
            LinkPage {
                csrf,
                brand,
                token,
                device,
                tenant,
                contact: contact.name,
                alert: Some(alert),
                message: Some(message),
                done,
            },
        ))
    })
    .await?;
    html_status(status, &page)
}

/// The dashboard's "Overdue" card, loaded after the page so that the page's own statements
/// stay as they are: devices with an open alert, linking to the device list that shows them.
pub async fn overdue_card(r: Reach<perm::AlertsView>) -> Result<HttpResponse, AppError> {
    let (_, _, reached, pool) = r.into_parts();
    let id = reached.id();
    // The device list shows the same devices; without it, the alerts that say so.
    let href = match (reached.may(Permission::DevicesView), reached.sees_below()) {
        (true, true) => format!("/tenants/{id}/devices?checkin=overdue&amp;sub=1"),
        (true, false) => format!("/tenants/{id}/devices?checkin=overdue"),
        (false, _) => format!("/tenants/{id}/alerts?show=open"),
    };
    let n = db::run(&pool, move |conn| Ok(alerts::open_count(conn, &reached)?)).await?;
    let class = if n > 0 { "card alarm" } else { "card" };
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(format!(
            "<a class=\"{class}\" href=\"{href}\" id=\"card-overdue\">\
             <span class=\"number\">{n}</span> overdue</a>"
        )))
}
