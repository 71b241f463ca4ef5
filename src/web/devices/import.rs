//! CSV import pages: upload → dry-run report → confirm → progress (polled by htmx).
use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::devices::import::{self, Counts, Outcome, Planned};
use crate::domain::devices::jobs::{self, Job};
use crate::domain::ids::{JobId, TenantId};
use crate::domain::permissions::perm;
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::htmx::is_htmx;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

/// Rows shown in a report; the counts cover all of them.
const SHOWN: usize = 500;

#[derive(Template)]
#[template(path = "devices/import.html")]
struct ImportPage {
    chrome: Chrome,
    tenant: Tenant,
    file_error: Option<String>,
    /// After a dry run: the job waiting for confirmation, its counts and rows worth a look.
    checked: Option<(JobId, Counts)>,
    rows: Vec<Planned>,
}

impl ImportPage {
    fn outcome(&self, p: &Planned) -> (&'static str, String) {
        match &p.outcome {
            Outcome::Create(_) => ("create", "will be created".into()),
            Outcome::Update(..) => ("update", "will be updated".into()),
            Outcome::Unchanged => ("unchanged", "unchanged".into()),
            Outcome::Refused(why) => ("refused", format!("refused: {why}")),
        }
    }
}

pub async fn form(r: Reach<perm::DevicesImport>) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, _) = r.into_parts();
    html(&ImportPage {
        chrome,
        tenant: reached.into_tenant(),
        file_error: None,
        checked: None,
        rows: Vec::new(),
    })
}

/// Reads the uploaded file into memory, refusing more than the import limit.
async fn upload(payload: Multipart) -> Result<Vec<u8>, String> {
    let too_large = import::FileError::TooLarge.to_string();
    let mut fields = crate::web::upload::fields(payload, import::MAX_BYTES, &too_large).await?;
    fields
        .remove("file")
        .ok_or_else(|| "Choose a CSV file to import.".to_string())
}

/// `Reach` first: another tenant's import is 404 whatever was uploaded.
pub async fn check(
    req: HttpRequest,
    r: Reach<perm::DevicesImport>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let user = access.user.id;
    let checked = match upload(Multipart::new(req.headers(), payload)).await {
        Err(message) => Err(message),
        Ok(bytes) => {
            let tenant = reached.tenant().clone();
            db::run(&pool, move |conn| {
                let rows = match import::read(&bytes) {
                    Ok(rows) => rows,
                    Err(e) => return Ok(Err(e.to_string())),
                };
                let plan = import::plan(conn, &tenant, &rows)?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let job = jobs::create(conn, &tenant, Some(user), &text, rows.len())?;
                Ok(Ok((job, plan)))
            })
            .await?
        }
    };
    match checked {
        Err(message) => html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportPage {
                chrome,
                tenant: reached.into_tenant(),
                file_error: Some(message),
                checked: None,
                rows: Vec::new(),
            },
        ),
        Ok((job, plan)) => {
            let counts = import::count(&plan);
            let rows = plan
                .into_iter()
                .filter(|p| !matches!(p.outcome, Outcome::Unchanged))
                .take(SHOWN)
                .collect();
            html(&ImportPage {
                chrome,
                tenant: reached.into_tenant(),
                file_error: None,
                checked: Some((job, counts)),
                rows,
            })
        }
    }
}

/// Starts the import in the background and shows its progress page.
pub async fn run(
    r: Reach<perm::DevicesImport>,
    path: web::Path<(TenantId, JobId)>,
) -> Result<HttpResponse, AppError> {
    let (id, job) = path.into_inner();
    let actor = r.access.actor.clone();
    let customer = r.tenant.customer();
    let pool = r.pool;
    let started = db::run(&pool, move |conn| Ok(jobs::start(conn, customer, id, job)?)).await?;
    if started {
        // On the blocking pool: a long import never holds up other requests.
        actix_web::rt::spawn(async move {
            let outcome = web::block(move || jobs::run(&pool, &actor, customer, id, job)).await;
            if let Ok(Err(e)) = outcome {
                tracing::warn!(error = %e, import = %job, "device import failed");
            }
        });
    }
    Ok(see_other(&format!("/tenants/{id}/devices/import/{job}")))
}

#[derive(Template)]
#[template(path = "devices/_progress.html")]
struct Progress {
    tenant_id: TenantId,
    job: Job,
}

#[derive(Template)]
#[template(path = "devices/progress.html")]
struct ProgressPage {
    chrome: Chrome,
    tenant: Tenant,
    progress: Progress,
}

pub async fn progress(
    req: HttpRequest,
    r: Reach<perm::DevicesView>,
    path: web::Path<(TenantId, JobId)>,
) -> Result<HttpResponse, AppError> {
    let (id, job) = path.into_inner();
    let customer = r.tenant.customer();
    let job = db::run(&r.pool, move |conn| {
        Ok(jobs::find(conn, customer, id, job)?)
    })
    .await?;
    let (chrome, tenant) = (r.chrome, r.tenant.into_tenant());
    let progress = Progress { tenant_id: id, job };
    if is_htmx(&req) {
        return html(&progress);
    }
    html(&ProgressPage {
        chrome,
        tenant,
        progress,
    })
}
