/*
 * mod_sesame: the request path. post_read_request removes spoofable identity headers and
 * Sesame's own cookies;
 * translate_name (first) answers Sesame's own endpoints wherever they fall; check_authn
 * (AuthType Sesame) asks the core and runs its blocking job inline, in the request's own thread
 * or process; fixups exposes the identity to CGI, mod_php, proxy_fcgi and proxied apps; the
 * "sesame-logout" handler ends sessions.
 */

#include <string.h>

#include "mod_sesame.h"

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

/* Pool userdata key of the Cookie header as the client sent it, kept once Sesame's cookies are
 * removed from what the backend sees (pool userdata: no module, script or CGI can read it, unlike
 * r->notes, which PHP's apache_note() reads). */
#define SAVED_COOKIES_KEY "sesame-cookies-as-sent"

/* Every Cookie header joined by "; ", or NULL. */
static const char *joined_cookies(request_rec *r)
{
    cookie_join cj = {r->pool, NULL};
    apr_table_do(join_cookie, &cj, r->headers_in, "Cookie", NULL);
    return cj.joined;
}

/* What the core reads: the Cookie header as sent, Sesame's own cookies included. Internal
 * redirects share the pool; subrequests have a pool of their own, their parents hold it. */
static const char *cookies_as_sent(request_rec *r)
{
    for (request_rec *q = r; q; q = q->prev ? q->prev : q->main) {
        void *saved = NULL;
        if (apr_pool_userdata_get(&saved, SAVED_COOKIES_KEY, q->pool) == APR_SUCCESS && saved) {
            return saved;
        }
    }
    return joined_cookies(r);
}

/* Removes Sesame's own cookies (session, login, logout) from the Cookie header, so that no CGI,
 * mod_php, proxy_fcgi or proxied app, and no co-hosted code, can read a session id it could
 * replay (the core decides; nothing is copied when none is there). */
static void strip_own_cookies(request_rec *r, sesame_srv *sc)
{
    const char *joined = joined_cookies(r);
    if (!joined) {
        return;
    }
    size_t len = strlen(joined), kept_len = 0;
    char *kept = apr_palloc(r->pool, len + 1);
    sesame_str header = s_of(joined);
    int rc = sesame_without_own_cookies(sc->core, header, kept, &kept_len);
    if (rc == 0) {
        return;
    }
    void *saved = NULL;
    if (apr_pool_userdata_get(&saved, SAVED_COOKIES_KEY, r->pool) != APR_SUCCESS || !saved) {
        apr_pool_userdata_setn(joined, SAVED_COOKIES_KEY, NULL, r->pool);
    }
    apr_table_unset(r->headers_in, "Cookie");
    if (rc == 1 && kept_len > 0) {
        kept[kept_len] = '\0';
        apr_table_setn(r->headers_in, "Cookie", kept);
    }
}

/* The request target as the browser sent it: an internal redirect (ErrorDocument,
 * FallbackResource, [PT]) or a subrequest (DirectoryIndex) gives the redirected request its own
 * unparsed_uri, but a login started there must land back on the page the browser asked for. */
static const char *browser_target(request_rec *r)
{
    while (r->prev || r->main) {
        r = r->prev ? r->prev : r->main;
    }
    return r->unparsed_uri;
}

/* One core line about request `user_data` into its server's ErrorLog, at the level of the
 * request's LogLevel (per directory or virtual host). */
static void sesame_request_log(void *user_data, int level, const char *msg, size_t len)
{
    request_rec *r = user_data;
    int lvl = level == SESAME_LOG_ERROR  ? APLOG_ERR
            : level == SESAME_LOG_WARN   ? APLOG_WARNING
            : level == SESAME_LOG_INFO   ? APLOG_INFO
                                         : APLOG_DEBUG;
    (void)len;
    ap_log_rerror(APLOG_MARK, lvl, 0, r, "%s", msg);
}

/* begin (or, for an identity allowed earlier in this request, recheck) + (inline) job: the
 * outcome lives until the request's pool is destroyed. */
