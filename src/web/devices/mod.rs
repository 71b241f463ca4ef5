//! Device pages: the filtered list (htmx, state in the URL), export, and the per-device
//! pages in `edit` and bulk moves in `moves`.
mod edit;
mod import;
pub(crate) mod moves;
mod pickers;

pub use edit::{create, edit_form, new_form, retire, show, update};
pub use import::{
    check as import_check, form as import_form, progress as import_progress, run as import_run,
};
pub use moves::{move_devices, move_preview};
pub use pickers::tenant_options;

/// A device's address: under its tenant, which names the customer its rows are read from.
pub fn address(device: &crate::domain::devices::Device) -> String {
    format!("/tenants/{}/devices/{}", device.tenant_id, device.id)
}

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use crate::access::{Access, Reached};
use crate::db;
use crate::domain::devices::Device;
use crate::domain::devices::fields::{KINDS, STATUSES};
use crate::domain::devices::list::{self, Filter, Scope, Sort};
use crate::domain::groups::{self, Group};
use crate::domain::ids::{DeviceId, GroupId, TenantId};
use crate::domain::permissions::Permission;
use crate::domain::permissions::perm;
use crate::domain::states::{DeviceKind, DeviceStatus};
use crate::domain::tenants::{self, Tenant};
use crate::error::AppError;
use crate::web::AppState;
use crate::web::current::Chrome;
use crate::web::htmx::is_htmx;
use crate::web::reach::Reach;
use crate::web::render::{html, url_encode};

pub const PAGE: i64 = 50;
/// At most this many tenants are offered as move targets and in the tenant filter.
pub const TARGETS: i64 = 300;

/// The list's state, kept in the URL so that links and the back button work.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub after: String,
    #[serde(default)]
    pub after_id: Option<DeviceId>,
    /// One tenant of the subtree (admins).
    #[serde(default, deserialize_with = "crate::web::input::empty_as_none")]
    pub tenant: Option<TenantId>,
    /// One group of the page's tenant.
    #[serde(default, deserialize_with = "crate::web::input::empty_as_none")]
    pub group: Option<GroupId>,
    /// `overdue`: only devices with an open alert.
    #[serde(default)]
    pub checkin: String,
}

impl ListQuery {
    pub(crate) fn clean(&self) -> Self {
        let keep = |v: &str, list: &[(&str, &str)]| {
            if list.iter().any(|(k, _)| *k == v) {
                v.to_string()
            } else {
                String::new()
            }
        };
        Self {
            q: self.q.chars().take(100).collect(),
            status: keep(&self.status, STATUSES),
            kind: keep(&self.kind, KINDS),
            sub: if self.sub == "1" {
                "1".into()
            } else {
                String::new()
            },
            // An IMEI prefix lists in IMEI order unless told otherwise: the identifier index
            // answers it as one range scan, however large the subtree.
            sort: if self.sort.is_empty() && list::is_identifier_prefix(&self.q) {
                Sort::Identifier.as_str().into()
            } else {
                Sort::parse(&self.sort).as_str().into()
            },
            after: self.after.chars().take(200).collect(),
            after_id: self.after_id,
            tenant: self.tenant,
            group: self.group,
            checkin: if self.checkin == "overdue" {
                "overdue".into()
            } else {
                String::new()
            },
        }
    }

    /// The query string of this state (without the cursor unless `after` is given).
    pub fn url(&self, tenant: &TenantId, path: &str, after: Option<(&str, DeviceId)>) -> String {
        let mut s = format!(
            "/tenants/{tenant}/{path}?q={}&status={}&kind={}&sub={}&sort={}&tenant={}&group={}&checkin={}",
            url_encode(&self.q),
            self.status,
            self.kind,
            self.sub,
            self.sort,
            self.tenant.map(|t| t.to_string()).unwrap_or_default(),
            self.group.map(|g| g.to_string()).unwrap_or_default(),
            self.checkin
        );
        if let Some((key, id)) = after {
            s.push_str(&format!("&after={}&after_id={id}", url_encode(key)));
        }
        s
    }

