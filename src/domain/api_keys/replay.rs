//! Idempotent creation: a creating request sent with an `Idempotency-Key` stores its first
//! answer in the same transaction as what it created; a retry with the same key gets that
//! answer back and creates nothing. A concurrent retry waits on the first one's row (the
//! primary key) and then reads its answer; a first attempt that fails stores nothing, so the
//! retry runs afresh. Answers are kept for a day.
use diesel::prelude::*;

use crate::db::schema::api_idempotency;
use crate::domain::error::DomainError;
use crate::domain::ids::ApiKeyId;

/// An answer as it was sent: status, `Location` and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// What a program may send as a key: printable ASCII, 1–255 characters.
pub fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| (0x21..0x7f).contains(&b))
}

/// Runs `create` once for (`api_key`, `idem_key`): the first time in a transaction that also
/// stores its answer; afterwards the stored answer. The same key with a different request
/// (`request_hash`) is refused.
pub fn once<E>(
    conn: &mut PgConnection,
    api_key: ApiKeyId,
    idem_key: &str,
    request_hash: &[u8],
    create: impl FnOnce(&mut PgConnection) -> Result<Answer, E>,
) -> Result<Answer, E>
where
    E: From<DomainError> + From<diesel::result::Error>,
{
    conn.transaction(|conn| {
        diesel::delete(api_idempotency::table)
            .filter(api_idempotency::key_id.eq(api_key))
            .filter(api_idempotency::created_at.lt(chrono::Utc::now() - chrono::Duration::days(1)))
            .execute(conn)?;
        let claimed = diesel::insert_into(api_idempotency::table)
            .values((
                api_idempotency::key_id.eq(api_key),
                api_idempotency::idem_key.eq(idem_key),
                api_idempotency::request_hash.eq(request_hash),
                api_idempotency::status.eq(0i16),
                api_idempotency::body.eq(""),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        if claimed == 0 {
            let (hash, status, location, body): (Vec<u8>, i16, Option<String>, String) =
                api_idempotency::table
                    .find((api_key, idem_key))
                    .select((
                        api_idempotency::request_hash,
                        api_idempotency::status,
                        api_idempotency::location,
                        api_idempotency::body,
                    ))
                    .first(conn)?;
            if hash != request_hash {
                return Err(DomainError::Conflict(
                    "This Idempotency-Key was used for a different request.".into(),
                )
                .into());
            }
            return Ok(Answer {
                status: status as u16,
                location,
                body,
            });
        }
        let answer = create(conn)?;
        diesel::update(api_idempotency::table.find((api_key, idem_key)))
            .set((
                api_idempotency::status.eq(answer.status as i16),
                api_idempotency::location.eq(&answer.location),
                api_idempotency::body.eq(&answer.body),
            ))
            .execute(conn)?;
        Ok(answer)
    })
}
