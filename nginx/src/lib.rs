//! ngx_http_sesame_module: the nginx adapter of Sesame (FranceConnect / ProConnect login in front
//! of nginx locations).
//!
//! This crate only glues nginx to the core (`sesame`): it registers the directives and hands their
//! raw values to `sesame::ConfigBuilder` (so `nginx -t` shows the core's messages), builds a
//! borrowed `sesame::Request` in the ACCESS phase, runs the core's blocking jobs on nginx's thread
//! pool (never on the event loop), applies the outcome, and exposes the identity as variables.
//!
//! Files, one concern each: `conf.rs` (http/location directives, build), `conf/provider.rs`
//! (`sesame_provider NAME { ... }` block) and `conf/provider_keys.rs` (its directive table),
//! `access.rs` (ACCESS phase handler) and `fetch_headers.rs` (which request headers it reads), `ctx.rs` (per-request state that survives internal
//! redirects), `job.rs` (thread-pool tasks), `respond.rs` (redirect / page / allow), `headers.rs`
//! (header lists, spoofed-header removal), `variables.rs` (`$sesame_*`) and `claim_name.rs`
//! (which claim a variable names), `log.rs` (core log lines into the error log of the request's
//! location), `audit.rs` (`sesame_audit_log` through nginx's open files), `metrics.rs`
//! (`sesame_metrics;`, a content handler).

use core::ffi::c_void;
use core::ptr;

use ngx::ffi::{
    ngx_array_push, ngx_conf_t, ngx_cycle_t, ngx_http_handler_pt, ngx_http_module_t,
    ngx_http_phases_NGX_HTTP_ACCESS_PHASE, ngx_int_t, ngx_module_t, NGX_ERROR, NGX_HTTP_MODULE,
    NGX_OK,
};
use ngx::http::{HttpModule, HttpModuleMainConf, NgxHttpCoreModule};

mod access;
mod audit;
mod claim_name;
mod conf;
mod ctx;
mod fetch_headers;
mod headers;
mod job;
mod log;
mod metrics;
mod respond;
mod variables;

#[cfg(not(ngx_feature = "threads"))]
compile_error!(
    "ngx_http_sesame_module needs nginx built --with-threads (jobs run on its thread pool)"
);

/// Marker type tying the ngx traits to our `ngx_module_t`.
pub(crate) struct Module;

impl HttpModule for Module {
    fn module() -> &'static ngx_module_t {
        // SAFETY: the module table is a static that nginx only mutates while loading modules
        // (ctx_index / index), before any of our code reads it through this reference.
        unsafe { &*ptr::addr_of!(ngx_http_sesame_module) }
    }

    unsafe extern "C" fn preconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        // Variables must exist before the configuration that uses them is parsed.
        variables::register(cf)
    }

    unsafe extern "C" fn postconfiguration(cf: *mut ngx_conf_t) -> ngx_int_t {
        // SAFETY: nginx calls postconfiguration with a valid cf for the http block.
        let cf = unsafe { &mut *cf };
        let configured = Module::main_conf(cf).is_some_and(|m| m.sesame.is_some());
        if !configured {
            // No sesame directive in this http block: stay out of the request path entirely.
            return NGX_OK as ngx_int_t;
        }
        let Some(cmcf) = NgxHttpCoreModule::main_conf_mut(cf) else {
            return NGX_ERROR as ngx_int_t;
        };
        // SAFETY: the ACCESS phase handler array belongs to the core main conf being configured.
        let h = unsafe {
            ngx_array_push(
                &mut cmcf.phases[ngx_http_phases_NGX_HTTP_ACCESS_PHASE as usize].handlers,
            )
        } as *mut ngx_http_handler_pt;
        if h.is_null() {
            return NGX_ERROR as ngx_int_t;
        }
        // SAFETY: h points to a freshly pushed, properly sized element of that array.
        unsafe { *h = Some(access::access_handler) };
        NGX_OK as ngx_int_t
    }
}

// SAFETY: main_conf slot of this module always holds a `conf::MainConf` (create_main_conf).
unsafe impl HttpModuleMainConf for Module {
    type MainConf = conf::MainConf;
}

// SAFETY: loc_conf slot of this module always holds a `conf::LocConf` (create_loc_conf).
unsafe impl ngx::http::HttpModuleLocationConf for Module {
    type LocationConf = conf::LocConf;
}

static NGX_HTTP_SESAME_MODULE_CTX: ngx_http_module_t = ngx_http_module_t {
    preconfiguration: Some(Module::preconfiguration),
    postconfiguration: Some(Module::postconfiguration),
    create_main_conf: Some(Module::create_main_conf),
    init_main_conf: Some(conf::init_main_conf),
    create_srv_conf: None,
    merge_srv_conf: None,
    create_loc_conf: Some(Module::create_loc_conf),
    merge_loc_conf: Some(conf::merge_loc_conf),
};

/// The core of the cycle's http block, if it uses Sesame.
fn cycle_core(cycle: *mut ngx_cycle_t) -> Option<&'static sesame::Sesame> {
    // SAFETY: nginx passes its current cycle, alive for the whole life of the worker.
    let cycle = unsafe { cycle.as_ref() }?;
    Module::main_conf(cycle).and_then(|m| m.sesame.as_ref())
}

/// Worker start: only now may the core log through nginx, and start the one thread of its
/// own, the revocation feed (it touches no nginx structure; Redis connections and provider
/// exchanges are opened lazily by the jobs, after the fork too).
unsafe extern "C" fn init_process(cycle: *mut ngx_cycle_t) -> ngx_int_t {
    log::install_sink();
    if let Some(core) = cycle_core(cycle) {
        core.start_worker();
    }
    NGX_OK as ngx_int_t
}

/// Worker exit: the feed thread stops (within a quarter of a second).
unsafe extern "C" fn exit_process(cycle: *mut ngx_cycle_t) {
    if let Some(core) = cycle_core(cycle) {
        core.stop_worker();
    }
}

#[cfg(feature = "export-modules")]
ngx::ngx_modules!(ngx_http_sesame_module);

#[used]
#[allow(non_upper_case_globals)]
#[cfg_attr(not(feature = "export-modules"), no_mangle)]
pub static mut ngx_http_sesame_module: ngx_module_t = ngx_module_t {
    ctx: ptr::addr_of!(NGX_HTTP_SESAME_MODULE_CTX) as *mut c_void,
    // Address of the static command table; nginx reads it, never frees it.
    commands: ptr::addr_of_mut!(conf::COMMANDS) as *mut _,
    type_: NGX_HTTP_MODULE as _,
    init_process: Some(init_process),
    exit_process: Some(exit_process),
    ..ngx_module_t::default()
};
