/*
 * mod_sesame: directives and building the core. Every value goes, as written, to the core's
 * configuration builder: syntax at once (a scratch builder, so `apache2 -t` names the line),
 * cross-checks in check_config, in the parent, before `-t` prints "Syntax OK". Building opens
 * no socket and starts no thread, so the children forked afterwards start clean.
 */

#include <string.h>

#include "mod_sesame.h"

static apr_pool_t *config_pool;         /* pconf of the generation being read */
static apr_array_header_t *use_refs;    /* sesame_use_ref */
static apr_array_header_t *opt_refs;    /* opt_ref: sections of the main files with options */

/* A <Location>/<Directory>/server section of the main configuration that writes location
 * options: resolved in check_config when it also names its provider (SesameUse). */
typedef struct {
    server_rec *s;
    sesame_dir *dc;
} opt_ref;

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

/* The core's message with directives spelled as Apache writes them (SesameSecretFile,
 * <SesameProvider fc>: ClientID); frees err. */
const char *sesame_error_text(apr_pool_t *p, sesame_error *err)
{
    sesame_str m = sesame_error_render(err, SESAME_SYNTAX_APACHE);
    const char *text = m.len ? apr_pstrmemdup(p, m.ptr, m.len) : "unknown error";
    sesame_error_free(err);
    return text;
}

/* The core's empty string is {NULL, 0}: test the length, never read the pointer when it is 0. */
const char *sesame_str_dup(apr_pool_t *p, sesame_str s)
{
    return s.len && s.ptr ? apr_pstrmemdup(p, s.ptr, s.len) : "";
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

void *sesame_create_srv(apr_pool_t *p, server_rec *s)
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
void *sesame_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    sesame_srv *base = basev, *add = addv;
    sesame_srv *sc = sesame_create_srv(p, NULL);
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
const char *sesame_set_global(cmd_parms *cmd, void *dummy, int argc, char *const argv[])
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
        return sesame_error_text(cmd->pool, err);
    }
    if (!strcmp(key, "audit_log")) {
        /* A relative path is under ServerRoot, as ErrorLog's. */
        const char *path = ap_server_root_relative(cmd->pool, value);
        if (!path) {
            return apr_psprintf(cmd->pool, "%s: invalid path %s", cmd->cmd->name, value);
        }
        value = path;
    }
    sesame_kv *kv = apr_array_push(sc->globals);
    kv->key = key;
    kv->value = value;
    kv->origin = origin_of(cmd);
    sc->own = 1;
    return NULL;
}

/* The core key of a provider directive as Apache spells it (ClientID -> client_id): the core's
 * directive registry holds the spellings. */
static const char *provider_key(apr_pool_t *p, const char *directive)
{
    sesame_str key = sesame_provider_key(directive, strlen(directive));
    if (key.len) {
        return sesame_str_dup(p, key);
    }
    /* Unknown here: the core decides (it accepts its own key names and lists them when not). */
    char *lower = apr_pstrdup(p, directive);
    ap_str_tolower(lower);
    return lower;
}

