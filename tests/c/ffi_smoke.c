/*
 * C ABI smoke test: configuration errors come back as values with messages, and one request
 * without a cookie goes begin -> job -> run -> a 303 to the provider's authorize endpoint.
 *
 * Usage: ffi_smoke ISSUER CA_FILE REDIS_URL WORKDIR
 *   ISSUER    e.g. https://127.0.0.1:8443/api/v2 (the emulator)
 *   CA_FILE   PEM bundle trusted for the issuer
 *   REDIS_URL e.g. redis://127.0.0.1:6379/0 (not contacted on this path)
 *   WORKDIR   writable directory for the secret files
 *
 * Run under valgrind by the e2e suite; every handle is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sesame.h"

static int failures = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "ffi_smoke: FAIL %s:%d: ", __FILE__, __LINE__);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static sesame_str str(const char *s) {
    sesame_str out = {s, strlen(s)};
    return out;
}

/* Does the error message contain `needle`? Frees the error. */
static int error_contains(sesame_error *err, const char *needle) {
    if (err == NULL) {
        return 0;
    }
    sesame_str m = sesame_error_message(err);
    char *copy = malloc(m.len + 1);
    if (copy == NULL) {
        sesame_error_free(err);
        return 0;
    }
    memcpy(copy, m.ptr, m.len);
    copy[m.len] = '\0';
    int found = strstr(copy, needle) != NULL;
    if (!found) {
        fprintf(stderr, "ffi_smoke: unexpected error message: %s\n", copy);
    }
    free(copy);
    sesame_error_free(err);
    return found;
}

static int set_global(sesame_config_builder *b, const char *key, const char *value) {
    sesame_error *err = NULL;
    int rc = sesame_config_set_global(b, key, strlen(key), value, strlen(value), &err);
    if (rc != 0) {
        sesame_str m = sesame_error_message(err);
        fprintf(stderr, "ffi_smoke: sesame_%s: %.*s\n", key, (int)m.len, m.ptr);
        sesame_error_free(err);
    }
    return rc;
}

static int set_provider(sesame_config_builder *b, const char *key, const char *value) {
    sesame_error *err = NULL;
    int rc = sesame_config_set_provider(b, "fc", 2, key, strlen(key), value, strlen(value), &err);
    if (rc != 0) {
        sesame_str m = sesame_error_message(err);
        fprintf(stderr, "ffi_smoke: %s: %.*s\n", key, (int)m.len, m.ptr);
        sesame_error_free(err);
    }
    return rc;
}

static int write_file(const char *path, const char *content) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    fputs(content, f);
    return fclose(f);
}

static void log_to_stderr(void *user_data, int level, const char *msg, size_t len) {
    (void)user_data;
    fprintf(stderr, "ffi_smoke log[%d]: %.*s\n", level, (int)len, msg);
}

/* A builder with everything but (optionally) the client_id. */
static sesame_config_builder *builder(const char *issuer, const char *ca_file,
                                      const char *redis, const char *secret,
                                      const char *client_secret, int with_client_id) {
    sesame_config_builder *b = sesame_config_builder_new();
    if (b == NULL) {
        return NULL;
    }
    int rc = set_global(b, "redis", redis) | set_global(b, "secret_file", secret);
    sesame_error *err = NULL;
    if (sesame_config_add_provider(b, "fc", 2, &err) != 0) {
        sesame_error_free(err);
        rc = -1;
    }
    rc |= set_provider(b, "preset", "franceconnect-integration");
    rc |= set_provider(b, "issuer", issuer);
    rc |= set_provider(b, "ca_file", ca_file);
    rc |= set_provider(b, "client_secret_file", client_secret);
    rc |= set_provider(b, "redirect_uri", "https://localhost/sesame/callback");
    rc |= set_provider(b, "post_logout_redirect_uri", "https://localhost/sesame/logged-out");
    /* Under valgrind on a busy machine the discovery exchange alone can take seconds: the
     * smoke test checks memory, not the default timeout. */
    rc |= set_provider(b, "http_timeout", "60s");
    if (with_client_id) {
        rc |= set_provider(b, "client_id", "ffi-smoke-client");
    }
    if (rc != 0) {
        sesame_config_builder_free(b);
        return NULL;
    }
    return b;
}

