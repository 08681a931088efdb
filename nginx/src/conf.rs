//! Directives. The module keeps no validation of its own: every value goes, as written, to the
//! core's `ConfigBuilder` (key = directive name without `sesame_`, value = arguments joined by one
//! space), so nginx and Apache accept and reject exactly the same things with the same messages.
//!
//! Timeline inside one `http {}` block:
//! 1. directives are parsed: http-level ones feed the builder at once (a bad value fails at its
//!    line), location ones are only recorded (providers may be declared further down);
//! 2. `init_main_conf` (after the whole block is parsed): `build()` cross-checks everything;
//! 3. `merge_loc_conf` (after init_main_conf): each `sesame` / `sesame_logout` is resolved with
//!    `Sesame::location`, so an unknown provider fails `nginx -t` at the location's line.

use core::ffi::{c_char, c_void};
use core::ptr;

use ngx::core::{NGX_CONF_ERROR, NGX_CONF_OK};
use ngx::ffi::{
    ngx_command_t, ngx_conf_full_name, ngx_conf_t, ngx_str_t, ngx_thread_pool_add,
    ngx_thread_pool_t, ngx_uint_t, NGX_CONF_1MORE, NGX_CONF_BLOCK, NGX_CONF_NOARGS, NGX_CONF_TAKE1,
    NGX_CONF_TAKE12, NGX_HTTP_LOC_CONF, NGX_HTTP_LOC_CONF_OFFSET, NGX_HTTP_MAIN_CONF,
    NGX_HTTP_MAIN_CONF_OFFSET, NGX_LOG_EMERG, NGX_OK,
};
use ngx::http::{HttpModuleLocationConf, HttpModuleMainConf, NgxHttpCoreModule};
use ngx::ngx_conf_log_error;
use sesame::registry;
use sesame::{add_location_option, nest_location, OptionArgsError, OwnSetting};
use sesame::{ConfigBuilder, ConfigError, Location, LocationMode, LocationSpec, Sesame, Subject};

use crate::Module;

mod command_table;
mod provider;
pub mod provider_keys;

use command_table::Handler;

/// http-level state of the module.
pub struct MainConf {
    /// Collects directive values until `init_main_conf`; None when no http-level directive
    /// appeared yet.
    builder: Option<ConfigBuilder>,
    /// A location names a provider: build even without http-level directives, so the operator
    /// gets the core's "sesame_secret_file is required" rather than silence.
    pub(crate) used: bool,
    /// The built core; None when this http block does not use Sesame at all.
    pub sesame: Option<Sesame>,
    /// `sesame_thread_pool NAME;` (default: nginx's "default" pool).
    thread_pool_name: Option<String>,
    /// The pool session reads are posted to (owned by nginx's thread_pool module, valid for
    /// the cycle).
    pub thread_pool: *mut ngx_thread_pool_t,
    /// `sesame_provider_thread_pool NAME;` (default: the same pool as session reads).
    provider_pool_name: Option<String>,
    /// The pool provider exchanges are posted to: a pool of its own keeps session reads from
    /// ever queueing behind slow provider calls; in a shared pool the core's per-process cap
    /// (`sesame_provider_concurrency`, below the pool's threads) does.
    pub provider_thread_pool: *mut ngx_thread_pool_t,
    /// (directive, "file:line") of every http-level directive, provider block and provider key,
    /// so that an error found by `build()` after the whole block is parsed still points at the
    /// directive its subject names.
    origins: Vec<(Subject, String)>,
}

impl Default for MainConf {
    fn default() -> Self {
        MainConf {
            builder: None,
            used: false,
            sesame: None,
            thread_pool_name: None,
            thread_pool: ptr::null_mut(),
            provider_pool_name: None,
            provider_thread_pool: ptr::null_mut(),
            origins: Vec::new(),
        }
    }
}

impl MainConf {
    fn builder(&mut self) -> &mut ConfigBuilder {
        self.builder.get_or_insert_with(|| {
            let mut builder = ConfigBuilder::new();
            // The core's log lines then name directives as nginx.conf writes them.
            builder.set_syntax(sesame::Syntax::Nginx);
            builder
        })
    }

