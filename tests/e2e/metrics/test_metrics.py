"""The Prometheus metrics page (`sesame_metrics;`, Apache `SetHandler sesame-metrics`): each
family provoked through the real server and read back from the exposition, the counts of every
nginx worker / Apache child together, access left to the operator, and no claim or request
value ever in a label. A FranceConnect and a ProConnect provider on one site, nginx with two
workers, Apache with two children."""

import threading
import time

import pytest
import requests

from e2e_rig.browser import Browser
from e2e_rig.checks import php_server
from e2e_rig.exposition import Exposition
from e2e_rig.procs import free_port
from e2e_rig.proconnect import (  # noqa: F401 (fixtures)
    APACHE_PC_LOCATIONS, PC_LOCATIONS, _pc_emulator_back_to_normal, make_pc_site, pc_emulator,
    start_pc_site)

NGINX_METRICS = """\
        location = /metrics {
            sesame_metrics;
            add_header X-Worker-Pid $pid always;
            allow 127.0.0.1;
            deny all;
        }
        location = /metrics-closed {
            sesame_metrics;
            deny all;
        }
        location /counted/ {
            sesame fc;
            add_header X-Worker-Pid $pid always;
        }
"""

APACHE_METRICS = """\
<Location /metrics>
    SetHandler sesame-metrics
    Require all granted
</Location>
<Location /metrics-closed>
    SetHandler sesame-metrics
    Require all denied
</Location>
<Location /counted/>
    AuthType Sesame
    SesameUse fc
    Require valid-user
</Location>
"""

# Apache's children are processes under both MPMs: threads in each (event), or one request per
# process (prefork, with mod_php).
APACHE_VARIANTS = {"event": {"mpm": "event"}, "prefork+mod_php": {"mpm": "prefork", "php": "mod_php"}}

LOCATIONS = {"nginx": PC_LOCATIONS + NGINX_METRICS, "apache": APACHE_PC_LOCATIONS + APACHE_METRICS}

FAMILIES = {
    "sesame_logins_started_total": "counter",
    "sesame_logins_completed_total": "counter",
    "sesame_logins_failed_total": "counter",
    "sesame_logins_by_idp_total": "counter",
    "sesame_step_ups_total": "counter",
    "sesame_logouts_total": "counter",
    "sesame_session_cache_total": "counter",
    "sesame_redis_duration_seconds": "histogram",
    "sesame_redis_errors_total": "counter",
    "sesame_provider_exchange_duration_seconds": "histogram",
    "sesame_provider_exchange_errors_total": "counter",
    "sesame_jobs_queued": "gauge",
    "sesame_jobs_running": "gauge",
}


@pytest.fixture(scope="module")
def site(make_site, server_kind, pc_emulator):
    site = make_pc_site(make_site, pc_emulator, locations=LOCATIONS[server_kind])
    site.worker_processes = 2  # nginx; Apache's event MPM runs two children already
    return site


@pytest.fixture(scope="module")
def server(site, pc_emulator, start_server):
    return start_pc_site(site, pc_emulator, start_server)


@pytest.fixture(autouse=True)
def _fc_emulator_back_to_normal(emulator):
    yield
    emulator.control(token_delay=0, misbehave=[])


def fetch(server, pki, path="/metrics", method="GET"):
    """One request on a connection of its own (so successive ones reach various workers)."""
    with requests.Session() as s:
        return s.request(method, server.url(path), verify=str(pki.ca), timeout=10,
                         allow_redirects=False)


def scrape(server, pki):
    resp = fetch(server, pki)
    assert resp.status_code == 200, resp.text[:500]
    return Exposition(resp.text)


