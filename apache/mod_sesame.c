/*
 * mod_sesame: FranceConnect / ProConnect login for Apache httpd 2.4.
 *
 * A thin shim over the Sesame core's C ABI (include/sesame.h). Everything about OpenID
 * Connect, sessions, federation rules, acr ordering and claim formatting lives in the core;
 * this file only maps Apache's configuration and request objects onto it:
 *
 * - directives are handed, as written, to the core's configuration builder (same keys and
 *   checks as nginx's), syntax at once (so `apache2 -t` names the line), cross-checks in the
 *   check_config hook (before `-t` prints "Syntax OK");
 * - the core is built in the parent (check_config): building opens no socket and starts no
 *   thread, so every child forked afterwards starts clean; the core opens its Redis
 *   connections and provider exchanges lazily, in each child;
 * - post_read_request: spoofable identity headers are removed; translate_name (first): Sesame's
 *   own endpoints (callback, logout return) are answered wherever they fall;
 * - check_authn (AuthType Sesame + SesameUse NAME): login required; blocking work runs inline
 *   (Apache gives each request its own thread or process);
 * - fixups: identity into r->subprocess_env (CGI, mod_php, proxy_fcgi) and optionally request
 *   headers for proxied apps;
 * - Require sesame-acr / sesame-claim: rules evaluated by the core;
 * - handler "sesame-logout".
 */

#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_provider.h"
#include "mod_auth.h"
#include "apr_strings.h"
#include "apr_hash.h"
#include "apr_lib.h"

#include "sesame.h"

module AP_MODULE_DECLARE_DATA sesame_module;

APLOG_USE_MODULE(sesame);

#define SESAME_AUTH_TYPE "Sesame"
#define SESAME_LOGOUT_HANDLER "sesame-logout"

/* ------------------------------------------------------------------------------------------ */
/* Configuration records                                                                       */

/* One directive value for the core: key as the core names it, value as written. */
typedef struct {
    const char *key;
    const char *value;
    const char *origin; /* "file:line" */
} sesame_kv;

/* A <SesameProvider NAME> section. */
typedef struct {
    const char *name;
    const char *origin;
    apr_array_header_t *keys; /* sesame_kv */
} sesame_provider_def;

typedef struct {
    apr_array_header_t *globals;   /* sesame_kv */
    apr_array_header_t *providers; /* sesame_provider_def */
    int own;                       /* this server context wrote Sesame directives itself */
    /* Filled by check_config for the configuration generation: */
    sesame *core;
    apr_hash_t *locations; /* "MODE:NAME" -> sesame_location* */
} sesame_srv;

#define UNSET (-1)
enum { VARS_SESAME = 0, VARS_OIDC = 1 };

typedef struct {
    const char *use;      /* SesameUse NAME */
    const char *logout;   /* SesameLogout NAME */
    int logout_mode;      /* SESAME_MODE_LOGOUT / SESAME_MODE_LOGOUT_LOCAL */
    int pass_headers;     /* SesamePassHeaders */
    int variables;        /* SesameVariables */
} sesame_dir;

/* What check_authn allowed, for fixups and Require providers of this request. */
typedef struct {
    const char *provider;
    sesame_outcome *outcome;
} sesame_rctx;

/* SesameUse lines of the main configuration files, checked in check_config. */
typedef struct {
    server_rec *s;
    const char *name;
    const char *origin;
} sesame_use_ref;

static apr_pool_t *config_pool;         /* pconf of the generation being read */
static apr_array_header_t *use_refs;    /* sesame_use_ref */

/* ------------------------------------------------------------------------------------------ */
/* Small helpers                                                                               */

static const char *origin_of(cmd_parms *cmd)
{
    if (cmd->directive && cmd->directive->filename) {
        return apr_psprintf(cmd->pool, "%s:%d", cmd->directive->filename,
                            cmd->directive->line_num);
    }
    return "(unknown)";
}

static const char *error_text(apr_pool_t *p, sesame_error *err)
{
    sesame_str m = sesame_error_message(err);
    const char *text = m.ptr ? apr_pstrmemdup(p, m.ptr, m.len) : "unknown error";
    sesame_error_free(err);
    return text;
}

static const char *str_dup(apr_pool_t *p, sesame_str s)
{
    return s.ptr ? apr_pstrmemdup(p, s.ptr, s.len) : "";
}

