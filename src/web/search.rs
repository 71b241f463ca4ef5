//! The header's search: results as one types (`quick`, a fragment htmx puts under the box)
//! and the full results page with paging per kind (`page`). What may be searched is the
//! access layer's (`Access::search_scope`); breadcrumbs name only tenants the caller reaches.
use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::Access;
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::search::{self, Hit, Kind, Term, TermError};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::render::{html_status, url_encode};

/// Results per kind under the box, on the page of all kinds, and per page of one kind.
const QUICK: i64 = 5;
const OVERVIEW: i64 = 10;
const PAGE: i64 = 20;
const MAX_PAGE: i64 = search::MAX_OFFSET / PAGE;

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    page: String,
}

/// One result as shown: where it leads, what it is, and the path of tenants it lives in.
pub struct Shown {
    pub href: String,
    pub title: String,
    pub detail: String,
    pub crumbs: Vec<String>,
}

pub struct Group {
    pub kind: Kind,
    pub hits: Vec<Shown>,
    pub more: bool,
}

#[derive(Template)]
#[template(path = "search/page.html")]
struct SearchPage {
    chrome: Chrome,
    q: String,
    kind: Option<Kind>,
    page: i64,
    groups: Vec<Group>,
    error: Option<String>,
}

impl SearchPage {
    fn url(&self, kind: Option<&Kind>, page: i64) -> String {
        let mut url = format!("/search?q={}", url_encode(&self.q));
        if let Some(k) = kind {
            url.push_str(&format!("&kind={}", k.key()));
        }
        if page > 1 {
            url.push_str(&format!("&page={page}"));
        }
        url
    }
    fn found_nothing(&self) -> bool {
        self.groups.iter().all(|g| g.hits.is_empty())
    }
}

#[derive(Template)]
#[template(path = "search/_quick.html")]
struct Quick {
    q: String,
    groups: Vec<Group>,
    hint: Option<String>,
}

impl Quick {
    fn all_url(&self) -> String {
        format!("/search?q={}", url_encode(&self.q))
    }
    fn found_nothing(&self) -> bool {
        self.groups.iter().all(|g| g.hits.is_empty())
    }
}

fn href(kind: Kind, h: &Hit) -> String {
    match kind {
        Kind::Tenants => format!("/tenants/{}", h.id),
        Kind::Devices => format!("/tenants/{}/devices/{}", h.tenant_id, h.id),
        Kind::People => format!(
            "/tenants/{}/members?q={}",
            h.tenant_id,
            url_encode(&h.detail)
        ),
        Kind::Contacts => format!("/tenants/{}/contacts/{}", h.tenant_id, h.id),
    }
}

/// Runs the search for `kinds` and shapes the results, `limit` each after `offset`.
fn run(
    conn: &mut diesel::PgConnection,
    access: &Access,
    term: &Term,
    kinds: &[Kind],
    limit: i64,
    offset: i64,
) -> Result<Vec<Group>, AppError> {
    let scope = access.search_scope();
    let mut found: Vec<(Kind, Vec<Hit>)> = Vec::new();
    for kind in kinds {
        found.push((
            *kind,
            search::find(conn, &scope, term, *kind, limit, offset)?,
        ));
    }
    let names: HashMap<TenantId, String> = access.crumb_names(
        conn,
        found
            .iter()
            .flat_map(|(_, hits)| hits.iter().map(|h| h.tenant_path.as_slice())),
    )?;
    Ok(found
        .into_iter()
        .map(|(kind, mut hits)| {
            let more = hits.len() as i64 > limit;
            hits.truncate(limit as usize);
            let hits = hits
                .iter()
                .map(|h| {
                    // A tenant's breadcrumbs are the tenants above it.
                    let path = match kind {
                        Kind::Tenants => &h.tenant_path[..h.tenant_path.len().saturating_sub(1)],
                        _ => &h.tenant_path[..],
                    };
                    Shown {
                        href: href(kind, h),
                        title: h.title.clone(),
                        detail: h.detail.clone(),
                        crumbs: path
                            .iter()
                            .filter_map(|id| names.get(id).cloned())
                            .collect(),
                    }
                })
                .collect();
            Group { kind, hits, more }
        })
        .collect())
}

/// The term to search for; `None` for nothing typed yet; a status and message for the rest.
fn checked(q: &str) -> Result<Option<Term>, (StatusCode, String)> {
    match Term::parse(q) {
        Ok(t) => Ok(Some(t)),
        Err(TermError::Short) if q.trim().is_empty() => Ok(None),
        Err(TermError::Short) => Err((
            StatusCode::OK,
            format!("Type at least {} characters to search.", search::MIN_LEN),
        )),
        Err(TermError::Long) => Err((
            StatusCode::BAD_REQUEST,
            format!(
                "Search for at most {} characters (and no control characters).",
                search::MAX_LEN
            ),
        )),
    }
}

fn bad(message: &str) -> AppError {
    AppError::BadRequest(message.into())
}

pub async fn page(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let kind = match query.kind.as_str() {
        "" => None,
        k => Some(Kind::parse(k).ok_or_else(|| {
            bad("The kind of result is one of tenants, devices, people or contacts.")
        })?),
    };
    let page = match query.page.as_str() {
        "" => 1,
        p => p
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| bad(&format!("The page is a number from 1 to {MAX_PAGE}.")))?,
    };
    let mut view = SearchPage {
        chrome,
        q: query.q.trim().chars().take(search::MAX_LEN).collect(),
        kind,
        page,
        groups: Vec::new(),
        error: None,
    };
    let term = match checked(&query.q) {
        Ok(Some(t)) => t,
        Ok(None) => return html_status(StatusCode::OK, &view),
        Err((status, message)) => {
            view.error = Some(message);
            return html_status(status, &view);
        }
    };
    let (kinds, limit, offset) = match kind {
        Some(k) => (vec![k], PAGE, (page - 1) * PAGE),
        None => (Kind::ALL.to_vec(), OVERVIEW, 0),
    };
    view.groups = db::run(&state.pool, move |conn| {
        run(conn, &access, &term, &kinds, limit, offset)
    })
    .await?;
    html_status(StatusCode::OK, &view)
}

pub async fn quick(
    access: Access,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut view = Quick {
        q: query.q.trim().chars().take(search::MAX_LEN).collect(),
        groups: Vec::new(),
        hint: None,
    };
    // Under the box a refusal is a hint, not an error: the person is still typing.
    let term = match checked(&query.q) {
        Ok(Some(t)) => t,
        Ok(None) => return html_status(StatusCode::OK, &view),
        Err((_, message)) => {
            view.hint = Some(message);
            return html_status(StatusCode::OK, &view);
        }
    };
    view.groups = db::run(&state.pool, move |conn| {
        run(conn, &access, &term, &Kind::ALL, QUICK, 0)
    })
    .await?;
    html_status(StatusCode::OK, &view)
}