def test_the_page_is_the_text_format_with_help_and_type(server, pki):
    resp = fetch(server, pki)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    page = Exposition(resp.text)
    for name, kind in FAMILIES.items():
        assert page.types.get(name) == kind, name
        assert page.helps.get(name), name
    for name, _ in page.samples:
        assert page.family_of(name) in page.types, f"{name} has no # TYPE"
    # Bounded label sets are written out from the start, at zero.
    assert ("sesame_logins_started_total", (("provider", "pc"),)) in page.samples
    assert page.value("sesame_session_cache_total", result="miss") >= 0
    head = fetch(server, pki, method="HEAD")
    assert head.status_code == 200 and head.content == b""


def test_access_to_the_page_is_the_operators_and_only_get_reads_it(server, pki):
    assert fetch(server, pki, "/metrics-closed").status_code == 403
    post = fetch(server, pki, method="POST")
    assert post.status_code == 405 and "GET" in post.headers["Allow"]


def test_a_franceconnect_login_counts_start_completion_level_and_exchanges(browser, server, pki):
    before = scrape(server, pki)
    php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    after = scrape(server, pki)

    def delta(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    assert delta("sesame_logins_started_total", provider="fc") == 1
    assert delta("sesame_logins_completed_total", provider="fc", acr="eidas1") == 1
    assert delta("sesame_logins_completed_total", provider="pc", acr="eidas1") == 0
    for exchange in ("token", "userinfo"):
        assert delta("sesame_provider_exchange_duration_seconds_count", provider="fc",
                     exchange=exchange) == 1, exchange
    assert after.value("sesame_provider_exchange_duration_seconds_count", provider="fc",
                       exchange="discovery") >= 1
    token_sum = delta("sesame_provider_exchange_duration_seconds_sum", provider="fc", exchange="token")
    assert 0 < token_sum < 5, "the token exchange took some time, less than http_timeout"


def test_a_proconnect_login_counts_its_identity_provider(browser, server, pki):
    before = scrape(server, pki)
    php_vars = php_server(browser.login(server.url("/agents/"), identity="test@fia1.fr").final)
    after = scrape(server, pki)
    assert php_vars["SESAME_IDP_ID"] == "fia1v2"
    assert (after.value("sesame_logins_by_idp_total", provider="pc", idp_id="fia1v2")
            - before.value("sesame_logins_by_idp_total", provider="pc", idp_id="fia1v2")) == 1
    assert (after.value("sesame_logins_completed_total", provider="pc", acr="eidas1")
            - before.value("sesame_logins_completed_total", provider="pc", acr="eidas1")) == 1


def failures(page):
    return {(s["provider"], s["cause"], s["code"]): v for s, v in page.series("sesame_logins_failed_total")}


def test_failures_are_counted_by_cause_and_provider_code(new_browser, server, pki, emulator, pc_emulator):
    before = failures(scrape(server, pki))
    # A callback whose state no login of this browser started.
    started = new_browser().login(server.url("/usagers/"), stop_before_callback=True)
    assert new_browser().get(started.callback_url).status_code == 400
    # The user cancels at FranceConnect: error=access_denied on the redirect_uri.
    assert new_browser().login(server.url("/usagers/"), action="cancel").callback.status_code == 403
    # A token that does not verify (its nonce is another login's).
    emulator.misbehave("wrong_nonce")
    assert new_browser().login(server.url("/usagers/")).callback.status_code >= 400
    # A level outside the location's (sesame_acr mfa), and claims outside sesame_require.
    pc_emulator.misbehave("low_acr")
    assert new_browser().login(server.url("/agents/mfa/"), identity="test@fia1.fr").callback.status_code == 403
    refused = new_browser().login(server.url("/agents/paris/"), identity="mfa@fia2.fr")
    assert refused.final.status_code == 403
    after = failures(scrape(server, pki))
    for key in [("fc", "state_mismatch", ""), ("fc", "provider_error", "access_denied"),
                ("fc", "token_rejected", "nonce"), ("pc", "level_refused", ""),
                ("pc", "claim_refused", "")]:
        assert after.get(key, 0) - before.get(key, 0) == 1, (key, after)


def test_step_ups_and_logouts_are_counted(browser, server, pki):
    php_server(browser.login(server.url("/agents/"), identity="mfa@fia2.fr").final)
    before = scrape(server, pki)
    step_up = browser.get(server.url("/agents/mfa/"))
    assert step_up.status_code in (302, 303) and "/authorize?" in step_up.headers["Location"]
    assert browser.get(server.url("/agents/logout")).status_code in (302, 303)
    after = scrape(server, pki)
    assert after.value("sesame_step_ups_total", provider="pc") - before.value("sesame_step_ups_total", provider="pc") == 1
    assert after.value("sesame_logouts_total", provider="pc") - before.value("sesame_logouts_total", provider="pc") == 1


def test_session_cache_hits_and_misses_are_counted(browser, server, pki):
    php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    before = scrape(server, pki)
    # One keep-alive connection: one worker / child; at most its first request reads Redis.
    for _ in range(10):
        assert browser.get(server.url("/usagers/")).status_code == 200
    after = scrape(server, pki)
    hits = after.value("sesame_session_cache_total", result="hit") - before.value("sesame_session_cache_total", result="hit")
    misses = after.value("sesame_session_cache_total", result="miss") - before.value("sesame_session_cache_total", result="miss")
    assert hits + misses == 10 and hits >= 9, (hits, misses)
    reads = (after.value("sesame_redis_duration_seconds_count", op="read")
             - before.value("sesame_redis_duration_seconds_count", op="read"))
    assert reads == misses, "every miss is one Redis read, a hit none"


def test_redis_latency_is_a_cumulative_histogram(browser, server, pki):
    before = scrape(server, pki)
    php_server(browser.login(server.url("/usagers/"), identity="testfc1").final)
    after = scrape(server, pki)
    # The callback marks its state used and creates the session: two writes at least.
    assert (after.value("sesame_redis_duration_seconds_count", op="write")
            - before.value("sesame_redis_duration_seconds_count", op="write")) >= 2
    buckets = sorted(((float(s["le"]), v) for s, v in after.series("sesame_redis_duration_seconds_bucket")
                      if s["op"] == "write"))
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1][0] == float("inf")
    assert buckets[-1][1] == after.value("sesame_redis_duration_seconds_count", op="write")
    assert after.value("sesame_redis_errors_total", op="write") == 0