static sesame_outcome *run_core(request_rec *r, sesame_srv *sc, const sesame_location *loc,
                                const sesame_outcome *earlier)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    sesame_request req;
    req.method = s_of(r->method);
    req.scheme = s_of(ap_http_scheme(r));
    req.host = s_of(host ? host : r->hostname);
    req.uri = s_of(browser_target(r));
    req.cookie = s_of(cookies_as_sent(r));
    req.client_addr = s_of(r->useragent_ip);
    /* What tells a page navigation from a script's request, and this site from another. */
    req.accept = s_of(apr_table_get(r->headers_in, "Accept"));
    req.x_requested_with = s_of(apr_table_get(r->headers_in, "X-Requested-With"));
    req.sec_fetch_mode = s_of(apr_table_get(r->headers_in, "Sec-Fetch-Mode"));
    req.sec_fetch_site = s_of(apr_table_get(r->headers_in, "Sec-Fetch-Site"));
    req.sec_fetch_dest = s_of(apr_table_get(r->headers_in, "Sec-Fetch-Dest"));
    req.origin = s_of(apr_table_get(r->headers_in, "Origin"));
    req.referer = s_of(apr_table_get(r->headers_in, "Referer"));
    req.accept_language = s_of(apr_table_get(r->headers_in, "Accept-Language"));
    req.if_none_match = s_of(apr_table_get(r->headers_in, "If-None-Match"));

    sesame_outcome *out = NULL;
    sesame_job *job = NULL;
    sesame_error *err = NULL;
    /* The core's lines about this request go to its virtual host's ErrorLog (ap_log_rerror),
     * each call's once the call returns: a job's when it ends. */
    sesame_log_capture_begin();
    int step = earlier ? sesame_recheck(sc->core, loc, earlier, &req, &out, &job, &err)
                       : sesame_begin(sc->core, loc, &req, &out, &job, &err);
    sesame_log_capture_end(sesame_request_log, r);
    if (step < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "sesame: %s", sesame_error_text(r->pool, err));
        return NULL;
    }
    if (step == SESAME_STEP_JOB) {
        sesame_log_capture_begin();
        out = sesame_job_run(job); /* blocking: Redis, HTTPS; this request's own thread */
        sesame_log_capture_end(sesame_request_log, r);
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
                      sesame_str_dup(r->pool, sesame_outcome_cookie(o, i)));
    }
}

/* A subrequest (DirectoryIndex, FallbackResource look their target up with one) cannot answer
 * the browser: mod_dir hands its status to the request that made it. That request then sends
 * this page as its error response (custom response text, content type fixed by the filter
 * below: Apache labels custom texts iso-8859-1). */
static int page_from_subrequest(request_rec *r, sesame_outcome *o)
{
    request_rec *m = r->main;
    sesame_str body = sesame_outcome_body(o);
    size_t n = sesame_outcome_header_count(o);
    int status = sesame_outcome_status(o);
    if (status < 400) {
        /* Must read as a failure to the request that made the subrequest: mod_dir serves the
         * target of a subrequest that answered 200. Sesame's pages are errors; one that is not
         * is a bug, shown as such. */
        status = HTTP_INTERNAL_SERVER_ERROR;
    }
    add_cookies(m, o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        if (sesame_outcome_header(o, i, &name, &value) == 0) {
            apr_table_set(m->err_headers_out, sesame_str_dup(m->pool, name),
                          sesame_str_dup(m->pool, value));
        }
    }
    ap_custom_response(m, status, apr_pstrcat(m->pool, "\"", sesame_str_dup(m->pool, body), NULL));
    apr_table_set(m->notes, SESAME_PAGE_TYPE_NOTE,
                  sesame_str_dup(m->pool, sesame_outcome_content_type(o)));
    return status;
}

