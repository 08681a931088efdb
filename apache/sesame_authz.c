/*
 * mod_sesame: Require sesame-acr LEVEL / Require sesame-claim NAME VALUE..., evaluated by the
 * core on the identity check_authn allowed (acr ordering and claim matching live there).
 */

#include <string.h>

#include "apr_strings.h"

#include "mod_sesame.h"

/* Require sesame-acr LEVEL...: the provider's federation rules (FranceConnect levels ordered,
 * ProConnect a set of accepted values), applied by the core. */
static authz_status acr_check(request_rec *r, const char *require_line, const void *parsed)
{
    (void)parsed;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    sesame_srv *sc = ap_get_module_config(r->server->module_config, &sesame_module);
    sesame_rctx *ctx = sesame_identity_of(r);
    const char *t = require_line;
    const char *levels = "";
    while (*t) {
        const char *w = ap_getword_conf(r->pool, &t);
        if (*w) {
            levels = *levels ? apr_pstrcat(r->pool, levels, " ", w, NULL) : w;
        }
    }
    if (!ctx) {
        return AUTHZ_DENIED;
    }
    return sesame_outcome_acr_satisfies(sc->core, ctx->outcome, levels, strlen(levels))
               ? AUTHZ_GRANTED
               : AUTHZ_DENIED;
}

static const char *acr_parse(cmd_parms *cmd, const char *require_line, const void **parsed)
{
    const char *t = require_line;
    (void)parsed;
    if (!*ap_getword_conf(cmd->temp_pool, &t)) {
        return "Require sesame-acr takes one or more levels, e.g. Require sesame-acr eidas2";
    }
    return NULL;
}

static authz_status claim_check(request_rec *r, const char *require_line, const void *parsed)
{
    (void)parsed;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    sesame_rctx *ctx = sesame_identity_of(r);
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

const authz_provider sesame_acr_provider = {acr_check, acr_parse};
const authz_provider sesame_claim_provider = {claim_check, claim_parse};
