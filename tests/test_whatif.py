"""``sc2sim whatif``: the best-pipeline rule, verdicts in words, heatmaps + HTML, scenario and option forms."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import cli

from sc2sim.scenario import DEFAULT_TIMING_SAMPLES
from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet
from sc2sim.whatif import DEFAULT_PIPELINES, best_table, pick_best, verdicts

ROOT = Path(__file__).resolve().parents[1]
LIGHT, WEBP, TEACHER = "local:light", "offload:webp?quality=50", "local:teacher"


def _rows(bw, vals, mobile="rpi4", edge="t4"):
    """Summary rows: vals = {pipeline: (accuracy, p95 ms)}."""
    return [{"mobile": mobile, "edge": edge, "bandwidth_mbps": bw, "pipeline": p, "strategy": p.split(":")[0],
             "accuracy": a, "latency_p95_ms": l95, "latency_mean_ms": l95 * 0.8, "deadline_hit_rate": 1.0,
             "mean_energy_j": 0.01, "mean_bytes": 100.0} for p, (a, l95) in vals.items()]


def test_rule_most_accurate_meeting_the_deadline_else_fastest():
    g = pd.DataFrame(_rows(5, {LIGHT: (0.90, 10), WEBP: (0.92, 80), TEACHER: (0.93, 150)}))
    best, ok = pick_best(g, 100)
    assert best["pipeline"] == WEBP and ok  # teacher is more accurate but misses 100 ms
    best, ok = pick_best(g, 200)
    assert best["pipeline"] == TEACHER and ok
    best, ok = pick_best(g, 5)
    assert best["pipeline"] == LIGHT and not ok  # none meets 5 ms: the fastest
    tie = pd.DataFrame(_rows(5, {TEACHER: (0.92, 60), WEBP: (0.92, 40)}))
    assert pick_best(tie, 100)[0]["pipeline"] == WEBP  # equal accuracy: lower p95


def test_verdict_names_the_switch_bandwidth():
    rows = []
    # webp's p95 falls with bandwidth and meets the 100 ms deadline from 5 Mbit/s on; light always meets it
    for bw, webp_p95 in [(1, 180.0), (5, 90.0), (20, 70.0), (100, 65.0)]:
        rows += _rows(bw, {LIGHT: (0.90, 12.0), WEBP: (0.92, webp_p95)})
        rows += _rows(bw, {LIGHT: (0.90, 12.0), WEBP: (0.92, 200.0)}, mobile="jetson-nano")
    summary = pd.DataFrame(rows)
    best = best_table(summary, 100)
    assert len(best) == 8 and best["meets_deadline"].all()
    v = {x.mobile: x for x in verdicts(best, summary)}
    text = v["rpi4"].text
    assert text.startswith("rpi4 -> t4: below ~") and f"Mbit/s {LIGHT} wins; above, {WEBP}" in text
    assert 1 < v["rpi4"].switches[0] < 5  # where webp's p95 crosses 100 ms (log interpolation: ~4.2)
    assert v["rpi4"].switches[0] == pytest.approx(10 ** (0.69897 * 80 / 90), rel=1e-3)
    assert v["jetson-nano"].text == f"jetson-nano -> t4: {LIGHT} wins at every bandwidth (1 Mbit/s to 100 Mbit/s)"


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    return write_profile_parquet(synthetic_profile([TEACHER, LIGHT, WEBP, "offload:png"], samples=200),
                                 tmp_path_factory.mktemp("wi") / "p.parquet")


def test_cli_options_write_heatmaps_html_and_verdicts(tmp_path, profile, capsys):
    out = tmp_path / "o"
    assert cli("whatif", "--mobile", "rpi4,phone-flagship", "--edge", "t4,a100", "--uplink", "1,20",
               "--pipelines", f"{TEACHER},{LIGHT},{WEBP}", "--deadline-ms", "60", "--requests", "200",
               "--profile", str(profile), "--out", str(out), "--no-progress") == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["best.csv", "summary.csv", "verdict.txt", "whatif-a100.png", "whatif-a100.svg", "whatif-t4.png",
                     "whatif-t4.svg", "whatif.html"]
    assert (out / "whatif-t4.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (out / "whatif-t4.svg").read_bytes()
    best = pd.read_csv(out / "best.csv")
    assert len(best) == 2 * 2 * 2 and set(best["best"]) <= {TEACHER, LIGHT, WEBP}
    assert (best["deadline_ms"] == 60).all()
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("rule: best = highest accuracy among pipelines with p95 latency <= deadline")
    assert [line.split(":")[0] for line in printed[1:]] == ["rpi4 -> t4", "rpi4 -> a100", "phone-flagship -> t4",
                                                             "phone-flagship -> a100"]
    html = (out / "whatif.html").read_text()
    assert html.count("data:image/png;base64,") == 2 and "http://" not in html and "https://" not in html
    assert "rpi4 -&gt; t4" in html and "<b>synthetic</b> profile" in html


def test_cli_scenario_form(tmp_path, profile):
    import yaml

    doc = yaml.safe_load((ROOT / "scenarios" / "whatif.yaml").read_text())
    assert doc["pipelines"] == DEFAULT_PIPELINES
    doc["pipelines"] = [TEACHER, LIGHT, WEBP, "offload:png"]
    doc["workload"]["requests"] = 150
    sc = tmp_path / "w.yaml"
    sc.write_text(yaml.safe_dump(doc))
    assert cli("whatif", str(sc), "--profile", str(profile), "--out", str(tmp_path / "o"), "--no-progress") == 0
    best = pd.read_csv(tmp_path / "o" / "best.csv")
    assert len(best) == 3 * 2 * 4  # mobile x edge x bandwidth of the scenario
    assert sorted(p.name for p in (tmp_path / "o").glob("*.png")) == ["whatif-a100.png", "whatif-t4.png"]


def test_cli_errors_are_one_line(tmp_path, profile, capsys):
    assert cli("whatif", "--mobile", "rpi5", "--profile", str(profile), "--out", str(tmp_path / "o")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sc2sim: error: --mobile: 'rpi5' — allowed mobile devices:")
    assert cli("whatif", "--uplink", "1,x", "--profile", str(profile), "--out", str(tmp_path / "o")) == 2
    assert "'x' — not a number" in capsys.readouterr().err
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
    monkeypatch.setitem(sys.modules, "sc2sim.profiling", fake)
    assert cli("whatif", "--mobile", "rpi4", "--edge", "t4", "--uplink", "5", "--requests", "50", "--samples", "50",
               "--out", str(tmp_path / "o"), "--no-progress") == 0
    assert calls == [(DEFAULT_PIPELINES, 50, DEFAULT_TIMING_SAMPLES)]


def test_whatif_imports_no_torch():
    code = ("import sys, sc2sim.whatif, sc2sim.whatif.figures, sc2sim.whatif.html, sc2sim.sim.policy, "
            "sc2sim.commands.whatif_cmds; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr
