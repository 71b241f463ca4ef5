//! The API's route table, written like the pages' (`web::routes`): `key` routes take a Bearer
//! key (`web::api::caller`), and the isolation tests walk this table as they walk the pages'.
use crate::web::api::{alerts, audit, devices, doc, moves, people, tenants};
use crate::web::routes::route_table;

route_table! {
    API_ROUTES, config;
    get "/api/v1/openapi.json" => doc::openapi, public;
    get "/api/v1/docs" => doc::page, public;
    get "/api/v1/me" => tenants::me, key;
    get "/api/v1/tenants/{id}" => tenants::show, key;
    patch "/api/v1/tenants/{id}" => tenants::rename, key;
    get "/api/v1/tenants/{id}/children" => tenants::children, key;
    post "/api/v1/tenants/{id}/children" => tenants::create_child, key;
    post "/api/v1/tenants/{id}/move" => tenants::move_subtree, key, body parent_id: Tenant;
    post "/api/v1/tenants/{id}/status" => tenants::set_status, key;
    get "/api/v1/tenants/{id}/devices" => devices::list, key,
        query tenant: Tenant, query group: Group, query after_id: Device;
    post "/api/v1/tenants/{id}/devices" => devices::create, key;
    post "/api/v1/tenants/{id}/devices/move" => moves::move_many, key,
        body ids: Device, body to: Tenant;
    get "/api/v1/tenants/{id}/devices/{device}" => devices::show, key;
    patch "/api/v1/tenants/{id}/devices/{device}" => devices::update, key;
    post "/api/v1/tenants/{id}/devices/{device}/retire" => devices::retire, key;
    post "/api/v1/tenants/{id}/devices/{device}/check-ins" => alerts::check_in, key;
    get "/api/v1/tenants/{id}/members" => people::members, key;
    get "/api/v1/tenants/{id}/invitations" => people::invitations, key;
    post "/api/v1/tenants/{id}/invitations" => people::invite, key, body role: Role;
    post "/api/v1/tenants/{id}/invitations/{invitation}/revoke" => people::revoke, key;
    get "/api/v1/tenants/{id}/alerts" => alerts::list, key;
    post "/api/v1/tenants/{id}/alerts/{alert}/acknowledge" => alerts::acknowledge, key;
    get "/api/v1/tenants/{id}/audit" => audit::audit, key, query object: Filter;
    get "/api/v1/tenants/{id}/roles" => people::roles, key;
    get "/api/v1/tenants/{id}/schedules" => alerts::schedules, key;
}