/* <SesameProvider NAME> ... </SesameProvider>: the inner lines are provider keys. */
const char *sesame_set_provider_section(cmd_parms *cmd, void *dummy, const char *arg)
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
                                "<SesameProvider %s> is duplicate (each <SesameProvider> "
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
        return sesame_error_text(cmd->pool, err);
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
            return apr_psprintf(cmd->pool, "%s (%s, line %d of %s)", sesame_error_text(cmd->pool, err),
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

void *sesame_create_dir(apr_pool_t *p, char *path)
{
    sesame_dir *dc = apr_pcalloc(p, sizeof(*dc));
    (void)path;
    dc->logout_mode = UNSET;
    dc->pass_headers = UNSET;
    dc->variables = UNSET;
    return dc;
}

/* The option keys of a section for the core, in `buf` when it has room (most sections write
 * a few options), else in the pool. */
static sesame_str *option_keys(apr_pool_t *p, const apr_array_header_t *opts, sesame_str *buf,
                               int room)
{
    int n = opts ? opts->nelts : 0;
    sesame_str *keys = n <= room ? buf : apr_palloc(p, sizeof(*keys) * n);
    for (int i = 0; i < n; i++) {
        const char *key = APR_ARRAY_IDX(opts, i, sesame_kv).key;
        keys[i].ptr = key;
        keys[i].len = strlen(key);
    }
    return keys;
}

static sesame_str provider_str(const char *name)
{
    sesame_str s = {name, name ? strlen(name) : 0};
    return s;
}

/* The child's options over the parent's by the core's nesting rule (sesame_location_merge,
 * the rule of nginx's nested locations): an option the child writes replaces the inherited
 * one, SesameRequireClaim lines accumulate, a child naming another provider with SesameUse
 * starts without the parent's options; options written before any SesameUse go to the
 * section that names one (a .htaccess's options meet a <Location>'s SesameUse, which Apache
 * merges after it). This runs on every request for each section it matches, so it stays
 * cheap rather than cached: a merge without options costs no call, the keys go on the stack,
 * the core answers with indices (no allocation on either side; about 0.5 us for 4 + 2
 * options on the release core) and the result reuses the parent's or the child's array when
 * it is one of them (the usual cases), so only a true mix allocates, once, in the request's
 * pool. */
static void merge_options(apr_pool_t *p, const sesame_dir *base, const sesame_dir *add,
                          sesame_dir *dc)
{
    int n_base = base->opts ? base->opts->nelts : 0, n_add = add->opts ? add->opts->nelts : 0;
    if (n_base == 0 && n_add == 0) {
        dc->opts = NULL;
        return;
    }
    enum { ROOM = 16 };
    sesame_str base_buf[ROOM], add_buf[ROOM];
    size_t pick_buf[2 * ROOM];
    size_t *picks = n_base + n_add <= 2 * ROOM ? pick_buf
                                               : apr_palloc(p, sizeof(*picks) * (n_base + n_add));
    size_t n = 0;
    /* `add` is one section or, in Apache's <Location> walk, the matching sections already
     * merged together (then merged onto the <Directory> and .htaccess result): the rule holds
     * for both, as its provider is the last one they name. */
    int rc = sesame_location_merge(provider_str(base->use),
                                   option_keys(p, base->opts, base_buf, ROOM), (size_t)n_base,
                                   provider_str(add->use),
                                   option_keys(p, add->opts, add_buf, ROOM), (size_t)n_add,
                                   picks, &n);
    if (rc < 0) {
        /* Invalid input (not UTF-8): keep the child's own, as a provider change would. */
        dc->opts = add->opts;
        return;
    }
    int all_base = n == (size_t)n_base, all_add = n == (size_t)n_add;
    for (size_t i = 0; i < n; i++) {
        all_base &= picks[i] == i;
        all_add &= picks[i] == (size_t)n_base + i;
    }
    if (n == 0) {
        dc->opts = NULL;
    } else if (all_base) {
        dc->opts = base->opts;
    } else if (all_add) {
        dc->opts = add->opts;
    } else {
        dc->opts = apr_array_make(p, (int)n, sizeof(sesame_kv));
        for (size_t i = 0; i < n; i++) {
            APR_ARRAY_PUSH(dc->opts, sesame_kv) =
                picks[i] < (size_t)n_base
                    ? APR_ARRAY_IDX(base->opts, picks[i], sesame_kv)
                    : APR_ARRAY_IDX(add->opts, picks[i] - (size_t)n_base, sesame_kv);
        }
    }
}

void *sesame_merge_dir(apr_pool_t *p, void *basev, void *addv)
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
    merge_options(p, base, add, dc);
    return dc;
}

static int in_main_config(cmd_parms *cmd)
{
    /* .htaccess files are read per request, with the request's pool. */
    return config_pool != NULL && cmd->pool == config_pool && use_refs != NULL;
}