    /// Remembers where the directive being parsed is, under the name core messages use for it.
    ///
    /// # Safety
    /// `cf` must be a valid conf being parsed.
    pub(crate) unsafe fn remember_origin(&mut self, cf: *mut ngx_conf_t, directive: Subject) {
        // SAFETY: cf is a valid conf being parsed (this method's # Safety), origin's only
        // requirement: it reads the file name and line nginx's parser keeps in cf.
        let at = unsafe { origin(cf) };
        self.origins.push((directive, at));
    }

    /// " in file:line" of the directive an error is about (a provider key not written: its
    /// block), or "" when it is about nothing written (a missing directive).
    fn position_of(&self, err: &ConfigError) -> String {
        let recorded = |wanted: &Subject| {
            self.origins
                .iter()
                .find(|(directive, _)| directive == wanted)
                .map(|(_, at)| format!(" in {at}"))
        };
        let found = match &err.subject {
            Subject::Provider { name, key: Some(_) } => recorded(&err.subject).or_else(|| {
                recorded(&Subject::Provider {
                    name: name.clone(),
                    key: None,
                })
            }),
            Subject::Global { .. } | Subject::Provider { .. } => recorded(&err.subject),
            Subject::Whole | Subject::Location { .. } => None,
        };
        found.unwrap_or_default()
    }
}

/// What a location asks of Sesame.
#[derive(Clone)]
pub enum Setting {
    /// `sesame off;` (only Sesame's own endpoints are answered here).
    Off,
    /// `sesame NAME;` or `sesame_logout NAME [local];`, resolved during the merge.
    On {
        spec: LocationSpec,
        location: Option<Location>,
    },
}

/// Location-level configuration.
#[derive(Default)]
pub struct LocConf {
    /// None = not set here (inherited from the enclosing level).
    pub setting: Option<Setting>,
    /// "file:line" of the directive, to point at it when resolution fails.
    origin: String,
    /// Location options (`sesame_acr`, `sesame_require`, `sesame_prompt`, `sesame_*_hint`),
    /// key without the `sesame_` prefix; added to this location's `LocationSpec` when merging.
    options: Vec<(String, String)>,
}

impl LocConf {
    /// The resolved location, when this location is protected or a logout endpoint.
    pub fn location(&self) -> Option<&Location> {
        match &self.setting {
            Some(Setting::On { location, .. }) => location.as_ref(),
            _ => None,
        }
    }
}

/// The command names nginx reads (NUL-terminated, see `nul_terminated_names`).
static COMMAND_NAMES: [[u8; command_table::NAME_MAX]; command_table::count()] =
    command_table::nul_terminated_names();

/// nginx's command table, built at compile time from the core's registry
/// ([`command_table::handler`] says which handler takes each directive).
pub static mut COMMANDS: [ngx_command_t; command_table::count() + 1] = commands(&COMMAND_NAMES);

const fn commands(
    names: &'static [[u8; command_table::NAME_MAX]; command_table::count()],
) -> [ngx_command_t; command_table::count() + 1] {
    const END: ngx_command_t = ngx_command_t::empty();
    let mut table = [END; command_table::count() + 1];
    let (mut i, mut n) = (0, 0);
    while i < registry::DIRECTIVES.len() {
        let d = &registry::DIRECTIVES[i];
        if let (Some(handler), Some(name)) = (command_table::handler(d), d.nginx) {
            let name = ngx_str_t {
                len: name.len(),
                data: names[n].as_ptr() as *mut u8,
            };
            table[n] = command(name, handler, command_table::takes_one_or_two(d));
            n += 1;
        }
        i += 1;
    }
    table
}

const fn command(name: ngx_str_t, handler: Handler, one_or_two: bool) -> ngx_command_t {
    let (type_, set, conf): (u32, CommandHandler, usize) = match handler {
        Handler::Global => (
            NGX_HTTP_MAIN_CONF | NGX_CONF_1MORE,
            cmd_global,
            NGX_HTTP_MAIN_CONF_OFFSET,
        ),
        Handler::ThreadPool => (
            NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
            cmd_thread_pool,
            NGX_HTTP_MAIN_CONF_OFFSET,
        ),
        Handler::ProviderBlock => (
            NGX_HTTP_MAIN_CONF | NGX_CONF_BLOCK | NGX_CONF_TAKE1,
            provider::cmd_provider_block,
            NGX_HTTP_MAIN_CONF_OFFSET,
        ),
        Handler::Metrics => (
            NGX_HTTP_LOC_CONF | NGX_CONF_NOARGS,
            cmd_metrics,
            NGX_HTTP_LOC_CONF_OFFSET,
        ),
        Handler::Location if one_or_two => (
            NGX_HTTP_LOC_CONF | NGX_CONF_TAKE12,
            cmd_location,
            NGX_HTTP_LOC_CONF_OFFSET,
        ),
        Handler::Location => (
            NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
            cmd_location,
            NGX_HTTP_LOC_CONF_OFFSET,
        ),
        // Any count: the core's registry says how many values each option takes.
        Handler::LocationOption => (
            NGX_HTTP_LOC_CONF | NGX_CONF_1MORE,
            cmd_location_option,
            NGX_HTTP_LOC_CONF_OFFSET,
        ),
    };
    ngx_command_t {
        name,
        type_: type_ as ngx_uint_t,
        set: Some(set),
        conf: conf as ngx_uint_t,
        offset: 0,
        post: ptr::null_mut(),
    }
}

