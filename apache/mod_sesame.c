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
 * - post_read_request: spoofable identity headers and Sesame's own cookies are removed (the
 *   core reads the cookies as sent); translate_name (first): Sesame's
 *   own endpoints (callback, logout return) are answered wherever they fall;
 * - check_authn (AuthType Sesame + SesameUse NAME): login required; blocking work runs inline
 *   (Apache gives each request its own thread or process);
 * - fixups: identity into r->subprocess_env (CGI, mod_php, proxy_fcgi) and optionally request
 *   headers for proxied apps;
 * - SesameAcr, SesameRequireClaim, SesamePrompt, Sesame*Hint, SesameUnauthAction,
 *   SesameMaxAuthAge, SesamePassAccessToken: nginx's location options, handed as they are to the core's
 *   Sesame::location (step-up, re-authentication, 403 pages, silent SSO, 401 for scripts,
 *   optional login: the core's);
 * - Require sesame-acr / sesame-claim: rules evaluated by the core;
 * - handlers "sesame-logout" and "sesame-metrics" (the metrics page of the whole server).
 */

#include "mod_sesame.h"

static const command_rec sesame_cmds[] = {
    AP_INIT_TAKE_ARGV("SesameRedis", sesame_set_global, "redis", RSRC_CONF,
                      "redis://host:port/db where sessions live"),
    AP_INIT_TAKE_ARGV("SesameSecretFile", sesame_set_global, "secret_file", RSRC_CONF,
                      "file of at least 32 random bytes (keys, Redis namespace)"),
    AP_INIT_TAKE_ARGV("SesameRedisTimeout", sesame_set_global, "redis_timeout", RSRC_CONF,
                      "Redis connect and command timeout (default 1s)"),
    AP_INIT_TAKE_ARGV("SesameRedisCAFile", sesame_set_global, "redis_ca_file", RSRC_CONF,
                      "CA certificates for rediss:// (default: the system's roots)"),
    AP_INIT_TAKE_ARGV("SesameRedisCertFile", sesame_set_global, "redis_cert_file", RSRC_CONF,
                      "client certificate for rediss:// (tls-auth-clients yes)"),
    AP_INIT_TAKE_ARGV("SesameRedisKeyFile", sesame_set_global, "redis_key_file", RSRC_CONF,
                      "private key of the client certificate"),
    AP_INIT_TAKE_ARGV("SesameProviderConcurrency", sesame_set_global, "provider_concurrency",
                      RSRC_CONF,
                      "provider exchanges in flight per process; beyond, 503 at once (default 8)"),
    AP_INIT_TAKE_ARGV("SesameSupportContact", sesame_set_global, "support_contact", RSRC_CONF,
                      "TEXT: who to contact, shown on Sesame's error pages"),
    /* Opened by the parent (root) when the core is built, at each start and graceful restart. */
    AP_INIT_TAKE_ARGV("SesameAuditLog", sesame_set_global, "audit_log", RSRC_CONF,
                      "PATH: one JSON line per login outcome (the audit trail)"),
    AP_INIT_TAKE_ARGV("SesameSessionCache", sesame_set_global, "session_cache", RSRC_CONF,
                      "how long a process reuses a session read from Redis (default 5s)"),
    AP_INIT_TAKE_ARGV("SesameSessionIdleTimeout", sesame_set_global, "session_idle_timeout",
                      RSRC_CONF, "idle session lifetime (default 30m)"),
    AP_INIT_TAKE_ARGV("SesameSessionLifetime", sesame_set_global, "session_lifetime", RSRC_CONF,
                      "absolute session lifetime (default 12h)"),
    AP_INIT_RAW_ARGS("<SesameProvider", sesame_set_provider_section, NULL, RSRC_CONF,
                     "<SesameProvider NAME> ... </SesameProvider>: an identity provider"),
    AP_INIT_TAKE1("SesameUse", sesame_set_use, NULL, OR_AUTHCFG,
                  "provider whose login AuthType Sesame requires here"),
    AP_INIT_TAKE12("SesameLogout", sesame_set_logout, NULL, OR_AUTHCFG,
                   "NAME [local]: what SetHandler sesame-logout ends"),
    AP_INIT_FLAG("SesamePassHeaders", sesame_set_pass_headers, NULL, OR_AUTHCFG,
                 "On: also send X-Sesame-* request headers (proxied apps)"),
    AP_INIT_TAKE1("SesameVariables", sesame_set_variables, NULL, OR_AUTHCFG,
                  "sesame (default) or mod_auth_openidc"),
    AP_INIT_TAKE_ARGV("SesameAcr", sesame_set_option, "acr", OR_AUTHCFG,
                      "VALUE...: authentication levels this location accepts (step-up otherwise)"),
    AP_INIT_TAKE_ARGV("SesameRequireClaim", sesame_set_option, "require", OR_AUTHCFG,
                      "CLAIM VALUE...: a claim this location requires (403 page otherwise)"),
    AP_INIT_TAKE_ARGV("SesamePrompt", sesame_set_option, "prompt", OR_AUTHCFG,
                      "login (re-authenticate) or none (silent SSO, one interactive fallback)"),
    AP_INIT_TAKE_ARGV("SesameLoginHint", sesame_set_option, "login_hint", OR_AUTHCFG,
                      "EMAIL or $arg_NAME: login_hint sent to the provider"),
    AP_INIT_TAKE_ARGV("SesameIdpHint", sesame_set_option, "idp_hint", OR_AUTHCFG,
                      "IDP_ID or $arg_NAME: idp_hint sent to ProConnect"),
    AP_INIT_TAKE_ARGV("SesameSiretHint", sesame_set_option, "siret_hint", OR_AUTHCFG,
                      "SIRET or $arg_NAME: siret_hint sent to ProConnect"),
    AP_INIT_TAKE_ARGV("SesameUnauthAction", sesame_set_option, "unauth_action", OR_AUTHCFG,
                      "login|401|pass: what a request without session gets (default login)"),
    AP_INIT_TAKE_ARGV("SesameMaxAuthAge", sesame_set_option, "max_auth_age", OR_AUTHCFG,
                      "TIME: re-authenticate (prompt=login) when the login is older"),
    AP_INIT_TAKE_ARGV("SesameLoginPage", sesame_set_option, "login_page", OR_AUTHCFG,
                      "on|off|FILE: a login page with the federation's button instead of the redirect"),
    AP_INIT_TAKE_ARGV("SesameLoginPageTitle", sesame_set_option, "login_page_title", OR_AUTHCFG,
                      "TEXT: the login page's title (default: Connexion)"),
    AP_INIT_TAKE_ARGV("SesameLoginPageEligibility", sesame_set_option, "login_page_eligibility",
                      OR_AUTHCFG, "TEXT: who may log in here, shown above the button"),
    AP_INIT_TAKE_ARGV("SesameLoginPageOwnLogin", sesame_set_option, "login_page_own_login",
                      OR_AUTHCFG, "URL TEXT: the site's own login, offered after the OU separator"),
    AP_INIT_TAKE_ARGV("SesameLoginPageOffer", sesame_set_option, "login_page_offer", OR_AUTHCFG,
                      "PROVIDER PATH: also offer the login of the location at PATH"),
    /* Not in .htaccess: the token opens APIs with the site's own client registration. */
    AP_INIT_TAKE_ARGV("SesamePassAccessToken", sesame_set_option, "pass_access_token", ACCESS_CONF,
                      "on|off: hand the access token to the backend (SESAME_ACCESS_TOKEN)"),
    AP_INIT_TAKE_ARGV("SesameDataRefresh", sesame_set_option, "data_refresh", OR_AUTHCFG,
                      "on|off: ?sesame_data_refresh on this page fetches the provider's data again"),
    {NULL},
};

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

static apr_status_t stop_worker(void *core)
{
    sesame_worker_stop(core);
    return APR_SUCCESS;
}

static void sesame_child_init(apr_pool_t *pchild, server_rec *s)
{
    /* The core's log lines go to this server's error log from now on. Redis connections and
     * provider exchanges start lazily, in this child, on the first request that needs them. */
    sesame_set_log_sink(sesame_log, s);
    apr_pool_cleanup_register(pchild, NULL, reset_log_sink, apr_pool_cleanup_null);
    /* Each core's revocation feed: one thread per core in this child, started after the fork,
     * stopped when the child exits (before the log sink is reset: cleanups run in reverse).
     * Virtual hosts sharing a core start it once (the core ignores a second start). */
    for (server_rec *sv = s; sv; sv = sv->next) {
        sesame_srv *sc = ap_get_module_config(sv->module_config, &sesame_module);
        if (sc && sc->core) {
            sesame_worker_start(sc->core);
            apr_pool_cleanup_register(pchild, sc->core, stop_worker, apr_pool_cleanup_null);
        }
    }
}

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
    ap_hook_insert_error_filter(sesame_insert_error_filter, NULL, NULL, APR_HOOK_MIDDLE);
    sesame_register_page_filter();
    ap_hook_handler(sesame_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "sesame-acr", AUTHZ_PROVIDER_VERSION,
                              &sesame_acr_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "sesame-claim", AUTHZ_PROVIDER_VERSION,
                              &sesame_claim_provider, AP_AUTH_INTERNAL_PER_CONF);
}

module AP_MODULE_DECLARE_DATA sesame_module = {
    STANDARD20_MODULE_STUFF,
    sesame_create_dir,
    sesame_merge_dir,
    sesame_create_srv,
    sesame_merge_srv,
    sesame_cmds,
    sesame_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
