//! Contacts: a tenant's address book — the people its check-in schedules tell when a device
//! goes quiet. A contact may be linked to a member of the tenant (the database unlinks it when
//! the membership ends). Seen by whoever reaches the tenant with `contacts.view`; changed with
//! `contacts.manage`; every change is audited.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::access::{Access, Reached};
use crate::db::schema::{contacts, memberships, schedule_contacts, users};
use crate::domain::audit::{AuditAction, Event};
use crate::domain::error::DomainError;
use crate::domain::ids::{ContactId, CustomerId, TenantId, UserId};
use crate::domain::permissions::Permission;

pub type FieldErrors = BTreeMap<&'static str, String>;

/// How many contacts a page of the address book shows.
pub const PAGE: i64 = 50;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = contacts)]
pub struct Contact {
    pub id: ContactId,
    pub tenant_id: TenantId,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: String,
    pub user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub customer_id: CustomerId,
}

/// A contact as its form submits it.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ContactInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub notes: String,
    /// A member of the tenant to link, or empty.
    #[serde(default)]
    pub user: String,
}

impl ContactInput {
    pub fn of(c: &Contact) -> Self {
        Self {
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
            phone: c.phone.clone().unwrap_or_default(),
            notes: c.notes.clone(),
            user: c.user_id.map(|u| u.to_string()).unwrap_or_default(),
        }
    }
}

/// A checked contact.
struct Fields {
    name: String,
    email: Option<String>,
    phone: Option<String>,
    notes: String,
    user: Option<UserId>,
}

fn parse(input: &ContactInput) -> Result<Fields, FieldErrors> {
    use crate::domain::text::{hidden_char, hidden_message};
    let mut errors = FieldErrors::new();
    let name = crate::domain::users::parse_display_name(&input.name)
        .map_err(|e| errors.insert("name", e))
        .ok();
    let email = match input.email.trim() {
        "" => None,
        raw => crate::domain::users::Email::parse(raw)
            .map(|e| e.as_str().to_string())
            .map_err(|e| errors.insert("email", e))
            .ok(),
    };
    let phone = crate::domain::devices::fields::parse_phone(&input.phone)
        .map_err(|e| errors.insert("phone", e))
        .ok()
        .flatten();
    if email.is_none() && phone.is_none() && !errors.contains_key("email") {
        errors.insert("email", "Give an email address or a phone number.".into());
    }
    let notes = input.notes.trim().to_string();
    if notes.chars().count() > 1000 {
        errors.insert("notes", "Use at most 1000 characters.".into());
    } else if let Some(c) = hidden_char(&notes, &['\n', '\r', '\t']) {
        errors.insert("notes", hidden_message(c));
    }
    let user = match input.user.trim() {
        "" => None,
        raw => match raw.parse::<UserId>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.insert("user", "Choose a member from the list.".into());
                None
            }
        },
    };
    match name {
        Some(name) if errors.is_empty() => Ok(Fields {
            name,
            email,
            phone,
            notes,
            user,
        }),
        _ => Err(errors),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContactError {
    #[error("Check the highlighted fields.")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

impl From<diesel::result::Error> for ContactError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Domain(e.into())
    }
}

/// A page of the reached tenant's contacts by name, those matching `q` (name, email or phone).
pub fn list(
    conn: &mut PgConnection,
    reached: &Reached,
    q: &str,
    page: i64,
) -> Result<(Vec<Contact>, bool), DomainError> {
    let mut query = contacts::table
        .filter(contacts::customer_id.eq(reached.customer()))
        .filter(contacts::tenant_id.eq(reached.id()))
        .into_boxed();
    let q = q.trim();
    if !q.is_empty() {
        let like = format!("%{}%", crate::db::like_escape(q));
        query = query.filter(
            contacts::name
                .ilike(like.clone())
                .or(contacts::email.ilike(like.clone()))
                .or(contacts::phone.like(like)),
        );
    }
    let mut rows: Vec<Contact> = query
        .order((crate::db::functions::lower(contacts::name), contacts::id))
        .offset(page.max(0) * PAGE)
        .limit(PAGE + 1)
        .select(Contact::as_select())
        .load(conn)?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    Ok((rows, more))
}

/// Every contact of a tenant, by name (the schedule form's choices).
pub fn all_of(conn: &mut PgConnection, reached: &Reached) -> Result<Vec<Contact>, DomainError> {
    Ok(contacts::table
        .filter(contacts::customer_id.eq(reached.customer()))
        .filter(contacts::tenant_id.eq(reached.id()))
        .order(crate::db::functions::lower(contacts::name))
        .limit(500)
        .select(Contact::as_select())
        .load(conn)?)
}

/// A contact of the reached tenant; `NotFound` for any other id.
pub fn find(
    conn: &mut PgConnection,
    reached: &Reached,
    id: ContactId,
) -> Result<Contact, DomainError> {
    contacts::table
        .filter(contacts::customer_id.eq(reached.customer()))
        .filter(contacts::id.eq(id))
        .filter(contacts::tenant_id.eq(reached.id()))
        .select(Contact::as_select())
        .first(conn)
        .optional()?
        .ok_or(DomainError::NotFound)
}

