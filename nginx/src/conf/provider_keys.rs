//! The directives a `sesame_provider` block knows and their argument counts, read from the core's
//! directive registry (pure data, no nginx calls: tested by nginx/tests/pure.rs).

use ngx::ffi::{
    NGX_CONF_1MORE, NGX_CONF_2MORE, NGX_CONF_FLAG, NGX_CONF_NOARGS, NGX_CONF_TAKE1, NGX_CONF_TAKE12,
};
use sesame::registry::{self, Arity, Scope};

/// nginx's argument flags for a registry arity.
pub fn arity_flags(arity: Arity) -> u32 {
    match arity {
        Arity::Zero => NGX_CONF_NOARGS,
        Arity::One => NGX_CONF_TAKE1,
        Arity::OneOrTwo => NGX_CONF_TAKE12,
        Arity::OneOrMore => NGX_CONF_1MORE,
        Arity::TwoOrMore => NGX_CONF_2MORE,
        Arity::Flag => NGX_CONF_FLAG,
    }
}

/// The argument flags of provider-block directive `key`: they give nginx-style "invalid number
/// of arguments" errors; what a value may be is the core's business. None for a key the
/// registry does not know (the core then names it as unknown).
pub fn provider_directive_flags(key: &str) -> Option<u32> {
    registry::lookup(Scope::Provider, key).map(|d| arity_flags(d.arity))
}

/// True when `nargs` arguments fit the NGX_CONF_* argument flags (same bit layout as nginx:
/// bit n set = n arguments accepted).
pub fn nargs_ok(flags: u32, nargs: usize) -> bool {
    if flags & NGX_CONF_1MORE != 0 {
        return nargs >= 1;
    }
    if flags & NGX_CONF_2MORE != 0 {
        return nargs >= 2;
    }
    if flags & NGX_CONF_FLAG != 0 {
        return nargs == 1;
    }
    nargs < 8 && flags & (1 << nargs) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take1_accepts_exactly_one_argument() {
        assert!(nargs_ok(NGX_CONF_TAKE1, 1));
        assert!(!nargs_ok(NGX_CONF_TAKE1, 0));
        assert!(!nargs_ok(NGX_CONF_TAKE1, 2));
    }

    #[test]
    fn one_or_more_accepts_any_positive_count() {
        assert!(nargs_ok(NGX_CONF_1MORE, 1));
        assert!(nargs_ok(NGX_CONF_1MORE, 9));
        assert!(!nargs_ok(NGX_CONF_1MORE, 0));
    }

    #[test]
    fn nginx_flags_agree_with_the_registry_arity() {
        for d in registry::DIRECTIVES {
            for n in 0..5 {
                assert_eq!(
                    nargs_ok(arity_flags(d.arity), n),
                    d.arity.accepts(n),
                    "{} with {n} arguments",
                    d.key
                );
            }
        }
    }

    #[test]
    fn every_provider_key_has_flags() {
        assert!(provider_directive_flags("client_id").is_some());
        assert!(provider_directive_flags("client_secret").is_none());
    }
}
