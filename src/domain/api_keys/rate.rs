//! The per-key rate limit, counted in PostgreSQL so that every portal instance shares it: one
//! row per key and minute, bumped by one upsert per request. Every request of a key waits on
//! that row's lock, so the upsert commits without waiting for the disk
//! (`synchronous_commit = off` for its own transaction only): a crash may forget a few
//! counts of the last moment, which a limit per minute can afford.
use diesel::prelude::*;
use diesel::sql_types::{Integer, Uuid};

use crate::domain::error::DomainError;
use crate::domain::ids::ApiKeyId;

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Integer)]
    requests: i32,
    #[diesel(sql_type = Integer)]
    seconds_left: i32,
}

/// Counts one request of `key` in the current minute. `Err(seconds)` when it is one more than
/// `per_minute` allows: the seconds until the next minute begins.
pub fn take(
    conn: &mut PgConnection,
    key: ApiKeyId,
    per_minute: u32,
) -> Result<Result<(), u32>, DomainError> {
    let counted: Counted = crate::db::prepared::prepared(
        "WITH gone AS (DELETE FROM api_rate WHERE key_id = $1 \
             AND window_start < date_trunc('minute', now()) - interval '1 minute') \
         INSERT INTO api_rate AS r (key_id, window_start, requests) \
         SELECT $1, date_trunc('minute', now()), 1 \
         FROM (SELECT set_config('synchronous_commit', 'off', true)) AS quick \
         ON CONFLICT (key_id, window_start) DO UPDATE SET requests = r.requests + 1 \
         RETURNING r.requests, \
             ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' \
                 - now()))::integer AS seconds_left",
    )
    .bind::<Uuid, _>(key)
    .get_result(conn)?;
    if counted.requests as i64 > per_minute as i64 {
        return Ok(Err(counted.seconds_left.max(1) as u32));
    }
    Ok(Ok(()))
}