type CommandHandler =
    extern "C" fn(*mut ngx_conf_t, *mut ngx_command_t, *mut c_void) -> *mut c_char;

/// `sesame_acr VALUE...;`, `sesame_require CLAIM VALUE...;`, `sesame_prompt login|none;`,
/// `sesame_login_hint|sesame_idp_hint|sesame_siret_hint VALUE|$arg_NAME;`,
/// `sesame_unauth_action login|401|pass;`, `sesame_max_auth_age TIME;`.
extern "C" fn cmd_location_option(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: conf is this module's loc conf (NGX_HTTP_LOC_CONF_OFFSET), cf is being parsed.
    let (lcf, name, args) = unsafe {
        (
            &mut *conf.cast::<LocConf>(),
            directive_name(cf),
            directive_args(cf),
        )
    };
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str().ok()).collect();
    if words.len() != args.len() {
        return conf_error(cf, &format!("\"{name}\": the value is not valid UTF-8"));
    }
    let Some(directive) = registry::by_nginx_name(&name) else {
        return conf_error(cf, &format!("\"{name}\" is not a location option"));
    };
    match add_location_option(&mut lcf.options, directive, &words) {
        Ok(()) => {}
        Err(OptionArgsError::NotOneValue) => {
            return conf_error(cf, &format!("\"{name}\" takes exactly one value"))
        }
        Err(OptionArgsError::Duplicate) => {
            return conf_error(cf, &format!("\"{name}\" is duplicate"))
        }
        Err(OptionArgsError::WrongCount) => {
            // nginx's own count check (NGX_CONF_1MORE) answers before this handler runs.
            return conf_error(
                cf,
                &format!("invalid number of arguments in \"{name}\" directive"),
            );
        }
    }
    if lcf.origin.is_empty() {
        // SAFETY: cf is valid while its directive is parsed.
        lcf.origin = unsafe { origin(cf) };
    }
    NGX_CONF_OK
}

/// Logs `msg` at the current directive (`... in /path/nginx.conf:LINE`) and fails the parse.
pub(crate) fn conf_error(cf: *mut ngx_conf_t, msg: &str) -> *mut c_char {
    ngx_conf_log_error!(NGX_LOG_EMERG, cf, "{}", msg);
    NGX_CONF_ERROR
}

/// Runs a core call made at configuration time; a panic (a core bug) becomes a configuration
/// error instead of aborting nginx (unwinding out of an `extern "C"` function aborts).
pub(crate) fn catching<T>(f: impl FnOnce() -> Result<T, ConfigError>) -> Result<T, ConfigError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(ConfigError::new(
            "internal error in Sesame while reading the configuration (see stderr); please report it",
        ))
    })
}

/// The directive's arguments (without its name).
///
/// # Safety
/// `cf` must be the conf of a directive being parsed (cf->args holds ngx_str_t values).
pub(crate) unsafe fn directive_args<'a>(cf: *mut ngx_conf_t) -> &'a [ngx_str_t] {
    // SAFETY: cf is the conf of a directive being parsed (this function's # Safety): nginx's parser
    // has filled cf->args with the directive's words as ngx_str_t, the name first.
    let args: &[ngx_str_t] = unsafe { (*(*cf).args).as_slice() };
    args.get(1..).unwrap_or(&[])
}

/// The directive's name as written.
///
/// # Safety
/// Same as [`directive_args`].
pub(crate) unsafe fn directive_name(cf: *mut ngx_conf_t) -> String {
    // SAFETY: as in directive_args: while a directive is parsed, cf->args is nginx's array of its
    // words as ngx_str_t.
    let args: &[ngx_str_t] = unsafe { (*(*cf).args).as_slice() };
    args.first().map(|a| a.to_string()).unwrap_or_default()
}

