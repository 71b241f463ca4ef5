//! Users: one login each, identified by email.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use validator::ValidateEmail;

use crate::db::schema::{sessions, users};
use crate::domain::audit::{Actor, AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{TenantId, UserId};
use crate::domain::password::Password;
use crate::domain::states::UserStatus;

/// A syntactically valid email address, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter an email address.".into());
        }
        if email.len() > 254 || !email.validate_email() {
            return Err("Enter a valid email address, like name@example.com.".into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name as shown in the portal (a person's, or a tenant's before its own rules).
pub fn parse_display_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a name.".into());
    }
    if name.chars().count() > 100 {
        return Err("Use at most 100 characters.".into());
    }
    if let Some(c) = crate::domain::text::hidden_char(name, &[]) {
        return Err(crate::domain::text::hidden_message(c));
    }
    Ok(name.to_string())
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub status: UserStatus,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub last_tenant_id: Option<TenantId>,
    /// The IANA zone the person reads times in (`None`: UTC).
    pub time_zone: Option<String>,
    /// Whether they sign in with a second factor (the secret itself is never loaded here).
    #[diesel(select_expression = users::totp_secret.is_not_null())]
    #[diesel(select_expression_type = diesel::dsl::IsNotNull<users::totp_secret>)]
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub second_factor: bool,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUser<'a> {
    id: UserId,
    email: &'a str,
    display_name: &'a str,
    password_hash: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("An account with this email address already exists.")]
    EmailTaken,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// Inserts a user; the caller's transaction also adds its first membership.
pub fn create(
    conn: &mut PgConnection,
    email: &Email,
    display_name: &str,
    password: &Password,
) -> Result<User, CreateUserError> {
    let hash = password.hash()?;
    let inserted = diesel::insert_into(users::table)
        .values(NewUser {
            id: UserId::new(),
            email: email.as_str(),
            display_name,
            password_hash: &hash,
        })
        .returning(User::as_returning())
        .get_result(conn);
    inserted.map_err(|e| match crate::db::unique_violation(e) {
        Ok(()) => CreateUserError::EmailTaken,
        Err(other) => CreateUserError::Domain(other),
    })
}

pub fn find_by_email(conn: &mut PgConnection, email: &str) -> Result<Option<User>, DomainError> {
    Ok(users::table
        .filter(crate::db::functions::lower(users::email).eq(email.trim().to_lowercase()))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut PgConnection, id: UserId) -> Result<Option<User>, DomainError> {
    Ok(users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

pub fn record_sign_in(conn: &mut PgConnection, id: UserId) -> Result<(), DomainError> {
    diesel::update(users::table.find(id))
        .set(users::last_sign_in_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of the user at once (sign out everywhere, disabling).
/// Remembers the tenant the user switched to: where they land next time.
pub fn set_last_tenant(
    conn: &mut PgConnection,
    id: UserId,
    tenant_id: TenantId,
) -> Result<(), DomainError> {
    diesel::update(users::table.find(id))
        .set(users::last_tenant_id.eq(Some(tenant_id)))
        .execute(conn)?;
    Ok(())
}

/// Ends every session of the user and forgets every browser they signed in from (its device
/// cookie no longer exempts it from throttling).
pub fn end_sessions(conn: &mut PgConnection, id: UserId) -> Result<usize, DomainError> {
    crate::domain::device_tokens::revoke_all(conn, id)?;
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?)
}

/// Disables or re-enables a user; disabling ends their sessions in the same transaction.
pub fn set_active(
    conn: &mut PgConnection,
    actor: &Actor,
    user: &User,
    active: bool,
    tenant_path: &[TenantId],
) -> Result<(), DomainError> {
    conn.transaction(|conn| {
        let status = if active {
            UserStatus::Active
        } else {
            UserStatus::Disabled
        };
        diesel::update(users::table.find(user.id))
            .set((
                users::status.eq(status),
                users::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        if !active {
            end_sessions(conn, user.id)?;
            crate::domain::invitations::revoke_unbacked(conn, user.id)?;
            crate::domain::api_keys::revoke_held(conn, user.id, None)?;
        }
        Event::new(
            if active {
                AuditAction::UserEnable
            } else {
                AuditAction::UserDisable
            },
            tenant_path,
            user.id,
        )
        .detail(serde_json::json!({ "email": user.email }))
        .record(conn, actor)
    })
}
