"""``sc2sim report``: the page and figures from a small synthetic run, the derivations on hand-made examples,
one-line errors, and (where Chromium is installed) that the page renders its images."""

from __future__ import annotations

import base64
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import cli

from sc2sim.report.data import COMPONENTS, breakdown, crossovers, load_run, pareto_front
from sc2sim.report.winners import best_table
from sc2sim.runs.decision import DEFAULT_OBJECTIVE, Objective
from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet

ROOT = Path(__file__).resolve().parents[1]
PIPES = ["local:light", "offload:png", "offload:webp?quality=50"]
FIGS = ["winner_map", "pareto", "latency_vs_bandwidth", "cdf", "breakdown", "resources"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A 4-point (2 mobile devices x 2 bandwidths) x 3-pipeline synthetic run made by `sc2sim run` (which
    also builds the report)."""
    tmp = tmp_path_factory.mktemp("report")
    prof = write_profile_parquet(synthetic_profile(PIPES, samples=100), tmp / "profile.parquet")
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc.update(name="tiny-report", pipelines=PIPES, samples=100, mobile=["rpi4", "phone-flagship"], edge="t4")
    doc["network"]["uplink"]["bandwidth_mbps"] = [2, 20]
    doc["workload"]["requests"] = 200
    sc = tmp / "tiny.yaml"
    sc.write_text(yaml.safe_dump(doc))
    out = tmp / "out"
    assert cli("run", str(sc), "--out", str(out), "--profile", str(prof), "--no-progress", "--quiet") == 0
    return out


def test_run_builds_the_report(run_dir, capsys):
    assert (run_dir / "report.html").is_file()
    for key in FIGS:
        assert (run_dir / "figures" / f"{key}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (run_dir / "figures" / f"{key}.svg").read_bytes()[:2000]


def test_report_command_rewrites_page_and_figures(run_dir, capsys):
    (run_dir / "report.html").unlink()
    shutil.rmtree(run_dir / "figures")
    assert cli("report", str(run_dir), "--latency", "p50") == 0
    assert "report.html" in capsys.readouterr().out
    assert (run_dir / "report.html").is_file()
    assert sorted(p.name for p in (run_dir / "figures").iterdir()) == sorted(
        [".report-cache.json"] + [f"{k}.{e}" for k in FIGS for e in ("png", "svg")])
    assert not list(run_dir.glob(".*.tmp")) and not list((run_dir / "figures").glob(".*.tmp"))


def test_page_is_self_contained_and_complete(run_dir):
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.IGNORECASE)
    local = ("data:", "#")  # embedded data and in-page anchors only
    assert refs and all(r.startswith(local) for r in refs), [r[:60] for r in refs if not r.startswith(local)]
    assert not re.search(r"url\(|@import|<script|<link|<iframe", page, flags=re.IGNORECASE)
    imgs = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(imgs) == len(FIGS)
    assert all(base64.b64decode(b)[:4] == b"\x89PNG" for b in imgs)
    for key in FIGS:
        assert f'id="{key}"' in page
    # scenario and devices named; the summary table holds every point x pipeline
    assert "tiny-report" in page and "mobile rpi4/phone-flagship -&gt; edge t4" in page and "uplink 2/20 Mbit/s" in page
    assert "SYNTHETIC" in page and "measured" in page and "modelled" in page
    summary = pd.read_csv(run_dir / "summary.csv")
    for point, pipe in zip(summary["point"], summary["pipeline"]):
        assert re.search(rf"<td>{re.escape(point)}</td>.*?<td>{re.escape(pipe.replace('&', '&amp;'))}</td>", page)
    assert page.count("<th>accuracy %</th>") == 1
    # the rule the run recorded comes first, then the winner map (one table: edge t4, one mobile row)
    assert page.index('class="rule"') < page.index('<table class="map">') < page.index("<h2>Run</h2>")
    assert "best = the most accurate pipeline with p95 latency &lt;= the deadline (100 ms)" in page
    assert page.count('<table class="map">') == 1 and "<h3>edge t4</h3>" in page
    assert "<th>rpi4</th>" in page and "<th>phone-flagship</th>" in page
    assert page.count("<li>rpi4 -&gt; t4: ") == 1 and page.count("<li>phone-flagship -&gt; t4: ") == 1  # verdicts
    assert "Figure check" not in page  # every figure passed the readability checks (sc2sim.report.checks)


def test_breakdown_sums_to_mean_latency(run_dir):
    run = load_run(run_dir)
    bd = breakdown(run.records)
    parts = bd[[c[0] for c in COMPONENTS]].sum(axis=1).to_numpy()
    assert len(bd) == 4 * len(PIPES)
    np.testing.assert_allclose(parts, bd["latency_mean_ms"], rtol=1e-9)
    s = run.summary.set_index(["point", "pipeline"])["latency_mean_ms"]
    np.testing.assert_allclose(parts, s.loc[list(zip(bd["point"], bd["pipeline"]))].to_numpy(), rtol=1e-9)
    local = bd[bd["pipeline"] == "local:light"]
    assert (local[["transfer (uplink)", "edge queue", "edge compute", "result (downlink)"]].abs().to_numpy() < 1e-12).all()
    assert (bd[bd["pipeline"] != "local:light"]["transfer (uplink)"] > 0).all()


def test_pareto_front_hand_made():
    #        A     B     C     D     E (=B)  F (NaN)
    lat = [10.0, 20.0, 15.0, 30.0, 20.0, np.nan]
    acc = [0.80, 0.95, 0.85, 0.90, 0.95, 0.99]
    # D is dominated by B (faster and more accurate); C is on the front (between A and B)
    assert pareto_front(lat, acc).tolist() == [True, True, True, False, True, False]
    assert pareto_front([5.0, 5.0], [0.9, 0.8]).tolist() == [True, False]  # same latency, lower accuracy loses
    assert pareto_front([], []).tolist() == []


def test_crossovers_hand_made():
    bw = [10, 1, 2, 5]  # unsorted on purpose
    curves = {"local": [10, 10, 10, 10], "offload": [6, 30, 15, 8]}
    (c,) = crossovers(bw, curves)
    assert (c.lo, c.hi, c.before, c.after) == (2, 5, "local", "offload")
    t = 5 / 7  # local - offload goes -5 -> +2 between 2 and 5 Mbit/s
    assert c.at == pytest.approx(10 ** (math.log10(2) + t * (math.log10(5) - math.log10(2))))
    # two changes, and a missing value that never wins
    got = crossovers([1, 2, 4, 8], {"a": [1, 5, 5, 1], "b": [3, 2, np.nan, 4], "c": [9, 9, 4, 9]})
    assert [(x.lo, x.hi, x.before, x.after) for x in got] == [(1, 2, "a", "b"), (2, 4, "b", "c"), (4, 8, "c", "a")]
    assert crossovers([1, 2], {"a": [1, 1], "b": [2, 2]}) == []


def test_best_table_follows_the_rule():
    s = pd.DataFrame({"point": ["p", "p", "p", "q", "q"], "point_index": [0, 0, 0, 1, 1],
                      "pipeline": ["x", "y", "z", "x", "y"], "latency_p95_ms": [5.0, 5.0, 90.0, 7.0, 300.0],
                      "accuracy": [0.8, 0.9, 0.99, 0.8, 0.95], "mean_energy_j": [1.0, 2.0, 0.5, 1.0, 0.1],
                      "mean_bytes": 0.0, "bandwidth_mbps": [1.0, 1.0, 1.0, 2.0, 2.0], "deadline_ms": 50.0})
    b = best_table(s, DEFAULT_OBJECTIVE)
    # p: z is the most accurate but misses 50 ms; y beats x on accuracy. q: y misses, x is the only one left
    assert b["best"].tolist() == ["y", "x"] and b["qualifies"].tolist() == [True, True]
    assert b["runner_up"].tolist() == ["x", "y"] and b["qualifying"].tolist() == [2, 1]
    b = best_table(s.assign(deadline_ms=np.nan), DEFAULT_OBJECTIVE)  # no deadline: the most accurate
    assert b["best"].tolist() == ["z", "y"]
    b = best_table(s, Objective("energy", "p95", 0.85))  # lowest energy at accuracy >= 85 % within 50 ms
    assert b["best"].tolist() == ["y", "x"] and b["qualifies"].tolist() == [True, False]  # q: none: the fastest


def test_missing_files_one_line_exit_2(tmp_path, capsys):
    assert cli("report", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no summary.json" in err and "sc2sim run" in err
    (tmp_path / "summary.json").write_text('{"meta": {}, "summary": [{"point": "a"}]}')
    assert cli("report", str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no requests.parquet" in err
    assert cli("report", str(tmp_path / "nope")) == 2
    assert "no such folder" in capsys.readouterr().err


def test_report_imports_no_torch():
    code = ("import sys, sc2sim.report, sc2sim.report.jobs, sc2sim.report.mapfig, sc2sim.report.cache, sc2sim.report.html, "
            "sc2sim.commands.report_cmds; "
            "assert 'torch' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


PROBE = """<script>window.addEventListener('load', () => { document.querySelectorAll('img').forEach(i => {
  const r = i.getBoundingClientRect(); i.setAttribute('data-probe', i.naturalWidth + 'x' + i.naturalHeight + ':' +
  Math.round(r.width) + 'x' + Math.round(r.height)); }); document.body.setAttribute('data-done', '1'); });</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (Debian: apt-get install -y chromium)")
def test_page_renders_in_headless_chromium(run_dir, tmp_path):
    page = (run_dir / "report.html").read_text(encoding="utf-8").replace("</body>", PROBE + "</body>")
    probe = tmp_path / "probe.html"
    probe.write_text(page, encoding="utf-8")
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
           "--window-size=1400,1000", "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'data-done="1"' in proc.stdout, proc.stdout[-2000:]
    sizes = re.findall(r'data-probe="(\d+)x(\d+):(\d+)x(\d+)"', proc.stdout)
    assert len(sizes) == len(FIGS)
    assert all(min(map(int, s)) > 0 for s in sizes), sizes
    # in a 1400-px window every figure is shown at >= 60 % of its pixels: its 7-8 pt text stays legible
    assert all(int(s[2]) >= 0.6 * int(s[0]) for s in sizes), sizes
    assert '<table class="map">' in proc.stdout  # the winner map heads the rendered page


def test_report_from_memory_is_the_report_from_the_folder(run_dir, tmp_path):
    """`sc2sim run` reports from the tables it has just written (no re-read): what it draws from must be
    what `sc2sim report DIR` reads back, to the figure-cache key, or a later `report` would redraw."""
    import sc2sim
    from sc2sim.report.cache import content_key
    from sc2sim.report.data import written_run
    from sc2sim.runs import RunResult

    res = sc2sim.run(run_dir.parent / "tiny.yaml", profile=run_dir.parent / "profile.parquet")
    out = tmp_path / "o"
    res.save(out)
    mem = written_run(out, RunResult(res.requests, res.summary, res.info), res.meta)
    disk = load_run(out)
    pd.testing.assert_frame_equal(mem.summary, disk.summary)
    pd.testing.assert_frame_equal(mem.records, disk.records)
    assert isinstance(disk.records["pipeline"].dtype, pd.CategoricalDtype)
    key = [content_key(r.summary, r.records, r.meta, "latency_p95_ms", DEFAULT_OBJECTIVE) for r in (mem, disk)]
    assert key[0] == key[1]
    changed = disk.records.assign(latency_s=disk.records["latency_s"] * 1.001)
    assert content_key(disk.summary, changed, disk.meta, "latency_p95_ms", DEFAULT_OBJECTIVE) != key[1]
