//! Canopy: a web portal for hierarchical multi-tenancy.
pub mod access;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod email;
pub mod error;
pub mod hooks;
pub mod proxies;
pub mod startup;
pub mod telemetry;
pub mod web;
