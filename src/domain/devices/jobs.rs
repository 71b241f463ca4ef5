//! Import jobs: the checked file waits here for its confirmation, then a background task
//! runs it, reporting progress through a separate connection.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::import::{self, Counts};
use crate::db::DbPool;
use crate::db::schema::device_imports;
use crate::domain::audit::Actor;
use crate::domain::error::DomainError;
use crate::domain::ids::{CustomerId, JobId, TenantId, UserId};
use crate::domain::states::JobState;
use crate::domain::tenants::Tenant;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = device_imports)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub state: JobState,
    pub total: i32,
    pub processed: i32,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub refused: i32,
    pub error: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Job {
    pub fn percent(&self) -> i32 {
        if self.total == 0 {
            100
        } else {
            self.processed * 100 / self.total
        }
    }
}

pub fn create(
    conn: &mut PgConnection,
    tenant: &Tenant,
    user_id: Option<UserId>,
    csv: &str,
    total: usize,
) -> Result<JobId, DomainError> {
    let id = JobId::new();
    diesel::insert_into(device_imports::table)
        .values((
            device_imports::id.eq(id),
            device_imports::customer_id.eq(tenant.customer()),
            device_imports::tenant_id.eq(tenant.id),
            device_imports::user_id.eq(user_id),
            device_imports::csv.eq(csv),
            device_imports::total.eq(total as i32),
        ))
        .execute(conn)?;
    Ok(id)
}

/// How long a checked file waits for its confirmation, and a finished job keeps its file.
pub const KEEP_HOURS: i64 = 24;

/// Drops checked files nobody confirmed within `KEEP_HOURS`, and the files of jobs that
/// finished that long ago (their counts stay for the progress page). Returns how many jobs
/// lost their file.
pub fn purge_expired(conn: &mut PgConnection) -> Result<usize, DomainError> {
    let before = Utc::now() - chrono::Duration::hours(KEEP_HOURS);
    let dropped = diesel::delete(
        device_imports::table
            .filter(device_imports::state.eq(JobState::Checked))
            .filter(device_imports::created_at.lt(before)),
    )
    .execute(conn)?;
    let emptied = diesel::update(
        device_imports::table
            .filter(device_imports::state.eq_any(["done", "failed"]))
            .filter(device_imports::updated_at.lt(before))
            .filter(device_imports::csv.ne("")),
    )
    .set(device_imports::csv.eq(""))
    .execute(conn)?;
    Ok(dropped + emptied)
}

/// A job of exactly this tenant. A running job whose runner is gone (its process died: the
/// runner's advisory lock went with its connection) is marked failed on the way: its
/// transaction was rolled back, so nothing of it was stored.
pub fn find(
    conn: &mut PgConnection,
    customer: CustomerId,
    tenant_id: TenantId,
    id: JobId,
) -> Result<Job, DomainError> {
    let job = device_imports::table
        .filter(device_imports::customer_id.eq(customer))
        .filter(device_imports::id.eq(id))
        .filter(device_imports::tenant_id.eq(tenant_id))
        .select(Job::as_select())
        .first::<Job>(conn)?;
    let quiet = Utc::now() - job.updated_at > chrono::Duration::seconds(STALE_SECS);
    if job.state == JobState::Running && quiet && try_lock(conn, id)? {
        diesel::update(
            device_imports::table
                .filter(device_imports::customer_id.eq(customer))
                .filter(device_imports::id.eq(id)),
        )
        .filter(device_imports::state.eq(JobState::Running))
        .set((
            device_imports::state.eq(JobState::Failed),
            device_imports::error.eq(
                "Interrupted: the server stopped during the import. Nothing was imported; \
                     start the import again.",
            ),
            device_imports::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
        unlock(conn, id)?;
        return find(conn, customer, tenant_id, id);
    }
    Ok(job)
}

/// How long a running job may be silent before its runner is checked.
const STALE_SECS: i64 = 2;

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    locked: bool,
}

/// The advisory-lock key of a job: its first 8 bytes.
fn key(id: JobId) -> i64 {
    let b = *id.uuid().as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) ^ 0x0C_A0_0B_1E
}

fn try_lock(conn: &mut PgConnection, id: JobId) -> Result<bool, DomainError> {
    Ok(
        crate::db::prepared::prepared("SELECT pg_try_advisory_lock($1) AS locked")
            .bind::<diesel::sql_types::BigInt, _>(key(id))
            .get_result::<Locked>(conn)?
            .locked,
    )
}

fn unlock(conn: &mut PgConnection, id: JobId) -> Result<(), DomainError> {
    crate::db::prepared::prepared("SELECT pg_advisory_unlock($1) AS locked")
        .bind::<diesel::sql_types::BigInt, _>(key(id))
        .get_result::<Locked>(conn)?;
    Ok(())
}

/// Moves a checked job to running; false if it was started already (a double submit).
pub fn start(
    conn: &mut PgConnection,
    customer: CustomerId,
    tenant_id: TenantId,
    id: JobId,
) -> Result<bool, DomainError> {
    let n = diesel::update(
        device_imports::table
            .filter(device_imports::customer_id.eq(customer))
            .filter(device_imports::id.eq(id))
            .filter(device_imports::tenant_id.eq(tenant_id))
            .filter(device_imports::state.eq(JobState::Checked)),
    )
    .set((
        device_imports::state.eq(JobState::Running),
        device_imports::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Runs a started job to the end. Blocking: call it on the blocking pool.
pub fn run(
    pool: &DbPool,
    actor: &Actor,
    customer: CustomerId,
    tenant_id: TenantId,
    id: JobId,
) -> Result<Counts, DomainError> {
    let mut work = pool.get().map_err(|_| DomainError::Unavailable)?;
    let mut report = pool.get().map_err(|_| DomainError::Unavailable)?;
    // Held while this runner lives; if the process dies, the lock goes with its connection.
    try_lock(&mut report, id)?;
    let csv: String = device_imports::table
        .filter(device_imports::customer_id.eq(customer))
        .filter(device_imports::id.eq(id))
        .select(device_imports::csv)
        .first(&mut work)?;
    let result = import::read(csv.as_bytes())
        .map_err(|e| DomainError::Invalid(e.to_string()))
        .and_then(|rows| {
            import::apply(&mut work, actor, tenant_id, &rows, |done| {
                // Progress goes through the other connection: the import's own transaction
                // is invisible until it commits.
                let _ = diesel::update(
                    device_imports::table
                        .filter(device_imports::customer_id.eq(customer))
                        .filter(device_imports::id.eq(id)),
                )
                .set((
                    device_imports::processed.eq(done as i32),
                    device_imports::updated_at.eq(diesel::dsl::now),
                ))
                .execute(&mut report);
            })
        });
    match &result {
        Ok(c) => diesel::update(
            device_imports::table
                .filter(device_imports::customer_id.eq(customer))
                .filter(device_imports::id.eq(id)),
        )
        .set((
            device_imports::state.eq(JobState::Done),
            device_imports::created.eq(c.created),
            device_imports::updated.eq(c.updated),
            device_imports::unchanged.eq(c.unchanged),
            device_imports::refused.eq(c.refused),
            device_imports::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut report)?,
        Err(e) => diesel::update(
            device_imports::table
                .filter(device_imports::customer_id.eq(customer))
                .filter(device_imports::id.eq(id)),
        )
        .set((
            device_imports::state.eq(JobState::Failed),
            device_imports::error.eq(format!("Nothing was imported: {e}")),
            device_imports::updated_at.eq(diesel::dsl::now),
        ))
        .execute(&mut report)?,
    };
    unlock(&mut report, id)?;
    result
}