static const char *join_args(apr_pool_t *p, int argc, char *const argv[])
{
    const char *out = "";
    for (int i = 0; i < argc; i++) {
        out = i == 0 ? argv[i] : apr_pstrcat(p, out, " ", argv[i], NULL);
    }
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Directive handlers                                                                          */

static void *create_srv(apr_pool_t *p, server_rec *s)
{
    sesame_srv *sc = apr_pcalloc(p, sizeof(*sc));
    (void)s;
    sc->globals = apr_array_make(p, 8, sizeof(sesame_kv));
    sc->providers = apr_array_make(p, 2, sizeof(sesame_provider_def));
    return sc;
}

/* A virtual host inherits the main server's Sesame settings; any it writes itself replace
 * the inherited one with the same key (globals) or name (providers), and give it its own
 * core (own secret = own sessions, even when sharing one Redis). */
static void *merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    sesame_srv *base = basev, *add = addv;
    sesame_srv *sc = create_srv(p, NULL);
    sc->own = add->own;
    for (int i = 0; i < base->globals->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(base->globals, i, sesame_kv);
        int overridden = 0;
        for (int j = 0; j < add->globals->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(add->globals, j, sesame_kv).key, kv->key)) {
                overridden = 1;
            }
        }
        if (!overridden) {
            APR_ARRAY_PUSH(sc->globals, sesame_kv) = *kv;
        }
    }
    apr_array_cat(sc->globals, add->globals);
    for (int i = 0; i < base->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(base->providers, i, sesame_provider_def);
        int overridden = 0;
        for (int j = 0; j < add->providers->nelts; j++) {
            if (!strcmp(APR_ARRAY_IDX(add->providers, j, sesame_provider_def).name, d->name)) {
                overridden = 1;
            }
        }
        if (!overridden) {
            APR_ARRAY_PUSH(sc->providers, sesame_provider_def) = *d;
        }
    }
    apr_array_cat(sc->providers, add->providers);
    return sc;
}

/* Server-level directives: core key in cmd->info. The value is checked by the core at once
 * (in a scratch builder) so that a bad value fails at its own line. */
static const char *set_global(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
{
    sesame_srv *sc = ap_get_module_config(cmd->server->module_config, &sesame_module);
    const char *key = cmd->info;
    const char *value = join_args(cmd->pool, argc, argv);
    sesame_error *err = NULL;
    const char *why = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    (void)dummy;
    if (why) {
        return why;
    }
    for (int i = 0; i < sc->globals->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(sc->globals, i, sesame_kv).key, key)) {
            return apr_psprintf(cmd->pool, "%s is duplicate (write it once per server)",
                                cmd->cmd->name);
        }
    }
    sesame_config_builder *b = sesame_config_builder_new();
    int rc = sesame_config_set_global(b, key, strlen(key), value, strlen(value), &err);
    sesame_config_builder_free(b);
    if (rc != 0) {
        return error_text(cmd->pool, err);
    }
    sesame_kv *kv = apr_array_push(sc->globals);
    kv->key = key;
    kv->value = value;
    kv->origin = origin_of(cmd);
    sc->own = 1;
    return NULL;
}

/* Apache spelling of the provider keys (the core's names, as on nginx, are accepted too). */
static const struct {
    const char *directive;
    const char *key;
} provider_keys[] = {
    {"Preset", "preset"},
    {"Issuer", "issuer"},
    {"DiscoveryURL", "discovery_url"},
    {"ClientID", "client_id"},
    {"ClientSecretFile", "client_secret_file"},
    {"RedirectURI", "redirect_uri"},
    {"PostLogoutRedirectURI", "post_logout_redirect_uri"},
    {"LogoutRedirect", "logout_redirect"},
    {"Scope", "scope"},
    {"AcrValues", "acr_values"},
    {"RequiredAcr", "required_acr"},
    {"IdTokenAlg", "id_token_alg"},
    {"Userinfo", "userinfo"},
    {"TokenAuth", "token_auth"},
    {"PKCE", "pkce"},
    {"CAFile", "ca_file"},
    {"RemoteUserClaim", "remote_user_claim"},
    {"HttpTimeout", "http_timeout"},
    {"MetadataTTL", "metadata_ttl"},
    {"Leeway", "leeway"},
    {NULL, NULL},
};

static const char *provider_key(apr_pool_t *p, const char *directive)
{
    for (int i = 0; provider_keys[i].directive; i++) {
        if (!strcasecmp(provider_keys[i].directive, directive)) {
            return provider_keys[i].key;
        }
    }
    /* Unknown here: the core decides (it accepts its own key names and lists them when not). */
    char *lower = apr_pstrdup(p, directive);
    ap_str_tolower(lower);
    return lower;
}