const char *sesame_set_use(cmd_parms *cmd, void *dcv, const char *name)
{
    sesame_dir *dc = dcv;
    dc->use = name;
    if (in_main_config(cmd)) {
        sesame_use_ref *ref = apr_array_push(use_refs);
        ref->s = cmd->server;
        ref->name = name;
        ref->origin = origin_of(cmd);
    } else if (dc->opts) {
        /* .htaccess with options written before SesameUse: checked now, as in sesame_set_option. */
        sesame_srv *sc = ap_get_module_config(cmd->server->module_config, &sesame_module);
        sesame_location *loc = NULL;
        const char *msg = sc->core ? sesame_resolve_protect(cmd->pool, sc, name, dc->opts, &loc)
                                   : "no Sesame configuration for this server";
        if (msg) {
            return msg;
        }
        sesame_location_free(loc);
    }
    return NULL;
}

const char *sesame_set_logout(cmd_parms *cmd, void *dcv, const char *name, const char *local)
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

const char *sesame_set_pass_headers(cmd_parms *cmd, void *dcv, int on)
{
    (void)cmd;
    ((sesame_dir *)dcv)->pass_headers = on;
    return NULL;
}

const char *sesame_set_variables(cmd_parms *cmd, void *dcv, const char *style)
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

/* SesameAcr VALUE..., SesameRequireClaim CLAIM VALUE..., SesamePrompt login|none,
 * SesameLoginHint / SesameIdpHint / SesameSiretHint VALUE|$arg_NAME, SesameUnauthAction
 * login|401|pass, SesameMaxAuthAge TIME, SesameLoginPage* (the login page and its blocks): the
 * core's location options (key in cmd->info),
 * validated by the core against the provider's federation. */
const char *sesame_set_option(cmd_parms *cmd, void *dcv, int argc, char *const argv[])
{
    sesame_dir *dc = dcv;
    const char *key = cmd->info;
    /* The registry's arities: acr takes one or more values; require and the login page's
     * offer and own login a first word then more (src/directives/registry.rs). */
    int two_or_more = !strcmp(key, "require") || !strcmp(key, "login_page_offer") ||
                      !strcmp(key, "login_page_own_login");
    int single = strcmp(key, "acr") && !two_or_more;
    if (argc == 0 || (single && argc != 1)) {
        return apr_psprintf(cmd->pool, "%s takes %s", cmd->cmd->name,
                            single ? "exactly one value" : "at least one value");
    }
    if (two_or_more && strcmp(key, "require") && argc < 2) {
        return apr_psprintf(cmd->pool, "%s takes %s", cmd->cmd->name,
                            !strcmp(key, "login_page_offer")
                                ? "a provider then the path of a location it protects, e.g. "
                                  "SesameLoginPageOffer pc /agents/"
                                : "a URL then its text, e.g. SesameLoginPageOwnLogin /compte/ "
                                  "\"Se connecter avec un identifiant\"");
    }
    if (!strcmp(key, "require") && argc < 2) {
        return apr_psprintf(cmd->pool, "%s takes a claim name then its accepted values, e.g. "
                            "%s siret 21750001600019", cmd->cmd->name, cmd->cmd->name);
    }
    if (!dc->opts) {
        dc->opts = apr_array_make(cmd->pool, 4, sizeof(sesame_kv));
        if (in_main_config(cmd)) {
            opt_ref *ref = apr_array_push(opt_refs);
            ref->s = cmd->server;
            ref->dc = dc;
        }
    }
    for (int i = 0; i < dc->opts->nelts; i++) {
        if (strcmp(key, "require") && !strcmp(APR_ARRAY_IDX(dc->opts, i, sesame_kv).key, key)) {
            return apr_psprintf(cmd->pool, "%s is duplicate in this section (write it once)",
                                cmd->cmd->name);
        }
    }
    sesame_kv *kv = apr_array_push(dc->opts);
    kv->key = key;
    kv->value = join_args(cmd->pool, argc, argv);
    kv->origin = apr_psprintf(cmd->pool, "%s at %s", cmd->cmd->name, origin_of(cmd));
    if (!in_main_config(cmd) && dc->use) {
        /* .htaccess, after SesameUse in the same file: the core checks it now, so a value the
         * federation rejects fails as a bad .htaccess line (500 and the reason in the log). */
        sesame_srv *sc = ap_get_module_config(cmd->server->module_config, &sesame_module);
        sesame_location *loc = NULL;
        const char *msg = sc->core ? sesame_resolve_protect(cmd->pool, sc, dc->use, dc->opts, &loc)
                                   : "no Sesame configuration for this server";
        if (msg) {
            return msg;
        }
        sesame_location_free(loc);
    }
    return NULL;
}

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

