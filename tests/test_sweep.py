"""``sc2sim sweep``: the same output as ``run``, resume after an interruption, no stale points, errors.

Small on purpose (2 cores shared): 6 points x 2 pipelines x 200 requests on a synthetic profile, Dask
workers as threads in the test process unless the test is about a real process being killed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import cli

from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet

ROOT = Path(__file__).resolve().parents[1]
PIPES = ["local:teacher", "offload:webp?quality=50"]


def scenario(path: Path, bandwidths=(2, 10, 50), requests: int = 200) -> Path:
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["pipelines"] = PIPES
    doc["mobile"] = "rpi4"
    doc["network"]["uplink"]["bandwidth_mbps"] = list(bandwidths)
    doc["network"]["uplink"]["one_way_delay_ms"] = [10, 30]
    doc["workload"]["requests"] = requests
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A profile, the scenario (6 points) and `sc2sim run`'s output on it."""
    d = tmp_path_factory.mktemp("sweep")
    prof = write_profile_parquet(synthetic_profile(PIPES, samples=200), d / "profile.parquet")
    sc = scenario(d / "s.yaml")
    assert cli("run", str(sc), "--out", str(d / "run"), "--profile", str(prof), "--no-progress", "--quiet", "--no-report") == 0
    return {"dir": d, "profile": prof, "scenario": sc, "run": d / "run"}


def sweep(sc: Path, out: Path, prof: Path, *extra: str) -> int:
    return cli("sweep", str(sc), "--out", str(out), "--profile", str(prof), "--no-processes", "--workers", "2",
               "--no-progress", "--quiet", "--no-report", *extra)


def counts(err: str) -> tuple[int, int]:
    m = re.search(r"(\d+) computed, (\d+) resumed", err)
    assert m, err
    return int(m.group(1)), int(m.group(2))


def stamps(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}


def assert_same_as_run(out: Path, run: Path) -> None:
    assert (out / "summary.csv").read_text() == (run / "summary.csv").read_text()
    a, b = pd.read_parquet(out / "requests.parquet"), pd.read_parquet(run / "requests.parquet")
    pd.testing.assert_frame_equal(a, b)
    ja, jb = json.loads((out / "summary.json").read_text()), json.loads((run / "summary.json").read_text())
    assert ja["summary"] == jb["summary"]
    assert ja["info"]["requests"] == jb["info"]["requests"] and ja["info"]["engines"] == jb["info"]["engines"]
    assert ja["meta"]["scenario"] == jb["meta"]["scenario"] and ja["meta"]["points"] == jb["meta"]["points"] == 6


