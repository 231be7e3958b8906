"""``sc2sim run`` on real bundled models: it profiles what is missing, and the simulated accuracy is the profiled one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml
from conftest import run_cli

from sc2sim.profiling import ensure_profile

ROOT = Path(__file__).resolve().parents[1]


def test_run_profiles_real_pipelines_and_keeps_their_accuracy(tmp_path):
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["mobile"] = "rpi4"
    doc.update(samples=40, pipelines=["local:light", "offload:webp?quality=30"])
    doc["network"]["uplink"]["bandwidth_mbps"] = [1, 10]
    doc["workload"]["requests"] = 4000
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    proc = run_cli("run", str(scenario), "--out", str(tmp_path / "out"), "--repeats", "1", "--no-progress", "--no-report")
    assert proc.returncode == 0, proc.stderr
    summary = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert len(summary) == 4
    profile = ensure_profile(doc["pipelines"], 40, repeats=1, progress=False)  # now cached: the same table
    for name, acc in profile.groupby("pipeline")["correct"].mean().items():
        sim = summary.loc[summary.pipeline == name, "accuracy"]
        assert ((sim - acc).abs() < 0.03).all(), (name, acc, sim.tolist())  # 4000 draws among 40 real samples
    rec = pd.read_parquet(tmp_path / "out" / "requests.parquet")
    webp = profile[profile.pipeline == "offload:webp?quality=30"].set_index("sample")["payload_bytes"]
    drawn = rec[rec.pipeline == "offload:webp?quality=30"]
    assert "sample" in drawn.columns
    assert (drawn["payload_bytes"].to_numpy() == webp.loc[drawn["sample"]].to_numpy()).all()
    # real counts: every stage decomposed by the cost model (a WebP encoder is codec time on the Pi)
    webp_rows = summary[summary.pipeline == "offload:webp?quality=30"]
    assert (webp_rows["mobile_dominant"] == "codec").all() and (webp_rows["edge_dominant"] == "launch").all()
    assert summary.loc[summary.pipeline == "local:light", "edge_dominant"].isna().all()  # no edge stage
    assert (summary["mobile_stage_ms"] > 0).all()


def test_a_bad_pipeline_parameter_in_a_scenario_names_the_file_and_field(tmp_path, capsys):
    from conftest import cli

    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["mobile"] = "rpi4"
    doc["pipelines"] = ["offload:webp?quality=500"]
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    assert cli("run", str(scenario), "--out", str(tmp_path / "o"), "--no-progress") == 2
    err = capsys.readouterr().err.strip()
    assert err == f"sc2sim: error: {scenario}: pipelines[0]: 'offload:webp?quality=500': quality='500' — allowed: an integer 1-100"


def test_samples_override_profiles_that_many(tmp_path):
    from conftest import cli

    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["mobile"] = "rpi4"
    doc.update(pipelines=["local:light"], samples=1000)
    doc["network"]["uplink"]["bandwidth_mbps"] = 5
    doc["workload"]["requests"] = 50
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(doc))
    assert cli("run", str(scenario), "--out", str(tmp_path / "o"), "--samples", "25", "--repeats", "1",
               "--no-progress", "--no-report", "--quiet") == 0
    rec = pd.read_parquet(tmp_path / "o" / "requests.parquet")
    assert rec["sample"].max() < 25
    assert cli("run", str(scenario), "--out", str(tmp_path / "o"), "--samples", "-3") == 2
