//! The thin web layer: extract, call the domain through `Access`, render.
pub mod accept;
pub mod account;
pub mod alerts;
pub mod api;
pub mod api_keys;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod branding;
pub mod checkins;
pub mod contacts;
pub mod csrf;
pub mod current;
pub mod devices;
pub mod flash;
pub mod groups;
pub mod health;
pub mod htmx;
pub mod input;
pub mod invitations;
pub mod mailbox;
pub mod members;
pub mod middleware;
pub mod password;
pub mod portal;
pub mod reach;
pub mod render;
pub mod report;
pub mod roles;
pub mod routes;
pub mod schedules;
pub mod search;
pub mod security;
pub mod session_store;
pub mod tenants;
pub mod two_factor;
pub mod upload;
pub mod usage;
pub mod webhook;

use crate::config::Settings;
use crate::db::DbPool;

/// Shared by every request; holds nothing that another instance would need to know.
pub struct AppState {
    pub pool: DbPool,
    /// Where heavy reads go when there is a replica (`db::replica`).
    pub read_pool: Option<crate::db::replica::ReadPool>,
    pub settings: Settings,
    /// The key that opens the local mailbox (`mailbox`), when there is one.
    pub mailbox_key: Option<String>,
    /// The key that signs "remember this browser" tokens of two-factor sign-in.
    pub remember_key: Vec<u8>,
    /// The key that signs the acknowledge links of alert emails.
    pub alert_key: Vec<u8>,
}
