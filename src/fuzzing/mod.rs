//! The invariants the fuzz targets check (`fuzz/`, cargo-fuzz on nightly), one function per
//! target, each taking the raw fuzzer input. `tests/fuzz_corpora.rs` feeds every committed corpus
//! file through the same functions on stable, so what a fuzzing run found stays checked by
//! `cargo test`.
//!
//! Each function panics when an invariant breaks (that is the finding); it must never panic on
//! input the code under test is right to refuse. Not part of the embedding API.

mod begin;
mod claims;
mod cookies;
mod directives;
mod jwe;
mod paths;
mod redis;
mod tokens;

pub use begin::{begin_request, callback_query};
pub use claims::claims_to_variables;
pub use cookies::{login_cookie, logout_cookie, session_cookie};
pub use directives::directive_value;
pub use jwe::jwe_token;
pub use paths::return_to;
pub use redis::redis_url;
pub use tokens::{discovery_document, id_token, jwks_document};

/// A target's invariants, on one input.
pub type Check = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/` file and its corpus folder.
pub const TARGETS: &[(&str, Check)] = &[
    ("session_cookie", session_cookie),
    ("login_cookie", login_cookie),
    ("logout_cookie", logout_cookie),
    ("callback_query", callback_query),
    ("begin_request", begin_request),
    ("id_token", id_token),
    ("jwe_token", jwe_token),
    ("jwks_document", jwks_document),
    ("discovery_document", discovery_document),
    ("claims_to_variables", claims_to_variables),
    ("return_to", return_to),
    ("directive_value", directive_value),
    ("redis_url", redis_url),
];

/// Splits fuzzer input into `n` fields on `0xFF` (a byte no UTF-8 text holds, so the fields
/// themselves stay free), each lossily decoded as UTF-8; missing fields are empty.
pub(crate) fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |&b| b == 0xFF)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// True when `s` holds a byte that would end or split an HTTP header line or a C string.
pub(crate) fn breaks_a_header(s: &str) -> bool {
    s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

/// The keys every target derives from one fixed secret, derived once per run.
pub(crate) fn keys() -> &'static crate::session::Keys {
    static KEYS: std::sync::OnceLock<crate::session::Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| crate::session::Keys::derive(b"a fuzzing secret of at least 32 bytes"))
}
