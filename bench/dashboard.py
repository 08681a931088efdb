#!/usr/bin/env python3
"""`make dashboard`: docs/images/metrics-dashboard.png, the Grafana dashboard's panels fed by the
benchmark, drawn by this script (not by Grafana, which Debian does not package).

1. Starts the benchmark's services and nginx (bench/run.py's `Bench`, release module, 2
   workers), with `location = /metrics { sesame_metrics; }` added to its sites.
2. Starts a real Prometheus (Debian's `prometheus`) scraping both of the bench's Sesame nginx
   every second over HTTPS.
3. Runs bench rows b/c (protected static file and PHP page: session cache hits), a few failed
   logins of each kind the emulator can cause (cancel, replayed state, a bad nonce, a level the
   location did not ask for) and logouts, row d (complete logins) and row e (50 logins waiting
   2 s at the token endpoint: jobs queued and running, provider latency).
4. Reads each panel of docs/grafana/sesame.json: its PromQL, with Grafana's `$__rate_interval`
   as 4 scrape intervals and `$provider` as every provider, through Prometheus' HTTP API
   (`/api/v1/query_range`, step 1 s, over the run), and draws one SVG chart per panel in the
   dashboard's grid, legends from its `legendFormat`, into one HTML page.
5. Screenshots the page with headless Chromium (tests/support/cdp.py).

Not part of `make test`: it takes a few minutes and the figures depend on the machine.
"""

import argparse
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
sys.path.insert(0, str(REPO / "tests" / "support"))

import requests  # noqa: E402

import run  # noqa: E402
from cdp import Chromium  # noqa: E402
from e2e_rig.procs import free_port  # noqa: E402

DASHBOARD = REPO / "docs" / "grafana" / "sesame.json"
METRICS_LOCATION = "        location = /metrics { sesame_metrics; }\n"
SCRAPE_SECONDS = 1
COLORS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0",
          "#508642", "#cca300", "#447ebc", "#c15c17"]


def release_binaries(workdir):
    """bench/run.py's release nginx and module, copied into the run's directory; the rows run
    here need no session seeder (row f is not run)."""
    found = sorted((run.target_dir() / "release" / "build").glob("nginx-sys-*/out/objs/nginx"),
                   key=lambda p: p.stat().st_mtime)
    module = run.target_dir() / "release" / "libngx_http_sesame_module.so"
    if not found or not module.is_file():
        sys.exit("dashboard: the release nginx and module are missing: run `make dashboard`")
    bindir = workdir / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(found[-1], bindir / "nginx")
    shutil.copy2(module, bindir / "module.so")
    os.environ["SESAME_NGINX_BIN"] = str(bindir / "nginx")
    os.environ["SESAME_NGINX_MODULE"] = str(bindir / "module.so")
    return SimpleNamespace(nginx=bindir / "nginx", module=bindir / "module.so", seed=None)


def bench_args(seconds, workers):
    """The options bench/run.py's rows read, as its `--quick` run sets them."""
    return SimpleNamespace(
        quick=True, seconds=seconds, workers=workers, pool_threads=32, threads=1, connections=32,
        rounds=3, login_clients=8, sessions=2000, memory_requests=20_000, pin=False,
        stall_waves=4, stall_window=1, stall_delay=2, stall_settle=0.3, stall_shared_pool=False,
        rows="bcde", json=None, workdir=None)