/* What a core error is about (SESAME_SUBJECT_*): the provider's name and the directive's key,
 * "" when none. Read before the error is freed. */
typedef struct {
    int kind;
    const char *provider;
    const char *key;
} error_subject;

static error_subject subject_of(apr_pool_t *p, const sesame_error *err)
{
    sesame_str provider = {NULL, 0}, key = {NULL, 0};
    error_subject s;
    s.kind = sesame_error_subject(err, &provider, &key);
    s.provider = sesame_str_dup(p, provider);
    s.key = sesame_str_dup(p, key);
    return s;
}

/* " (at file:line)" of the directive a build error is about: the provider key, else its
 * <SesameProvider> section, else the server directive; a directive nobody wrote (a missing
 * one) points at the first provider section. */
static const char *build_error_origin(apr_pool_t *p, sesame_srv *sc, const error_subject *s)
{
    for (int i = 0; s->kind == SESAME_SUBJECT_PROVIDER && i < sc->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, i, sesame_provider_def);
        if (strcmp(d->name, s->provider)) {
            continue;
        }
        for (int j = 0; *s->key && j < d->keys->nelts; j++) {
            sesame_kv *kv = &APR_ARRAY_IDX(d->keys, j, sesame_kv);
            if (!strcmp(kv->key, s->key)) {
                return apr_psprintf(p, " (at %s)", kv->origin);
            }
        }
        return apr_psprintf(p, " (<SesameProvider %s> at %s)", d->name, d->origin);
    }
    for (int i = 0; s->kind == SESAME_SUBJECT_GLOBAL && i < sc->globals->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(sc->globals, i, sesame_kv);
        if (!strcmp(kv->key, s->key)) {
            return apr_psprintf(p, " (at %s)", kv->origin);
        }
    }
    if (sc->providers->nelts > 0) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, 0, sesame_provider_def);
        return apr_psprintf(p, " (for <SesameProvider %s> at %s)", d->name, d->origin);
    }
    return "";
}

const char *sesame_location_key(apr_pool_t *p, int mode, const char *name)
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
    /* The core's run-time log lines then name directives as httpd.conf writes them. */
    sesame_config_builder_set_syntax(b, SESAME_SYNTAX_APACHE);
    for (int i = 0; i < sc->globals->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(sc->globals, i, sesame_kv);
        if (sesame_config_set_global(b, kv->key, strlen(kv->key), kv->value, strlen(kv->value),
                                     &err) != 0) {
            sesame_config_builder_free(b);
            return apr_psprintf(p, "%s (at %s)", sesame_error_text(p, err), kv->origin);
        }
    }
    for (int i = 0; i < sc->providers->nelts; i++) {
        sesame_provider_def *d = &APR_ARRAY_IDX(sc->providers, i, sesame_provider_def);
        if (sesame_config_add_provider(b, d->name, strlen(d->name), &err) != 0) {
            sesame_config_builder_free(b);
            return apr_psprintf(p, "%s (at %s)", sesame_error_text(p, err), d->origin);
        }
        for (int j = 0; j < d->keys->nelts; j++) {
            sesame_kv *kv = &APR_ARRAY_IDX(d->keys, j, sesame_kv);
            if (sesame_config_set_provider(b, d->name, strlen(d->name), kv->key, strlen(kv->key),
                                           kv->value, strlen(kv->value), &err) != 0) {
                sesame_config_builder_free(b);
                return apr_psprintf(p, "%s (at %s)", sesame_error_text(p, err), kv->origin);
            }
        }
    }
    /* Opens no socket and starts no thread (include/sesame.h): safe before fork. */
    sc->core = sesame_config_build(b, &err);
    if (!sc->core) {
        error_subject subject = subject_of(p, err);
        const char *msg = sesame_error_text(p, err);
        return apr_pstrcat(p, msg, build_error_origin(p, sc, &subject), NULL);
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
                return sesame_error_text(p, err);
            }
            apr_pool_cleanup_register(p, loc, free_location, apr_pool_cleanup_null);
            apr_hash_set(sc->locations, sesame_location_key(p, modes[m], d->name), APR_HASH_KEY_STRING,
                         loc);
        }
    }
    return NULL;
}

