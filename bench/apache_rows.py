"""Apache rows of `make bench` (row group A).

Apache httpd 2.4, event MPM, one child with 64 threads (like the nginx side's single worker: one
per-process session cache), TLS on the same certificate, serving the same static file:
  - bare (no authentication module),
  - mod_sesame (this repository's Apache module, release build), unprotected and protected,
  - mod_auth_openidc (Debian's libapache2-mod-auth-openidc, the reference), configured like
    Sesame's FranceConnect preset against the same emulator: discovery, code flow,
    client_secret_post, acr_values=eidas1, the same scopes, ES256 id_token and signed (ES256)
    userinfo, the emulator's CA, sessions in the same redis-server (OIDCCacheType redis,
    OIDCSessionType server-cache).
Then complete logins per second and the stall test for both modules.

Skipped with a message when the tree has no Apache module (no apache/Makefile) or the system
lacks apache2 / mod_auth_openidc.
"""

import os
import secrets
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APACHE_BIN = Path(os.environ.get("SESAME_APACHE_BIN") or "/usr/sbin/apache2")
MODULES = Path(os.environ.get("SESAME_APACHE_MODULES") or "/usr/lib/apache2/modules")

PROTECTED_BY_SESAME = """\
Alias "/protected/" "{{PREFIX}}/html/"
<Location /protected/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
</Location>
"""

PROTECTED_BY_OIDC = """\
Alias "/protected/" "{{PREFIX}}/html/"
<Location /protected/>
    AuthType openid-connect
    Require valid-user
</Location>
"""

OIDC_SESSION_COOKIE = "mod_auth_openidc_session"

# One child (one per-process cache, like nginx's single worker) with more threads than wrk has
# connections: the event MPM closes keep-alive connections as soon as every thread is busy
# (AsyncRequestWorkerFactor), which wrk reports as read errors. Keep-alive connections are not
# closed after 100 requests either (Apache's default; nginx's is 1000).
TUNING = ("StartServers 1\nServerLimit 1\nThreadsPerChild 64\nMaxRequestWorkers 64\n"
          "MinSpareThreads 1\nMaxSpareThreads 64\nMaxKeepAliveRequests 0\n")


def skip(bench, why):
    msg = f"Apache rows skipped: {why}"
    print(msg, flush=True)
    bench.notes.append(msg)


