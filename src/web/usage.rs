//! The usage report (admins): device-days and members per month for a tenant and each
//! sub-tenant, on screen (drilling down one level at a time) and as CSV (every tenant).
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;

use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::domain::usage::{self, Line, Period};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status};
use crate::web::report::csv_download;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct UsageQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

impl UsageQuery {
    fn period(&self, today: NaiveDate) -> Result<Period, String> {
        if self.from.trim().is_empty() && self.to.trim().is_empty() {
            return Ok(Period::last_three(today));
        }
        Period::parse(&self.from, &self.to)
    }
}

#[derive(Template)]
#[template(path = "usage/report.html")]
struct UsagePage {
    chrome: Chrome,
    tenant: Tenant,
    from: String,
    to: String,
    error: Option<String>,
    months: Vec<String>,
    /// The tenant itself (its own figures), then each child with its subtree's.
    own: Option<Line>,
    children: Vec<Line>,
    total: Option<Line>,
}

fn month_label(m: NaiveDate, today: NaiveDate) -> String {
    let label = m.format("%b %Y").to_string();
    if m.format("%Y-%m").to_string() == today.format("%Y-%m").to_string() {
        format!("{label} (to date)")
    } else {
        label
    }
}

pub async fn report(
    r: Reach<perm::UsageView>,
    query: web::Query<UsageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let today = Utc::now().date_naive();
    let period = query.period(today);
    let p = period.clone();
    let (tenant, lines) = db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
        let lines = match p {
            Ok(p) => usage::report(conn, &reached, p, today)?,
            Err(_) => Vec::new(),
        };
        Ok((reached.into_tenant(), lines))
    })
    .await?;
    let (from, to) = match &period {
        Ok(p) => (
            p.first.format("%Y-%m").to_string(),
            p.last.format("%Y-%m").to_string(),
        ),
        Err(_) => (query.from.clone(), query.to.clone()),
    };
    let months = period
        .as_ref()
        .map(|p| {
            p.months()
                .into_iter()
                .map(|m| month_label(m, today))
                .collect()
        })
        .unwrap_or_default();
    let mut own = None;
    let mut total = None;
    let mut children = Vec::new();
    for line in lines {
        match line.depth {
            0 => {
                total = Some(line.clone());
                own = Some(line);
            }
            1 => children.push(line),
            _ => {}
        }
    }
    let page = UsagePage {
        chrome,
        tenant,
        from,
        to,
        error: period.err(),
        months,
        own,
        children,
        total,
    };
    if page.error.is_some() {
        html_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    } else {
        html(&page)
    }
}

pub async fn export(
    r: Reach<perm::UsageView>,
    query: web::Query<UsageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (_, _, reached, pool) = r.into_parts();
    let today = Utc::now().date_naive();
    let period = query.period(today).map_err(AppError::BadRequest)?;
    let (tenant, lines) = db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
        let lines = usage::report(conn, &reached, period, today)?;
        Ok((reached.into_tenant(), lines))
    })
    .await?;
    let names: HashMap<TenantId, String> = lines
        .iter()
        .map(|l| (l.tenant.id, l.tenant.name.clone()))
        .collect();
    let months = period.months();
    let root_depth = tenant.traversal_ids.len() - 1;
    let header = [
        "month",
        "tenant id",
        "tenant",
        "path",
        "device-days",
        "device-days with sub-tenants",
        "members",
        "members with sub-tenants",
    ]
    .map(String::from);
    let mut rows = Vec::new();
    for line in &lines {
        let path = line.tenant.traversal_ids[root_depth..]
            .iter()
            .filter_map(|id| names.get(id).cloned())
            .collect::<Vec<_>>()
            .join(" / ");
        for (i, m) in months.iter().enumerate() {
            rows.push(vec![
                m.format("%Y-%m").to_string(),
                line.tenant.id.to_string(),
                line.tenant.name.clone(),
                path.clone(),
                line.own_device_days[i].to_string(),
                line.device_days[i].to_string(),
                line.own_members[i].to_string(),
                line.members[i].to_string(),
            ]);
        }
    }
    csv_download(
        &format!(
            "usage-{}-{}-{}.csv",
            tenant.slug,
            period.first.format("%Y-%m"),
            period.last.format("%Y-%m")
        ),
        &header,
        rows,
    )
}
