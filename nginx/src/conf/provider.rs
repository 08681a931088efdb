//! `sesame_provider NAME { ... }`: a block with its own command table. Every inner directive is
//! handed to `ConfigBuilder::set_provider(NAME, key, args joined by " ")`; the core validates the
//! value and its error is reported at the directive's line, as nginx does for its own blocks.

use core::ffi::{c_char, c_void};
use core::ptr;

use ngx::core::NGX_CONF_OK;
use ngx::ffi::{ngx_command_t, ngx_conf_parse, ngx_conf_t, NGX_CONF_1MORE, NGX_CONF_TAKE1};

use super::{catching, conf_error, directive_args, directive_name, directive_value, MainConf};

/// The directives of a provider block and how many arguments each takes. The table gives nginx-
/// style "invalid number of arguments" errors and documents the block; what a value may be is the
/// core's business. A key the table does not know yet is still handed to the core, which either
/// accepts it (a core newer than this table) or names it as unknown.
const PROVIDER_DIRECTIVES: &[(&str, u32)] = &[
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
];

/// True when `nargs` arguments fit the NGX_CONF_* argument flags (same bit layout as nginx:
/// bit n set = n arguments accepted).
fn nargs_ok(flags: u32, nargs: usize) -> bool {
    if flags & NGX_CONF_1MORE != 0 {
        return nargs >= 1;
    }
    nargs < 8 && flags & (1 << nargs) != 0
}

/// What the inner handler needs while the block is parsed.
struct BlockState<'a> {
    main: &'a mut MainConf,
    provider: String,
}

/// `sesame_provider NAME {`: registers the provider, then parses the block with our handler.
pub extern "C" fn cmd_provider_block(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: conf is this module's main conf, cf is being parsed (TAKE1: one argument).
    let (mcf, args) = unsafe { (&mut *conf.cast::<MainConf>(), directive_args(cf)) };
    let provider = match args.first().map(|a| a.to_str()) {
        Some(Ok(name)) => name.to_string(),
        _ => return conf_error(cf, "\"sesame_provider\": the name is not valid UTF-8"),
    };
    if let Err(err) = catching(|| mcf.builder().add_provider(&provider)) {
        return conf_error(cf, &err.message);
    }

    let mut state = BlockState {
        main: mcf,
        provider,
    };
    // SAFETY: cf is valid; the copy only changes the handler used for the block's directives
    // (nginx's own "types {}" technique). `state` outlives ngx_conf_parse, which is synchronous.
    let mut block_cf: ngx_conf_t = unsafe { *cf };
    block_cf.handler = Some(cmd_provider_directive);
    block_cf.handler_conf = ptr::addr_of_mut!(state).cast();
    // SAFETY: block_cf is a valid conf positioned just after the block's "{".
    unsafe { ngx_conf_parse(&mut block_cf, ptr::null_mut()) }
}

/// One directive inside the block.
extern "C" fn cmd_provider_directive(
    cf: *mut ngx_conf_t,
    _dummy: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: handler_conf is the BlockState set by cmd_provider_block, alive during the parse.
    let state = unsafe { &mut *(*cf).handler_conf.cast::<BlockState>() };
    // SAFETY: cf holds the directive being parsed.
    let (key, nargs) = unsafe { (directive_name(cf), directive_args(cf).len()) };

    if let Some((_, flags)) = PROVIDER_DIRECTIVES.iter().find(|(name, _)| *name == key) {
        if !nargs_ok(*flags, nargs) {
            return conf_error(
                cf,
                &format!(
                    "invalid number of arguments in \"{key}\" directive of sesame_provider \"{}\"",
                    state.provider
                ),
            );
        }
    }
    // SAFETY: cf holds the directive being parsed.
    let value = match unsafe { directive_value(cf, &key) } {
        Ok(v) => v,
        Err(msg) => return conf_error(cf, &msg),
    };
    let builder = state.main.builder();
    match catching(|| builder.set_provider(&state.provider, &key, &value)) {
        Ok(()) => NGX_CONF_OK,
        Err(err) => conf_error(cf, &err.message),
    }
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