def test_jobs_queued_and_running_follow_a_login_waiting_on_the_provider(new_browser, server, pki, emulator):
    waiting = new_browser()
    callback = waiting.login(server.url("/usagers/"), stop_before_callback=True).callback_url
    # Within the site's http_timeout (2 s), so that the login completes.
    emulator.control(token_delay=1)
    result = {}
    thread = threading.Thread(target=lambda: result.update(resp=waiting.get(callback, timeout=30)))
    t0 = time.monotonic()
    thread.start()
    running_seen = 0
    while thread.is_alive() and not running_seen:  # the job waits 1 s on the token endpoint
        running_seen = scrape(server, pki).value("sesame_jobs_running", kind="provider")
        time.sleep(0.05)
    thread.join(30)
    after = scrape(server, pki)
    assert result["resp"].status_code == 303 and time.monotonic() - t0 >= 1
    assert running_seen >= 1, "no scrape saw the job running while it waited on the provider"
    assert after.value("sesame_jobs_running", kind="provider") == 0
    assert after.value("sesame_jobs_queued", kind="provider") == 0
    assert after.value("sesame_jobs_queued", kind="session") == 0


def test_redis_errors_and_store_down_are_counted(make_site, start_server, pki, emulator, server_kind):
    site = make_site()
    site.http["redis"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    if server_kind == "nginx":
        site.locations += "        location = /metrics { sesame_metrics; }\n"
    else:
        site.locations += "<Location /metrics>\n    SetHandler sesame-metrics\n    Require all granted\n</Location>\n"
    down = start_server(site)
    browser = Browser(pki.ca, site_base=down.base)
    login = browser.login(down.url("/demarches/"), identity="testfc1")
    assert login.callback.status_code == 503
    page = scrape(down, pki)
    assert page.value("sesame_redis_errors_total", op="write") >= 1
    assert page.value("sesame_logins_failed_total", provider="fc", cause="store_down", code="") == 1
    down.stop()


def test_counts_are_those_of_every_worker_or_child(server, pki, server_kind):
    assert len(server.worker_pids()) >= 2
    before = scrape(server, pki)
    handled_by = {}
    for _ in range(40):
        resp = fetch(server, pki, "/counted/")
        assert resp.status_code in (302, 303), resp.status_code
        pid = resp.headers.get("X-Worker-Pid", "?")
        handled_by[pid] = handled_by.get(pid, 0) + 1
    if server_kind == "nginx":
        assert len(handled_by) >= 2, f"every request reached one worker: {handled_by}"
    # Every scrape, whichever process answers it, shows the 40 logins started in all of them.
    answered_by = set()
    for _ in range(30):
        resp = fetch(server, pki)
        answered_by.add(resp.headers.get("X-Worker-Pid", "?"))
        page = Exposition(resp.text)
        started = (page.value("sesame_logins_started_total", provider="fc")
                   - before.value("sesame_logins_started_total", provider="fc"))
        assert started == 40, (started, handled_by)
    if server_kind == "nginx":
        assert len(answered_by) >= 2, answered_by
    print(f"{server_kind}: /counted/ handled by {handled_by}; scrapes answered by {sorted(answered_by)}")


LABEL_VALUE = r"[A-Za-z0-9_.:+/\-]*"  # acr values may be URLs (ProConnect)


def test_no_claim_or_request_value_reaches_a_label(new_browser, server, pki, emulator):
    import re

    evil = 'x"} 1\nsesame_pwned_total{a="'
    user = new_browser()
    php_vars = php_server(user.login(server.url("/agents/"), identity="test@fia1.fr").final)
    # Requests carrying attacker text where a label could come from: error, description,
    # state, the return URL, a forged cookie.
    attacker = new_browser()
    started = attacker.login(server.url("/usagers/?q=" + requests.utils.quote(evil)), stop_before_callback=True)
    state = re.search(r"state=([^&]+)", started.callback_url).group(1)
    attacker.get(server.url("/sesame/callback"), params={
        "error": evil, "error_description": "Y123456 " + evil, "state": state, "iss": emulator.issuer})
    attacker.get(server.url("/sesame/callback"), params={"state": evil, "code": evil})
    attacker.set_cookie("__Host-sesame", evil.replace("\n", "").replace('"', "").replace(" ", ""))
    attacker.get(server.url("/usagers/"))
    text = fetch(server, pki).text
    page = Exposition(text)  # still well formed
    assert "sesame_pwned_total" not in {name for name, _ in page.samples}
    for value in [php_vars["SESAME_EMAIL"], php_vars["SESAME_CLAIM_SUB"], php_vars["SESAME_USER"],
                  php_vars["SESAME_GIVEN_NAME"], php_vars["SESAME_SIRET"], "Y123456", "pwned", "x\"}"]:
        assert value not in text, value
    for (_, labels) in page.samples:
        for key, value in labels:
            if key != "provider":
                assert re.fullmatch(LABEL_VALUE, value), (key, value)
    assert failures(page).get(("fc", "provider_error", "other"), 0) >= 1


@pytest.mark.only("nginx", reason="a location's content handler and the directive's arguments are nginx's")
def test_nginx_refuses_metrics_beside_another_content_handler_or_with_arguments(make_site):
    clash = make_site(locations="""\
        location = /metrics {
            proxy_pass http://127.0.0.1:{{ECHO_PORT}};
            sesame_metrics;
        }
""")
    rc, out = clash.config_test()
    assert rc != 0 and "already has a content handler" in out and "nginx.conf:" in out, out
    args = make_site(locations="        location = /metrics { sesame_metrics on; }\n")
    rc, out = args.config_test()
    assert rc != 0 and 'invalid number of arguments in "sesame_metrics"' in out, out