/* sesame_pair_fn: counts the pairs it is given. */
static void count_pair(void *data, sesame_str name, sesame_str value)
{
    (void)name;
    (void)value;
    ++*(size_t *)data;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ISSUER CA_FILE REDIS_URL WORKDIR\n", argv[0]);
        return 2;
    }
    const char *issuer = argv[1], *ca_file = argv[2], *redis = argv[3], *workdir = argv[4];
    char secret[4096], client_secret[4096];
    snprintf(secret, sizeof secret, "%s/ffi_smoke.secret", workdir);
    snprintf(client_secret, sizeof client_secret, "%s/ffi_smoke.client_secret", workdir);
    if (write_file(secret, "ffi-smoke-secret-0123456789abcdef0123456789\n") != 0 ||
        write_file(client_secret, "ffi-smoke-client-secret\n") != 0) {
        return 2;
    }
    sesame_set_log_sink(log_to_stderr, NULL);

    /* 1. Errors are values with messages. */
    sesame_error *err = NULL;
    sesame_config_builder *bad = sesame_config_builder_new();
    CHECK(sesame_config_set_global(bad, "bogus", 5, "1", 1, &err) == -1, "unknown directive accepted");
    CHECK(error_contains(err, "unknown directive \"sesame_bogus\""), "unknown directive message");
    err = NULL;
    CHECK(sesame_config_set_global(bad, NULL, 3, "1", 1, &err) == -1, "NULL key accepted");
    CHECK(error_contains(err, "NULL pointer"), "NULL key message");
    sesame_config_builder_free(bad);

    sesame_config_builder *no_id = builder(issuer, ca_file, redis, secret, client_secret, 0);
    CHECK(no_id != NULL, "builder without client_id");
    err = NULL;
    sesame *broken = sesame_config_build(no_id, &err); /* consumes no_id */
    CHECK(broken == NULL, "configuration without client_id was accepted");
    CHECK(error_contains(err, "sesame_provider \"fc\": client_id is missing"),
          "missing client_id message");
    sesame_free(broken);

    /* 2. A request without a cookie is sent to the provider's authorize endpoint. */
    sesame_config_builder *b = builder(issuer, ca_file, redis, secret, client_secret, 1);
    CHECK(b != NULL, "builder");
    err = NULL;
    sesame *s = b ? sesame_config_build(b, &err) : NULL;
    if (s == NULL) {
        sesame_str m = sesame_error_message(err);
        fprintf(stderr, "ffi_smoke: build failed: %.*s\n", (int)m.len, m.ptr);
        sesame_error_free(err);
        return 1;
    }
    err = NULL;
    sesame_location *loc = sesame_location_new(s, SESAME_MODE_PROTECT, "fc", 2, NULL, 0, &err);
    CHECK(loc != NULL, "protected location");
    sesame_error_free(err);
    err = NULL;
    sesame_location *unknown = sesame_location_new(s, SESAME_MODE_PROTECT, "nope", 4, NULL, 0, &err);
    CHECK(unknown == NULL, "location with an unknown provider accepted");
    CHECK(error_contains(err, "no sesame_provider named \"nope\""), "unknown provider message");

    sesame_request req = {
        .method = str("GET"),
        .scheme = str("https"),
        .host = str("localhost"),
        .uri = str("/private/index.php?x=1"),
        .cookie = {NULL, 0},
        .client_addr = str("127.0.0.1"),
    };
    sesame_outcome *out = NULL;
    sesame_job *job = NULL;
    err = NULL;
    int step = sesame_begin(s, loc, &req, &out, &job, &err);
    CHECK(step == SESAME_STEP_JOB, "begin: expected a job (discovery not yet cached), got %d", step);
    sesame_error_free(err);
    if (step == SESAME_STEP_JOB) {
        out = sesame_job_run(job);
    }
    CHECK(out != NULL, "no outcome");
    CHECK(sesame_outcome_kind(out) == SESAME_REDIRECT, "expected REDIRECT, got kind %d status %d",
          sesame_outcome_kind(out), sesame_outcome_status(out));
    if (sesame_outcome_kind(out) == SESAME_PAGE) {
        sesame_str body = sesame_outcome_body(out);
        fprintf(stderr, "ffi_smoke: page: %.*s\n", (int)body.len, body.ptr);
    }
    CHECK(sesame_outcome_status(out) == 303, "status %d", sesame_outcome_status(out));
    char expected[4096];
    snprintf(expected, sizeof expected, "%s/authorize?", issuer);
    sesame_str location = sesame_outcome_location(out);
    CHECK(location.len >= strlen(expected) && memcmp(location.ptr, expected, strlen(expected)) == 0,
          "location %.*s does not start with %s", (int)location.len,
          location.ptr ? location.ptr : "", expected);
    CHECK(sesame_outcome_cookie_count(out) == 1, "cookie count %zu", sesame_outcome_cookie_count(out));
    sesame_str cookie = sesame_outcome_cookie(out, 0);
    CHECK(cookie.len > 21 && memcmp(cookie.ptr, "__Host-sesame-login=", 20) == 0, "login cookie");
    sesame_outcome_free(out);

    /* 3. Now that metadata is cached, the same request is answered without a job. */
    out = NULL;
    job = NULL;
    step = sesame_begin(s, loc, &req, &out, &job, NULL);
    CHECK(step == SESAME_STEP_DONE && sesame_outcome_kind(out) == SESAME_REDIRECT,
          "second begin: step %d kind %d", step, sesame_outcome_kind(out));

    /* 4. sesame_recheck needs an ALLOW outcome of this request and a location. */
    sesame_outcome *again = NULL;
    sesame_job *again_job = NULL;
    err = NULL;
    step = sesame_recheck(s, loc, out, &req, &again, &again_job, &err);
    CHECK(step == -1 && again == NULL && again_job == NULL, "recheck of a redirect: step %d", step);
    CHECK(error_contains(err, "earlier is not an ALLOW outcome"), "recheck message");
    err = NULL;
    step = sesame_recheck(s, NULL, out, &req, &again, &again_job, &err);
    CHECK(step == -1 && error_contains(err, "location is NULL"), "recheck without location");
    sesame_outcome_free(out);
    sesame_job_free(job);

    CHECK(sesame_is_spoofable_header(s, "X-Sesame-Claim-Sub", 18) == 1, "spoofable header");
    CHECK(sesame_is_spoofable_header(s, "OIDC_CLAIM_sub", 14) == 1, "mod_auth_openidc look-alike");

    /* 4. The empty string is {NULL, 0} both ways. In: every request field empty but the ones a
     * redirect needs; out: what a redirect does not have. */
    size_t pairs = 0;
    sesame_request bare = req;
    bare.cookie = (sesame_str){NULL, 0};
    bare.client_addr = (sesame_str){NULL, 0};
    out = NULL;
    job = NULL;
    step = sesame_begin(s, loc, &bare, &out, &job, NULL);
    CHECK(step == SESAME_STEP_DONE && sesame_outcome_kind(out) == SESAME_REDIRECT,
          "begin with {NULL, 0} fields: step %d kind %d", step, sesame_outcome_kind(out));
    /* A redirect has no identity: no variable or header, the callback never called. */
    CHECK(sesame_outcome_each_env(out, count_pair, &pairs) == 0 && pairs == 0, "env of a redirect");
    CHECK(sesame_outcome_each_header(out, count_pair, &pairs) == 0 && pairs == 0,
          "headers of a redirect");
    CHECK(sesame_outcome_each_oidc_env(NULL, count_pair, &pairs) == 0 && pairs == 0, "NULL outcome");
    sesame_str none = sesame_outcome_body(out);
    CHECK(none.ptr == NULL && none.len == 0, "empty body is not {NULL, 0}: %p %zu",
          (const void *)none.ptr, none.len);
    none = sesame_outcome_cookie(out, 99);
    CHECK(none.ptr == NULL && none.len == 0, "missing cookie is not {NULL, 0}");
    sesame_outcome_free(out);
    sesame_job_free(job);
    none = sesame_error_message(NULL);
    CHECK(none.ptr == NULL && none.len == 0, "no error message is not {NULL, 0}");
    CHECK(sesame_is_spoofable_header(s, NULL, 0) == 0, "{NULL, 0} header name");
    size_t kept_len = 1;
    CHECK(sesame_without_own_cookies(s, (sesame_str){NULL, 0}, NULL, &kept_len) == 0,
          "{NULL, 0} cookie header");

    /* 5. Sesame's cookies leave the Cookie header; the application's stay. */
    const char *header = "app=1; __Host-sesame=id.tag; theme=dark";
    char kept[64];
    CHECK(sesame_without_own_cookies(s, str(header), kept, &kept_len) == 1 &&
              kept_len == strlen("app=1; theme=dark") && !memcmp(kept, "app=1; theme=dark", kept_len),
          "cookie header without Sesame's: %.*s", (int)kept_len, kept);
    CHECK(sesame_without_own_cookies(s, str("app=1"), kept, &kept_len) == 0, "unchanged header");

    sesame_location_free(loc);
    sesame_free(s);
    sesame_set_log_sink(NULL, NULL);
    remove(secret);
    remove(client_secret);
    if (failures) {
        fprintf(stderr, "ffi_smoke: %d check(s) failed\n", failures);
        return 1;
    }
    printf("ffi_smoke: OK\n");
    return 0;
}
