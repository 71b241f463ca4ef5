//! Heavy reads on a streaming replica (`CANOPY_READ_DATABASE_URL`): exports, the usage report,
//! the audit log's search and the dashboard's figures, which may be a moment behind. Pages that
//! must show the caller's own last change read the primary. When the replica cannot be reached
//! the same reads go to the primary, and the replica is left alone for a while before it is
//! tried again, so an outage costs one short wait, not one per request.
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool};

use super::{DbConn, DbPool, GenericPlans};
use crate::domain::error::DomainError;
use crate::error::AppError;

/// How long a replica that failed is passed over.
const REST: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct ReadPool {
    pool: DbPool,
    /// Until when (seconds since the epoch) the replica is passed over.
    resting_until: Arc<AtomicU64>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl ReadPool {
    pub fn new(database_url: &str, max_size: u32) -> Self {
        let manager = ConnectionManager::<PgConnection>::new(database_url);
        let pool = Pool::builder()
            .connection_customizer(Box::new(GenericPlans))
            .max_size(max_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(500))
            // A replica that went away must be noticed before a query is sent on it.
            .test_on_check_out(true)
            .build_unchecked(manager);
        Self {
            pool,
            resting_until: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A replica connection, unless the replica is resting or cannot be reached now.
    fn get(&self) -> Option<DbConn> {
        if now_secs() < self.resting_until.load(Ordering::Relaxed) {
            return None;
        }
        match self.pool.get() {
            Ok(conn) => Some(conn),
            Err(e) => {
                tracing::warn!(error = %e, "read replica unavailable; reading the primary");
                self.resting_until
                    .store(now_secs() + REST.as_secs(), Ordering::Relaxed);
                None
            }
        }
    }
}

/// `db::run` for a heavy read: on the replica when there is one and it answers, else on the
/// primary.
pub async fn run_read<T, F>(
    primary: &DbPool,
    replica: Option<&ReadPool>,
    f: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let primary = primary.clone();
    let replica = replica.cloned();
    actix_web::web::block(move || {
        let mut conn = match replica.as_ref().and_then(ReadPool::get) {
            Some(conn) => conn,
            None => primary.get().map_err(|_| DomainError::Unavailable)?,
        };
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::from(DomainError::failed("blocking task", e)))?
}
