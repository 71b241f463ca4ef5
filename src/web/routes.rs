//! The one route table. Each route says whether it is public on purpose; every other route
//! takes `Access`. `ROUTES` is generated from the same table, so the route inventory test
//! sees exactly what is served.
use actix_web::http::{Method, header};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpRequest, HttpResponse};

use crate::web::{
    accept, account, alerts, api_keys, assets, audit, auth, branding, checkins, contacts, devices,
    groups, health, invitations, mailbox, members, password, portal, roles, schedules, search,
    security, tenants, two_factor, usage, webhook,
};

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    /// The handler as written in the table (`members::list`): tests read its signature for the
    /// permission it needs.
    pub handler: &'static str,
    pub public: bool,
    /// The ids this route reads from the query string or the form (path ids are the
    /// `{placeholders}`). The isolation tests try another tenant's id in each of them.
    pub params: &'static [Param],
}

/// An id a request carries outside its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub place: Place,
    pub name: &'static str,
    pub kind: IdKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Query,
    Form,
    /// A field of an API request's JSON body.
    Body,
}

/// What an id names. `Filter` narrows a list already confined to the reached subtree and
/// loads nothing by itself (the audit log's object filter: a deleted object's id must still
/// find its history), so a foreign id finds no rows instead of answering 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Tenant,
    Device,
    /// A role: one of the presets or one defined at (or shared down to) the path's tenant.
    Role,
    /// A group of the path's tenant.
    Group,
    /// A member of the path's tenant.
    User,
    /// A contact of the path's tenant.
    Contact,
    /// A schedule of the path's tenant, or one shared down to it.
    Schedule,
    Filter,
}

/// Whether a request path matches a table path (`{name}` matches one segment).
pub fn matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut q) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), q.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a.starts_with('{') && a.ends_with('}') && !b.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The path as a log line may show it: a `{token}` segment (reset and invitation links, whose
/// path is the credential) is replaced by the placeholder.
pub fn redacted(path: &str) -> std::borrow::Cow<'_, str> {
    for r in all().filter(|r| r.path.contains("{token}")) {
        if matches(r.path, path) {
            return r.path.into();
        }
    }
    path.into()
}

/// Every route served: the pages' and the API's.
pub fn all() -> impl Iterator<Item = &'static Route> {
    ROUTES
        .iter()
        .chain(crate::web::api::routes::API_ROUTES.iter())
}

/// The methods the route tables serve at `path` (with HEAD beside GET, and OPTIONS).
pub fn allowed(path: &str) -> Vec<&'static str> {
    let mut methods: Vec<&'static str> = Vec::new();
    for r in all().filter(|r| matches(r.path, path)) {
        let names: &[&'static str] = match r.method {
            "get" => &["GET", "HEAD"],
            "post" => &["POST"],
            "patch" => &["PATCH"],
            _ => &[],
        };
        for m in names {
            if !methods.contains(m) {
                methods.push(m);
            }
        }
    }
    if !methods.is_empty() {
        methods.push("OPTIONS");
    }
    methods
}

async fn options(req: HttpRequest) -> HttpResponse {
    let methods = allowed(req.path());
    if methods.is_empty() {
        return HttpResponse::NotFound().finish();
    }
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, methods.join(", ")))
        .finish()
}

/// Every route: the pages, then the API, then OPTIONS on any path.
pub fn config(cfg: &mut ServiceConfig) {
    pages(cfg);
    crate::web::api::routes::config(cfg);
    // Last: OPTIONS on any path names the methods the tables serve there.
    cfg.route("/{tail:.*}", web::method(Method::OPTIONS).to(options));
}