/* The cache key of a protected location: provider and options as merged for the section. */
const char *sesame_protect_key(apr_pool_t *p, const char *name, const apr_array_header_t *opts)
{
    const char *key = sesame_location_key(p, SESAME_MODE_PROTECT, name);
    for (int i = 0; opts && i < opts->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(opts, i, sesame_kv);
        key = apr_pstrcat(p, key, "\x1f", kv->key, "\x1e", kv->value, NULL);
    }
    return key;
}

/* " (SesameAcr at file:line)" for the option a core error is about, else every option's. */
static const char *option_origin(apr_pool_t *p, const apr_array_header_t *opts,
                                 const error_subject *s)
{
    const char *all = "";
    for (int i = 0; i < opts->nelts; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(opts, i, sesame_kv);
        if (s->kind == SESAME_SUBJECT_LOCATION && !strcmp(kv->key, s->key)) {
            return apr_psprintf(p, " (%s)", kv->origin);
        }
        all = *all ? apr_pstrcat(p, all, ", ", kv->origin, NULL) : kv->origin;
    }
    return apr_psprintf(p, " (%s)", all);
}

/* Resolves SesameUse NAME with its options through the core (Sesame::location): NULL and
 * *out set (to free by the caller) or the core's reason, with the directive's place. */
static const char *resolve(apr_pool_t *p, sesame_srv *sc, int mode, const char *name,
                           const apr_array_header_t *opts, sesame_location **out);

const char *sesame_resolve_protect(apr_pool_t *p, sesame_srv *sc, const char *name,
                                   const apr_array_header_t *opts, sesame_location **out)
{
    return resolve(p, sc, SESAME_MODE_PROTECT, name, opts, out);
}

static const char *resolve(apr_pool_t *p, sesame_srv *sc, int mode, const char *name,
                           const apr_array_header_t *opts, sesame_location **out)
{
    int n = opts ? opts->nelts : 0;
    sesame_option *o = apr_pcalloc(p, sizeof(*o) * (n ? n : 1));
    for (int i = 0; i < n; i++) {
        sesame_kv *kv = &APR_ARRAY_IDX(opts, i, sesame_kv);
        o[i].key.ptr = kv->key;
        o[i].key.len = strlen(kv->key);
        o[i].value.ptr = kv->value;
        o[i].value.len = strlen(kv->value);
    }
    sesame_error *err = NULL;
    *out = sesame_location_new(sc->core, mode, name, strlen(name),
                               n ? o : NULL, (size_t)n, &err);
    if (*out) {
        return NULL;
    }
    error_subject subject = subject_of(p, err);
    const char *msg = sesame_error_text(p, err);
    return n ? apr_pstrcat(p, msg, option_origin(p, opts, &subject), NULL) : msg;
}

/* Why NAME cannot be used in this server, in the core's words. */
const char *sesame_unknown_provider(apr_pool_t *p, sesame_srv *sc, int mode, const char *name)
{
    sesame_error *err = NULL;
    sesame_location *loc = sesame_location_new(sc->core, mode, name, strlen(name), NULL, 0, &err);
    if (loc) {
        sesame_location_free(loc);
        return apr_psprintf(p, "provider \"%s\" is not available", name);
    }
    return sesame_error_text(p, err);
}

int sesame_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    config_pool = pconf;
    use_refs = apr_array_make(pconf, 8, sizeof(sesame_use_ref));
    opt_refs = apr_array_make(pconf, 8, sizeof(opt_ref));
    return OK;
}

