//! The transactional outbox: messages are written in the same transaction as the change that
//! causes them, and delivered later by workers. A worker claims due rows with
//! `FOR UPDATE SKIP LOCKED` and a lease, so several instances never send one message twice.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::db::schema::outbox;
use crate::domain::error::DomainError;
use crate::domain::ids::InvitationId;

/// A rendered message waiting in the outbox.
pub struct NewMessage<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub invitation_id: Option<InvitationId>,
}

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = outbox)]
pub struct Message {
    pub id: i64,
    pub to_email: String,
    pub subject: String,
    pub text_body: String,
    pub html_body: String,
    pub invitation_id: Option<InvitationId>,
    pub attempts: i32,
    pub sent_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub fn enqueue(conn: &mut PgConnection, m: NewMessage<'_>) -> Result<i64, DomainError> {
    Ok(diesel::insert_into(outbox::table)
        .values((
            outbox::to_email.eq(m.to),
            outbox::subject.eq(m.subject),
            outbox::text_body.eq(m.text),
            outbox::html_body.eq(m.html),
            outbox::invitation_id.eq(m.invitation_id),
        ))
        .returning(outbox::id)
        .get_result(conn)?)
}

/// Messages in one statement (a scheduler pass tells many contacts at once).
pub fn enqueue_all(
    conn: &mut PgConnection,
    messages: &[NewMessage<'_>],
) -> Result<usize, DomainError> {
    if messages.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = messages
        .iter()
        .map(|m| {
            (
                outbox::to_email.eq(m.to),
                outbox::subject.eq(m.subject),
                outbox::text_body.eq(m.text),
                outbox::html_body.eq(m.html),
                outbox::invitation_id.eq(m.invitation_id),
            )
        })
        .collect();
    Ok(diesel::insert_into(outbox::table)
        .values(&rows)
        .execute(conn)?)
}

/// Claims up to `limit` due messages for `lease_secs`; each claim counts as an attempt.
pub fn claim(
    conn: &mut PgConnection,
    limit: i64,
    lease_secs: i64,
) -> Result<Vec<Message>, DomainError> {
    Ok(crate::db::prepared::prepared(
        "UPDATE outbox SET claimed_until = now() + make_interval(secs => $2), \
                attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox \
                      WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now() \
                        AND (claimed_until IS NULL OR claimed_until < now()) \
                      ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, to_email, subject, text_body, html_body, invitation_id, attempts, \
                   sent_at, failed_at, last_error, created_at",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Double, _>(lease_secs as f64)
    .load(conn)?)
}

pub fn mark_sent(conn: &mut PgConnection, id: i64) -> Result<(), DomainError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(diesel::dsl::now),
            outbox::claimed_until.eq(None::<DateTime<Utc>>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Schedules another attempt after `retry_in`, or gives up after the last attempt.
pub fn mark_failed(
    conn: &mut PgConnection,
    message: &Message,
    error: &str,
    max_attempts: i32,
    retry_in: chrono::Duration,
) -> Result<(), DomainError> {
    let give_up = message.attempts >= max_attempts;
    diesel::update(outbox::table.find(message.id))
        .set((
            outbox::last_error.eq(error),
            outbox::claimed_until.eq(None::<DateTime<Utc>>),
            outbox::next_attempt_at.eq(Utc::now() + retry_in),
            outbox::failed_at.eq(give_up.then(Utc::now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// An admin's "try again" after delivery failed: a fresh set of attempts.
pub fn retry_for_invitation(
    conn: &mut PgConnection,
    invitation_id: InvitationId,
) -> Result<usize, DomainError> {
    Ok(diesel::update(
        outbox::table
            .filter(outbox::invitation_id.eq(invitation_id))
            .filter(outbox::failed_at.is_not_null()),
    )
    .set((
        outbox::attempts.eq(0),
        outbox::failed_at.eq(None::<DateTime<Utc>>),
        outbox::next_attempt_at.eq(diesel::dsl::now),
    ))
    .execute(conn)?)
}

/// The latest message of each invitation: whether it went out, or why not.
pub fn latest_for_invitations(
    conn: &mut PgConnection,
    ids: &[InvitationId],
) -> Result<Vec<Message>, DomainError> {
    Ok(outbox::table
        .filter(outbox::invitation_id.eq_any(ids))
        .distinct_on(outbox::invitation_id)
        .order((outbox::invitation_id, outbox::id.desc()))
        .select(Message::as_select())
        .load(conn)?)
}

/// The local mailbox (embedded default): the latest messages, newest first.
pub fn recent(conn: &mut PgConnection, limit: i64) -> Result<Vec<Message>, DomainError> {
    Ok(outbox::table
        .order(outbox::id.desc())
        .limit(limit)
        .select(Message::as_select())
        .load(conn)?)
}

pub fn find(conn: &mut PgConnection, id: i64) -> Result<Message, DomainError> {
    Ok(outbox::table
        .find(id)
        .select(Message::as_select())
        .first(conn)?)
}