/// Joins the arguments with one space, resolving a relative `*_file` path against nginx's
/// configuration directory like nginx does for its own files (ssl_certificate...).
///
/// # Safety
/// Same as [`directive_args`].
pub(crate) unsafe fn directive_value(cf: *mut ngx_conf_t, key: &str) -> Result<String, String> {
    // SAFETY: cf is the conf of a directive being parsed (this function's # Safety), as
    // directive_args requires.
    let args = unsafe { directive_args(cf) };
    let mut parts = Vec::with_capacity(args.len());
    for arg in args {
        match arg.to_str() {
            Ok(s) => parts.push(s.to_string()),
            Err(_) => return Err(format!("\"{key}\": the value is not valid UTF-8")),
        }
    }
    let value = parts.join(" ");
    if key.ends_with("_file") && args.len() == 1 && !value.is_empty() {
        // SAFETY: cf is valid; the path is copied into the conf pool first, as
        // ngx_conf_full_name may point the string at a new allocation from the cycle pool.
        unsafe { return full_path(cf, &value) };
    }
    Ok(value)
}

/// # Safety
/// `cf` must be a valid conf being parsed.
unsafe fn full_path(cf: *mut ngx_conf_t, path: &str) -> Result<String, String> {
    // SAFETY: cf is valid; from_bytes copies into the conf pool.
    let mut name = unsafe { ngx_str_t::from_bytes((*cf).pool, path.as_bytes()) }
        .ok_or_else(|| "out of memory".to_string())?;
    // SAFETY: cf->cycle is the cycle being configured; name is a valid ngx_str_t.
    if unsafe { ngx_conf_full_name((*cf).cycle, &mut name, 1) } != NGX_OK as isize {
        return Err(format!("cannot resolve the path \"{path}\""));
    }
    name.to_str()
        .map(str::to_string)
        .map_err(|_| format!("the path \"{path}\" is not valid UTF-8"))
}

extern "C" fn cmd_global(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: conf is this module's main conf (NGX_HTTP_MAIN_CONF_OFFSET), cf is being parsed.
    let (mcf, name) = unsafe { (&mut *conf.cast::<MainConf>(), directive_name(cf)) };
    // SAFETY: cf is the conf of this directive.
    let key = name.strip_prefix("sesame_").unwrap_or(&name);
    // SAFETY: cf is the conf of this directive.
    unsafe {
        mcf.remember_origin(
            cf,
            Subject::Global {
                key: key.to_owned(),
            },
        )
    };
    // SAFETY: cf is the conf of this directive.
    let value = match unsafe { directive_value(cf, key) } {
        Ok(v) => v,
        Err(msg) => return conf_error(cf, &msg),
    };
    let builder = mcf.builder();
    match catching(|| builder.set_global(key, &value)) {
        Ok(()) => NGX_CONF_OK,
        Err(err) => conf_error(cf, &err.to_string()),
    }
}

extern "C" fn cmd_thread_pool(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: conf is this module's main conf, cf is being parsed (TAKE1: one argument).
    let (mcf, args, directive) = unsafe {
        (
            &mut *conf.cast::<MainConf>(),
            directive_args(cf),
            directive_name(cf),
        )
    };
    let slot = if directive == "sesame_provider_thread_pool" {
        &mut mcf.provider_pool_name
    } else {
        &mut mcf.thread_pool_name
    };
    if slot.is_some() {
        return conf_error(cf, &format!("\"{directive}\" is duplicate"));
    }
    match args.first().map(|a| a.to_str()) {
        Some(Ok(name)) if !name.is_empty() => {
            *slot = Some(name.to_string());
            NGX_CONF_OK
        }
        _ => conf_error(
            cf,
            &format!(
                "\"{directive}\" needs the name of a thread_pool declared in the main context, e.g. {directive} default;"
            ),
        ),
    }
}