    pub(crate) fn filter<'a>(&'a self, view: &'a Resolved, limit: i64) -> Filter<'a> {
        let reached = &view.reached;
        let scope = match &view.chosen {
            Some(chosen) if reached.sees_below() => Scope::Tenant(chosen),
            _ if reached.sees_below() && self.sub == "1" => Scope::Subtree(reached),
            _ => Scope::Tenant(reached),
        };
        Filter {
            scope,
            search: &self.q,
            status: DeviceStatus::parse(&self.status),
            kind: DeviceKind::parse(&self.kind),
            group: view.group.as_ref().map(|g| g.id),
            overdue: self.checkin == "overdue",
            sort: Sort::parse(&self.sort),
            after: self.after_id.map(|id| (self.after.clone(), id)),
            limit,
        }
    }

    /// Every id this query carries, resolved through the access layer: the tenant filter
    /// (which must lie in the page's subtree, `reached`), the group (one of the page's tenant
    /// that the caller sees) and the cursor's device. Any of them outside reach is 404.
    pub(crate) fn resolve(
        &self,
        conn: &mut diesel::PgConnection,
        access: &Access,
        reached: Reached,
    ) -> Result<Resolved, AppError> {
        let chosen = match self.tenant {
            Some(t) => {
                let chosen = access.tenant(conn, t)?;
                if !reached.contains(&chosen) {
                    return Err(AppError::NotFound);
                }
                Some(chosen)
            }
            None => None,
        };
        let group = match self.group {
            Some(g) => {
                access.check(&reached, Permission::GroupsView)?;
                Some(groups::find(conn, &reached, g)?)
            }
            None => None,
        };
        if let Some(after) = self.after_id {
            access.device_seen(conn, &reached, after)?;
        }
        Ok(Resolved {
            reached,
            chosen,
            group,
        })
    }
}

/// The tenants a device list shows, as the access layer resolved them.
pub(crate) struct Resolved {
    reached: Reached,
    chosen: Option<Reached>,
    group: Option<Group>,
}

#[derive(Template)]
#[template(path = "devices/_results.html")]
pub struct Results {
    tenant_id: TenantId,
    query: ListQuery,
    rows: Vec<(Device, String)>,
    total: list::Total,
    next: Option<String>,
    can_move: bool,
    /// Whether the selection may be added to a group of this tenant.
    can_group: bool,
    can_schedule: bool,
    /// The export link lives in the results, so that it follows every filter swapped in.
    can_export: bool,
    first_page: bool,
}

impl Results {
    /// This list with the tenants below included.
    fn with_below(&self) -> String {
        let mut q = self.query.clone();
        q.sub = "1".into();
        q.url(&self.tenant_id, "devices", None)
    }
}

#[derive(Template)]
#[template(path = "devices/list.html")]
struct ListPage {
    chrome: Chrome,
    tenant: Tenant,
    query: ListQuery,
    can_create: bool,
    can_import: bool,
    sees_below: bool,
    results: Results,
    kinds: &'static [(&'static str, &'static str)],
    statuses: &'static [(&'static str, &'static str)],
    /// The tenant the list is filtered to, if any: the picker's other options load when
    /// it is opened (`pickers`).
    chosen: Option<Tenant>,
    /// The group the list is filtered to, if any (the others load as the tenant's do).
    group: Option<Group>,
    can_see_groups: bool,
}

