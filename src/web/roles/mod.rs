//! A tenant's roles: the list (presets, inherited, its own), one role's permission matrix and
//! holders, the editor, and deletion with its holders moved to another role. Every rule is the
//! domain's (`domain::roles::edit`); these handlers read the form and render.
mod delete;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
pub use delete::{delete, delete_form};

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::error::DomainError;
use crate::domain::ids::{RoleId, TenantId};
use crate::domain::permissions::{self, Permission, Permissions, perm};
use crate::domain::roles::RoleReach;
use crate::domain::roles::custom::{self, Holder, RoleDef};
use crate::domain::roles::edit::{self, FieldErrors, RoleError, RoleInput};
use crate::domain::tenants::Tenant;
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::{html, html_status, see_other};

#[derive(Template)]
#[template(path = "roles/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    roles: Vec<(RoleDef, i64)>,
    can_manage: bool,
    notice: Option<&'static str>,
}

/// What the page after a change says about it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Done {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    deleted: Option<String>,
}

pub async fn list(
    r: Reach<perm::RolesView>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let notice = done
        .deleted
        .as_ref()
        .map(|_| "Role deleted; its holders moved as chosen.");
    let (_, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let defs = custom::available_at(conn, reached.tenant())?;
        let ids: Vec<RoleId> = defs.iter().map(|d| d.id).collect();
        let counts = custom::holder_counts(conn, &ids)?;
        Ok(ListPage {
            chrome,
            notice,
            can_manage: reached.may(Permission::RolesManage),
            roles: defs
                .into_iter()
                .map(|d| {
                    let n = counts.get(&d.id).copied().unwrap_or(0);
                    (d, n)
                })
                .collect(),
            tenant: reached.into_tenant(),
        })
    })
    .await?;
    html(&page)
}

/// The permission matrix: one row per object of the catalogue.
pub struct Matrix {
    pub rows: Vec<(&'static str, Vec<Permission>)>,
    /// What the role allows (ticked).
    pub ticked: Permissions,
    /// What the editor may tick (their own permissions here); others are shown disabled.
    pub grantable: Permissions,
}

#[derive(Template)]
#[template(path = "roles/role.html")]
struct RolePage {
    chrome: Chrome,
    tenant: Tenant,
    role: Option<RoleDef>,
    /// Where the role comes from, when not from this tenant.
    origin: Option<String>,
    editable: bool,
    input: RoleInput,
    matrix: Matrix,
    errors: FieldErrors,
    holders: Vec<Holder>,
    notice: Option<&'static str>,
}

impl RolePage {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
    }
    fn action(&self) -> String {
        match &self.role {
            Some(r) => format!("/tenants/{}/roles/{}", self.tenant.id, r.id),
            None => format!("/tenants/{}/roles", self.tenant.id),
        }
    }
}

fn input_of(def: &RoleDef) -> RoleInput {
    RoleInput {
        name: def.name.clone(),
        description: def.description.clone(),
        permissions: def.permissions().keys(),
        reach: def.reach.to_string(),
        shared: def.shared,
    }
}

/// The page of one role (or of a new one), as the caller may see or edit it.
fn role_page(
    conn: &mut diesel::PgConnection,
    access: &Access,
    chrome: Chrome,
    reached: Reached,
    role: Option<RoleDef>,
    input: Option<RoleInput>,
    errors: FieldErrors,
) -> Result<RolePage, AppError> {
    let manage = access.allows(&reached, Permission::RolesManage);
    let (editable, origin, holders) = match &role {
        None => (manage, None, Vec::new()),
        Some(def) => {
            let origin = match (def.preset(), def.tenant_id) {
                (Some(_), _) => Some("Built in: it cannot be changed.".to_string()),
                (None, Some(t)) if t != reached.id() => {
                    let names = access.names_in_reach(conn, &[t])?;
                    Some(match names.get(&t) {
                        Some(n) => format!("Defined by {n} for the tenants below it."),
                        None => "Defined by a tenant above for the tenants below it.".to_string(),
                    })
                }
                _ => None,
            };
            let own = def.is_own(reached.tenant());
            let holders = custom::holders(conn, def.id)?
                .into_iter()
                .filter(|h| access.reaches(&h.tenant_path))
                .collect();
            (manage && own, origin, holders)
        }
    };
    let input = input.unwrap_or_else(|| match &role {
        Some(def) => input_of(def),
        None => RoleInput {
            reach: RoleReach::Tenant.to_string(),
            permissions: vec![Permission::TenantView.key().to_string()],
            ..RoleInput::default()
        },
    });
    let matrix = Matrix {
        rows: permissions::by_object(),
        ticked: Permissions::from_keys(&input.permissions),
        grantable: if editable {
            reached.permissions()
        } else {
            Permissions::NONE
        },
    };
    Ok(RolePage {
        chrome,
        tenant: reached.into_tenant(),
        role,
        origin,
        editable,
        input,
        matrix,
        errors,
        holders,
        notice: None,
    })
}

