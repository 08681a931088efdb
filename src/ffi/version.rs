//! The library's version.

use std::panic::catch_unwind;

use super::{out_str, SesameStr, EMPTY};

/// The library version (static, not NUL-terminated).
#[no_mangle]
pub extern "C" fn sesame_version() -> SesameStr {
    catch_unwind(|| out_str(env!("CARGO_PKG_VERSION"))).unwrap_or(EMPTY)
}