static apr_status_t page_type_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    const char *type = apr_table_get(f->r->notes, SESAME_PAGE_TYPE_NOTE);
    if (type) {
        ap_set_content_type(f->r, type);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void sesame_register_page_filter(void)
{
    ap_register_output_filter(SESAME_PAGE_FILTER, page_type_filter, NULL, AP_FTYPE_RESOURCE);
}

/* The error response of a request whose subrequest got one of Sesame's pages. */
void sesame_insert_error_filter(request_rec *r)
{
    if (apr_table_get(r->notes, SESAME_PAGE_TYPE_NOTE)) {
        ap_add_output_filter(SESAME_PAGE_FILTER, NULL, r, r->connection);
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
        apr_table_setn(r->headers_out, "Location", sesame_str_dup(r->pool, sesame_outcome_location(o)));
        return HTTP_SEE_OTHER;
    case SESAME_PAGE: {
        sesame_str body = sesame_outcome_body(o);
        size_t n = sesame_outcome_header_count(o);
        if (r->main) {
            return page_from_subrequest(r, o);
        }
        ap_discard_request_body(r);
        add_cookies(r, o);
        for (size_t i = 0; i < n; i++) {
            sesame_str name, value;
            if (sesame_outcome_header(o, i, &name, &value) == 0) {
                apr_table_set(r->err_headers_out, sesame_str_dup(r->pool, name), sesame_str_dup(r->pool, value));
            }
        }
        r->status = sesame_outcome_status(o);
        ap_set_content_type(r, sesame_str_dup(r->pool, sesame_outcome_content_type(o)));
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

sesame_rctx *sesame_identity_of(request_rec *r)
{
    for (request_rec *q = r; q; q = q->prev ? q->prev : q->main) {
        sesame_rctx *ctx = ap_get_module_config(q->request_config, &sesame_module);
        if (ctx) {
            return ctx;
        }
    }
    return NULL;
}

/* Whatever the location: no client-sent header may pass for Sesame's own, and no backend sees
 * Sesame's cookies. */
int sesame_post_read_request(request_rec *r)
{
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    if (!sc->core) {
        return DECLINED;
    }
    strip_own_cookies(r, sc);
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
int sesame_translate_name(request_rec *r)
{
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    if (!sc->core || r->main || r->prev) {
        return DECLINED;
    }
    sesame_outcome *o = run_core(r, sc, NULL, NULL);
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
        ? apr_hash_get(sc->locations, sesame_location_key(r->pool, mode, name), APR_HASH_KEY_STRING)
        : NULL;
    if (!loc) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "sesame: %s (SesameUse/SesameLogout for %s)",
                      sc->core ? sesame_unknown_provider(r->pool, sc, mode, name)
                               : "no Sesame configuration for this server (SesameRedis, "
                                 "SesameSecretFile, <SesameProvider>)",
                      r->uri);
    }
    return loc;
}

static apr_status_t free_location(void *data)
{
    sesame_location_free(data);
    return APR_SUCCESS;
}

/* SesameUse NAME with this section's merged options: resolved in check_config when one section
 * wrote them all, else (inherited options, .htaccess) resolved by the core for this request;
 * an error is the configuration's (500, the core's reason and the directive's place logged). */
static const sesame_location *find_protect(request_rec *r, sesame_srv *sc, sesame_dir *dc,
                                           const char *key)
{
    const sesame_location *loc = sc->locations
        ? apr_hash_get(sc->locations, key, APR_HASH_KEY_STRING)
        : NULL;
    if (loc || !dc->opts || !sc->core) {
        return loc ? loc : find_location(r, sc, SESAME_MODE_PROTECT, dc->use);
    }
    sesame_location *own = NULL;
    const char *msg = sesame_resolve_protect(r->pool, sc, dc->use, dc->opts, &own);
    if (msg) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "sesame: %s (for %s)", msg, r->uri);
        return NULL;
    }
    apr_pool_cleanup_register(r->pool, own, free_location, apr_pool_cleanup_null);
    return own;
}

static const char *remote_user_of(request_rec *r, sesame_outcome *o, int oidc)
{
    size_t n = oidc ? sesame_outcome_oidc_var_count(o) : sesame_outcome_var_count(o);
    for (size_t i = 0; i < n; i++) {
        sesame_str name, value;
        int rc = oidc ? sesame_outcome_oidc_var(o, i, &name, &value)
                      : sesame_outcome_var(o, i, &name, &value);
        const char *want = oidc ? "REMOTE_USER" : "remote_user";
        if (rc == 0 && name.len == strlen(want) && name.len && !memcmp(name.ptr, want, name.len)) {
            return sesame_str_dup(r->pool, value);
        }
    }
    return "";
}

int sesame_check_authn(request_rec *r)
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
    const char *key = sesame_protect_key(r->pool, dc->use, dc->opts);
    const sesame_location *loc = find_protect(r, sc, dc, key);
    if (!loc) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int oidc = dc->variables == VARS_OIDC;
    sesame_rctx *earlier = sesame_identity_of(r);
    if (earlier && !strcmp(earlier->location, key)) {
        /* Allowed earlier in this request (internal redirect, subrequest). */
        ap_set_module_config(r->request_config, &sesame_module, earlier);
        r->user = (char *)remote_user_of(r, earlier->outcome, oidc);
        r->ap_auth_type = SESAME_AUTH_TYPE;
        return OK;
    }
    /* Another section earlier in this request: its rules judge the identity in hand. */
    sesame_outcome *o = run_core(r, sc, loc, earlier ? earlier->outcome : NULL);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int rc = respond(r, o);
    if (rc == DECLINED) {
        /* SesameUnauthAction pass without a session that satisfies this section: through,
         * without identity (as mod_auth_openidc's OIDCUnAuthAction pass, an empty user so that
         * Require valid-user holds; no context, so no SESAME_* variable and no Require
         * sesame-* match). */
        r->user = "";
        r->ap_auth_type = SESAME_AUTH_TYPE;
        return OK;
    }
    if (rc != OK) {
        return rc;
    }
    sesame_rctx *ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ctx->provider = apr_pstrdup(r->pool, dc->use);
    ctx->location = key;
    ctx->outcome = o;
    ap_set_module_config(r->request_config, &sesame_module, ctx);
    r->user = (char *)remote_user_of(r, o, oidc);
    r->ap_auth_type = SESAME_AUTH_TYPE;
    return OK;
}

