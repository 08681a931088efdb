/*
 * mod_sesame: Require sesame-acr LEVEL / Require sesame-claim NAME VALUE..., evaluated by the
 * core on the identity check_authn allowed (acr ordering and claim matching live there).
 */

#include <string.h>

#include "mod_sesame.h"

static authz_status acr_check(request_rec *r, const char *require_line, const void *parsed)
{
    (void)parsed;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    sesame_rctx *ctx = sesame_identity_of(r);
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
