//! A tenant's alert webhook: the URL and whether it is on, its secret (shown once, when made
//! or replaced), removing it, and the log of recent deliveries. Rules are the domain's
//! (`domain::webhooks`); delivery is `crate::hooks`.
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::domain::webhooks::{self, Delivery, Webhook};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "alerts/webhook.html")]
struct Page {
    chrome: Chrome,
    tenant: Tenant,
    webhook: Option<Webhook>,
    deliveries: Vec<Delivery>,
    url: String,
    enabled: bool,
    error: Option<String>,
    /// A new secret, shown this once.
    secret: Option<String>,
    allow_http: bool,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Form {
    #[serde(default)]
    url: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    new_secret: Option<String>,
}

fn allow_http(state: &AppState) -> bool {
    crate::web::mailbox::is_loopback_url(&state.settings.base_url)
}

pub async fn show(
    r: Reach<perm::AlertsWebhook>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let allow_http = allow_http(&state);
    let page = db::run(&pool, move |conn| {
        let webhook = webhooks::find(conn, reached.tenant())?;
        Ok(Page {
            chrome,
            url: webhook.as_ref().map(|w| w.url.clone()).unwrap_or_default(),
            enabled: webhook.as_ref().is_none_or(|w| w.enabled),
            deliveries: webhooks::log(conn, reached.tenant())?,
            webhook,
            error: None,
            secret: None,
            allow_http,
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

pub async fn save(
    r: Reach<perm::AlertsWebhook>,
    form: web::Form<Form>,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let allow_http = allow_http(&state);
    let form = form.into_inner();
    let enabled = form.enabled.is_some();
    let parsed = webhooks::parse_url(&form.url, allow_http);
    let id = reached.id();
    let (status, page) = db::run(&pool, move |conn| {
        let (status, error, secret) = match parsed {
            Ok(url) => {
                let secret = webhooks::save(
                    conn,
                    &access,
                    &reached,
                    &url,
                    enabled,
                    form.new_secret.is_some(),
                )?;
                (StatusCode::OK, None, secret)
            }
            Err(why) => (StatusCode::UNPROCESSABLE_ENTITY, Some(why), None),
        };
        if status == StatusCode::OK && secret.is_none() {
            return Ok((status, None));
        }
        let webhook = webhooks::find(conn, reached.tenant())?;
        Ok((
            status,
            Some(Page {
                chrome,
                url: form.url.clone(),
                enabled,
                deliveries: webhooks::log(conn, reached.tenant())?,
                webhook,
                error,
                secret,
                allow_http,
                tenant: reached.into_tenant(),
            }),
        ))
    })
    .await?;
    match page {
        Some(page) => html_status(status, &page),
        None => {
            flash::set(&session, "Webhook saved.")?;
            Ok(see_other(&format!("/tenants/{id}/webhook")))
        }
    }
}

pub async fn remove(
    r: Reach<perm::AlertsWebhook>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    let id = reached.id();
    db::run(&pool, move |conn| {
        Ok(webhooks::remove(conn, &access, &reached)?)
    })
    .await?;
    flash::set(&session, "Webhook removed: alerts are no longer posted.")?;
    Ok(see_other(&format!("/tenants/{id}/webhook")))
}
