//! The connection pool, embedded migrations, and running blocking diesel work off the
//! async executor.
pub mod embedded;
pub mod functions;
pub mod plans;
pub mod prepared;
pub mod replica;
pub mod schema;

use std::time::Duration;

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::domain::error::DomainError;
use crate::error::AppError;

pub type DbPool = Pool<ConnectionManager<PgConnection>>;
pub type DbConn = PooledConnection<ConnectionManager<PgConnection>>;

/// Every migration, in order (tests step through them to check a data migration).
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Builds the pool without waiting for the database: the portal starts (and `/readyz`
/// answers) even while PostgreSQL is down, and recovers when it comes back.
pub fn pool(database_url: &str, max_size: u32) -> DbPool {
    let manager = ConnectionManager::<PgConnection>::new(database_url);
    Pool::builder()
        .connection_customizer(Box::new(GenericPlans))
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        // No `SELECT 1` before every use (a round trip per request and more): a connection
        // that died with the server fails its query as "unavailable" (503) and is dropped.
        .test_on_check_out(false)
        .build_unchecked(manager)
}

/// Sets the connection's plan mode (see `plans`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct GenericPlans;

impl diesel::r2d2::CustomizeConnection<PgConnection, diesel::r2d2::Error> for GenericPlans {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(plans::ONCE_PER_CONNECTION)
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

pub fn migrate(conn: &mut PgConnection) -> Result<usize, DomainError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| DomainError::failed_with("migration", e.to_string()))?;
    Ok(applied.len())
}

/// Escapes `%`, `_` and `\\` so that a search term matches itself in a LIKE pattern.
pub fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Splits a unique-constraint violation (a domain error: "exists already") from the rest.
pub fn unique_violation(e: diesel::result::Error) -> Result<(), DomainError> {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Ok(()),
        other => Err(other.into()),
    }
}

/// Runs `f` with a pooled connection on the blocking thread pool (for the web: its errors
/// are the web's).
pub async fn run<T, F>(pool: &DbPool, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    run_with(pool, f).await
}

/// `run` for work whose errors are of another kind (the domain's, for background work).
pub async fn run_with<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DomainError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|_| DomainError::Unavailable)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| DomainError::failed("blocking task", e))?
}
