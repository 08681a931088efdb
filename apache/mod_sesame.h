/*
 * mod_sesame: declarations shared by the module's files (internal; only sesame_module is
 * exported from mod_sesame.so).
 *   mod_sesame.c      command table, hooks, module record, per-child log sink
 *   sesame_config.c   directives, configuration records, building the core (check_config)
 *   sesame_request.c  request hooks: endpoints, authentication, variables, logout handler
 *   sesame_authz.c    Require sesame-acr / sesame-claim
 */
#ifndef MOD_SESAME_H
#define MOD_SESAME_H

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

extern module AP_MODULE_DECLARE_DATA sesame_module;

APLOG_USE_MODULE(sesame);

#pragma GCC visibility push(hidden)

#define SESAME_AUTH_TYPE "Sesame"
#define SESAME_LOGOUT_HANDLER "sesame-logout"
#define SESAME_METRICS_HANDLER "sesame-metrics"

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
    /* SesameAcr, SesameRequireClaim, SesamePrompt, Sesame*Hint: the core's location options
     * (sesame_kv, key as nginx's sesame_KEY without the prefix); NULL when none. */
    apr_array_header_t *opts;
} sesame_dir;

/* What check_authn allowed, for fixups and Require providers of this request. */
typedef struct {
    const char *provider;
    const char *location; /* sesame_protect_key of the location that allowed it */
    sesame_outcome *outcome;
} sesame_rctx;

/* SesameUse lines of the main configuration files, checked in check_config. */
typedef struct {
    server_rec *s;
    const char *name;
    const char *origin;
} sesame_use_ref;

/* sesame_config.c */
const char *sesame_error_text(apr_pool_t *p, sesame_error *err);
const char *sesame_str_dup(apr_pool_t *p, sesame_str s);
const char *sesame_location_key(apr_pool_t *p, int mode, const char *name);
const char *sesame_unknown_provider(apr_pool_t *p, sesame_srv *sc, int mode, const char *name);
const char *sesame_protect_key(apr_pool_t *p, const char *name, const apr_array_header_t *opts);
const char *sesame_resolve_protect(apr_pool_t *p, sesame_srv *sc, const char *name,
                                   const apr_array_header_t *opts, sesame_location **out);
void *sesame_create_srv(apr_pool_t *p, server_rec *s);
void *sesame_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *sesame_create_dir(apr_pool_t *p, char *path);
void *sesame_merge_dir(apr_pool_t *p, void *basev, void *addv);
const char *sesame_set_global(cmd_parms *cmd, void *dummy, int argc, char *const argv[]);
const char *sesame_set_provider_section(cmd_parms *cmd, void *dummy, const char *arg);
const char *sesame_set_use(cmd_parms *cmd, void *dcv, const char *name);
const char *sesame_set_logout(cmd_parms *cmd, void *dcv, const char *name, const char *local);
const char *sesame_set_pass_headers(cmd_parms *cmd, void *dcv, int on);
const char *sesame_set_variables(cmd_parms *cmd, void *dcv, const char *style);
const char *sesame_set_option(cmd_parms *cmd, void *dcv, int argc, char *const argv[]);
int sesame_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp);
int sesame_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s);

/* sesame_request.c */
int sesame_post_read_request(request_rec *r);
int sesame_translate_name(request_rec *r);
int sesame_check_authn(request_rec *r);
int sesame_note_auth_failure(request_rec *r, const char *auth_type);
int sesame_fixups(request_rec *r);
/* Sesame's page as the error response of a request whose subrequest got it. */
#define SESAME_PAGE_FILTER "SESAME_PAGE_TYPE"
#define SESAME_PAGE_TYPE_NOTE "sesame-page-content-type"
void sesame_register_page_filter(void);
void sesame_insert_error_filter(request_rec *r);
int sesame_handler(request_rec *r);
sesame_rctx *sesame_identity_of(request_rec *r);

/* sesame_authz.c */
extern const authz_provider sesame_acr_provider;
extern const authz_provider sesame_claim_provider;

#pragma GCC visibility pop

#endif /* MOD_SESAME_H */
