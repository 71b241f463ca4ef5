//! The tenant tree: the tree page, lazy children, and a tenant's own page.
mod edit;
mod restructure;

pub use edit::{create_child, rename};
pub use restructure::{delete, delete_form, move_form, move_subtree, set_status, suspend_form};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::memberships::{self, Member};
use crate::domain::permissions::{Permission, Permissions, perm};
use crate::domain::roles::RoleReach;
use crate::domain::tenants::{Tenant, TreeNode};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::html;

/// Children listed per expansion; more than this are summarised by a count.
pub const CHILD_LIMIT: i64 = 200;

#[derive(Template)]
#[template(path = "tenants/tree.html")]
struct TreePage {
    chrome: Chrome,
    nodes: Nodes,
}

/// A list of tree nodes; the same markup serves the page and the htmx expansion.
#[derive(Template)]
#[template(path = "tenants/_nodes.html")]
pub struct Nodes {
    nodes: Vec<TreeNode>,
}

pub async fn tree(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let nodes = db::run(&state.pool, move |conn| {
        let tops = access.top_nodes(conn)?;
        // Only an admin of a top node sees below it.
        Ok(tops
            .into_iter()
            .map(|n| {
                let expandable = access
                    .grants
                    .iter()
                    .any(|g| g.tenant_id == n.id && g.role.reach == RoleReach::Subtree);
                (n, expandable)
            })
            .collect::<Vec<_>>())
    })
    .await?;
    let nodes = nodes
        .into_iter()
        .map(|(mut n, e)| {
            if !e {
                n.children = 0;
            }
            n
        })
        .collect();
    html(&TreePage {
        chrome,
        nodes: Nodes { nodes },
    })
}

/// The children of a tenant, for the tree's lazy expansion.
/// Only those who reach below the tenant expand it.
pub async fn children(r: Reach<perm::TenantView>) -> Result<HttpResponse, AppError> {
    let (access, _, reached, pool) = r.into_parts();
    if !reached.sees_below() {
        return Err(AppError::Forbidden(
            "Only those whose role reaches the tenants below see them.".into(),
        ));
    }
    let nodes = db::run(&pool, move |conn| {
        Ok(access.children(conn, &reached, CHILD_LIMIT)?)
    })
    .await?;
    html(&Nodes { nodes })
}

#[derive(Template)]
#[template(path = "tenants/show.html")]
pub(crate) struct TenantPage {
    chrome: Chrome,
    tenant: Tenant,
    role: String,
    crumbs: Vec<Tenant>,
    may: Permissions,
    sees_below: bool,
    can_restructure: bool,
    subtenants: Subtenants,
    members: Vec<Member>,
    member_count: i64,
    rename_value: String,
    rename_error: Option<String>,
}

/// The sub-tenant section: create form and list. htmx swaps it as a whole.
#[derive(Template)]
#[template(path = "tenants/_subtenants.html")]
pub(crate) struct Subtenants {
    tenant_id: TenantId,
    csrf: String,
    nodes: Nodes,
    can_create: bool,
    name_value: String,
    name_error: Option<String>,
}

/// Everything a tenant page shows, loaded for the caller.
pub(crate) struct PageData {
    reached: Reached,
    crumbs: Vec<Tenant>,
    children: Vec<TreeNode>,
    members: Vec<Member>,
    member_count: i64,
    can_restructure: bool,
    role: String,
}

impl PageData {
    pub(crate) fn reached_name(&self) -> &str {
        &self.reached.tenant().name
    }
}

pub(crate) fn load_page(
    conn: &mut diesel::PgConnection,
    access: &Access,
    reached: Reached,
) -> Result<PageData, AppError> {
    let id = reached.id();
    Ok(PageData {
        crumbs: access.visible_ancestors(conn, reached.tenant())?,
        children: access.children(conn, &reached, CHILD_LIMIT)?,
        members: if reached.may(Permission::MembersView) {
            memberships::members_of(conn, id, 50)?
        } else {
            Vec::new()
        },
        member_count: memberships::count_in(conn, id)?,
        can_restructure: access.allows(&reached, Permission::TenantRestructure),
        role: access.role_names(&reached),
        reached,
    })
}

impl TenantPage {
    pub(crate) fn new(chrome: Chrome, data: PageData) -> Self {
        Self {
            subtenants: Subtenants {
                tenant_id: data.reached.tenant().id,
                csrf: chrome.csrf.clone(),
                nodes: Nodes {
                    nodes: data.children,
                },
                can_create: data.reached.may(Permission::TenantCreate),
                name_value: String::new(),
                name_error: None,
            },
            chrome,
            rename_value: data.reached.tenant().name.clone(),
            rename_error: None,
            role: data.role,
            may: data.reached.permissions(),
            sees_below: data.reached.sees_below(),
            tenant: data.reached.into_tenant(),
            crumbs: data.crumbs,
            can_restructure: data.can_restructure,
            members: data.members,
            member_count: data.member_count,
        }
    }
}

pub async fn show(r: Reach<perm::TenantView>) -> Result<HttpResponse, AppError> {
    let (access, chrome, tenant, pool) = r.into_parts();
    let data = db::run(&pool, move |conn| load_page(conn, &access, tenant)).await?;
    html(&TenantPage::new(chrome, data))
}

/// A page re-rendered with a form error: 422, as htmx and browsers both expect.
pub(crate) fn unprocessable(template: &impl Template) -> Result<HttpResponse, AppError> {
    crate::web::render::html_status(StatusCode::UNPROCESSABLE_ENTITY, template)
}