/* <SesameProvider NAME> ... </SesameProvider>: the inner lines are provider keys. */
static const char *set_provider_section(cmd_parms *cmd, void *dummy, const char *arg)
{
    sesame_srv *sc = ap_get_module_config(cmd->server->module_config, &sesame_module);
    const char *why = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    const char *endp = ap_strrchr_c(arg, '>');
    (void)dummy;
    if (why) {
        return why;
    }
    if (!endp) {
        return "<SesameProvider> section is not closed with '>'";
    }
    const char *args = apr_pstrmemdup(cmd->temp_pool, arg, endp - arg);
    const char *name = ap_getword_conf(cmd->pool, &args);
    if (!*name || *args) {
        return "<SesameProvider NAME> takes exactly one name, e.g. <SesameProvider fc>";
    }
    for (int i = 0; i < sc->providers->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(sc->providers, i, sesame_provider_def).name, name)) {
            return apr_psprintf(cmd->pool,
                                "sesame_provider \"%s\" is duplicate (each <SesameProvider> "
                                "section needs its own name)", name);
        }
    }

    sesame_provider_def def;
    def.name = name;
    def.origin = origin_of(cmd);
    def.keys = apr_array_make(cmd->pool, 16, sizeof(sesame_kv));

    sesame_config_builder *b = sesame_config_builder_new();
    sesame_error *err = NULL;
    if (sesame_config_add_provider(b, name, strlen(name), &err) != 0) {
        sesame_config_builder_free(b);
        return error_text(cmd->pool, err);
    }
    for (ap_directive_t *d = cmd->directive->first_child; d; d = d->next) {
        const char *key = provider_key(cmd->pool, d->directive);
        const char *rest = d->args ? d->args : "";
        const char *value = "";
        while (*rest) {
            const char *w = ap_getword_conf(cmd->pool, &rest);
            if (*w) {
                value = *value ? apr_pstrcat(cmd->pool, value, " ", w, NULL) : w;
            }
        }
        if (sesame_config_set_provider(b, name, strlen(name), key, strlen(key), value,
                                       strlen(value), &err) != 0) {
            sesame_config_builder_free(b);
            return apr_psprintf(cmd->pool, "%s (%s, line %d of %s)", error_text(cmd->pool, err),
                                d->directive, d->line_num, d->filename);
        }
        sesame_kv *kv = apr_array_push(def.keys);
        kv->key = key;
        kv->value = value;
        kv->origin = apr_psprintf(cmd->pool, "%s:%d", d->filename, d->line_num);
    }
    sesame_config_builder_free(b);
    APR_ARRAY_PUSH(sc->providers, sesame_provider_def) = def;
    sc->own = 1;
    return NULL;
}

static void *create_dir(apr_pool_t *p, char *path)
{
    sesame_dir *dc = apr_pcalloc(p, sizeof(*dc));
    (void)path;
    dc->logout_mode = UNSET;
    dc->pass_headers = UNSET;
    dc->variables = UNSET;
    return dc;
}

static void *merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    sesame_dir *base = basev, *add = addv;
    sesame_dir *dc = apr_pcalloc(p, sizeof(*dc));
    dc->use = add->use ? add->use : base->use;
    if (add->logout) {
        dc->logout = add->logout;
        dc->logout_mode = add->logout_mode;
    } else {
        dc->logout = base->logout;
        dc->logout_mode = base->logout_mode;
    }
    dc->pass_headers = add->pass_headers != UNSET ? add->pass_headers : base->pass_headers;
    dc->variables = add->variables != UNSET ? add->variables : base->variables;
    return dc;
}

static int in_main_config(cmd_parms *cmd)
{
    /* .htaccess files are read per request, with the request's pool. */
    return config_pool != NULL && cmd->pool == config_pool && use_refs != NULL;
}

static const char *set_use(cmd_parms *cmd, void *dcv, const char *name)
{
    sesame_dir *dc = dcv;
    dc->use = name;
    if (in_main_config(cmd)) {
        sesame_use_ref *ref = apr_array_push(use_refs);
        ref->s = cmd->server;
        ref->name = name;
        ref->origin = origin_of(cmd);
    }
    return NULL;
}

static const char *set_logout(cmd_parms *cmd, void *dcv, const char *name, const char *local)
{
    sesame_dir *dc = dcv;
    if (local && strcasecmp(local, "local")) {
        return apr_psprintf(cmd->pool, "SesameLogout %s %s: the second word can only be "
                            "\"local\"", name, local);
    }
    dc->logout = name;
    dc->logout_mode = local ? SESAME_MODE_LOGOUT_LOCAL : SESAME_MODE_LOGOUT;
    if (in_main_config(cmd)) {
        sesame_use_ref *ref = apr_array_push(use_refs);
        ref->s = cmd->server;
        ref->name = name;
        ref->origin = origin_of(cmd);
    }
    return NULL;
}

static const char *set_pass_headers(cmd_parms *cmd, void *dcv, int on)
{
    (void)cmd;
    ((sesame_dir *)dcv)->pass_headers = on;
    return NULL;
}

static const char *set_variables(cmd_parms *cmd, void *dcv, const char *style)
{
    sesame_dir *dc = dcv;
    if (!strcasecmp(style, "sesame")) {
        dc->variables = VARS_SESAME;
    } else if (!strcasecmp(style, "mod_auth_openidc")) {
        dc->variables = VARS_OIDC;
    } else {
        return apr_psprintf(cmd->pool, "SesameVariables \"%s\": write sesame (SESAME_CLAIM_*) "
                            "or mod_auth_openidc (OIDC_CLAIM_*, REMOTE_USER sub@issuer)", style);
    }
    return NULL;
}

