//! One integration-test binary against a real PostgreSQL (one cluster per run, a fresh
#![allow(clippy::unwrap_used, clippy::expect_used)]
//! database per test), real HTTP, and headless Chromium for the journeys.
mod access_matrix;
mod auth;
mod cli;
mod e2e;
mod helpers;
mod routes;
mod security;
mod tree;
