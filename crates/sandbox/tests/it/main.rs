//! The sandbox's integration tests, one binary (one link of the whole sandbox instead of
//! one per file): each module drives running sandboxes over real sockets and mutual TLS,
//! as users and peers do. `support` is what they share.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test"
)]

mod support;

mod admin;
mod advertised;
mod app;
mod app_errors;
mod broken_peers;
mod browser;
mod browser_spc;
mod challenge;
mod doctor;
mod e2e;
mod health;
mod kms;
mod rreq;
mod serve;
mod spc;
mod trace;
