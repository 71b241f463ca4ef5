//! The JSON API under `/api/v1`, for programs: a Bearer API key is the only credential
//! (`caller`), the same access layer decides as for the pages, errors are problem details
//! (`problem`), bodies and queries are read strictly (`body`), and the OpenAPI document is
//! generated from the handlers (`doc`).
pub mod alerts;
pub mod audit;
pub mod body;
pub mod caller;
pub mod devices;
pub mod doc;
pub mod moves;
pub mod people;
pub mod problem;
pub mod routes;
pub mod tenants;

/// Every API path starts so; the CSRF guard lets these through (they carry no cookie).
pub const PREFIX: &str = "/api/";