def test_sweep_gives_the_same_output_as_run_and_resumes_everything(base, tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(base["scenario"], out, base["profile"]) == 0
    assert counts(capsys.readouterr().err) == (6, 0)
    assert len(stamps(out)) == 6
    assert_same_as_run(out, base["run"])
    before = stamps(out)
    assert sweep(base["scenario"], out, base["profile"]) == 0  # nothing left to do: no cluster, same output
    assert counts(capsys.readouterr().err) == (0, 6)
    assert stamps(out) == before
    assert_same_as_run(out, base["run"])


def test_killed_sweep_resumes_only_the_missing_points(base, tmp_path, capsys):
    """A real interruption: the sweep process is SIGKILLed (by its PID) once 2 point files exist."""
    out = tmp_path / "out"
    env = {**os.environ, "SC2SIM_SWEEP_TASK_DELAY_S": "0.5"}
    proc = subprocess.Popen([sys.executable, "-m", "sc2sim.cli", "sweep", str(base["scenario"]), "--out", str(out),
                             "--profile", str(base["profile"]), "--no-processes", "--workers", "1", "--no-progress",
                             "--quiet", "--no-report"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len(stamps(out) if (out / "points").is_dir() else {}) < 2:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the sweep wrote no points"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "summary.csv").exists()
    done = stamps(out)
    assert 2 <= len(done) < 6
    assert not list((out / "points").glob(".*.tmp"))  # atomic writes: no half file left visible as a point
    assert sweep(base["scenario"], out, base["profile"]) == 0
    assert counts(capsys.readouterr().err) == (6 - len(done), len(done))
    after = stamps(out)
    assert len(after) == 6 and all(after[name] == t for name, t in done.items())  # saved points not recomputed
    assert_same_as_run(out, base["run"])


def test_failed_point_is_reported_and_the_rest_is_kept(base, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("SC2SIM_SWEEP_FAIL_POINTS", "bw=10Mbps,delay=30ms")
    assert sweep(base["scenario"], out, base["profile"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sc2sim: error: 1 of 6 sweep point(s) failed (bw=10Mbps,delay=30ms)")
    done = stamps(out)
    assert len(done) == 5 and not any("bw=10Mbps_delay=30ms" in n for n in done)
    assert not (out / "summary.csv").exists()
    monkeypatch.delenv("SC2SIM_SWEEP_FAIL_POINTS")
    assert sweep(base["scenario"], out, base["profile"]) == 0
    assert counts(capsys.readouterr().err) == (1, 5)
    after = stamps(out)
    assert [n for n in after if n not in done] == [n for n in after if "bw=10Mbps_delay=30ms" in n]
    assert all(after[n] == t for n, t in done.items())
    assert_same_as_run(out, base["run"])


def test_changed_scenario_or_profile_does_not_reuse_stale_points(base, tmp_path, capsys):
    out = tmp_path / "out"
    assert sweep(base["scenario"], out, base["profile"]) == 0
    capsys.readouterr()
    # one swept value changes: only its 2 points are new, the other 4 are reused
    changed = scenario(tmp_path / "c.yaml", bandwidths=(2, 10, 20))
    assert sweep(changed, out, base["profile"]) == 0
    assert counts(capsys.readouterr().err) == (2, 4)
    assert cli("run", str(changed), "--out", str(tmp_path / "run2"), "--profile", str(base["profile"]), "--no-progress",
               "--quiet", "--no-report") == 0
    assert_same_as_run(out, tmp_path / "run2")
    # a non-swept field every point depends on: nothing is reused
    fewer = scenario(tmp_path / "f.yaml", requests=150)
    assert sweep(fewer, out, base["profile"]) == 0
    assert counts(capsys.readouterr().err) == (6, 0)
    assert set(pd.read_csv(out / "summary.csv")["requests"]) == {150}
    # another profile table (same pipelines, other numbers): nothing is reused
    other = write_profile_parquet(synthetic_profile(PIPES, samples=200, seed=1), tmp_path / "other.parquet")
    assert sweep(base["scenario"], out, other) == 0
    assert counts(capsys.readouterr().err) == (6, 0)


def test_existing_scheduler(base, tmp_path, capsys):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=None) as cluster:
        assert cluster.scheduler_address.startswith("tcp://")
        assert sweep(base["scenario"], tmp_path / "out", base["profile"], "--scheduler", cluster.scheduler_address) == 0
    assert counts(capsys.readouterr().err) == (6, 0)
    assert_same_as_run(tmp_path / "out", base["run"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_errors_are_one_line_exit_2(base, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\npipelines: [local:teacher]\nnetwork: {uplink: {bandwidth_mbps: -1}}\n")
    assert sweep(bad, tmp_path / "o", base["profile"]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"sc2sim: error: {bad}: network.uplink.bandwidth_mbps: -1 — must be a number in [0.001, 10^5] Mbit/s"]
    addr = f"tcp://127.0.0.1:{_free_port()}"
    assert sweep(base["scenario"], tmp_path / "o", base["profile"], "--scheduler", addr, "--connect-timeout", "1") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"sc2sim: error: --scheduler: '{addr}' — cannot reach the Dask scheduler")
    assert sweep(base["scenario"], tmp_path / "o", base["profile"], "--scheduler", "not an address") == 2
    assert "give an address like tcp://host:8786" in capsys.readouterr().err
    assert sweep(base["scenario"], tmp_path / "o", base["profile"], "--workers", "0") == 2
    assert "--workers: 0" in capsys.readouterr().err
    assert not (tmp_path / "o" / "summary.csv").exists()
