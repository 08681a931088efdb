//! The directives a `sesame_provider` block knows and their argument counts (pure data, no nginx
//! calls: tested by nginx/tests/pure.rs).

use ngx::ffi::{NGX_CONF_1MORE, NGX_CONF_TAKE1};

/// The directives of a provider block and how many arguments each takes. The table gives nginx-
/// style "invalid number of arguments" errors and documents the block; what a value may be is the
/// core's business. A key the table does not know yet is still handed to the core, which either
/// accepts it (a core newer than this table) or names it as unknown.
pub const PROVIDER_DIRECTIVES: &[(&str, u32)] = &[
    ("preset", NGX_CONF_TAKE1),
    ("issuer", NGX_CONF_TAKE1),
    ("discovery_url", NGX_CONF_TAKE1),
    ("client_id", NGX_CONF_TAKE1),
    ("client_secret_file", NGX_CONF_TAKE1),
    ("redirect_uri", NGX_CONF_TAKE1),
    ("post_logout_redirect_uri", NGX_CONF_TAKE1),
    ("logout_redirect", NGX_CONF_TAKE1),
    ("scope", NGX_CONF_1MORE),
    ("acr_values", NGX_CONF_1MORE),
    ("required_acr", NGX_CONF_TAKE1),
    ("id_token_alg", NGX_CONF_TAKE1),
    ("userinfo", NGX_CONF_TAKE1),
    ("token_auth", NGX_CONF_TAKE1),
    ("pkce", NGX_CONF_TAKE1),
    ("ca_file", NGX_CONF_TAKE1),
    ("remote_user_claim", NGX_CONF_TAKE1),
    ("http_timeout", NGX_CONF_TAKE1),
    ("metadata_ttl", NGX_CONF_TAKE1),
    ("leeway", NGX_CONF_TAKE1),
    ("error_pages", NGX_CONF_TAKE1),
];

/// True when `nargs` arguments fit the NGX_CONF_* argument flags (same bit layout as nginx:
/// bit n set = n arguments accepted).
pub fn nargs_ok(flags: u32, nargs: usize) -> bool {
    if flags & NGX_CONF_1MORE != 0 {
        return nargs >= 1;
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
    fn provider_directives_are_listed_once() {
        for (i, (name, _)) in PROVIDER_DIRECTIVES.iter().enumerate() {
            assert!(
                !PROVIDER_DIRECTIVES[i + 1..].iter().any(|(n, _)| n == name),
                "{name} listed twice"
            );
        }
    }
}
