"""`sesame_audit_log` / `SesameAuditLog`: one JSON object per line per login outcome, exactly
the documented fields, whole lines from several workers / children, never a token; a new file
after rotation (nginx: rename + USR1; Apache: rename + graceful restart); a file that cannot be
written is reported once, not once per login."""

import json
import os
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from e2e_rig.browser import Browser
from e2e_rig.checks import php_server
from e2e_rig.procs import wait_until

FIELDS = {"time", "provider", "outcome", "acr", "amr", "idp_id", "user", "client", "ref"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _audit_site(make_site, server_kind, path=None, workers=2):
    site = make_site()
    site.http["audit_log"] = path or str(site.prefix / "logs" / "audit.log")
    if server_kind == "nginx":
        render = site.render
        site.render = lambda: render().replace("worker_processes 1;", f"worker_processes {workers};")
    elif workers == 1:
        site.single_process = True
    return site


@pytest.fixture(scope="module")
def audited(make_site, start_server, server_kind):
    site = _audit_site(make_site, server_kind)
    return start_server(site), site.prefix / "logs" / "audit.log"


def _records(path):
    if not path.exists():
        return []
    text = path.read_text()
    assert text == "" or text.endswith("\n"), text[-300:]
    return [json.loads(line) for line in text.splitlines()]


def _login(pki, server, identity="testfc1"):
    return php_server(Browser(pki.ca, server.base).login(server.url("/demarches/"), identity=identity).final)


def test_each_login_outcome_is_one_line_of_exactly_the_documented_fields(audited, pki, emulator):
    server, path = audited
    before = len(_records(path))
    # Several at once, over the server's workers / children.
    with ThreadPoolExecutor(6) as pool:
        users = list(pool.map(lambda i: _login(pki, server, ("testfc1", "elodie")[i % 2])["SESAME_USER"],
                              range(6)))
    forged = Browser(pki.ca, server.base).get(server.url("/sesame/callback?state=forged&code=abc"))
    assert forged.status_code == 400
    emulator.misbehave("wrong_aud")
    browser = Browser(pki.ca, server.base)
    login = browser.login(server.url("/demarches/"), stop_before_callback=True)
    refused = browser.get(login.callback_url)
    assert refused.status_code >= 400

    records = _records(path)[before:]
    assert len(records) == 8, records
    for r in records:
        assert set(r) == FIELDS, r
        assert TIME.match(r["time"]), r
        assert r["provider"] == "fc" and r["client"] == "127.0.0.1", r
        assert re.fullmatch(r"[0-9a-f]{12}", r["ref"]), r
    successes = [r for r in records if r["outcome"] == "success"]
    assert sorted(r["user"] for r in successes) == sorted(users)
    # Which process wrote each success (its error-log line has the same reference).
    writers = {}
    for line in server.log_tail(200000).splitlines():
        for r in successes:
            if f"[ref {r['ref']}," in line:
                pid = re.search(r"(\d+)#\d+:|\[pid (\d+)", line)
                writers[r["ref"]] = pid and (pid.group(1) or pid.group(2))
    assert set(writers) == {r["ref"] for r in successes}, writers
    print(f"audit lines by process: {sorted(writers.values())}")
    assert all(r["acr"] == "eidas1" and r["idp_id"] is None for r in successes), successes
    failures = {r["outcome"]: r for r in records if r["outcome"] != "success"}
    assert set(failures) == {"state_mismatch", "token_invalid"}, failures
    assert failures["state_mismatch"]["ref"] in forged.text
    assert failures["token_invalid"]["ref"] in refused.text
    assert all(r["user"] is None and r["acr"] is None for r in failures.values())
    # Never a token: no JWT, no authorization code in the file.
    text = path.read_text()
    assert "eyJ" not in text and "code=" not in text and "abc" not in text


def test_a_rotated_audit_log_gets_the_next_lines_in_a_new_file(audited, pki, server_kind):
    server, path = audited
    _login(pki, server)
    rotated = path.with_name("audit.log.1")
    os.rename(path, rotated)
    offset = server.log_size()
    if server_kind == "nginx":
        workers = len(server.worker_pids())
        os.kill(server.proc.pid, signal.SIGUSR1)  # what logrotate's postrotate sends
        # The master and each worker say they reopen their logs.
        wait_until(lambda: server.log_since(offset).count("reopening logs") >= 1 + workers, 20,
                   "nginx to reopen its logs", server.proc)
    else:
        server.reload()  # graceful restart: the parent opens the file again
    wait_until(path.exists, 10, "the audit log to be created again", server.proc)
    kept = rotated.read_text()
    user = _login(pki, server)["SESAME_USER"]
    time.sleep(0.2)
    assert [r["user"] for r in _records(path)] == [user]
    assert rotated.read_text() == kept, "nothing more goes to the rotated file"


def test_an_audit_log_that_cannot_be_written_is_reported_once(make_site, start_server, server_kind, pki):
    # /dev/full: every write fails with ENOSPC, as on a full disk. One process, so "once" means
    # once (each worker / child reports its own first failure).
    server = start_server(_audit_site(make_site, server_kind, path="/dev/full", workers=1))
    offset = server.log_size()
    for _ in range(3):
        _login(pki, server)
    logged = server.log_since(offset)
    assert logged.count("audit log /dev/full: cannot write") == 1, logged[-3000:]
    assert "No space left on device" in logged


def test_an_audit_log_in_a_missing_directory_fails_the_config_test(make_site, server_kind):
    site = make_site()
    site.http["audit_log"] = "/nonexistent-sesame-dir/audit.log"
    rc, out = site.config_test()
    assert rc != 0, out
    assert "/nonexistent-sesame-dir/audit.log" in out, out
    if server_kind == "apache":
        assert "cannot open SesameAuditLog" in out, out


def test_config_check_neither_opens_nor_creates_the_audit_log(make_nginx_site):
    from e2e_rig.redis_topologies import run_cli

    site = make_nginx_site()
    site.http["audit_log"] = "logs/never-created-by-the-check.log"  # under nginx's prefix
    conf = site.prepare()
    rc, out, _ = run_cli("config", "check", "-c", conf)
    assert rc == 0, out
    assert not (site.prefix / "logs" / "never-created-by-the-check.log").exists()
    assert not any(p.name == "never-created-by-the-check.log" for p in site.prefix.rglob("*"))