def release_module(bench):
    """apache/.build/release/mod_sesame.so, built against the release core (make -C apache)."""
    out = subprocess.run(
        ["make", "-s", "-C", str(REPO / "apache"), "PROFILE=release",
         f"CARGO_TARGET_DIR={os.environ.get('CARGO_TARGET_DIR') or REPO / 'target'}"],
        capture_output=True, text=True, timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(f"make -C apache PROFILE=release failed:\n{out.stdout}\n{out.stderr}")
    so = REPO / "apache" / ".build" / "release" / "mod_sesame.so"
    copy = bench.workdir / "bin" / "mod_sesame.so"
    shutil.copy2(so, copy)
    return copy


def oidc_directives(site, client, bench):
    passphrase = secrets.token_hex(32)
    return f"""\
OIDCProviderMetadataURL {bench.emulator.issuer}/.well-known/openid-configuration
OIDCClientID {client["client_id"]}
OIDCClientSecret {client["client_secret"]}
OIDCRedirectURI {site.base}/protected/redirect_uri
OIDCCryptoPassphrase {passphrase}
OIDCScope "openid given_name family_name birthdate birthplace birthcountry gender email"
OIDCAuthRequestParams acr_values=eidas1
OIDCIDTokenSignedResponseAlg ES256
OIDCUserInfoSignedResponseAlg ES256
OIDCProviderTokenEndpointAuth client_secret_post
OIDCSSLValidateServer On
OIDCCABundlePath {site.prefix}/oidc/ca.pem
OIDCHTTPTimeoutLong 10
OIDCHTTPTimeoutShort 10
OIDCCacheType redis
OIDCRedisCacheServer 127.0.0.1:{bench.redis.port}
OIDCSessionType server-cache
"""


def run(bench):
    if not (REPO / "apache" / "Makefile").is_file():
        return skip(bench, "no apache/ in this tree (mod_sesame is not part of this checkout)")
    if not APACHE_BIN.exists():
        return skip(bench, f"{APACHE_BIN} not installed (apt-get install apache2)")
    try:
        from e2e_rig import apache
    except ImportError:
        return skip(bench, "the e2e rig has no Apache support (tests/e2e/e2e_rig/apache.py)")

    from measure import STATIC_BODY
    os.environ["SESAME_APACHE_MODULE"] = str(release_module(bench))
    env, k = bench.env, bench.key

    def site(**kw):
        s = apache.ApacheSite(env, mpm="event", php="fpm", single_process=True, **kw)
        s.files["html/static.html"] = STATIC_BODY
        return s

    def start(s):
        """ApacheSite.start() with the bench's MPM tuning instead of the rig's."""
        conf = s.render()
        if apache.SINGLE_PROCESS not in conf:
            raise RuntimeError("the Apache rig's MPM settings changed: update bench/apache_rows.py")
        conf = s.prepare(conf.replace(apache.SINGLE_PROCESS, TUNING))
        s.register_clients()
        return bench._keep(apache.Apache(s, conf))

    print("A: Apache (event MPM)", flush=True)
    bare = start(site(sesame=False, locations=""))
    sesame_site = site(locations=PROTECTED_BY_SESAME)
    sesame_site.providers["fc"]["http_timeout"] = "10s"
    sesame = start(sesame_site)
    cookie = bench.login_cookie(sesame)
    # Measured in alternation (see Bench.measure_interleaved): the ratios compare like with like.
    k.update(bench.measure_interleaved([
        ("apache_bare", "Apache bare: static", bare, "/static.html", None, None),
        ("apache_unprot", "Apache+mod_sesame: static, unprotected", sesame, "/static.html",
         None, "apache_bare"),
        ("apache_prot", "Apache+mod_sesame: static, protected", sesame,
         "/protected/static.html", cookie, "apache_bare"),
    ], "static"))
    base = k["apache_bare"]

    oidc = None
    if not (MODULES / "mod_auth_openidc.so").is_file():
        skip(bench, "mod_auth_openidc rows: libapache2-mod-auth-openidc not installed")
    else:
        oidc_site = site(sesame=False, locations=PROTECTED_BY_OIDC)
        oidc_site.extra_modules.append(("auth_openidc_module", "mod_auth_openidc.so"))
        client = apache.new_client(oidc_site.base)
        client["redirect_uris"] = [f"{oidc_site.base}/protected/redirect_uri"]
        oidc_site.files["oidc/ca.pem"] = Path(env.pki.ca).read_text()
        oidc_site.extra = oidc_directives(oidc_site, client, bench)
        env.emulator.add_client(client)
        oidc = start(oidc_site)
        oidc_cookie = bench.login_cookie(oidc, name=OIDC_SESSION_COOKIE)
        k["oidc_unprot"] = bench.measure("Apache+mod_auth_openidc: static, unprotected", oidc,
                                         "/static.html", "static", base=base)
        k["oidc_prot"] = bench.measure("Apache+mod_auth_openidc: static, protected", oidc,
                                       "/protected/static.html", "static", cookie=oidc_cookie,
                                       base=base)

    if "d" in bench.args.rows:
        k["apache_login"] = bench.row_logins(sesame, "Apache+mod_sesame: complete logins")
        if oidc is not None:
            k["oidc_login"] = bench.row_logins(oidc, "Apache+mod_auth_openidc: complete logins")
    if "e" in bench.args.rows:
        k["apache_stall"] = bench.row_stall(sesame, "Apache+mod_sesame: unprotected static")
        if oidc is not None:
            k["oidc_stall"] = bench.row_stall(oidc, "Apache+mod_auth_openidc: unprotected static",
                                              session_cookie=OIDC_SESSION_COOKIE)