/// `sesame NAME|off;` and `sesame_logout NAME [local];`.
extern "C" fn cmd_location(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: conf is this module's loc conf (NGX_HTTP_LOC_CONF_OFFSET), cf is being parsed.
    let (lcf, name, args) = unsafe {
        (
            &mut *conf.cast::<LocConf>(),
            directive_name(cf),
            directive_args(cf),
        )
    };
    if lcf.setting.is_some() {
        return conf_error(
            cf,
            &format!(
                "\"{name}\" is duplicate: a location takes one of \"sesame\" or \"sesame_logout\""
            ),
        );
    }
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str().ok()).collect();
    if words.len() != args.len() {
        return conf_error(cf, &format!("\"{name}\": the value is not valid UTF-8"));
    }
    let mode = match (name.as_str(), words.as_slice()) {
        ("sesame", ["off"]) => {
            lcf.setting = Some(Setting::Off);
            return NGX_CONF_OK;
        }
        ("sesame", [_]) => LocationMode::Protect,
        ("sesame_logout", [_]) => LocationMode::Logout,
        ("sesame_logout", [_, "local"]) => LocationMode::LogoutLocal,
        _ => {
            return conf_error(
                cf,
                &format!(
                    "invalid \"{name}\" arguments: write \"sesame PROVIDER;\", \"sesame off;\" \
                     or \"sesame_logout PROVIDER [local];\""
                ),
            )
        }
    };
    lcf.setting = Some(Setting::On {
        spec: LocationSpec {
            mode,
            provider: words[0].to_string(),
            options: Vec::new(),
        },
        location: None,
    });
    // SAFETY: cf is valid while its directive is parsed; conf_file is set for file directives.
    lcf.origin = unsafe { origin(cf) };
    // SAFETY: in a location context cf->ctx is an http conf ctx sharing the http main confs.
    if let Some(mcf) = Module::main_conf_mut(unsafe { &*cf }) {
        mcf.used = true;
    }
    NGX_CONF_OK
}

/// `sesame_metrics;` in a location: its content handler becomes [`metrics_handler`].
extern "C" fn cmd_metrics(
    cf: *mut ngx_conf_t,
    _cmd: *mut ngx_command_t,
    _conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: nginx calls a directive handler with the conf being parsed; in a location
    // context cf->ctx is an http conf ctx holding the core module's and our confs.
    let cf_ref = unsafe { &*cf };
    let Some(clcf) = NgxHttpCoreModule::location_conf_mut(cf_ref) else {
        return conf_error(cf, "\"sesame_metrics\": no location configuration");
    };
    if clcf.handler.is_some() {
        return conf_error(
            cf,
            "\"sesame_metrics\": this location already has a content handler (proxy_pass, fastcgi_pass, ...); give the metrics a location of their own",
        );
    }
    clcf.handler = Some(crate::metrics::metrics_handler);
    // The page needs the built core: build it even without http-level directives, so that a
    // missing sesame_secret_file is reported rather than a page without counts.
    if let Some(mcf) = Module::main_conf_mut(cf_ref) {
        mcf.used = true;
    }
    NGX_CONF_OK
}

/// "file:line" of the directive being parsed.
///
/// # Safety
/// `cf` must be a valid conf being parsed.
unsafe fn origin(cf: *mut ngx_conf_t) -> String {
    // SAFETY: conf_file is valid (or null for -g directives) while parsing.
    match unsafe { (*cf).conf_file.as_ref() } {
        Some(file) => format!("{}:{}", file.file.name, file.line),
        None => "the command line".to_string(),
    }
}

/// http block fully parsed: build the core (cross-checks, reads the secret files) and pick the
/// thread pool. A build error fails `nginx -t` with the core's message.
pub unsafe extern "C" fn init_main_conf(cf: *mut ngx_conf_t, conf: *mut c_void) -> *mut c_char {
    // SAFETY: conf is this module's main conf, allocated by create_main_conf.
    let mcf = unsafe { &mut *conf.cast::<MainConf>() };
    if mcf.builder.is_none() && !mcf.used {
        return NGX_CONF_OK;
    }
    // Core log lines emitted while building (warnings) go to nginx's log too.
    crate::log::install_sink();
    let mut builder = mcf.builder.take().unwrap_or_default();
    // SAFETY: cf is the configuration being parsed (init_main_conf's contract).
    if !unsafe { crate::audit::register(cf, &mut builder) } {
        return NGX_CONF_ERROR;
    }
    match catching(|| builder.build()) {
        Ok(sesame) => mcf.sesame = Some(sesame),
        Err(err) => {
            let at = mcf.position_of(&err);
            // SAFETY: cf->log is valid during configuration.
            ngx::ngx_log_error!(NGX_LOG_EMERG, unsafe { (*cf).log }, "{}{}", err, at);
            return NGX_CONF_ERROR;
        }
    }
    let pool_name = mcf.thread_pool_name.as_deref().unwrap_or("default");
    // SAFETY: cf is the configuration being parsed.
    mcf.thread_pool = unsafe { thread_pool(cf, pool_name) };
    mcf.provider_thread_pool = match mcf.provider_pool_name.as_deref() {
        // SAFETY: as above.
        Some(name) if name != pool_name => unsafe { thread_pool(cf, name) },
        _ => mcf.thread_pool,
    };
    if mcf.thread_pool.is_null() || mcf.provider_thread_pool.is_null() {
        return NGX_CONF_ERROR;
    }
    NGX_CONF_OK
}

