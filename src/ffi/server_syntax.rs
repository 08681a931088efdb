//! C ABI: which server a core runs in, so that its run-time log lines name directives as
//! that server's configuration writes them (`SesameRedis`, `SesameUnauthAction`), as its
//! configuration errors do (`sesame_error_render`).

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::config::SesameConfigBuilder;
use super::{SESAME_SYNTAX_APACHE, SESAME_SYNTAX_NGINX};
use crate::directives::Syntax;

/// `ConfigBuilder::set_syntax`: the server the core built from `b` runs in
/// (`SESAME_SYNTAX_NGINX`, the default, or `SESAME_SYNTAX_APACHE`). Returns 0, or -1 for a
/// NULL builder or an unknown syntax.
///
/// # Safety
/// `b` must be NULL or a live builder.
#[no_mangle]
pub unsafe extern "C" fn sesame_config_builder_set_syntax(
    b: *mut SesameConfigBuilder,
    syntax: c_int,
) -> c_int {
    let syntax = match syntax {
        SESAME_SYNTAX_NGINX => Syntax::Nginx,
        SESAME_SYNTAX_APACHE => Syntax::Apache,
        _ => return -1,
    };
    // SAFETY: NULL or a live builder (contract), used by this call alone.
    let Some(b) = (unsafe { b.as_mut() }) else {
        return -1;
    };
    catch_unwind(AssertUnwindSafe(|| b.0.set_syntax(syntax)))
        .map(|()| 0)
        .unwrap_or(-1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_builder_takes_either_syntax_and_refuses_others() {
        let b = super::super::sesame_config_builder_new();
        // SAFETY: `b` is a live builder, freed once at the end; NULL is a case under test.
        unsafe {
            assert_eq!(sesame_config_builder_set_syntax(b, SESAME_SYNTAX_APACHE), 0);
            assert_eq!(sesame_config_builder_set_syntax(b, SESAME_SYNTAX_NGINX), 0);
            assert_eq!(sesame_config_builder_set_syntax(b, 7), -1);
            assert_eq!(
                sesame_config_builder_set_syntax(std::ptr::null_mut(), SESAME_SYNTAX_APACHE),
                -1
            );
            super::super::sesame_config_builder_free(b);
        }
    }
}
