/*
 * `make cost` (bench/cost.py): one protected request served from the session cache through the
 * C ABI, exactly as the Apache module serves it (apache/sesame_request.c): spoofable headers
 * checked, Sesame's cookies stripped, sesame_begin, the outcome's kind, REMOTE_USER found among
 * the variables, every environment variable copied (SESAME_* or the mod_auth_openidc set), the
 * outcome freed with the request.
 *
 * Usage: cost_c_abi ISSUER CA_FILE REDIS_URL WORKDIR CLIENT_ID REDIRECT_URI POST_LOGOUT_URI
 *                   SESSION_COOKIE HITS ROUNDS NATIVE_HITS sesame|oidc
 * WORKDIR holds the `secret` and `client_secret` files bench/cost.py wrote; SESSION_COOKIE is
 * the value of a live session's cookie (a login made by bench_cost with the same secret). The
 * first request reads the session from Redis (a job); the measured ones are cache hits.
 * Prints `RESULT {"ns": <best native ns per request>, "vars": <variables per request>}`.
 * `measured_hits` is the function callgrind counts (--toggle-collect=*measured_*).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sesame.h"

static sesame_str str(const char *s)
{
    sesame_str out = {s, s ? strlen(s) : 0};
    return out;
}

static int fail(const char *what, sesame_error *err)
{
    sesame_str m = err ? sesame_error_message(err) : str("");
    fprintf(stderr, "cost_c_abi: %s: %.*s\n", what, (int)m.len, m.ptr);
    sesame_error_free(err);
    return 1;
}

struct header {
    const char *key;
    char *value;
};

/* Chromium's navigation to a page of the site (as bench/cost.rs sends it). */
static struct header headers[] = {
    {"Host", "127.0.0.1:8443"},
    {"Connection", "keep-alive"},
    {"sec-ch-ua", "\"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\""},
    {"sec-ch-ua-mobile", "?0"},
    {"sec-ch-ua-platform", "\"Linux\""},
    {"Upgrade-Insecure-Requests", "1"},
    {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
    {"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
    {"Sec-Fetch-Site", "same-origin"},
    {"Sec-Fetch-Mode", "navigate"},
    {"Sec-Fetch-User", "?1"},
    {"Sec-Fetch-Dest", "document"},
    {"Referer", "https://127.0.0.1:8443/"},
    {"Accept-Encoding", "gzip, deflate, br, zstd"},
    {"Accept-Language", "fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"},
    {"Cookie", NULL},
};
#define NHEADERS (sizeof(headers) / sizeof(headers[0]))

/* apr_table_get's stand-in: the first header of that name, case-insensitive. */
static const char *header(const char *name)
{
    for (size_t i = 0; i < NHEADERS; i++) {
        if (!strcasecmp(headers[i].key, name)) {
            return headers[i].value;
        }
    }
    return NULL;
}

/* The request pool's stand-in: copies go into one arena, reset per request. */
static char arena[1 << 16];
static size_t arena_used;

static void *pool_copy(const char *p, size_t len)
{
    if (arena_used + len + 1 > sizeof(arena)) {
        arena_used = 0;
    }
    char *out = arena + arena_used;
    memcpy(out, p, len);
    out[len] = '\0';
    arena_used += len + 1;
    return out;
}

static size_t copied;

static void put_env(void *data, sesame_str name, sesame_str value)
{
    (void)data;
    pool_copy(name.ptr, name.len);
    pool_copy(value.ptr, value.len);
    copied++;
}

struct core {
    sesame *s;
    sesame_location *loc;
    int oidc;
};

/* One request; 1 when it was allowed. `allow_job`: run a job if begin hands one (the first
 * request, which reads the session from Redis). */
static int request(const struct core *c, int allow_job)
{
    arena_used = 0;
    /* post_read_request: headers only Sesame may set. */
    int spoofed = 0;
    for (size_t i = 0; i < NHEADERS; i++) {
        spoofed |= sesame_is_spoofable_header(c->s, headers[i].key, strlen(headers[i].key));
    }
    /* The backend never sees Sesame's cookies. */
    const char *cookie = header("Cookie");
    sesame_str cookie_s = str(cookie);
    char *kept = pool_copy(cookie, cookie_s.len);
    size_t kept_len = 0;
    sesame_without_own_cookies(c->s, cookie_s, kept, &kept_len);

    const char *host = header("Host");
    sesame_request req;
    req.method = str("GET");
    req.scheme = str("https");
    req.host = str(host);
    req.uri = str("/app/page.php");
    req.cookie = cookie_s;
    req.client_addr = str("203.0.113.7");
    req.accept = str(header("Accept"));
    req.x_requested_with = str(header("X-Requested-With"));
    req.sec_fetch_mode = str(header("Sec-Fetch-Mode"));
    req.sec_fetch_site = str(header("Sec-Fetch-Site"));
    req.sec_fetch_dest = str(header("Sec-Fetch-Dest"));
    req.origin = str(header("Origin"));
    req.referer = str(header("Referer"));
    req.accept_language = str(header("Accept-Language"));
    req.if_none_match = str(header("If-None-Match"));
    sesame_outcome *out = NULL;
    sesame_job *job = NULL;
    sesame_error *err = NULL;
    int step = sesame_begin(c->s, c->loc, &req, &out, &job, &err);
    if (step < 0) {
        fail("sesame_begin", err);
        return 0;
    }
    if (step == SESAME_STEP_JOB) {
        if (!allow_job) {
            sesame_job_free(job);
            return 0;
        }
        out = sesame_job_run(job);
    }
    int ok = sesame_outcome_kind(out) == SESAME_ALLOW && !spoofed;
    if (ok) {
        /* remote_user_of */
        size_t n = c->oidc ? sesame_outcome_oidc_var_count(out) : sesame_outcome_var_count(out);
        const char *want = c->oidc ? "REMOTE_USER" : "remote_user";
        for (size_t i = 0; i < n; i++) {
            sesame_str name, value;
            int rc = c->oidc ? sesame_outcome_oidc_var(out, i, &name, &value)
                             : sesame_outcome_var(out, i, &name, &value);
            if (rc == 0 && name.len == strlen(want) && !memcmp(name.ptr, want, name.len)) {
                pool_copy(value.ptr, value.len);
                break;
            }
        }
        /* fixups */
        if (c->oidc) {
            sesame_outcome_each_oidc_env(out, put_env, NULL);
        } else {
            sesame_outcome_each_env(out, put_env, NULL);
        }
    }
    sesame_outcome_free(out);
    return ok;
}

size_t measured_hits(const struct core *c, size_t n);

__attribute__((noinline)) size_t measured_hits(const struct core *c, size_t n)
{
    size_t allowed = 0;
    for (size_t i = 0; i < n; i++) {
        allowed += (size_t)request(c, 0);
    }
    return allowed;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 13) {
        fprintf(stderr, "usage: cost_c_abi ISSUER CA_FILE REDIS_URL WORKDIR CLIENT_ID REDIRECT_URI "
                        "POST_LOGOUT_URI SESSION_COOKIE HITS ROUNDS NATIVE_HITS sesame|oidc\n");
        return 2;
    }
    char path[4096];
    sesame_error *err = NULL;
    sesame_config_builder *b = sesame_config_builder_new();
    const char *globals[][2] = {{"redis", argv[3]}, {"secret_file", NULL}, {"session_cache", "10m"}};
    snprintf(path, sizeof(path), "%s/secret", argv[4]);
    globals[1][1] = path;
    for (size_t i = 0; i < 3; i++) {
        if (sesame_config_set_global(b, globals[i][0], strlen(globals[i][0]), globals[i][1],
                                     strlen(globals[i][1]), &err)) {
            return fail(globals[i][0], err);
        }
    }
    if (sesame_config_add_provider(b, "fc", 2, &err)) {
        return fail("add_provider", err);
    }
    char secret[4096];
    snprintf(secret, sizeof(secret), "%s/client_secret", argv[4]);
    const char *provider[][2] = {
        {"preset", "franceconnect-integration"},
        {"issuer", argv[1]},
        {"ca_file", argv[2]},
        {"client_id", argv[5]},
        {"client_secret_file", secret},
        {"redirect_uri", argv[6]},
        {"post_logout_redirect_uri", argv[7]},
        {"scope", "openid given_name family_name birthdate birthplace birthcountry gender email "
                  "preferred_username"},
    };
    for (size_t i = 0; i < sizeof(provider) / sizeof(provider[0]); i++) {
        if (sesame_config_set_provider(b, "fc", 2, provider[i][0], strlen(provider[i][0]),
                                       provider[i][1], strlen(provider[i][1]), &err)) {
            return fail(provider[i][0], err);
        }
    }
    struct core c;
    c.s = sesame_config_build(b, &err);
    if (!c.s) {
        return fail("build", err);
    }
    c.loc = sesame_location_new(c.s, SESAME_MODE_PROTECT, "fc", 2, NULL, 0, &err);
    if (!c.loc) {
        return fail("location", err);
    }
    c.oidc = !strcmp(argv[12], "oidc");
    static char cookie[8192];
    snprintf(cookie, sizeof(cookie),
             "_pk_id.1.1fff=2d5a1b6c7e8f9a0b.1733000000.; PHPSESSID=q0v8n5u2k7h1e4c9b3a6d0f2g5; "
             "__Host-sesame=%s",
             argv[8]);
    headers[NHEADERS - 1].value = cookie;
    size_t hits = strtoul(argv[9], NULL, 10);
    size_t rounds = strtoul(argv[10], NULL, 10);
    size_t native_hits = strtoul(argv[11], NULL, 10);

    if (!request(&c, 1) || !request(&c, 0)) {
        fprintf(stderr, "cost_c_abi: the session was not allowed (from Redis, then the cache)\n");
        return 1;
    }
    size_t per_request = copied / 2;
    if (measured_hits(&c, hits) != hits) {
        fprintf(stderr, "cost_c_abi: some requests were not cache hits\n");
        return 1;
    }
    double best = 1e9;
    for (size_t r = 0; r < rounds; r++) {
        double start = cpu_now();
        if (measured_hits(&c, native_hits) != native_hits) {
            fprintf(stderr, "cost_c_abi: some requests were not cache hits\n");
            return 1;
        }
        double per = (cpu_now() - start) / (double)native_hits;
        best = per < best ? per : best;
    }
    printf("RESULT {\"ns\": %.1f, \"vars\": %zu}\n", best * 1e9, per_request);
    sesame_location_free(c.loc);
    sesame_free(c.s);
    return 0;
}
