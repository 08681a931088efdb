"""docs/grafana/sesame.json, the Grafana dashboard: every metric its expressions use is one the
module exports (the families of src/metrics/exposition.rs), on the datasource variable, in a
schema Grafana 9 and later import."""

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "docs" / "grafana" / "sesame.json").read_text(encoding="utf-8"))
EXPOSITION = (ROOT / "src" / "metrics" / "exposition.rs").read_text(encoding="utf-8")
HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def exported_families():
    return set(re.findall(r'"(sesame_[a-z_]+)"', EXPOSITION))


def histogram_families():
    return set(re.findall(r'"(sesame_[a-z_]+)",\s*"histogram"', EXPOSITION))


def expressions():
    exprs = [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]
    for var in DASHBOARD["templating"]["list"]:
        if var["type"] == "query":
            exprs.append(var["definition"])
    return exprs


def metric_names(expr):
    return set(re.findall(r"\b(sesame_[a-z_]+)\b", expr))


def family_of(name, histograms):
    for suffix in HISTOGRAM_SERIES:
        if name.endswith(suffix) and name[: -len(suffix)] in histograms:
            return name[: -len(suffix)]
    return name


def test_every_metric_the_dashboard_uses_is_exported():
    exported, histograms = exported_families(), histogram_families()
    assert len(exported) >= 12 and histograms, "the families were not found in exposition.rs"
    used = {family_of(n, histograms) for e in expressions() for n in metric_names(e)}
    assert used, "no metric found in the dashboard"
    assert used <= exported, f"not exported: {sorted(used - exported)}"


def test_every_exported_family_has_a_panel():
    histograms = histogram_families()
    used = {family_of(n, histograms) for e in expressions() for n in metric_names(e)}
    assert exported_families() <= used, f"no panel: {sorted(exported_families() - used)}"


def test_the_datasource_is_a_variable_and_the_schema_grafana_9s():
    assert DASHBOARD["schemaVersion"] >= 36
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