static const command_rec sesame_cmds[] = {
    AP_INIT_TAKE_ARGV("SesameRedis", set_global, "redis", RSRC_CONF,
                      "redis://host:port/db where sessions live"),
    AP_INIT_TAKE_ARGV("SesameSecretFile", set_global, "secret_file", RSRC_CONF,
                      "file of at least 32 random bytes (keys, Redis namespace)"),
    AP_INIT_TAKE_ARGV("SesameRedisTimeout", set_global, "redis_timeout", RSRC_CONF,
                      "Redis connect and command timeout (default 1s)"),
    AP_INIT_TAKE_ARGV("SesameSessionCache", set_global, "session_cache", RSRC_CONF,
                      "how long a process reuses a session read from Redis (default 5s)"),
    AP_INIT_TAKE_ARGV("SesameSessionIdleTimeout", set_global, "session_idle_timeout",
                      RSRC_CONF, "idle session lifetime (default 30m)"),
    AP_INIT_TAKE_ARGV("SesameSessionLifetime", set_global, "session_lifetime", RSRC_CONF,
                      "absolute session lifetime (default 12h)"),
    AP_INIT_RAW_ARGS("<SesameProvider", set_provider_section, NULL, RSRC_CONF,
                     "<SesameProvider NAME> ... </SesameProvider>: an identity provider"),
    AP_INIT_TAKE1("SesameUse", set_use, NULL, OR_AUTHCFG,
                  "provider whose login AuthType Sesame requires here"),
    AP_INIT_TAKE12("SesameLogout", set_logout, NULL, OR_AUTHCFG,
                   "NAME [local]: what SetHandler sesame-logout ends"),
    AP_INIT_FLAG("SesamePassHeaders", set_pass_headers, NULL, OR_AUTHCFG,
                 "On: also send X-Sesame-* request headers (proxied apps)"),
    AP_INIT_TAKE1("SesameVariables", set_variables, NULL, OR_AUTHCFG,
                  "sesame (default) or mod_auth_openidc"),
    {NULL},
};

/* ------------------------------------------------------------------------------------------ */
/* Building the core (parent process, each configuration pass)                                 */

static apr_status_t free_core(void *data)
{
    sesame_free(data);
    return APR_SUCCESS;
}

static apr_status_t free_location(void *data)
{
    sesame_location_free(data);
    return APR_SUCCESS;
}

/* " (file:line)" of the directive a core message is about, or "". */
static const char *where(apr_pool_t *p, sesame_srv *sc, const char *msg)
{
    for (int i = 0; i < sc->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, i, sesame_provider_def);
        if (strstr(msg, apr_psprintf(p, "sesame_provider \"%s\"", d->name))) {
            for (int j = 0; j < d->keys->nelts; j++) {
                sesame_kv *kv = &APR_ARRAY_IDX(d->keys, j, sesame_kv);
                if (strstr(msg, apr_psprintf(p, ": %s ", kv->key))) {
                    return apr_psprintf(p, " (at %s)", kv->origin);
                }
            }
            return apr_psprintf(p, " (<SesameProvider %s> at %s)", d->name, d->origin);
        }
    }
    for (int i = 0; i < sc->globals->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(sc->globals, i, sesame_kv);
        if (strstr(msg, apr_psprintf(p, "sesame_%s", kv->key))) {
            return apr_psprintf(p, " (at %s)", kv->origin);
        }
    }
    if (sc->providers->nelts > 0) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, 0, sesame_provider_def);
        return apr_psprintf(p, " (for <SesameProvider %s> at %s)", d->name, d->origin);
    }
    return "";
}

static const char *location_key(apr_pool_t *p, int mode, const char *name)
{
    return apr_psprintf(p, "%d:%s", mode, name);
}

static const char *build_core(apr_pool_t *p, sesame_srv *sc)
{
    sesame_error *err = NULL;
    sesame_config_builder *b = sesame_config_builder_new();
    if (!b) {
        return "cannot create the configuration builder";
    }
    for (int i = 0; i < sc->globals->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(sc->globals, i, sesame_kv);
        if (sesame_config_set_global(b, kv->key, strlen(kv->key), kv->value, strlen(kv->value),
                                     &err) != 0) {
            sesame_config_builder_free(b);
            return apr_psprintf(p, "%s (at %s)", error_text(p, err), kv->origin);
        }
    }
    for (int i = 0; i < sc->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, i, sesame_provider_def);
        if (sesame_config_add_provider(b, d->name, strlen(d->name), &err) != 0) {
            sesame_config_builder_free(b);
            return apr_psprintf(p, "%s (at %s)", error_text(p, err), d->origin);
        }
        for (int j = 0; j < d->keys->nelts; j++) {
            sesame_kv *kv = &APR_ARRAY_IDX(d->keys, j, sesame_kv);
            if (sesame_config_set_provider(b, d->name, strlen(d->name), kv->key, strlen(kv->key),
                                           kv->value, strlen(kv->value), &err) != 0) {
                sesame_config_builder_free(b);
                return apr_psprintf(p, "%s (at %s)", error_text(p, err), kv->origin);
            }
        }
    }
    /* Opens no socket and starts no thread (include/sesame.h): safe before fork. */
    sc->core = sesame_config_build(b, &err);
    if (!sc->core) {
        const char *msg = error_text(p, err);
        return apr_pstrcat(p, msg, where(p, sc, msg), NULL);
    }
    apr_pool_cleanup_register(p, sc->core, free_core, apr_pool_cleanup_null);

    sc->locations = apr_hash_make(p);
    static const int modes[] = {SESAME_MODE_PROTECT, SESAME_MODE_LOGOUT,
                                SESAME_MODE_LOGOUT_LOCAL};
    for (int i = 0; i < sc->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, i, sesame_provider_def);
        for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
            sesame_location *loc = sesame_location_new(sc->core, modes[m], d->name,
                                                       strlen(d->name), NULL, 0, &err);
            if (!loc) {
                return error_text(p, err);
            }
            apr_pool_cleanup_register(p, loc, free_location, apr_pool_cleanup_null);
            apr_hash_set(sc->locations, location_key(p, modes[m], d->name), APR_HASH_KEY_STRING,
                         loc);
        }
    }
    return NULL;
}