/// The role named by the path, if it is on offer at the reached tenant (404 otherwise).
fn offered(
    conn: &mut diesel::PgConnection,
    reached: &Reached,
    id: RoleId,
) -> Result<RoleDef, AppError> {
    Ok(custom::find_available(conn, reached.tenant(), id)?)
}

pub async fn new_form(r: Reach<perm::RolesManage>) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        role_page(
            conn,
            &access,
            chrome,
            reached,
            None,
            None,
            FieldErrors::new(),
        )
    })
    .await?;
    html(&page)
}

pub async fn show(
    r: Reach<perm::RolesView>,
    path: web::Path<(TenantId, RoleId)>,
    done: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    let notice = done.saved.as_ref().map(|_| "Role saved.");
    let (_, id) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let page = db::run(&pool, move |conn| {
        let def = offered(conn, &reached, id)?;
        role_page(
            conn,
            &access,
            chrome,
            reached,
            Some(def),
            None,
            FieldErrors::new(),
        )
    })
    .await?;
    let page = RolePage { notice, ..page };
    html(&page)
}

/// The role form as submitted: repeated `permissions` values, a checkbox for `shared`.
fn read_form(pairs: Vec<(String, String)>) -> RoleInput {
    let mut input = RoleInput::default();
    for (k, v) in pairs {
        match k.as_str() {
            "name" => input.name = v,
            "description" => input.description = v,
            "permissions" => input.permissions.push(v),
            "reach" => input.reach = v,
            "shared" => input.shared = v == "1",
            _ => {}
        }
    }
    input
}

/// What a refused save shows: the form again with the reason, 422 or 403.
fn refused(e: RoleError) -> Result<(StatusCode, FieldErrors), AppError> {
    match e {
        RoleError::Invalid(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
        RoleError::Domain(DomainError::NotAllowed(why)) => Ok((
            StatusCode::FORBIDDEN,
            FieldErrors::from([("permissions", why)]),
        )),
        RoleError::Domain(other) => Err(other.into()),
    }
}

pub async fn create(
    r: Reach<perm::RolesManage>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, reached, pool) = r.into_parts();
    let input = read_form(form.into_inner());
    let id = reached.id();
    let outcome = db::run(&pool, move |conn| {
        match edit::create(conn, &access, &reached, &input) {
            Ok(def) => Ok(Ok(def.id)),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let page = role_page(conn, &access, chrome, reached, None, Some(input), errors)?;
                Ok(Err((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        Ok(role) => Ok(see_other(&format!("/tenants/{id}/roles/{role}?saved=1"))),
        Err((status, page)) => html_status(status, &page),
    }
}

pub async fn update(
    r: Reach<perm::RolesManage>,
    path: web::Path<(TenantId, RoleId)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (id, role) = path.into_inner();
    let (access, chrome, reached, pool) = r.into_parts();
    let input = read_form(form.into_inner());
    let outcome = db::run(&pool, move |conn| {
        let def = offered(conn, &reached, role)?;
        match edit::update(conn, &access, &reached, role, &input) {
            Ok(_) => Ok(None),
            Err(e) => {
                let (status, errors) = refused(e)?;
                let page = role_page(
                    conn,
                    &access,
                    chrome,
                    reached,
                    Some(def),
                    Some(input),
                    errors,
                )?;
                Ok(Some((status, page)))
            }
        }
    })
    .await?;
    match outcome {
        None => Ok(see_other(&format!("/tenants/{id}/roles/{role}?saved=1"))),
        Some((status, page)) => html_status(status, &page),
    }
}