macro_rules! route_table {
    ($table:ident, $config:ident;
     $( $method:ident $path:literal => $handler:path, $access:ident
        $(, $place:ident $name:ident : $kind:ident)* ; )*) => {
        pub const $table: &[crate::web::routes::Route] = &[$(
            crate::web::routes::Route {
                method: stringify!($method),
                path: $path,
                handler: stringify!($handler),
                public: route_table!(@public $access),
                params: &[$(crate::web::routes::Param {
                    place: route_table!(@place $place),
                    name: stringify!($name),
                    kind: crate::web::routes::IdKind::$kind,
                }),*],
            },
        )*];

        pub fn $config(cfg: &mut actix_web::web::ServiceConfig) {
            $(
                cfg.route($path, actix_web::web::$method().to($handler));
                route_table!(@head cfg $method $path $handler);
            )*
        }
    };
    (@public public) => { true };
    (@public signed_in) => { false };
    // An API route: a Bearer key is the credential (`web::api::caller`).
    (@public key) => { false };
    // HEAD wherever GET is served (RFC 9110): the same handler; the server sends no body.
    (@head $cfg:ident get $path:literal $handler:path) => {
        $cfg.route($path, actix_web::web::head().to($handler));
    };
    (@head $cfg:ident $method:ident $path:literal $handler:path) => {};
    (@place query) => { crate::web::routes::Place::Query };
    (@place form) => { crate::web::routes::Place::Form };
    (@place body) => { crate::web::routes::Place::Body };
}
pub(crate) use route_table;