/* Why NAME cannot be used in this server, in the core's words. */
static const char *unknown_provider(apr_pool_t *p, sesame_srv *sc, int mode, const char *name)
{
    sesame_error *err = NULL;
    sesame_location *loc = sesame_location_new(sc->core, mode, name, strlen(name), NULL, 0, &err);
    if (loc) {
        sesame_location_free(loc);
        return apr_psprintf(p, "provider \"%s\" is not available", name);
    }
    return error_text(p, err);
}

static int sesame_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    config_pool = pconf;
    use_refs = apr_array_make(pconf, 8, sizeof(sesame_use_ref));
    return OK;
}

static int sesame_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *main_server)
{
    sesame_srv *main_sc = ap_get_module_config(main_server->module_config, &sesame_module);
    (void)plog;
    for (server_rec *s = main_server; s; s = s->next) {
        sesame_srv *sc = ap_get_module_config(s->module_config, &sesame_module);
        int used = 0;
        for (int i = 0; use_refs && i < use_refs->nelts; i++) {
            used |= APR_ARRAY_IDX(use_refs, i, sesame_use_ref).s == s;
        }
        if (s != main_server && !sc->own) {
            sc->core = main_sc->core;
            sc->locations = main_sc->locations;
            if (!used || sc->core) {
                continue;
            }
        }
        if (!sc->own && !used && s == main_server) {
            continue;
        }
        const char *msg = build_core(pconf, sc);
        if (msg) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "mod_sesame: %s", msg);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    for (int i = 0; use_refs && i < use_refs->nelts; i++) {
        sesame_use_ref *ref = &APR_ARRAY_IDX(use_refs, i, sesame_use_ref);
        sesame_srv *sc = ap_get_module_config(ref->s->module_config, &sesame_module);
        if (!sc->core || !apr_hash_get(sc->locations,
                                       location_key(ptemp, SESAME_MODE_PROTECT, ref->name),
                                       APR_HASH_KEY_STRING)) {
            const char *msg = sc->core ? unknown_provider(ptemp, sc, SESAME_MODE_PROTECT,
                                                          ref->name)
                                       : "no Sesame configuration for this server";
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "mod_sesame: %s (at %s)", msg, ref->origin);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Per child                                                                                   */

static void sesame_log(void *user_data, int level, const char *msg, size_t len)
{
    server_rec *s = user_data;
    int lvl = level == SESAME_LOG_ERROR  ? APLOG_ERR
            : level == SESAME_LOG_WARN   ? APLOG_WARNING
            : level == SESAME_LOG_INFO   ? APLOG_INFO
                                         : APLOG_DEBUG;
    (void)len;
    ap_log_error(APLOG_MARK, lvl, 0, s, "%s", msg);
}

static apr_status_t reset_log_sink(void *data)
{
    (void)data;
    sesame_set_log_sink(NULL, NULL);
    return APR_SUCCESS;
}

static void sesame_child_init(apr_pool_t *pchild, server_rec *s)
{
    /* The core's log lines go to this server's error log from now on. Redis connections and
     * provider exchanges start lazily, in this child, on the first request that needs them. */
    sesame_set_log_sink(sesame_log, s);
    apr_pool_cleanup_register(pchild, NULL, reset_log_sink, apr_pool_cleanup_null);
}

/* ------------------------------------------------------------------------------------------ */
/* Requests                                                                                    */

typedef struct {
    apr_pool_t *p;
    const char *joined;
} cookie_join;

static int join_cookie(void *rec, const char *key, const char *value)
{
    cookie_join *cj = rec;
    (void)key;
    cj->joined = cj->joined ? apr_pstrcat(cj->p, cj->joined, "; ", value, NULL) : value;
    return 1;
}

static sesame_str s_of(const char *text)
{
    sesame_str s;
    s.ptr = text;
    s.len = text ? strlen(text) : 0;
    return s;
}

static apr_status_t free_outcome(void *data)
{
    sesame_outcome_free(data);
    return APR_SUCCESS;
}

/* begin + (inline) job: the outcome lives until the request's pool is destroyed. */
static sesame_outcome *run_core(request_rec *r, sesame_srv *sc, const sesame_location *loc)
{
    cookie_join cj = {r->pool, NULL};
    apr_table_do(join_cookie, &cj, r->headers_in, "Cookie", NULL);
    const char *host = apr_table_get(r->headers_in, "Host");
    sesame_request req;
    req.method = s_of(r->method);
    req.scheme = s_of(ap_http_scheme(r));
    req.host = s_of(host ? host : r->hostname);
    req.uri = s_of(r->unparsed_uri);
    req.cookie = s_of(cj.joined);
    req.client_addr = s_of(r->useragent_ip);

    sesame_outcome *out = NULL;
    sesame_job *job = NULL;
    sesame_error *err = NULL;
    int step = sesame_begin(sc->core, loc, &req, &out, &job, &err);
    if (step < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "sesame: %s", error_text(r->pool, err));
        return NULL;
    }
    if (step == SESAME_STEP_JOB) {
        out = sesame_job_run(job); /* blocking: Redis, HTTPS; this request's own thread */
    }
    if (out) {
        apr_pool_cleanup_register(r->pool, out, free_outcome, apr_pool_cleanup_null);
    }
    return out;
}

static void add_cookies(request_rec *r, sesame_outcome *o)
{
    size_t n = sesame_outcome_cookie_count(o);
    for (size_t i = 0; i < n; i++) {
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      str_dup(r->pool, sesame_outcome_cookie(o, i)));
    }
}

