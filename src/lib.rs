//! Sesame core: FranceConnect / FranceConnect+ / ProConnect login for nginx and Apache httpd.
//!
//! Adapters build a [`Sesame`] once per configuration with [`ConfigBuilder`], resolve each
//! protected location with [`Sesame::location`], and for each request call [`Sesame::begin`]:
//! it is pure CPU and either answers at once ([`Step::Done`]) or returns a [`Job`] whose
//! [`Job::run`] does the blocking I/O (Redis, HTTPS to the provider) off the event loop, on any
//! thread. The C ABI (`ffi`) wraps this API one-to-one.
//!
//! Rooms import one way, from the bottom up (`tests/layers.rs` fails on an import against it):
//! `directives`, `log`, `http`, `translate`, `metrics` → `identity` → `claims`, `backend_names`, `compat`
//! → `federation` → `site_keys` → `oidc` → `data` → `policy` → `session` → `pages` → `config` (plain data: `EngineConfig`) →
//! `doctor` (the `sesame doctor` checks of a deployment) → `engine` (builds itself from it) →
//! `ffi` and the `pub use` block below.

mod backend_names;
mod claims;
mod compat;
mod config;
mod data;
mod directives;
// `sesame doctor`'s checks (blocking I/O, for the command line only, never the request path).
pub mod doctor;
mod engine;
mod federation;
mod ffi;
mod http;
mod identity;
mod log;
mod metrics;
mod oidc;
mod pages;
mod policy;
mod session;
mod site_keys;
mod translate;

// The fuzz targets' invariants (`fuzz/`), replayed on stable by `tests/fuzz_corpora.rs`; not
// part of the embedding API.
#[doc(hidden)]
pub mod fuzzing;

// The embedding API: what the nginx module, the C ABI and the `sesame` command build on.
pub use config::ConfigBuilder;
pub use directives::{ConfigError, LocationMode, LocationSpec, Subject, Syntax};
pub use engine::{Job, JobKind, Location, Outcome, Request, Sesame, Step};
pub use identity::{ClaimText, DataText, HandedToken, Identity, IdentityFields, UNIFORM_CLAIMS};
pub use log::{LogLevel, LogSink};
pub use pages::Page;

// The directive registry: the nginx module builds its command tables from it and the
// `sesame config check` reader its directive list.
pub use directives::registry;
// Nested locations: the nginx module and `sesame config check` read location options and
// nest locations by the core's one rule.
pub use policy::{add_location_option, nest_location, OptionArgsError, OwnSetting};
// The names backends read: the nginx module's variables and include files
// (`tests/include_files_are_current.rs`) are built from them.
pub use backend_names::{
    claim_nginx_variable, data_for_nginx_suffix, include_files, nginx_suffix_names,
    uniform_nginx_header_variable, uniform_nginx_variable, Fixed, Handed,
    CLAIM_HEADER_VARIABLE_PREFIX, CLAIM_VARIABLE_PREFIX, DATA_VARIABLE_PREFIX, OIDC_CLAIM_PREFIX,
    OIDC_CLAIM_VARIABLE_PREFIX, OIDC_REMOTE_USER_VARIABLE, REMOTE_USER,
};
pub use claims::encode_header_value;
// Log lines: the nginx module installs its sink and escapes header names it logs itself; the
// `sesame` command escapes what it prints.
pub use log::{escape_for_terminal, escape_unsafe, is_unsafe_char, set_sink as set_log_sink};
// A request's lines, held back during the call and written through its own error log; the
// audit log nginx writes through its own open file (reopened on USR1).
pub use log::audit::AuditWriter;
pub use log::scope::{capture as capture_log_lines, Captured as CapturedLogLines};
// Sessions, for `sesame sessions` and the bench's session seeder.
pub use session::{
    now_unix, Keys, RedisStore, Session, SessionAdmin, SessionBinding, SessionFilter,
    SessionSettings, Sessions, StoreError, StoredSession,
};
/// `sesame keygen --enc`: a new private key for `encryption_key_file` / `client_signing_key_file`.
pub use site_keys::{generate_pem as generate_site_key_pem, GeneratedKind as SiteKeyKind};