/// The members a contact may be linked to: (id, "Name <email>").
pub fn linkable(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<Vec<(UserId, String)>, DomainError> {
    let rows: Vec<(UserId, String, String)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::tenant_id.eq(tenant))
        .order(crate::db::functions::lower(users::display_name))
        .limit(500)
        .select((users::id, users::display_name, users::email))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, email)| (id, format!("{name} <{email}>")))
        .collect())
}

/// The linked member must be a member here: anyone else is refused beside the field.
fn check_member(
    conn: &mut PgConnection,
    tenant: TenantId,
    user: Option<UserId>,
) -> Result<(), ContactError> {
    let Some(user) = user else { return Ok(()) };
    let found: i64 = memberships::table
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::user_id.eq(user))
        .count()
        .get_result(conn)?;
    if found == 0 {
        return Err(ContactError::Invalid(FieldErrors::from([(
            "user",
            "Choose a member of this tenant.".to_string(),
        )])));
    }
    Ok(())
}

fn detail(f: &Fields) -> serde_json::Value {
    serde_json::json!({
        "name": f.name, "email": f.email, "phone": f.phone, "member": f.user,
    })
}

pub fn create(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    input: &ContactInput,
) -> Result<Contact, ContactError> {
    access.check(reached, Permission::ContactsManage)?;
    let f = parse(input).map_err(ContactError::Invalid)?;
    conn.transaction(|conn| {
        check_member(conn, reached.id(), f.user)?;
        let contact: Contact = diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(ContactId::new()),
                contacts::customer_id.eq(reached.customer()),
                contacts::tenant_id.eq(reached.id()),
                contacts::name.eq(&f.name),
                contacts::email.eq(&f.email),
                contacts::phone.eq(&f.phone),
                contacts::notes.eq(&f.notes),
                contacts::user_id.eq(f.user),
            ))
            .returning(Contact::as_returning())
            .get_result(conn)?;
        Event::new(AuditAction::ContactCreate, reached.path(), contact.id)
            .detail(detail(&f))
            .record(conn, &access.actor)?;
        Ok(contact)
    })
}

pub fn update(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: ContactId,
    input: &ContactInput,
) -> Result<Contact, ContactError> {
    find(conn, reached, id)?;
    access.check(reached, Permission::ContactsManage)?;
    let f = parse(input).map_err(ContactError::Invalid)?;
    conn.transaction(|conn| {
        check_member(conn, reached.id(), f.user)?;
        let contact: Contact = diesel::update(
            contacts::table
                .filter(contacts::customer_id.eq(reached.customer()))
                .filter(contacts::id.eq(id)),
        )
        .set((
            contacts::name.eq(&f.name),
            contacts::email.eq(&f.email),
            contacts::phone.eq(&f.phone),
            contacts::notes.eq(&f.notes),
            contacts::user_id.eq(f.user),
            contacts::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)?;
        Event::new(AuditAction::ContactUpdate, reached.path(), id)
            .detail(detail(&f))
            .record(conn, &access.actor)?;
        Ok(contact)
    })
}

/// The schedules that tell this contact (the delete confirmation names them).
pub fn used_by(
    conn: &mut PgConnection,
    reached: &Reached,
    id: ContactId,
) -> Result<Vec<String>, DomainError> {
    use crate::db::schema::schedules;
    Ok(schedule_contacts::table
        .inner_join(
            schedules::table.on(schedules::id
                .eq(schedule_contacts::schedule_id)
                .and(schedules::customer_id.eq(schedule_contacts::customer_id))),
        )
        .filter(schedule_contacts::customer_id.eq(reached.customer()))
        .filter(schedule_contacts::contact_id.eq(id))
        .order(schedules::name)
        .select(schedules::name)
        .load(conn)?)
}

/// Deletes a contact (schedules stop telling them); returns the name.
pub fn delete(
    conn: &mut PgConnection,
    access: &Access,
    reached: &Reached,
    id: ContactId,
) -> Result<String, DomainError> {
    let contact = find(conn, reached, id)?;
    access.check(reached, Permission::ContactsManage)?;
    conn.transaction(|conn| {
        diesel::delete(
            contacts::table
                .filter(contacts::customer_id.eq(reached.customer()))
                .filter(contacts::id.eq(id)),
        )
        .execute(conn)?;
        // Notices sent to the contact keep its name and address, not the link (they may lie
        // with another customer than the contact's, so this is not a foreign key).
        let only = crate::domain::ids::CustomerId::reaching(reached.path());
        diesel::sql_query(
            "UPDATE alert_notifications SET contact_id = NULL \
             WHERE contact_id = $1 AND ($2::uuid IS NULL OR customer_id = $2)",
        )
        .bind::<diesel::sql_types::Uuid, _>(id)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(only)
        .execute(conn)?;
        Event::new(AuditAction::ContactDelete, reached.path(), id)
            .detail(serde_json::json!({ "name": contact.name }))
            .record(conn, &access.actor)?;
        Ok(contact.name)
    })
}