/* A redirect or a page; DECLINED for DECLINE, OK for ALLOW (caller handles identity). */
static int respond(request_rec *r, sesame_outcome *o)
{
    switch (sesame_outcome_kind(o)) {
    case SESAME_DECLINE:
        return DECLINED;
    case SESAME_ALLOW:
        add_cookies(r, o);
        return OK;
    case SESAME_REDIRECT:
        add_cookies(r, o);
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "Location", str_dup(r->pool, sesame_outcome_location(o)));
        return HTTP_SEE_OTHER;
    case SESAME_PAGE: {
        sesame_str body = sesame_outcome_body(o);
        size_t n = sesame_outcome_header_count(o);
        ap_discard_request_body(r);
        add_cookies(r, o);
        for (size_t i = 0; i < n; i++) {
            sesame_str name, value;
            if (sesame_outcome_header(o, i, &name, &value) == 0) {
                apr_table_set(r->err_headers_out, str_dup(r->pool, name), str_dup(r->pool, value));
            }
        }
        r->status = sesame_outcome_status(o);
        ap_set_content_type(r, str_dup(r->pool, sesame_outcome_content_type(o)));
        ap_set_content_length(r, body.len);
        if (body.len > 0) {
            ap_rwrite(body.ptr, (int)body.len, r);
        }
        return DONE;
    }
    default:
        return HTTP_INTERNAL_SERVER_ERROR;
    }
}

static int is_sesame_auth(request_rec *r)
{
    const char *type = ap_auth_type(r);
    return type && !strcasecmp(type, SESAME_AUTH_TYPE);
}

static sesame_rctx *identity_of(request_rec *r)
{
    for (request_rec *q = r; q; q = q->prev ? q->prev : q->main) {
        sesame_rctx *ctx = ap_get_module_config(q->request_config, &sesame_module);
        if (ctx) {
            return ctx;
        }
    }
    return NULL;
}

/* Whatever the location: no client-sent header may pass for Sesame's own. */
static int sesame_post_read_request(request_rec *r)
{
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    if (!sc->core) {
        return DECLINED;
    }
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *drop = NULL;
    for (int i = 0; i < arr->nelts; i++) {
        if (e[i].key && sesame_is_spoofable_header(sc->core, e[i].key, strlen(e[i].key))) {
            if (!drop) {
                drop = apr_array_make(r->pool, 2, sizeof(const char *));
            }
            APR_ARRAY_PUSH(drop, const char *) = e[i].key;
        }
    }
    for (int i = 0; drop && i < drop->nelts; i++) {
        const char *name = APR_ARRAY_IDX(drop, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "sesame: removed request header \"%s\" that only Sesame may set", name);
        apr_table_unset(r->headers_in, name);
    }
    return DECLINED;
}

/* Sesame's own endpoints (callback, logout return) are answered here, wherever they fall and
 * before any access rule: the first hook of the normal request path (answering from
 * post_read_request would end the keep-alive connection after the response). */
static int sesame_translate_name(request_rec *r)
{
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    if (!sc->core || r->main || r->prev) {
        return DECLINED;
    }
    sesame_outcome *o = run_core(r, sc, NULL);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int rc = respond(r, o);
    return rc == OK ? DECLINED : rc;
}

static const sesame_location *find_location(request_rec *r, sesame_srv *sc, int mode,
                                            const char *name)
{
    const sesame_location *loc = sc->locations
        ? apr_hash_get(sc->locations, location_key(r->pool, mode, name), APR_HASH_KEY_STRING)
        : NULL;
    if (!loc) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "sesame: %s (SesameUse/SesameLogout for %s)",
                      sc->core ? unknown_provider(r->pool, sc, mode, name)
                               : "no Sesame configuration for this server (SesameRedis, "
                                 "SesameSecretFile, <SesameProvider>)",
                      r->uri);
    }
    return loc;
}

static const char *remote_user_of(request_rec *r, sesame_outcome *o, int oidc)
{
    size_t n = oidc ? sesame_outcome_oidc_var_count(o) : sesame_outcome_var_count(o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        int rc = oidc ? sesame_outcome_oidc_var(o, i, &name, &value)
                      : sesame_outcome_var(o, i, &name, &value);
        const char *want = oidc ? "REMOTE_USER" : "remote_user";
        if (rc == 0 && name.len == strlen(want) && !memcmp(name.ptr, want, name.len)) {
            return str_dup(r->pool, value);
        }
    }
    return "";
}

