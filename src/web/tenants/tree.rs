//! The tenant tree: top nodes, branches loaded lazily when opened, and which branches are
//! open kept in the address (`/tenants?open=…`), so a reload, a bookmark or the back button
//! shows the tree as it was left. `static/app.js` opens and closes branches in place; without
//! it each toggle is a link to the tree with that branch opened or closed.
use std::collections::HashMap;
use std::rc::Rc;

use actix_web::{HttpResponse, web};
use askama::Template;

use super::CHILD_LIMIT;
use crate::access::Access;
use crate::db;
use crate::domain::ids::TenantId;
use crate::domain::permissions::perm;
use crate::domain::roles::RoleReach;
use crate::domain::tenants::TreeNode;
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::reach::Reach;
use crate::web::render::html;

/// Branches opened at once past this are shown closed (each costs a statement).
const OPEN_LIMIT: usize = 50;

#[derive(Template)]
#[template(path = "tenants/tree.html")]
struct TreePage {
    chrome: Chrome,
    nodes: Nodes,
}

/// The open branches: their ids in the order opened, and the children loaded for each.
#[derive(Default)]
struct Open {
    ids: Vec<TenantId>,
    loaded: HashMap<TenantId, Vec<TreeNode>>,
}

/// A list of tree nodes; the same markup serves the page, the htmx expansion and the tenant
/// page's sub-tenants. Open branches render their children inside them.
#[derive(Template)]
#[template(path = "tenants/_nodes.html")]
pub struct Nodes {
    nodes: Vec<TreeNode>,
    open: Rc<Open>,
}

impl Nodes {
    /// Nodes with every branch closed.
    pub fn list(nodes: Vec<TreeNode>) -> Self {
        Self {
            nodes,
            open: Rc::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn is_open(&self, id: &TenantId) -> bool {
        self.open.loaded.contains_key(id)
    }

    fn branch(&self, id: &TenantId) -> Option<Nodes> {
        self.open.loaded.get(id).map(|nodes| Nodes {
            nodes: nodes.clone(),
            open: self.open.clone(),
        })
    }

    /// The tree's address with `id` opened, or closed when it is open.
    fn toggle_href(&self, id: &TenantId) -> String {
        let is_open = self.is_open(id);
        let mut ids: Vec<TenantId> = self.open.ids.iter().copied().filter(|o| o != id).collect();
        if !is_open {
            ids.push(*id);
        }
        let query: Vec<String> = ids.iter().map(|i| format!("open={i}")).collect();
        format!("/tenants?{}", query.join("&"))
    }
}

/// The `open` ids of the address, each a tenant id (anything else is refused).
fn open_ids(pairs: &[(String, String)]) -> Result<Vec<TenantId>, AppError> {
    let mut ids: Vec<TenantId> = Vec::new();
    for (_, v) in pairs.iter().filter(|(k, _)| k == "open") {
        let id = v.parse().map_err(|_| {
            AppError::BadRequest(format!(
                "{v:?} is not a tenant's id: the address names the tree's open branches by id."
            ))
        })?;
        if !ids.contains(&id) && ids.len() < OPEN_LIMIT {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub async fn tree(
    access: Access,
    chrome: Chrome,
    state: web::Data<AppState>,
    query: web::Query<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let ids = open_ids(&query)?;
    let (tops, open) = db::run(&state.pool, move |conn| {
        let mut tops = access.top_nodes(conn)?;
        // Only an admin of a top node sees below it.
        for n in &mut tops {
            let expandable = access
                .grants
                .iter()
                .any(|g| g.tenant_id == n.id && g.role.reach == RoleReach::Subtree);
            if !expandable {
                n.children = 0;
            }
        }
        // Every open id goes through the access layer: one outside reach answers 404.
        let mut open = Open::default();
        for id in ids {
            let reached = access.tenant(conn, id)?;
            if reached.sees_below() {
                open.loaded
                    .insert(id, access.children(conn, &reached, CHILD_LIMIT)?);
                open.ids.push(id);
            }
        }
        Ok::<_, AppError>((tops, open))
    })
    .await?;
    html(&TreePage {
        chrome,
        nodes: Nodes {
            nodes: tops,
            open: Rc::new(open),
        },
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
    html(&Nodes::list(nodes))
}