pub async fn list(
    req: HttpRequest,
    r: Reach<perm::DevicesView>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, chrome, tenant, pool) = r.into_parts();
    let id = tenant.id();
    let query = query.clean();
    let q = query.clone();
    let (reached, chosen, group, rows, total) = db::run(&pool, move |conn| {
        let view = q.resolve(conn, &access, tenant)?;
        let (rows, total) = list::page(conn, &q.filter(&view, PAGE))?;
        // Owners' names: this tenant's at hand, the others' in one look-up by key.
        let mut owners: Vec<Tenant> = vec![view.reached.tenant().clone()];
        let mut missing: Vec<TenantId> = rows
            .iter()
            .map(|d| d.tenant_id)
            .filter(|id| !owners.iter().any(|t| t.id == *id))
            .collect();
        missing.sort();
        missing.dedup();
        owners.extend(tenants::find_many(conn, &missing)?);
        let names: Vec<(Device, String)> = rows
            .into_iter()
            .map(|d| {
                let name = owners
                    .iter()
                    .find(|t| t.id == d.tenant_id)
                    .map_or_else(String::new, |t| t.name.clone());
                (d, name)
            })
            .collect();
        let chosen = view.chosen.map(Reached::into_tenant);
        Ok((view.reached, chosen, view.group, names, total))
    })
    .await?;
    let sort = Sort::parse(&query.sort);
    let next = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|(d, _)| query.url(&id, "devices", Some((&sort.key(d), d.id))))
        })
        .flatten();
    let sees_below = reached.sees_below();
    let results = Results {
        tenant_id: id,
        first_page: query.after_id.is_none(),
        query: query.clone(),
        rows,
        total,
        next,
        can_move: sees_below && reached.may(Permission::DevicesMove),
        can_group: reached.may(Permission::GroupsManage),
        can_schedule: reached.may(Permission::SchedulesManage),
        can_export: reached.may(Permission::DevicesExport),
    };
    if is_htmx(&req) {
        return html(&results);
    }
    html(&ListPage {
        chrome,
        chosen,
        group,
        can_see_groups: reached.may(Permission::GroupsView),
        can_create: reached.may(Permission::DevicesCreate),
        can_import: reached.may(Permission::DevicesImport),
        sees_below,
        tenant: reached.into_tenant(),
        query,
        results,
        kinds: KINDS,
        statuses: STATUSES,
    })
}

pub const CSV_HEADER: [&str; 9] = [
    "imei", "serial", "name", "model", "kind", "status", "phone", "notes", "tenant",
];

/// The current filtered list as CSV: the import format (export → import is a no-op; the
/// importer reads past `tenant`), and each device's tenant as a path from the page's tenant
/// down ("Acme / Acme UK"), naming nothing above it.
pub async fn export(
    r: Reach<perm::DevicesExport>,
    query: web::Query<ListQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let (access, _, tenant, pool) = r.into_parts();
    let mut query = query.clean();
    query.after_id = None;
    let (tenant, rows, names) =
        db::replica::run_read(&pool, state.read_pool.as_ref(), move |conn| {
            let view = query.resolve(conn, &access, tenant)?;
            let rows = list::all(conn, &query.filter(&view, i64::MAX))?;
            let top = view.reached.path().len() - 1;
            let mut ids: Vec<TenantId> = rows
                .iter()
                .flat_map(|d| d.tenant_path.iter().skip(top).copied())
                .collect();
            ids.sort();
            ids.dedup();
            let names: std::collections::HashMap<TenantId, String> =
                tenants::find_many(conn, &ids)?
                    .into_iter()
                    .map(|t| (t.id, t.name))
                    .collect();
            let paths: Vec<String> = rows
                .iter()
                .map(|d| {
                    d.tenant_path
                        .iter()
                        .skip(top)
                        .filter_map(|id| names.get(id).cloned())
                        .collect::<Vec<_>>()
                        .join(" / ")
                })
                .collect();
            Ok((view.reached.into_tenant(), rows, paths))
        })
        .await?;
    crate::web::report::csv_download(
        &format!("devices-{}.csv", tenant.slug),
        &CSV_HEADER.map(String::from),
        rows.into_iter().zip(names).map(|(d, tenant)| {
            let input = d.input();
            vec![
                input.imei,
                input.serial,
                input.name,
                input.model,
                input.kind,
                input.status,
                input.phone,
                input.notes,
                tenant,
            ]
        }),
    )
}