static int sesame_check_authn(request_rec *r)
{
    if (!is_sesame_auth(r)) {
        return DECLINED;
    }
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    sesame_dir *dc = ap_get_module_config(r->per_dir_config, &sesame_module);
    if (!dc->use) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "sesame: AuthType Sesame for %s but no SesameUse NAME", r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    const sesame_location *loc = find_location(r, sc, SESAME_MODE_PROTECT, dc->use);
    if (!loc) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int oidc = dc->variables == VARS_OIDC;
    sesame_rctx *earlier = identity_of(r);
    if (earlier && !strcmp(earlier->provider, dc->use)) {
        /* Allowed earlier in this request (internal redirect, subrequest). */
        ap_set_module_config(r->request_config, &sesame_module, earlier);
        r->user = (char *)remote_user_of(r, earlier->outcome, oidc);
        r->ap_auth_type = SESAME_AUTH_TYPE;
        return OK;
    }
    sesame_outcome *o = run_core(r, sc, loc);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int rc = respond(r, o);
    if (rc != OK) {
        return rc == DECLINED ? HTTP_INTERNAL_SERVER_ERROR : rc;
    }
    sesame_rctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->provider = apr_pstrdup(r->pool, dc->use);
    ctx->outcome = o;
    ap_set_module_config(r->request_config, &sesame_module, ctx);
    r->user = (char *)remote_user_of(r, o, oidc);
    r->ap_auth_type = SESAME_AUTH_TYPE;
    return OK;
}

/* AuthType Sesame answers its own failures (redirect or page): nothing to add to a 401. */
static int sesame_note_auth_failure(request_rec *r, const char *auth_type)
{
    (void)r;
    return strcasecmp(auth_type, SESAME_AUTH_TYPE) ? DECLINED : OK;
}

/* SESAME_CLAIM_<NAME>: upper case, every character other than a letter or digit as '_'. */
static const char *env_name(apr_pool_t *p, const char *prefix, sesame_str suffix)
{
    char *name = apr_palloc(p, strlen(prefix) + suffix.len + 1);
    size_t n = strlen(prefix);
    memcpy(name, prefix, n);
    for (size_t i = 0; i < suffix.len; i++) {
        unsigned char c = (unsigned char)suffix.ptr[i];
        name[n + i] = apr_isalnum(c) && c < 128 ? (char)apr_toupper(c) : '_';
    }
    name[n + suffix.len] = '\0';
    return name;
}

/* X-Sesame-Claim-Given-Name: words of letters and digits, capitalised, joined by '-'. */
static const char *header_name(apr_pool_t *p, const char *prefix, sesame_str suffix)
{
    char *name = apr_palloc(p, strlen(prefix) + suffix.len + 1);
    size_t n = strlen(prefix);
    int start = 1;
    memcpy(name, prefix, n);
    for (size_t i = 0; i < suffix.len; i++) {
        unsigned char c = (unsigned char)suffix.ptr[i];
        if (apr_isalnum(c) && c < 128) {
            name[n + i] = (char)(start ? apr_toupper(c) : apr_tolower(c));
            start = 0;
        } else {
            name[n + i] = '-';
            start = 1;
        }
    }
    name[n + suffix.len] = '\0';
    return name;
}

static int has_prefix(sesame_str s, const char *prefix)
{
    size_t n = strlen(prefix);
    return s.len >= n && !memcmp(s.ptr, prefix, n);
}

static void set_identity_env(request_rec *r, sesame_outcome *o)
{
    static const struct {
        const char *var;
        const char *env;
    } plain[] = {{"provider", "SESAME_PROVIDER"}, {"acr", "SESAME_ACR"}, {"user_key", "SESAME_USER"}};
    size_t n = sesame_outcome_var_count(o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        if (sesame_outcome_var(o, i, &name, &value) != 0 || value.len == 0) {
            continue; /* as nginx's if_not_empty: an empty claim is no variable */
        }
        const char *env = NULL;
        if (has_prefix(name, "claim_")) {
            sesame_str suffix = {name.ptr + 6, name.len - 6};
            env = env_name(r->pool, "SESAME_CLAIM_", suffix);
        } else {
            for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++) {
                if (name.len == strlen(plain[k].var) && !memcmp(name.ptr, plain[k].var, name.len)) {
                    env = plain[k].env;
                }
            }
        }
        if (env) {
            apr_table_set(r->subprocess_env, env, str_dup(r->pool, value));
        }
    }
}

static void set_oidc_env(request_rec *r, sesame_outcome *o)
{
    size_t n = sesame_outcome_oidc_var_count(o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        if (sesame_outcome_oidc_var(o, i, &name, &value) != 0 || value.len == 0 ||
            !has_prefix(name, "OIDC_CLAIM_")) {
            continue; /* REMOTE_USER comes from r->user */
        }
        apr_table_set(r->subprocess_env, str_dup(r->pool, name), str_dup(r->pool, value));
    }
}

/* X-Sesame-Provider / -Acr / -User and X-Sesame-Claim-*, percent-encoded (as nginx's
 * sesame_proxy_params). */
