//! Tenants: the tree (`tree`), a tenant's own page, its changes and restructuring.
mod edit;
mod restructure;
mod tree;

pub use edit::{create_child, rename};
pub use restructure::{delete, delete_form, move_form, move_subtree, set_status, suspend_form};
pub use tree::{Nodes, children, tree};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::memberships::{self, Member};
use crate::domain::permissions::{Permission, Permissions, perm};
use crate::domain::tenants::{Tenant, TreeNode};
use crate::error::AppError;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::html;

/// Children listed per expansion; more than this are summarised by a count.
pub const CHILD_LIMIT: i64 = 200;

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
                nodes: Nodes::list(data.children),
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
