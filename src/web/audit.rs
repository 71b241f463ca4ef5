//! The audit log page of a subtree (admins): filters in the URL, keyset pages, CSV export.
use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use diesel::PgConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::Access;
use crate::db;
use crate::domain::audit::log::{self, LogEntry, LogFilter};
use crate::domain::audit::{AuditAction, TargetType};
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, url_encode};
use crate::web::report::csv_download;

const PAGE: i64 = 50;
/// Events fetched per round while exporting.
const EXPORT_BATCH: i64 = 5_000;

/// The filter form as the URL carries it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub(crate) actor: String,
    #[serde(default)]
    pub(crate) action: String,
    #[serde(default)]
    pub(crate) r#type: String,
    #[serde(default)]
    pub(crate) object: String,
    #[serde(default)]
    pub(crate) from: String,
    #[serde(default)]
    pub(crate) to: String,
    #[serde(default)]
    pub(crate) before: Option<i64>,
}

type FieldErrors = BTreeMap<&'static str, String>;

/// A choice from a list: nothing when left empty, `Err` when not one of the list.
fn chosen<T>(raw: &str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, ()> {
    match raw.trim() {
        "" => Ok(None),
        word => parse(word).map(Some).ok_or(()),
    }
}

impl AuditQuery {
    pub(crate) fn filter(&self) -> Result<LogFilter, FieldErrors> {
        let mut errors = FieldErrors::new();
        let date = |s: &str, field: &'static str, errors: &mut FieldErrors| {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|_| errors.insert(field, "Give a date as YYYY-MM-DD.".into()))
                .ok()
        };
        let from = date(&self.from, "from", &mut errors);
        let to = date(&self.to, "to", &mut errors);
        if let (Some(f), Some(t)) = (from, to)
            && t < f
        {
            errors.insert("to", "The end date comes before the start date.".into());
        }
        let action = chosen(&self.action, AuditAction::parse)
            .map_err(|_| errors.insert("action", "Choose an action from the list.".into()))
            .ok()
            .flatten();
        let target_type = chosen(&self.r#type, TargetType::parse)
            .map_err(|_| errors.insert("type", "Choose an object type from the list.".into()))
            .ok()
            .flatten();
        let object = self.object.trim();
        let target_id = if object.is_empty() {
            None
        } else {
            Uuid::parse_str(object)
                .map_err(|_| {
                    errors.insert(
                        "object",
                        "Give the object's id as shown in its address, like 01234567-89ab-…."
                            .into(),
                    )
                })
                .ok()
        };
        if self.actor.chars().count() > 200 {
            errors.insert("actor", "Use at most 200 characters.".into());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LogFilter {
            actor: self.actor.trim().to_string(),
            action,
            target_type,
            target_id,
            from,
            to,
            before: self.before,
        })
    }

    /// The query string without the page cursor (for the export link and the next page).
    pub fn encoded(&self) -> String {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("type", &self.r#type),
            ("object", &self.object),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Entries with their detail as text; tenants named only when the caller reaches them.
pub fn with_details(
    conn: &mut PgConnection,
    access: &Access,
    entries: Vec<LogEntry>,
) -> Result<Vec<(LogEntry, String)>, AppError> {
    let ids = log::referenced_tenants(&entries);
    let names = access.names_in_reach(conn, &ids)?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let text = log::detail_text(&e, &names);
            (e, text)
        })
        .collect())
}

/// An event as a page shows it: a sentence, and the shortened detail behind "details".
pub struct Told {
    pub entry: LogEntry,
    pub sentence: String,
    pub detail: String,
}

/// Entries told as sentences; tenants named only when the caller reaches them.
pub fn told(
    conn: &mut PgConnection,
    access: &Access,
    entries: Vec<LogEntry>,
) -> Result<Vec<Told>, AppError> {
    use crate::domain::audit::sentence;
    let ids = log::referenced_tenants(&entries);
    let names = access.names_in_reach(conn, &ids)?;
    Ok(entries
        .into_iter()
        .map(|entry| Told {
            sentence: sentence::sentence(&entry, &names),
            detail: sentence::short_detail(&entry, &names),
            entry,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    chrome: Chrome,
    tenant: Tenant,
    query: AuditQuery,
    errors: FieldErrors,
    entries: Vec<Told>,
    next: Option<i64>,
    can_export: bool,
    actions: &'static [AuditAction],
    types: &'static [TargetType],
}

impl AuditPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
}

pub async fn list(
    r: Reach<perm::AuditView>,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let can_export = reached.may(crate::domain::permissions::Permission::AuditExport);
    let query = query.into_inner();
    let filter = query.filter();
    let f = filter.clone();
    let (tenant, entries) = db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
        let entries = match f {
            Ok(f) => {
                let found = log::search(conn, &reached, &f, PAGE + 1)?;
                told(conn, &access, found)?
            }
            Err(_) => Vec::new(),
        };
        Ok((reached.into_tenant(), entries))
    })
    .await?;
    let mut entries = entries;
    let next = if entries.len() as i64 > PAGE {
        entries.truncate(PAGE as usize);
        entries.last().map(|t| t.entry.id)
    } else {
        None
    };
    let (status, errors) = match filter {
        Ok(_) => (StatusCode::OK, FieldErrors::new()),
        Err(errors) => (StatusCode::UNPROCESSABLE_ENTITY, errors),
    };
    let page = AuditPage {
        chrome,
        tenant,
        query,
        errors,
        entries,
        next,
        can_export,
        actions: AuditAction::ALL,
        types: TargetType::ALL,
    };
    if status == StatusCode::OK {
        html(&page)
    } else {
        html_status(status, &page)
    }
}

pub async fn export(
    r: Reach<perm::AuditExport>,
    query: web::Query<AuditQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    let mut filter = query
        .filter()
        .map_err(|e| AppError::BadRequest(e.into_values().collect::<Vec<_>>().join(" ")))?;
    filter.before = None;
    let (tenant, rows) = db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
        let mut rows = Vec::new();
        loop {
            let batch = log::search(conn, &reached, &filter, EXPORT_BATCH)?;
            let done = (batch.len() as i64) < EXPORT_BATCH;
            filter.before = batch.last().map(|e| e.id);
            rows.extend(with_details(conn, &access, batch)?);
            if done {
                break;
            }
        }
        Ok((reached.into_tenant(), rows))
    })
    .await?;
    let header = [
        "time (UTC)",
        "actor",
        "actor email",
        "action",
        "object type",
        "object id",
        "detail",
        "client address",
    ]
    .map(String::from);
    csv_download(
        &format!("audit-{}.csv", tenant.slug),
        &header,
        rows.into_iter().map(|(e, detail)| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.actor_name.unwrap_or_else(|| "system".into()),
                e.actor_email.unwrap_or_default(),
                e.action.to_string(),
                e.target_type.to_string(),
                e.target_id.map(|i| i.to_string()).unwrap_or_default(),
                detail,
                e.client_addr.unwrap_or_default(),
            ]
        }),
    )
}