static void set_identity_headers(request_rec *r, sesame_outcome *o)
{
    static const struct {
        const char *var;
        const char *header;
    } plain[] = {{"provider", "X-Sesame-Provider"}, {"acr", "X-Sesame-Acr"},
                 {"user_key", "X-Sesame-User"}};
    size_t n = sesame_outcome_var_count(o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        if (sesame_outcome_var(o, i, &name, &value) != 0 || value.len == 0) {
            continue;
        }
        const char *header = NULL;
        if (has_prefix(name, "claim_")) {
            sesame_str suffix = {name.ptr + 6, name.len - 6};
            header = header_name(r->pool, "X-Sesame-Claim-", suffix);
        } else {
            for (size_t k = 0; k < sizeof(plain) / sizeof(plain[0]); k++) {
                if (name.len == strlen(plain[k].var) && !memcmp(name.ptr, plain[k].var, name.len)) {
                    header = plain[k].header;
                }
            }
        }
        if (header) {
            apr_table_set(r->headers_in, header,
                          str_dup(r->pool, sesame_outcome_var_header_value(o, i)));
        }
    }
}

static int sesame_fixups(request_rec *r)
{
    if (!is_sesame_auth(r)) {
        return DECLINED;
    }
    sesame_dir *dc = ap_get_module_config(r->per_dir_config, &sesame_module);
    sesame_rctx *ctx = identity_of(r);
    if (!ctx || !dc->use || strcmp(ctx->provider, dc->use) ||
        sesame_outcome_kind(ctx->outcome) != SESAME_ALLOW) {
        return DECLINED;
    }
    if (dc->variables == VARS_OIDC) {
        set_oidc_env(r, ctx->outcome);
    } else {
        set_identity_env(r, ctx->outcome);
    }
    if (dc->pass_headers == 1) {
        set_identity_headers(r, ctx->outcome);
    }
    return DECLINED;
}

static int sesame_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, SESAME_LOGOUT_HANDLER)) {
        return DECLINED;
    }
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    sesame_dir *dc = ap_get_module_config(r->per_dir_config, &sesame_module);
    if (!dc->logout) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "sesame: SetHandler sesame-logout for %s needs SesameLogout NAME [local]",
                      r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    const sesame_location *loc = find_location(r, sc, dc->logout_mode, dc->logout);
    if (!loc) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sesame_outcome *o = run_core(r, sc, loc);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int rc = respond(r, o);
    return rc == DECLINED || rc == OK ? HTTP_INTERNAL_SERVER_ERROR : rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Require sesame-acr LEVEL / Require sesame-claim NAME VALUE...                               */

static authz_status acr_check(request_rec *r, const char *require_line, const void *parsed)
{
    (void)parsed;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    sesame_rctx *ctx = identity_of(r);
    const char *t = require_line;
    const char *level = ap_getword_conf(r->pool, &t);
    if (!ctx) {
        return AUTHZ_DENIED;
    }
    return sesame_outcome_acr_satisfies(ctx->outcome, level, strlen(level)) ? AUTHZ_GRANTED
                                                                            : AUTHZ_DENIED;
}

static const char *acr_parse(cmd_parms *cmd, const char *require_line, const void **parsed)
{
    const char *t = require_line;
    const char *level = ap_getword_conf(cmd->temp_pool, &t);
    (void)parsed;
    if (!*level || *ap_getword_conf(cmd->temp_pool, &t)) {
        return "Require sesame-acr takes one level, e.g. Require sesame-acr eidas2";
    }
    return NULL;
}

static authz_status claim_check(request_rec *r, const char *require_line, const void *parsed)
{
    (void)parsed;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    sesame_rctx *ctx = identity_of(r);
    if (!ctx) {
        return AUTHZ_DENIED;
    }
    const char *t = require_line;
    const char *name = ap_getword_conf(r->pool, &t);
    while (*t) {
        const char *value = ap_getword_conf(r->pool, &t);
        if (sesame_outcome_claim_matches(ctx->outcome, name, strlen(name), value,
                                         strlen(value))) {
            return AUTHZ_GRANTED;
        }
    }
    return AUTHZ_DENIED;
}

static const char *claim_parse(cmd_parms *cmd, const char *require_line, const void **parsed)
{
    const char *t = require_line;
    (void)parsed;
    if (!*ap_getword_conf(cmd->temp_pool, &t) || !*ap_getword_conf(cmd->temp_pool, &t)) {
        return "Require sesame-claim takes a claim name and one or more values, e.g. "
               "Require sesame-claim email alice@example.fr";
    }
    return NULL;
}

static const authz_provider acr_provider = {acr_check, acr_parse};
static const authz_provider claim_provider = {claim_check, claim_parse};

/* ------------------------------------------------------------------------------------------ */

static void sesame_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(sesame_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(sesame_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(sesame_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(sesame_post_read_request, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_translate_name(sesame_translate_name, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(sesame_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(sesame_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(sesame_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(sesame_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "sesame-acr", AUTHZ_PROVIDER_VERSION,
                              &acr_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "sesame-claim", AUTHZ_PROVIDER_VERSION,
                              &claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

module AP_MODULE_DECLARE_DATA sesame_module = {
    STANDARD20_MODULE_STUFF,
    create_dir,
    merge_dir,
    create_srv,
    merge_srv,
    sesame_cmds,
    sesame_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
