"""``sc2sim run`` end to end on a synthetic profile table: the three output files, engines, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import cli

from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet

ROOT = Path(__file__).resolve().parents[1]
RECORD_COLUMNS = ["point", "pipeline", "device", "request", "t_arrival", "t_mobile_start", "t_mobile_end", "t_tx_start",
                  "t_tx_end", "t_edge_start", "t_edge_end", "t_done", "latency_s", "payload_bytes", "correct",
                  "deadline_met", "energy_j"]


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("prof") / "profile.parquet"
    return write_profile_parquet(synthetic_profile(samples=200), path)


def small_scenario(tmp_path: Path, **over) -> Path:
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["network"]["uplink"]["bandwidth_mbps"] = [2, 20]
    doc["workload"]["requests"] = 300
    doc["mobile"] = "rpi4"
    doc.update(over)
    p = tmp_path / "small.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


def test_run_writes_records_and_summaries(tmp_path, profile, capsys):
    out = tmp_path / "out"
    assert cli("run", "--no-report", str(ROOT / "scenarios" / "default.yaml"), "--out", str(out), "--profile", str(profile),
               "--no-progress") == 0
    assert sorted(p.name for p in out.iterdir()) == ["requests.parquet", "summary.csv", "summary.json"]
    rec = pd.read_parquet(out / "requests.parquet")
    assert list(rec.columns[:2]) == ["point", "pipeline"] and set(RECORD_COLUMNS) <= set(rec.columns)
    assert len(rec) == 4 * 9 * 8 * 1000  # default.yaml: 4 mobiles x 9 bandwidths x 8 pipelines x 1000 requests
    assert (rec["latency_s"] > 0).all() and (rec["t_done"] >= rec["t_arrival"]).all()
    assert (rec.loc[rec["strategy"] == "local", "payload_bytes"] == 0).all()
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 4 * 72
    for col in ("accuracy", "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_rps",
                "deadline_hit_rate", "mean_bytes", "mean_energy_j", "bandwidth_mbps", "mobile", "edge"):
        assert col in summary.columns
    assert set(summary["engine"]) == {"exact"}
    doc = json.loads((out / "summary.json").read_text())
    assert doc["meta"]["scenario"] == "default" and len(doc["summary"]) == 4 * 72
    printed = capsys.readouterr().out
    # 288 rows: the terminal gets one row per point, its best pipeline by the run's rule, and says where the rest is
    from sc2sim.runs.decision import best_per_point, objective_from_doc

    assert "the best pipeline at each point" in printed and "summary.csv" in printed and "best = " in printed
    best = best_per_point(summary, objective_from_doc(doc["meta"].get("objective")))
    assert len(best) == 36
    lines = [ln for ln in printed.splitlines() if "bw=" in ln]
    assert len(lines) == 36
    for line, (_, row) in zip(lines, best.iterrows()):
        assert f" {row['point']} " in line and f" {row['best']} " in line
    # offloading gets faster with bandwidth; local does not care
    webp = summary[(summary["pipeline"] == "offload:webp?quality=50") & (summary["mobile"] == "rpi4")].sort_values("bandwidth_mbps")
    assert webp["latency_mean_ms"].is_monotonic_decreasing
    local = summary[summary["pipeline"] == "local:teacher"]
    assert (local.groupby("mobile")["latency_mean_ms"].nunique() == 1).all()  # the same at every bandwidth


def test_a_small_run_prints_every_row(tmp_path, profile, capsys):
    out = tmp_path / "out"
    assert cli("run", "--no-report", str(small_scenario(tmp_path)), "--out", str(out), "--profile", str(profile),
               "--no-progress") == 0
    summary = pd.read_csv(out / "summary.csv")
    assert len(summary) == 2 * 8  # two bandwidths x 8 pipelines: under FULL_TABLE_ROWS
    printed = capsys.readouterr().out
    assert "the best pipeline at each point" not in printed
    for pipe in summary["pipeline"].unique():
        assert printed.count(f" {pipe} ") == 2


def test_engines_give_the_same_records(tmp_path, profile):
    sc = small_scenario(tmp_path)
    got = {}
    for engine in ("exact", "simpy"):
        assert cli("run", "--no-report", "--no-report", str(sc), "--out", str(tmp_path / engine), "--profile", str(profile), "--engine", engine,
                   "--no-progress", "--quiet") == 0
        got[engine] = pd.read_parquet(tmp_path / engine / "requests.parquet")
    a, b = got["exact"], got["simpy"]
    assert (a["engine"] == "exact").all() and (b["engine"] == "simpy").all()
    for col in ("t_mobile_start", "t_tx_end", "t_edge_start", "t_done", "energy_j"):
        assert (a[col] - b[col]).abs().max() < 1e-9


def test_coupled_scenario_uses_simpy_and_refuses_exact(tmp_path, profile, capsys):
    sc = small_scenario(tmp_path, workload={"devices": 4, "arrival": {"kind": "poisson", "rate_hz": 5}, "requests": 200},
                        edge_server={"gpus": 1, "batching": {"max_batch": 4, "max_wait_ms": 2}})
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o"), "--profile", str(profile), "--no-progress", "--quiet") == 0
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert set(summary.loc[summary["strategy"] == "offload", "engine"]) == {"simpy"}
    assert set(summary.loc[summary["strategy"] == "local", "engine"]) == {"exact"}  # local never couples
    capsys.readouterr()
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o2"), "--profile", str(profile), "--engine", "exact") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sc2sim: error: --engine: 'exact'")
    assert not (tmp_path / "o2").exists()


def test_user_errors_are_one_line_exit_2(tmp_path, profile, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npipelines: [local:teacher]\nnetwork: {uplink: {bandwidth_mbps: -1}}\n")
    assert cli("run", "--no-report", str(bad), "--out", str(tmp_path / "o"), "--profile", str(profile)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"sc2sim: error: {bad}: network.uplink.bandwidth_mbps: -1 — must be a number in [0.001, 10^5] Mbit/s"]
    sc = small_scenario(tmp_path, pipelines=["local:teacher", "split:sc2?beta=0.5"])
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o"), "--profile", str(profile)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pipeline 'split:sc2?beta=0.5': not in the profile table" in err[0]
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o"), "--profile", str(tmp_path / "none.parquet")) == 2
    assert "--profile" in capsys.readouterr().err
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o"), "--profile", str(profile), "--engine", "fast") == 2
    assert "allowed: auto, simpy, exact" in capsys.readouterr().err


def test_console_entry_point_prints_no_traceback(tmp_path, profile):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npipelines: [local:teacher]\nnetwork: {uplink: {bandwidth_mbps: 5}}\nworkload: {device: 3}\n")
    proc = subprocess.run([sys.executable, "-m", "sc2sim.cli", "run", str(bad), "--out", str(tmp_path / "o"),
                           "--profile", str(profile)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "workload.device: unknown key" in lines[0] and "did you mean 'devices'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_run_without_profile_asks_ensure_profile(tmp_path, monkeypatch):
    calls = []

    def ensure_profile(pipelines, samples, dataset="fashion-mnist", data_dir=None, repeats=3, threads=1, progress=True, timed=None, idle_gap_ms=0.0):
        calls.append((list(pipelines), samples, dataset, repeats, threads, timed))
        return synthetic_profile(pipelines, samples=50)

    import sc2sim.profiling

    monkeypatch.setattr(sc2sim.profiling, "ensure_profile", ensure_profile, raising=False)  # stands in for the torch side
    monkeypatch.setenv("SC2SIM_CACHE", str(tmp_path / "cache"))  # an empty cache: the warm-path index misses
    sc = small_scenario(tmp_path, samples=50)
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o"), "--repeats", "2", "--no-progress", "--quiet",
               "--timing-samples", "20") == 0
    pipes = yaml.safe_load(sc.read_text())["pipelines"]
    assert calls == [(pipes, 50, "fashion-mnist", 2, 1, 20)]
    assert len(pd.read_csv(tmp_path / "o" / "summary.csv")) == 2 * len(pipes)
    # the second run finds the whole table in the torch-free index and does not ask again
    assert cli("run", "--no-report", str(sc), "--out", str(tmp_path / "o2"), "--repeats", "2", "--no-progress", "--quiet",
               "--timing-samples", "20") == 0
    assert len(calls) == 1


def test_close_margin_marks_the_winners_a_margin_would_change(tmp_path, profile, capsys):
    """--close-margin: a close_call column in summary.csv (the same on every row of a point), a * in the
    printed best table with the margin in its caption, the count in the report; without it, none of that."""
    scen = small_scenario(tmp_path, mobile=["rpi4", "esp32"], network={"uplink": {"bandwidth_mbps": [0.05, 0.1, 2, 20]}})
    out = tmp_path / "close"
    assert cli("run", str(scen), "--out", str(out), "--profile", str(profile), "--no-progress", "--close-margin", "0.6") == 0
    summary = pd.read_csv(out / "summary.csv")
    assert summary["close_call"].dtype == bool and summary.groupby("point")["close_call"].nunique().eq(1).all()
    doc = json.loads((out / "summary.json").read_text())
    assert doc["meta"]["close_margin"] == 0.6
    printed = capsys.readouterr().out
    marked = int(summary.groupby("point")["close_call"].first().sum())
    assert f"every stage time 60 % against the winner ({marked} of 8 points)" in " ".join(printed.split())
    rows = [line for line in printed.splitlines() if "mobile=" in line]
    assert len(rows) == 8 and sum(" *" in line for line in rows) == marked > 0  # a * on each close call's row
    assert (out / "report.html").read_text().count("Close call: with every stage time 60 %") == marked
    plain = tmp_path / "plain"
    assert cli("run", "--no-report", str(scen), "--out", str(plain), "--profile", str(profile), "--no-progress") == 0
    assert "close_call" not in pd.read_csv(plain / "summary.csv") and "against the winner" not in capsys.readouterr().out
