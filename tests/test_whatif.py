"""``sc2sim whatif``: the best-pipeline rule, verdicts in words, heatmaps + HTML, scenario and option forms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli

from sc2sim.report.winners import decide
from sc2sim.runs.decision import DEFAULT_OBJECTIVE, Objective, pick
from sc2sim.scenario import DEFAULT_TIMING_SAMPLES
from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet
from sc2sim.whatif import DEFAULT_PIPELINES

ROOT = Path(__file__).resolve().parents[1]
LIGHT, WEBP, TEACHER = "local:light", "offload:webp?quality=50", "local:teacher"


def _rows(bw, vals, mobile="rpi4", edge="t4", deadline=100.0):
    """Summary rows of one grid cell: vals = {pipeline: (accuracy, p95 ms)}."""
    point = f"mobile={mobile},edge={edge},bw={bw:g}Mbps"
    return [{"point": point, "point_index": 0, "mobile": mobile, "edge": edge,
             "bandwidth_mbps": float(bw), "pipeline": p, "strategy": p.split(":")[0], "accuracy": a,
             "latency_p95_ms": l95, "latency_mean_ms": l95 * 0.8, "latency_p50_ms": l95 * 0.7,
             "latency_p99_ms": l95 * 1.1, "deadline_hit_rate": 1.0, "mean_energy_j": 0.01, "mean_bytes": 100.0,
             "deadline_ms": deadline} for p, (a, l95) in vals.items()]


def test_rule_most_accurate_meeting_the_deadline_else_fastest():
    g = pd.DataFrame(_rows(5, {LIGHT: (0.90, 10), WEBP: (0.92, 80), TEACHER: (0.93, 150)}))
    best = pick(g, DEFAULT_OBJECTIVE, 100)
    assert best.row["pipeline"] == WEBP and best.qualifies and best.qualifying == 2  # teacher misses 100 ms
    assert pick(g, DEFAULT_OBJECTIVE, 200).row["pipeline"] == TEACHER
    best = pick(g, DEFAULT_OBJECTIVE, 5)
    assert best.row["pipeline"] == LIGHT and not best.qualifies  # none meets 5 ms: the fastest
    tie = pd.DataFrame(_rows(5, {TEACHER: (0.92, 60), WEBP: (0.92, 40)}))
    assert pick(tie, DEFAULT_OBJECTIVE, 100).row["pipeline"] == WEBP  # equal accuracy: lower p95
    # another objective: the lowest latency at accuracy >= 0.91
    assert pick(g, Objective("latency", "p95", 0.91), 200).row["pipeline"] == WEBP


def test_verdict_names_the_switch_bandwidth():
    rows = []
    # webp's p95 falls with bandwidth and meets the 100 ms deadline from 5 Mbit/s on; light always meets it
    for bw, webp_p95 in [(1, 180.0), (5, 90.0), (20, 70.0), (100, 65.0)]:
        rows += _rows(bw, {LIGHT: (0.90, 12.0), WEBP: (0.92, webp_p95)})
        rows += _rows(bw, {LIGHT: (0.90, 12.0), WEBP: (0.92, 200.0)}, mobile="jetson-nano")
    summary = pd.DataFrame(rows)
    summary["point_index"] = pd.factorize(summary["point"])[0]  # sweep order: rows as listed
    w = decide(summary, DEFAULT_OBJECTIVE)
    assert len(w.best) == 8 and w.best["qualifies"].all()
    assert [m.title for m in w.maps] == ["edge t4"] and w.maps[0].rows == ["rpi4", "jetson-nano"]
    assert w.maps[0].cols == [1.0, 5.0, 20.0, 100.0] and w.maps[0].numeric
    v = {x.mobile: x for x in w.verdicts}
    text = v["rpi4"].text
    assert text.startswith("rpi4 -> t4: below ~") and f"Mbit/s {LIGHT} wins; above, {WEBP}" in text
    assert 1 < v["rpi4"].switches[0] < 5  # where webp's p95 crosses 100 ms (log interpolation: ~4.2)
    assert v["rpi4"].switches[0] == pytest.approx(10 ** (0.69897 * 80 / 90), rel=1e-3)
    assert v["jetson-nano"].text == f"jetson-nano -> t4: {LIGHT} wins at every bandwidth (1 Mbit/s to 100 Mbit/s)"
    assert "p95 latency <= the deadline (100 ms)" in w.rule


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    return write_profile_parquet(synthetic_profile([TEACHER, LIGHT, WEBP, "offload:png"], samples=200),
                                 tmp_path_factory.mktemp("wi") / "p.parquet")


def test_cli_options_write_heatmaps_html_and_verdicts(tmp_path, profile, capsys):
    out = tmp_path / "o"
    assert cli("whatif", "--mobile", "rpi4,phone-flagship", "--edge", "t4,a100", "--uplink", "1,20",
               "--pipelines", f"{TEACHER},{LIGHT},{WEBP}", "--deadline-ms", "60", "--requests", "200",
               "--samples", "200", "--profile", str(profile), "--out", str(out), "--no-progress") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["best.csv", "summary.csv", "verdict.txt", "whatif-a100.png", "whatif-a100.svg", "whatif-t4.png",
                     "whatif-t4.svg", "whatif.html"]
    assert (out / "whatif-t4.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (out / "whatif-t4.svg").read_bytes()
    best = pd.read_csv(out / "best.csv")
    assert len(best) == 2 * 2 * 2 and set(best["best"]) <= {TEACHER, LIGHT, WEBP}
    assert (best["deadline_ms"] == 60).all() and best["qualifies"].dtype == bool
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("rule: best = the most accurate pipeline with p95 latency <= the deadline (60 ms)")
    assert [line.split(":")[0] for line in printed[1:]] == ["rpi4 -> t4", "phone-flagship -> t4", "rpi4 -> a100",
                                                             "phone-flagship -> a100"]  # one map per edge
    html = (out / "whatif.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "http://" not in html and "https://" not in html
    assert "rpi4 -&gt; t4" in html and "<b>synthetic</b> profile" in html
    assert "Figure check" not in html  # the heatmaps pass the readability checks (sc2sim.report.checks)


def test_cli_scenario_form(tmp_path, profile):
    import yaml

    doc = yaml.safe_load((ROOT / "scenarios" / "whatif.yaml").read_text())
    assert doc["pipelines"] == DEFAULT_PIPELINES
    doc["pipelines"] = [TEACHER, LIGHT, WEBP, "offload:png"]
    doc["workload"]["requests"] = 150
    doc["objective"] = {"minimize": "latency", "min_accuracy": 0.5}  # the scenario's objective is the rule
    sc = tmp_path / "w.yaml"
    sc.write_text(yaml.safe_dump(doc))
    assert cli("whatif", str(sc), "--profile", str(profile), "--samples", "200", "--out", str(tmp_path / "o"),
               "--no-progress") == 0
    best = pd.read_csv(tmp_path / "o" / "best.csv")
    assert len(best) == 3 * 2 * 4  # mobile x edge x bandwidth of the scenario
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["whatif-a100.png", "whatif-t4.png"]
    rule = (tmp_path / "o" / "verdict.txt").read_text().splitlines()[0]
    assert rule.startswith("rule: best = the lowest p95 latency among pipelines with p95 latency <= the deadline")
    assert "accuracy >= 50.0 %" in rule


def test_cli_errors_are_one_line(tmp_path, profile, capsys):
    assert cli("whatif", "--mobile", "rpi5", "--profile", str(profile), "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sc2sim: error: --mobile: 'rpi5' — allowed mobile devices:")
    assert cli("whatif", "--uplink", "1,x", "--profile", str(profile), "--out", str(tmp_path / "o")) == 2
    assert "sc2sim: error: --uplink[1]: 'x' — must be a number" in capsys.readouterr().err
    assert cli("whatif", str(ROOT / "scenarios" / "lte-trace.yaml"), "--profile", str(profile), "--out", str(tmp_path / "o")) == 2
    assert "needs bandwidth_mbps" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_whatif_without_profile_asks_ensure_profile(tmp_path, monkeypatch):
    import types

    calls = []

    def ensure_profile(pipelines, samples, dataset="fashion-mnist", data_dir=None, repeats=3, threads=1, progress=True, timed=None, idle_gap_ms=0.0):
        calls.append((list(pipelines), samples, timed))
        return synthetic_profile(pipelines, samples=50)

    fake = types.ModuleType("sc2sim.profiling")
    fake.ensure_profile = ensure_profile
    # the profile index (sc2sim.profiling.index) always misses here, so the profile must be made
    fake.index = types.SimpleNamespace(index_key=lambda *a, **k: "key", lookup=lambda key: None,
                                       store=lambda key, table: None)
    monkeypatch.setitem(sys.modules, "sc2sim.profiling", fake)
    assert cli("whatif", "--mobile", "rpi4", "--edge", "t4", "--uplink", "5", "--requests", "50", "--samples", "50",
               "--out", str(tmp_path / "o"), "--no-progress") == 0
    assert calls == [(DEFAULT_PIPELINES, 50, DEFAULT_TIMING_SAMPLES)]


def test_whatif_imports_no_torch():
    code = ("import sys, sc2sim.whatif, sc2sim.whatif.figures, sc2sim.whatif.html, sc2sim.sim.policy, "
            "sc2sim.commands.whatif_cmds; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
