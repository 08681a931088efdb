//! Sesame core: FranceConnect / FranceConnect+ / ProConnect login for nginx and Apache httpd.
//!
//! Adapters build a [`Sesame`] once per configuration with [`ConfigBuilder`], resolve each
//! protected location with [`Sesame::location`], and for each request call [`Sesame::begin`]:
//! it answers at once or returns a [`Job`] whose [`Job::run`] does the blocking I/O off the
//! event loop. The C ABI in `ffi.rs` wraps this API one-to-one.

mod api;
pub mod backend_names;
pub mod claims;
pub mod compat;
pub mod config;
mod engine;
pub mod federation;
pub mod ffi;
pub mod http;
pub mod identity;
pub mod log;
pub mod oidc;
pub mod pages;
pub mod policy;
pub mod session;
pub mod translate;

pub use api::*;
pub use config::ConfigBuilder;
pub use engine::Sesame;