/* "www.example.fr (/etc/apache2/sites-enabled/site.conf:12)" */
static const char *server_label(apr_pool_t *p, server_rec *s)
{
    if (!s->is_virtual || !s->defn_name) {
        return "the main server";
    }
    return apr_psprintf(p, "%s (%s:%d)", s->server_hostname ? s->server_hostname : "(no name)",
                        s->defn_name, (int)s->defn_line_number);
}

/* Two servers with their own cores built from one secret share a Redis namespace and keys:
 * only their providers' issuer and client_id keep their sessions apart. Worth a warning at
 * startup and `apache2 -t`, not a refusal (one site on several names may do it on purpose). */
static void warn_shared_secrets(apr_pool_t *ptemp, server_rec *main_server)
{
    for (server_rec *a = main_server; a; a = a->next) {
        sesame_srv *sa = ap_get_module_config(a->module_config, &sesame_module);
        if (!sa->core || (a != main_server && !sa->own)) {
            continue;
        }
        for (server_rec *b = a->next; b; b = b->next) {
            sesame_srv *sb = ap_get_module_config(b->module_config, &sesame_module);
            if (!sb->core || !sb->own || sb->core == sa->core ||
                !sesame_shares_secret(sa->core, sb->core)) {
                continue;
            }
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, NULL,
                         "mod_sesame: %s and virtual host %s use the same secret "
                         "(SesameSecretFile): they share one Redis namespace and one set of "
                         "keys, so a session of one opens the other whenever their providers "
                         "have the same issuer and ClientID; give each virtual host its own "
                         "SesameSecretFile (openssl rand -hex 32 > FILE)",
                         server_label(ptemp, a), server_label(ptemp, b));
        }
    }
}

int sesame_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
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
    warn_shared_secrets(ptemp, main_server);
    for (int i = 0; use_refs && i < use_refs->nelts; i++) {
        sesame_use_ref *ref = &APR_ARRAY_IDX(use_refs, i, sesame_use_ref);
        sesame_srv *sc = ap_get_module_config(ref->s->module_config, &sesame_module);
        if (!sc->core || !apr_hash_get(sc->locations,
                                       sesame_location_key(ptemp, SESAME_MODE_PROTECT, ref->name),
                                       APR_HASH_KEY_STRING)) {
            const char *msg = sc->core ? sesame_unknown_provider(ptemp, sc, SESAME_MODE_PROTECT,
                                                          ref->name)
                                       : "no Sesame configuration for this server";
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL,
                         "mod_sesame: %s (at %s)", msg, ref->origin);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    /* Sections naming their provider and options together: resolved now (a value the
     * federation rejects fails `apache2 -t`) and kept for the requests. Options inherited onto
     * another section's SesameUse are resolved on the first request that merges them. */
    for (int i = 0; opt_refs && i < opt_refs->nelts; i++) {
        opt_ref *ref = &APR_ARRAY_IDX(opt_refs, i, opt_ref);
        sesame_srv *sc = ap_get_module_config(ref->s->module_config, &sesame_module);
        if (!sc->core || (!ref->dc->use && !ref->dc->logout)) {
            continue;
        }
        sesame_location *loc = NULL;
        /* Options next to SesameLogout alone: the core says they only apply to SesameUse. */
        const char *msg = ref->dc->use
            ? sesame_resolve_protect(ptemp, sc, ref->dc->use, ref->dc->opts, &loc)
            : resolve(ptemp, sc, ref->dc->logout_mode, ref->dc->logout, ref->dc->opts, &loc);
        if (!msg && !ref->dc->use) {
            sesame_location_free(loc);
            continue;
        }
        if (msg) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, NULL, "mod_sesame: %s", msg);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        apr_pool_cleanup_register(pconf, loc, free_location, apr_pool_cleanup_null);
        apr_hash_set(sc->locations, sesame_protect_key(pconf, ref->dc->use, ref->dc->opts),
                     APR_HASH_KEY_STRING, loc);
    }
    return OK;
}

