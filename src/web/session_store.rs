//! actix-session's store on PostgreSQL: sessions live in the database so that sign-out,
//! disabling a user and "sign out everywhere" end them at once, on every instance.
//! Only a hash of the cookie's key is stored.
use std::collections::HashMap;
use std::time::Duration as StdDuration;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use chrono::Utc;
use diesel::prelude::*;
use uuid::Uuid;

use crate::crypto;
use crate::db::{self, DbPool, schema::sessions};

pub const USER_ID_KEY: &str = "user_id";

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    idle: StdDuration,
    /// Sessions older than this are dead however active they were (absolute timeout).
    absolute: StdDuration,
}

impl PgSessionStore {
    pub fn new(pool: DbPool, idle: StdDuration, absolute: StdDuration) -> Self {
        Self {
            pool,
            idle,
            absolute,
        }
    }
}

/// Loads a live session and, in the same statement, pushes its idle deadline out — at most
/// once a minute, so that a busy session does not write on every request. The clock is the
/// database's, the same for every instance.
const LOAD_AND_TOUCH: &str = "
WITH live AS (
    SELECT state FROM sessions
    WHERE key_hash = $1 AND expires_at > now() AND created_at > now() - make_interval(secs => $2)
), touched AS (
    UPDATE sessions SET expires_at = now() + make_interval(secs => $3)
    WHERE key_hash = $1 AND EXISTS (SELECT 1 FROM live)
      AND expires_at < now() + make_interval(secs => $3) - interval '60 seconds'
)
SELECT state FROM live";

#[derive(QueryableByName)]
struct Loaded {
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    state: serde_json::Value,
}

fn key_hash(key: &SessionKey) -> String {
    crypto::sha256_hex(key.as_ref().as_bytes())
}

fn expiry(ttl: &Duration) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::seconds(ttl.whole_seconds())
}

/// The signed-in user recorded in the state (actix-session stores values as JSON).
fn user_of(state: &State) -> Option<Uuid> {
    state
        .get(USER_ID_KEY)
        .and_then(|v| serde_json::from_str::<Uuid>(v).ok())
}

fn other(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("session store: {e}")
}

fn new_key() -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(crypto::random_hex(32)).map_err(other)
}

fn insert(
    conn: &mut PgConnection,
    key: &SessionKey,
    state: &State,
    ttl: &Duration,
) -> Result<(), anyhow::Error> {
    let json = serde_json::to_value(state).map_err(other)?;
    diesel::insert_into(sessions::table)
        .values((
            sessions::key_hash.eq(key_hash(key)),
            sessions::user_id.eq(user_of(state)),
            sessions::state.eq(json),
            sessions::expires_at.eq(expiry(ttl)),
        ))
        .execute(conn)
        .map_err(other)?;
    Ok(())
}

impl PgSessionStore {
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgConnection) -> Result<T, anyhow::Error> + Send + 'static,
    ) -> Result<T, anyhow::Error> {
        db::run(&self.pool, move |conn| {
            f(conn).map_err(|e| crate::error::AppError::Internal(e.to_string()))
        })
        .await
        .map_err(other)
    }
}

impl SessionStore for PgSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let hash = key_hash(session_key);
        let (absolute, idle) = (self.absolute.as_secs_f64(), self.idle.as_secs_f64());
        self.with_conn(move |conn| {
            let found: Option<Loaded> = crate::db::prepared::prepared(LOAD_AND_TOUCH)
                .bind::<diesel::sql_types::Text, _>(&hash)
                .bind::<diesel::sql_types::Double, _>(absolute)
                .bind::<diesel::sql_types::Double, _>(idle)
                .get_result(conn)
                .optional()
                .map_err(other)?;
            found
                .map(|v| serde_json::from_value::<State>(v.state).map_err(other))
                .transpose()
        })
        .await
        .map_err(LoadError::Other)
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let ttl = *ttl;
        self.with_conn(move |conn| {
            let key = new_key()?;
            insert(conn, &key, &state, &ttl)?;
            Ok(key)
        })
        .await
        .map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let ttl = *ttl;
        self.with_conn(move |conn| {
            let json = serde_json::to_value(&state).map_err(other)?;
            let updated = diesel::update(
                sessions::table.filter(sessions::key_hash.eq(key_hash(&session_key))),
            )
            .set((
                sessions::state.eq(json),
                sessions::user_id.eq(user_of(&state)),
                sessions::expires_at.eq(expiry(&ttl)),
            ))
            .execute(conn)
            .map_err(other)?;
            if updated == 1 {
                return Ok(session_key);
            }
            // The session ended meanwhile (expired or revoked): never resurrect it, nor the
            // sign-in it carried.
            let mut state = state;
            state.remove(USER_ID_KEY);
            let key = new_key()?;
            insert(conn, &key, &state, &ttl)?;
            Ok(key)
        })
        .await
        .map_err(UpdateError::Other)
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        let (hash, ttl) = (key_hash(session_key), *ttl);
        self.with_conn(move |conn| {
            diesel::update(sessions::table.filter(sessions::key_hash.eq(hash)))
                .set(sessions::expires_at.eq(expiry(&ttl)))
                .execute(conn)
                .map_err(other)?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let hash = key_hash(session_key);
        self.with_conn(move |conn| {
            diesel::delete(sessions::table.filter(sessions::key_hash.eq(hash)))
                .execute(conn)
                .map_err(other)?;
            Ok(())
        })
        .await
    }
}

/// Deletes expired rows; run now and then by the server.
pub fn purge_expired(conn: &mut PgConnection) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(Utc::now()))).execute(conn)
}