class Prometheus:
    def __init__(self, workdir, targets, ca):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "scrape_timeout": "900ms"},
            "scrape_configs": [{
                "job_name": "sesame", "scheme": "https", "metrics_path": "/metrics",
                "tls_config": {"ca_file": str(ca)},
                "static_configs": [{"targets": targets}],
            }],
        }
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'data'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError(f"prometheus not ready; see {workdir / 'prometheus.log'}")

    def targets_up(self):
        active = requests.get(self.url + "/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
        return [(t["scrapeUrl"], t["health"], t.get("lastError", "")) for t in active]

    def query_range(self, expr, start, end, step):
        q = urlencode({"query": expr, "start": start, "end": end, "step": step})
        resp = requests.get(f"{self.url}/api/v1/query_range?{q}", timeout=30).json()
        if resp.get("status") != "success":
            raise RuntimeError(f"{expr}: {resp}")
        return resp["data"]["result"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def failed_logins(bench, count=3):
    """Failures of each kind the emulator can cause, and logouts, on the main nginx."""
    server, emulator = bench.nginx, bench.emulator
    for _ in range(count):
        b = bench.browser(server.base)
        b.login(server.url("/protected/static.html"), action="cancel")
        b = bench.browser(server.base)
        started = b.login(server.url("/protected/static.html"), stop_before_callback=True)
        bench.browser(server.base).get(started.callback_url)  # another browser: state mismatch
        emulator.misbehave("wrong_nonce")
        bench.browser(server.base).login(server.url("/protected/static.html"))
        emulator.misbehave("expired")
        bench.browser(server.base).login(server.url("/protected/static.html"))
        b = bench.browser(server.base)
        b.login(server.url("/protected/static.html"))
        b.get(server.url("/logout"))
        time.sleep(1)


def grafana_expr(expr):
    """Grafana's variables as this run fills them."""
    return (expr.replace("$__rate_interval", f"{4 * SCRAPE_SECONDS}s")
            .replace('=~"$provider"', '=~".*"'))


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt).strip() or "value"


def fmt_value(v, unit):
    if unit == "s":
        return f"{v * 1000:.3g} ms" if v < 1 else f"{v:.3g} s"
    if unit == "percentunit":
        return f"{v * 100:.3g} %"
    if unit == "ops":
        return f"{v:.3g}/s"
    return f"{v:.3g}"


def svg_chart(series, start, end, unit, width=760, height=230):
    """Lines of `series` [(name, [(t, v)])] over [start, end], y from 0 to the largest value."""
    left, right, top, bottom = 70, 10, 10, 24
    w, h = width - left - right, height - top - bottom
    values = [v for _, pts in series for _, v in pts if math.isfinite(v)]
    ymax = max(values) if values else 1.0
    ymax = ymax * 1.1 if ymax > 0 else 1.0
    out = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):
        y = top + h - h * i / 4
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#2c3235"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{html.escape(fmt_value(ymax * i / 4, unit))}</text>')
    for i in range(6):
        t = start + (end - start) * i / 5
        x = left + w * i / 5
        anchor = "start" if i == 0 else "end" if i == 5 else "middle"
        out.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}">'
                   f'{time.strftime("%H:%M:%S", time.gmtime(t))}</text>')
    for k, (_, pts) in enumerate(series):
        coords = " ".join(f"{left + w * (t - start) / (end - start):.1f},{top + h - h * v / ymax:.1f}"
                          for t, v in pts if math.isfinite(v))
        if coords:
            out.append(f'<polyline fill="none" stroke="{COLORS[k % len(COLORS)]}" stroke-width="1.5" points="{coords}"/>')
    out.append("</svg>")
    return "".join(out)


