//! One integration-test binary against a real PostgreSQL (one cluster per run, a fresh
//! database per test), a real SMTP server (aiosmtpd), real HTTP, and headless Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod access_matrix;
mod auth;
mod bad_input;
mod branding;
mod cli;
mod counts;
mod devices;
mod e2e;
mod faults;
mod helpers;
mod import;
mod instances;
mod invitations;
mod isolation;
mod people;
mod pickers;
mod portal;
mod proxy;
mod queries;
mod reports;
mod routes;
mod security;
mod smtp;
mod throttle;
mod tree;