/// The thread pool named `name` for this cycle (null when out of memory).
///
/// # Safety
/// `cf` must be the configuration being parsed.
unsafe fn thread_pool(cf: *mut ngx_conf_t, name: &str) -> *mut ngx_thread_pool_t {
    // SAFETY: cf->pool is the configuration pool; the name must outlive the cycle, which the
    // conf pool does.
    let Some(mut name) = (unsafe { ngx_str_t::from_bytes((*cf).pool, name.as_bytes()) }) else {
        return ptr::null_mut();
    };
    // SAFETY: cf is valid; ngx_thread_pool_add registers (or finds) the pool for this cycle. An
    // undeclared non-default pool is reported by nginx itself ("unknown thread pool").
    unsafe { ngx_thread_pool_add(cf, &mut name) }
}

/// Inherit the enclosing setting, or resolve the one written here against the built core.
pub unsafe extern "C" fn merge_loc_conf(
    cf: *mut ngx_conf_t,
    prev: *mut c_void,
    conf: *mut c_void,
) -> *mut c_char {
    // SAFETY: both are this module's loc confs (create_loc_conf), distinct objects.
    let (prev, conf) = unsafe { (&*prev.cast::<LocConf>(), &mut *conf.cast::<LocConf>()) };
    // This location's options on top of the enclosing location's, by the core's rule (the one
    // Apache's section merge follows): same provider, options inherited; another, a clean start.
    if matches!(
        conf.setting,
        Some(Setting::On {
            location: Some(_),
            ..
        })
    ) {
        return NGX_CONF_OK;
    }
    let own_options = std::mem::take(&mut conf.options);
    let parent = match &prev.setting {
        Some(Setting::On { spec, .. }) => Some(spec),
        _ => None,
    };
    let own = match &conf.setting {
        None => OwnSetting::Unset,
        Some(Setting::Off) => OwnSetting::Off,
        Some(Setting::On { spec, .. }) => OwnSetting::On(spec.clone()),
    };
    match nest_location(own, own_options, parent) {
        Ok(Some(spec)) => {
            conf.setting = Some(Setting::On {
                spec,
                location: None,
            })
        }
        Ok(None) => {}
        Err(without) => {
            let name = registry::nginx_spelling(registry::Scope::Location, &without.key);
            // SAFETY: cf->log is valid during configuration.
            ngx::ngx_log_error!(
                NGX_LOG_EMERG,
                unsafe { (*cf).log },
                "\"{name}\" needs \"sesame PROVIDER;\" in this location or an enclosing one in {}",
                conf.origin
            );
            return NGX_CONF_ERROR;
        }
    }
    let (spec, location) = match &mut conf.setting {
        None => {
            conf.setting = prev.setting.clone();
            return NGX_CONF_OK;
        }
        Some(Setting::On {
            spec,
            location: location @ None,
        }) => (spec, location),
        Some(_) => return NGX_CONF_OK,
    };
    // SAFETY: during the merge cf->ctx is the http conf ctx holding our main conf.
    let sesame = Module::main_conf(unsafe { &*cf }).and_then(|m| m.sesame.as_ref());
    let Some(sesame) = sesame else {
        // Cannot happen: `used` forces a build, and a failed build stops before merging.
        return NGX_CONF_ERROR;
    };
    match catching(|| sesame.location(spec)) {
        Ok(resolved) => {
            *location = Some(resolved);
            NGX_CONF_OK
        }
        Err(err) => {
            // SAFETY: cf->log is valid during configuration.
            ngx::ngx_log_error!(
                NGX_LOG_EMERG,
                unsafe { (*cf).log },
                "{} in {}",
                err,
                conf.origin
            );
            NGX_CONF_ERROR
        }
    }
}