def render_page(dashboard, prom, start, end, run_notes):
    cells = []
    for panel in dashboard["panels"]:
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        series = []
        for target in panel["targets"]:
            for result in prom.query_range(grafana_expr(target["expr"]), start, end, SCRAPE_SECONDS):
                pts = [(float(t), float(v)) for t, v in result["values"]]
                series.append((legend(target.get("legendFormat", ""), result["metric"]), pts))
        series.sort(key=lambda s: -max((v for _, v in s[1] if math.isfinite(v)), default=0))
        series = series[:12]
        items = "".join(
            f'<span><i style="background:{COLORS[k % len(COLORS)]}"></i>{html.escape(name)}'
            f' <b>{html.escape(fmt_value(max((v for _, v in pts if math.isfinite(v)), default=0), unit))}</b></span>'
            for k, (name, pts) in enumerate(series))
        body = svg_chart(series, start, end, unit) if series else '<p class="none">No data</p>'
        g = panel["gridPos"]
        cells.append(f'<section style="grid-column:{g["x"] // 12 + 1};grid-row:{g["y"] // 8 + 1}">'
                     f'<h2>{html.escape(panel["title"])}</h2>{body}<div class="legend">{items}</div></section>')
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(dashboard['title'])}</title>
<style>
body {{ margin:0; width:1600px; background:#111217; color:#ccccdc; font:12px sans-serif; }}
header {{ padding:12px 16px; border-bottom:1px solid #2c3235; }}
header h1 {{ font-size:18px; margin:0 0 4px; color:#fff; }}
main {{ display:grid; grid-template-columns:790px 790px; gap:8px; padding:8px; }}
section {{ background:#181b1f; border:1px solid #2c3235; border-radius:2px; padding:6px 10px; }}
h2 {{ font-size:13px; margin:2px 0 4px; color:#fff; font-weight:500; }}
svg text {{ fill:#8e8e9e; font-size:10px; }}
.legend span {{ display:inline-block; margin:2px 12px 0 0; }}
.legend i {{ display:inline-block; width:12px; height:3px; margin-right:5px; vertical-align:middle; }}
.legend b {{ font-weight:normal; color:#8e8e9e; }}
.none {{ color:#8e8e9e; height:220px; }}
footer {{ padding:6px 16px 12px; color:#8e8e9e; }}
</style></head><body>
<header><h1>{html.escape(dashboard['title'])}</h1>
{html.escape(time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(start)))} – {html.escape(time.strftime('%H:%M:%S UTC', time.gmtime(end)))}
 · provider: All · Prometheus scraping the module every {SCRAPE_SECONDS} s</header>
<main>{''.join(cells)}</main>
<footer>Each panel is the PromQL of docs/grafana/sesame.json, queried from Prometheus
(query_range, step {SCRAPE_SECONDS} s) and drawn by bench/dashboard.py — not Grafana; the value after each
legend is the series' largest. Load: {html.escape(run_notes)}.</footer>
</body></html>"""


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(REPO / "docs" / "images" / "metrics-dashboard.png"))
    p.add_argument("--seconds", type=float, default=6, help="seconds per wrk row (default 6)")
    p.add_argument("--workers", type=int, default=2, help="nginx worker_processes (default 2)")
    p.add_argument("--workdir", help="keep configs, logs and the page here (default: a temp dir)")
    args = p.parse_args()
    if not shutil.which("wrk"):
        sys.exit("dashboard: wrk not found (apt-get install wrk)")
    if not (shutil.which("prometheus") or Path("/usr/bin/prometheus").exists()):
        sys.exit("dashboard: prometheus not found (apt-get install prometheus)")
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sesame-dashboard-"))
    run.SESAME_LOCATIONS += METRICS_LOCATION
    run.release_binaries = release_binaries
    bench = run.Bench(bench_args(args.seconds, args.workers), workdir)
    prom = None
    try:
        bench.start()
        stall = bench.stall_server()
        prom = Prometheus(workdir / "prometheus", [f"127.0.0.1:{bench.nginx.port}",
                                                   f"127.0.0.1:{stall.port}"], bench.pki.ca)
        time.sleep(3 * SCRAPE_SECONDS)
        print("prometheus targets:", prom.targets_up(), flush=True)
        start = time.time()
        bench.rows_static_and_php()
        print("failed logins and logouts", flush=True)
        failed_logins(bench)
        bench.row_logins()
        bench.row_stall_logged_in()
        time.sleep(4 * SCRAPE_SECONDS)
        end = time.time()
        page = render_page(json.loads(DASHBOARD.read_text()), prom, start, end,
                           "bench/run.py rows b, c, d, e (release module, nginx "
                           f"worker_processes {args.workers}) and failed logins")
        html_path = workdir / "dashboard.html"
        html_path.write_text(page, encoding="utf-8")
        browser = Chromium(workdir / "chromium")
        try:
            browser.call("Emulation.setDeviceMetricsOverride", width=1600, height=900,
                         deviceScaleFactor=1, mobile=False)
            browser.open(html_path.as_uri())
            browser.wait_for("document.readyState === 'complete'", "the page")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            browser.screenshot(args.out)
        finally:
            browser.stop()
        print(f"wrote {args.out} (page: {html_path})")
        for row in bench.rows:
            print(row.as_dict())
    finally:
        if prom:
            prom.stop()
        bench.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
