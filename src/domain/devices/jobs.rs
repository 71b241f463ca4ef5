//! Import jobs: the checked file waits here for its confirmation, then a background task
//! runs it, reporting progress through a separate connection.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::import::{self, Counts};
use crate::db::DbPool;
use crate::db::schema::device_imports;
use crate::domain::audit::Actor;
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = device_imports)]
pub struct Job {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub state: String,
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
    tenant_id: Uuid,
    user_id: Option<Uuid>,
    csv: &str,
    total: usize,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    diesel::insert_into(device_imports::table)
        .values((
            device_imports::id.eq(id),
            device_imports::tenant_id.eq(tenant_id),
            device_imports::user_id.eq(user_id),
            device_imports::csv.eq(csv),
            device_imports::total.eq(total as i32),
        ))
        .execute(conn)?;
    Ok(id)
}

/// A job of exactly this tenant.
pub fn find(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<Job, AppError> {
    Ok(device_imports::table
        .filter(device_imports::id.eq(id))
        .filter(device_imports::tenant_id.eq(tenant_id))
        .select(Job::as_select())
        .first(conn)?)
}

/// Moves a checked job to running; false if it was started already (a double submit).
pub fn start(conn: &mut PgConnection, tenant_id: Uuid, id: Uuid) -> Result<bool, AppError> {
    let n = diesel::update(
        device_imports::table
            .filter(device_imports::id.eq(id))
            .filter(device_imports::tenant_id.eq(tenant_id))
            .filter(device_imports::state.eq("checked")),
    )
    .set((
        device_imports::state.eq("running"),
        device_imports::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Runs a started job to the end. Blocking: call it on the blocking pool.
pub fn run(pool: &DbPool, actor: &Actor, tenant_id: Uuid, id: Uuid) -> Result<Counts, AppError> {
    let mut work = pool.get().map_err(|_| AppError::Unavailable)?;
    let mut report = pool.get().map_err(|_| AppError::Unavailable)?;
    let csv: String = device_imports::table
        .find(id)
        .select(device_imports::csv)
        .first(&mut work)?;
    let result = import::read(csv.as_bytes())
        .map_err(|e| AppError::BadRequest(e.to_string()))
        .and_then(|rows| {
            import::apply(&mut work, actor, tenant_id, &rows, |done| {
                // Progress goes through the other connection: the import's own transaction
                // is invisible until it commits.
                let _ = diesel::update(device_imports::table.find(id))
                    .set((
                        device_imports::processed.eq(done as i32),
                        device_imports::updated_at.eq(diesel::dsl::now),
                    ))
                    .execute(&mut report);
            })
        });
    match &result {
        Ok(c) => diesel::update(device_imports::table.find(id))
            .set((
                device_imports::state.eq("done"),
                device_imports::created.eq(c.created),
                device_imports::updated.eq(c.updated),
                device_imports::unchanged.eq(c.unchanged),
                device_imports::refused.eq(c.refused),
                device_imports::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut report)?,
        Err(e) => diesel::update(device_imports::table.find(id))
            .set((
                device_imports::state.eq("failed"),
                device_imports::error.eq(format!("Nothing was imported: {e}")),
                device_imports::updated_at.eq(diesel::dsl::now),
            ))
            .execute(&mut report)?,
    };
    result
}
