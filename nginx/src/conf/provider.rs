//! `sesame_provider NAME { ... }`: a block with its own command table. Every inner directive is
//! handed to `ConfigBuilder::set_provider(NAME, key, args joined by " ")`; the core validates the
//! value and its error is reported at the directive's line, as nginx does for its own blocks.

use core::ffi::{c_char, c_void};
use core::ptr;

use ngx::core::NGX_CONF_OK;
use ngx::ffi::{ngx_command_t, ngx_conf_parse, ngx_conf_t};
use sesame::Subject;

use super::provider_keys::{nargs_ok, provider_directive_flags};
use super::{catching, conf_error, directive_args, directive_name, directive_value, MainConf};

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
        return conf_error(cf, &err.to_string());
    }
    // SAFETY: cf is the conf of this directive.
    unsafe {
        mcf.remember_origin(
            cf,
            Subject::Provider {
                name: provider.clone(),
                key: None,
            },
        )
    };

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

    if let Some(flags) = provider_directive_flags(&key) {
        if !nargs_ok(flags, nargs) {
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
    // SAFETY: cf holds the directive being parsed.
    unsafe {
        state.main.remember_origin(
            cf,
            Subject::Provider {
                name: state.provider.clone(),
                key: Some(key.clone()),
            },
        )
    };
    let builder = state.main.builder();
    match catching(|| builder.set_provider(&state.provider, &key, &value)) {
        Ok(()) => NGX_CONF_OK,
        Err(err) => conf_error(cf, &err.to_string()),
    }
}
