//! One file per concept: the struct, its insertables, its queries and its domain error.
pub mod audit;
pub mod branding;
pub mod dashboard;
pub mod devices;
pub mod invitations;
pub mod large_demo;
pub mod memberships;
pub mod password;
pub mod password_resets;
pub mod roles;
pub mod setup;
pub mod spreadsheet;
pub mod tenants;
pub mod text;
pub mod throttle;
pub mod usage;
pub mod users;
