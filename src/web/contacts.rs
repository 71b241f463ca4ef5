//! A tenant's address book: the list with search and a form for a new contact, a contact's
//! page (edit), and deletion after a confirmation naming the schedules that tell them. Every
//! rule is the domain's (`domain::contacts`).
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db;
use crate::domain::contacts::{self, Contact, ContactError, ContactInput, FieldErrors};
use crate::domain::error::DomainError;
use crate::domain::ids::{ContactId, TenantId, UserId};
use crate::domain::permissions::{Permission, perm};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::flash;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other, url_encode};

#[derive(Debug, Default, serde::Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<i64>,
}

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    contacts: Vec<Contact>,
    q: String,
    page: i64,
    more: bool,
    can_manage: bool,
    members: Vec<(UserId, String)>,
    input: ContactInput,
    errors: FieldErrors,
}

impl ListPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    fn q_encoded(&self) -> String {
        url_encode(&self.q)
    }
}

fn refused(e: ContactError) -> Result<(StatusCode, FieldErrors), AppError> {
    match e {
        ContactError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        ContactError::Domain(DomainError::NotAllowed(why)) => {
            Ok((StatusCode::FORBIDDEN, FieldErrors::from([("name", why)])))
        }
        ContactError::Domain(other) => Err(other.into()),
    }
}

pub async fn list(
    r: Reach<perm::ContactsView>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, chrome, reached, pool) = r.into_parts();
    let ListQuery { q, page } = query.into_inner();
    let page = page.unwrap_or(0).clamp(0, 10_000);
    let view = db::run(&pool, move |conn| {
        let (contacts, more) = contacts::list(conn, &reached, &q, page)?;
        let can_manage = reached.may(Permission::ContactsManage);
        Ok(ListPage {
            chrome,
            contacts,
            q,
            page,
            more,
            can_manage,
            members: if can_manage {
                contacts::linkable(conn, reached.id())?
            } else {
                Vec::new()
            },
            input: ContactInput::default(),
            errors: FieldErrors::new(),
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&view)
}

pub async fn create(
    r: Reach<perm::ContactsManage>,
    form: web::Form<ContactInput>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let id = reached.id();
    let input = form.into_inner();
    let outcome = db::run(&pool, move |conn| {
        match contacts::create(conn, &access, &reached, &input) {
            Ok(c) => Ok(Ok(c.name)),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let (contacts, more) = contacts::list(conn, &reached, "", 0)?;
                Ok(Err((
                    status,
                    ListPage {
                        chrome,
                        contacts,
                        q: String::new(),
                        page: 0,
                        more,
                        can_manage: true,
                        members: contacts::linkable(conn, reached.id())?,
                        input,
                        errors,
                        tenant: reached.into_tenant(),
                    },
                )))
            }
        }
    })
    .await?;
    match outcome {
        Ok(name) => {
            flash::set(&session, format!("{name} added to the contacts."))?;
            Ok(see_other(&format!("/tenants/{id}/contacts")))
        }
        Err((status, page)) => html_status(status, &page),
    }
}

#[derive(Template)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    chrome: Chrome,
    tenant: Tenant,
    contact: Contact,
    used_by: Vec<String>,
    can_manage: bool,
    members: Vec<(UserId, String)>,
    input: ContactInput,
    errors: FieldErrors,
}

impl ShowPage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    fn member_name(&self) -> Option<&str> {
        let id = self.contact.user_id?;
        self.members
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, n)| n.as_str())
    }
}

fn show_page(
    conn: &mut diesel::PgConnection,
    chrome: Chrome,
    reached: crate::access::Reached,
    id: ContactId,
    input: Option<ContactInput>,
    errors: FieldErrors,
) -> Result<ShowPage, AppError> {
    let contact = contacts::find(conn, &reached, id)?;
    Ok(ShowPage {
        chrome,
        used_by: contacts::used_by(conn, &reached, id)?,
        can_manage: reached.may(Permission::ContactsManage),
        members: contacts::linkable(conn, reached.id())?,
        input: input.unwrap_or_else(|| ContactInput::of(&contact)),
        errors,
        contact,
        tenant: reached.into_tenant(),
    })
}

pub async fn show(
    r: Reach<perm::ContactsView>,
    path: web::Path<(TenantId, ContactId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        show_page(conn, chrome, reached, id, None, FieldErrors::new())
    })
    .await?;
    html(&page)
}

pub async fn update(
    r: Reach<perm::ContactsManage>,
    path: web::Path<(TenantId, ContactId)>,
    form: web::Form<ContactInput>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let input = form.into_inner();
    let outcome = db::run(&pool, move |conn| {
        match contacts::update(conn, &access, &reached, id, &input) {
            Ok(_) => Ok(None),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let page = show_page(conn, chrome, reached, id, Some(input), errors)?;
                Ok(Some((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        None => {
            flash::set(&session, "Contact saved.")?;
            Ok(see_other(&format!("/tenants/{tenant}/contacts/{id}")))
        }
        Some((status, page)) => html_status(status, &page),
    }
}

#[derive(Template)]
#[template(path = "contacts/delete.html")]
struct DeletePage {
    chrome: Chrome,
    tenant: Tenant,
    contact: Contact,
    used_by: Vec<String>,
}

pub async fn delete_form(
    r: Reach<perm::ContactsManage>,
    path: web::Path<(TenantId, ContactId)>,
) -> Result<HttpResponse, AppError> {
    let (_, id) = path.into_inner();
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let contact = contacts::find(conn, &reached, id)?;
        Ok(DeletePage {
            chrome,
            used_by: contacts::used_by(conn, &reached, id)?,
            contact,
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

pub async fn delete(
    r: Reach<perm::ContactsManage>,
    path: web::Path<(TenantId, ContactId)>,
    session: Session,
) -> Result<HttpResponse, AppError> {
    let (tenant, id) = path.into_inner();
    let (access, _, reached, pool) = r.into_parts();
    let name = db::run(&pool, move |conn| {
        Ok(contacts::delete(conn, &access, &reached, id)?)
    })
    .await?;
    flash::set(&session, format!("{name} deleted from the contacts."))?;
    Ok(see_other(&format!("/tenants/{tenant}/contacts")))
}