route_table! {
    ROUTES, pages;
    get "/healthz" => health::healthz, public;
    get "/readyz" => health::readyz, public;
    get "/static/{file}" => assets::serve, public;
    get "/favicon.ico" => assets::favicon, public;
    get "/login" => auth::login_form, public;
    post "/login" => auth::login, public;
    post "/logout" => auth::logout, public;
    get "/password/forgot" => password::forgot_form, public;
    post "/password/forgot" => password::forgot, public;
    get "/password/reset/{token}" => password::reset_form, public;
    post "/password/reset/{token}" => password::reset, public;
    get "/invitations/{token}" => accept::open, public;
    post "/invitations/{token}" => accept::accept, public;
    get "/mailbox" => mailbox::list, public;
    get "/mailbox/{message}" => mailbox::show, public;
    get "/login/code" => two_factor::code_form, public;
    post "/check-in/{token}" => checkins::by_url, public;
    get "/alerts/acknowledge/{token}" => alerts::link_form, public;
    post "/alerts/acknowledge/{token}" => alerts::link_acknowledge, public;
    post "/login/code" => two_factor::code, public;
    post "/logout/everywhere" => auth::logout_everywhere, signed_in;
    get "/brand/accent/{color}" => branding::accent_css, public;
    get "/logos/{hash}" => branding::logo, public;
    get "/account" => account::show, signed_in;
    post "/account/name" => account::rename, signed_in;
    post "/account/password" => account::change_password, signed_in;
    post "/account/time-zone" => account::set_time_zone, signed_in;
    post "/account/sessions/end" => account::end_session, signed_in;
    get "/account/two-factor" => two_factor::enrol, signed_in;
    post "/account/two-factor" => two_factor::confirm, signed_in;
    post "/account/two-factor/disable" => two_factor::disable, signed_in;
    get "/" => portal::home, signed_in;
    post "/switch" => portal::switch, signed_in, form tenant: Tenant;
    get "/tenants" => tenants::tree, signed_in, query open: Tenant;
    get "/search" => search::page, signed_in;
    get "/search/quick" => search::quick, signed_in;
    get "/tenants/{id}" => tenants::show, signed_in;
    get "/tenants/{id}/children" => tenants::children, signed_in;
    get "/tenants/{id}/dashboard" => portal::dashboard, signed_in;
    get "/tenants/{id}/branding" => branding::form, signed_in;
    post "/tenants/{id}/branding" => branding::save, signed_in;
    get "/tenants/{id}/audit" => audit::list, signed_in, query object: Filter;
    get "/tenants/{id}/audit/export.csv" => audit::export, signed_in, query object: Filter;
    get "/tenants/{id}/security" => security::show, signed_in;
    post "/tenants/{id}/security" => security::save, signed_in;
    get "/tenants/{id}/usage" => usage::report, signed_in;
    get "/tenants/{id}/usage/export.csv" => usage::export, signed_in;
    post "/tenants/{id}/children" => tenants::create_child, signed_in;
    post "/tenants/{id}/rename" => tenants::rename, signed_in;
    get "/tenants/{id}/move" => tenants::move_form, signed_in, query parent_id: Tenant;
    post "/tenants/{id}/move" => tenants::move_subtree, signed_in, form parent_id: Tenant;
    get "/tenants/{id}/suspend" => tenants::suspend_form, signed_in;
    post "/tenants/{id}/status" => tenants::set_status, signed_in;
    get "/tenants/{id}/delete" => tenants::delete_form, signed_in;
    post "/tenants/{id}/delete" => tenants::delete, signed_in;
    get "/tenants/{id}/members" => members::list, signed_in;
    get "/tenants/{id}/members/{user}/role" => members::role_form, signed_in;
    post "/tenants/{id}/members/{user}/role" => members::change_role, signed_in, form role: Role;
    post "/tenants/{id}/members/{user}/limit" => members::set_limit, signed_in;
    post "/tenants/{id}/members/{user}/two-factor" => two_factor::reset, signed_in;
    post "/tenants/{id}/members/{user}/remove" => members::remove, signed_in;
    post "/tenants/{id}/members/{user}/status" => members::set_status, signed_in;
    get "/tenants/{id}/devices" => devices::list, signed_in,
        query tenant: Tenant, query after_id: Device, query group: Group;
    post "/tenants/{id}/devices" => devices::create, signed_in;
    get "/tenants/{id}/devices/new" => devices::new_form, signed_in;
    get "/tenants/{id}/devices/export.csv" => devices::export, signed_in,
        query tenant: Tenant, query group: Group;
    get "/tenants/{id}/devices/tenant-options" => devices::tenant_options, signed_in,
        query tenant: Tenant, query after_id: Device;
    get "/tenants/{id}/devices/import" => devices::import_form, signed_in;
    post "/tenants/{id}/devices/import" => devices::import_check, signed_in;
    get "/tenants/{id}/devices/import/{job}" => devices::import_progress, signed_in;
    post "/tenants/{id}/devices/import/{job}" => devices::import_run, signed_in;
    get "/tenants/{id}/devices/move" => devices::move_preview, signed_in,
        query ids: Device, query to: Tenant;
    post "/tenants/{id}/devices/move" => devices::move_devices, signed_in,
        form ids: Device, form to: Tenant;
    get "/tenants/{id}/devices/{device}" => devices::show, signed_in;
    post "/tenants/{id}/devices/{device}" => devices::update, signed_in;
    get "/tenants/{id}/devices/{device}/edit" => devices::edit_form, signed_in;
    post "/tenants/{id}/devices/{device}/retire" => devices::retire, signed_in;
    get "/tenants/{id}/roles" => roles::list, signed_in;
    get "/tenants/{id}/roles/new" => roles::new_form, signed_in;
    post "/tenants/{id}/roles" => roles::create, signed_in;
    get "/tenants/{id}/roles/{role}" => roles::show, signed_in;
    post "/tenants/{id}/roles/{role}" => roles::update, signed_in;
    get "/tenants/{id}/roles/{role}/delete" => roles::delete_form, signed_in;
    post "/tenants/{id}/roles/{role}/delete" => roles::delete, signed_in, form to: Role;
    get "/tenants/{id}/groups" => groups::list, signed_in;
    post "/tenants/{id}/groups" => groups::create, signed_in;
    get "/tenants/{id}/groups/options" => groups::options, signed_in, query group: Group;
    get "/tenants/{id}/groups/add-devices" => groups::add_preview, signed_in,
        query ids: Device, query group: Group;
    post "/tenants/{id}/groups/add-devices" => groups::add_devices, signed_in,
        form ids: Device, form group: Group;
    get "/tenants/{id}/groups/{group}" => groups::show, signed_in;
    post "/tenants/{id}/groups/{group}" => groups::update, signed_in;
    get "/tenants/{id}/groups/{group}/delete" => groups::delete_form, signed_in;
    post "/tenants/{id}/groups/{group}/delete" => groups::delete, signed_in;
    post "/tenants/{id}/groups/{group}/devices" => groups::add_device, signed_in;
    post "/tenants/{id}/groups/{group}/devices/remove" => groups::remove_device, signed_in,
        form device: Device;
    post "/tenants/{id}/groups/{group}/members" => groups::add_member, signed_in,
        form user: User;
    post "/tenants/{id}/groups/{group}/members/remove" => groups::remove_member, signed_in,
        form user: User;
    get "/tenants/{id}/invitations" => invitations::list, signed_in;
    post "/tenants/{id}/invitations" => invitations::invite, signed_in, form role: Role;
    post "/tenants/{id}/invitations/{invitation}/resend" => invitations::resend, signed_in;
    post "/tenants/{id}/invitations/{invitation}/revoke" => invitations::revoke, signed_in;
    post "/tenants/{id}/invitations/{invitation}/retry" => invitations::retry, signed_in;
    get "/tenants/{id}/contacts" => contacts::list, signed_in;
    post "/tenants/{id}/contacts" => contacts::create, signed_in, form user: User;
    get "/tenants/{id}/contacts/{contact}" => contacts::show, signed_in;
    post "/tenants/{id}/contacts/{contact}" => contacts::update, signed_in, form user: User;
    get "/tenants/{id}/contacts/{contact}/delete" => contacts::delete_form, signed_in;
    post "/tenants/{id}/contacts/{contact}/delete" => contacts::delete, signed_in;
    get "/tenants/{id}/schedules" => schedules::list, signed_in;
    get "/tenants/{id}/schedules/new" => schedules::new_form, signed_in;
    get "/tenants/{id}/schedules/assign" => schedules::assign_preview, signed_in,
        query ids: Device, query schedule: Schedule;
    post "/tenants/{id}/schedules/assign" => schedules::assign_devices, signed_in,
        form ids: Device, form schedule: Schedule;
    post "/tenants/{id}/schedules" => schedules::create, signed_in,
        form tier1: Contact, form tier2: Contact;
    get "/tenants/{id}/schedules/{schedule}" => schedules::show, signed_in;
    post "/tenants/{id}/schedules/{schedule}" => schedules::update, signed_in,
        form tier1: Contact, form tier2: Contact;
    get "/tenants/{id}/schedules/{schedule}/delete" => schedules::delete_form, signed_in;
    post "/tenants/{id}/schedules/{schedule}/delete" => schedules::delete, signed_in;
    post "/tenants/{id}/groups/{group}/schedule" => checkins::set_group_schedule, signed_in,
        form schedule: Schedule;
    post "/tenants/{id}/devices/{device}/check-in" => checkins::check_in, signed_in;
    post "/tenants/{id}/devices/{device}/check-in-url" => checkins::new_url, signed_in;
    post "/tenants/{id}/devices/{device}/schedule" => checkins::set_schedule, signed_in, form schedule: Schedule;
    get "/tenants/{id}/alerts" => alerts::list, signed_in;
    get "/tenants/{id}/alerts/overdue" => alerts::overdue_card, signed_in;
    get "/tenants/{id}/webhook" => webhook::show, signed_in;
    post "/tenants/{id}/webhook" => webhook::save, signed_in;
    post "/tenants/{id}/webhook/remove" => webhook::remove, signed_in;
    post "/tenants/{id}/alerts/{alert}/acknowledge" => alerts::acknowledge, signed_in;
    get "/tenants/{id}/api-keys" => api_keys::list, signed_in;
    post "/tenants/{id}/api-keys" => api_keys::create, signed_in, form role: Role;
    post "/tenants/{id}/api-keys/{key}/revoke" => api_keys::revoke, signed_in;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_paths_never_reach_a_log_line() {
        let secret = "4f1c0a9e7b3d5c2a8e6f4b1d9c7a5e3f2b8d6c4a1e9f7b5d3c2a8e6f4b1d9c7a";
        for path in [
            format!("/password/reset/{secret}"),
            format!("/invitations/{secret}"),
        ] {
            let shown = redacted(&path);
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains("{token}"));
        }
        // Every route with a token is covered, and nothing else changes.
        for r in ROUTES.iter().filter(|r| r.path.contains("{token}")) {
            let path = r.path.replace("{token}", secret);
            assert!(!redacted(&path).contains(secret), "{}", r.path);
        }
        let ordinary = "/tenants/0190c0de-0000-7000-8000-000000000001/invitations";
        assert_eq!(redacted(ordinary), ordinary);
    }
}