/* AuthType Sesame answers its own failures (redirect or page): nothing to add to a 401. */
int sesame_note_auth_failure(request_rec *r, const char *auth_type)
{
    (void)r;
    return strcasecmp(auth_type, SESAME_AUTH_TYPE) ? DECLINED : OK;
}

/* The core names every variable and header (src/backend_names.rs), so that Apache and nginx
 * agree byte for byte; these only copy them into the request pool. Every request of a
 * logged-in user comes through here: one copy of each name and value, handed to the table as
 * it is (apr_table_setn). */
static void put_env(void *data, sesame_str name, sesame_str value)
{
    request_rec *r = data;
    apr_table_setn(r->subprocess_env, sesame_str_dup(r->pool, name), sesame_str_dup(r->pool, value));
}

static void put_header(void *data, sesame_str name, sesame_str value)
{
    request_rec *r = data;
    apr_table_setn(r->headers_in, sesame_str_dup(r->pool, name), sesame_str_dup(r->pool, value));
}

int sesame_fixups(request_rec *r)
{
    if (!is_sesame_auth(r)) {
        return DECLINED;
    }
    sesame_dir *dc = ap_get_module_config(r->per_dir_config, &sesame_module);
    sesame_rctx *ctx = sesame_identity_of(r);
    if (!ctx || !dc->use || strcmp(ctx->provider, dc->use) ||
        sesame_outcome_kind(ctx->outcome) != SESAME_ALLOW) {
        return DECLINED;
    }
    /* REMOTE_USER comes from r->user in both modes. */
    if (dc->variables == VARS_OIDC) {
        sesame_outcome_each_oidc_env(ctx->outcome, put_env, r);
    } else {
        sesame_outcome_each_env(ctx->outcome, put_env, r);
    }
    if (dc->pass_headers == 1) {
        sesame_outcome_each_header(ctx->outcome, put_header, r);
    }
    return DECLINED;
}

/* SetHandler sesame-metrics: the counts of every child of this server, in the Prometheus
 * text format. A handler, so that the section's Require rules guard it like any content. */
static int metrics_handler(request_rec *r)
{
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    if (!sc->core) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "sesame: SetHandler sesame-metrics for %s: this server has no Sesame "
                      "configuration (SesameSecretFile and a <SesameProvider>)", r->uri);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sesame_str method = {r->method, strlen(r->method)};
    sesame_outcome *o = sesame_metrics_page(sc->core, method);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(r->pool, o, free_outcome, apr_pool_cleanup_null);
    int rc = respond(r, o);
    return rc == DONE ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

int sesame_handler(request_rec *r)
{
    if (r->handler && !strcmp(r->handler, SESAME_METRICS_HANDLER)) {
        return metrics_handler(r);
    }
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
    sesame_outcome *o = run_core(r, sc, loc, NULL);
    if (!o) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    int rc = respond(r, o);
    return rc == DECLINED || rc == OK ? HTTP_INTERNAL_SERVER_ERROR : rc;
}

