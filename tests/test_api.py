"""The Python API (sc2sim.load_scenario, sc2sim.run, Results) and the one decision rule."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import sc2sim
from sc2sim.errors import ConfigError
from sc2sim.runs.decision import Objective, best_per_point, pick
from sc2sim.sim.synthetic import synthetic_profile

ROOT = Path(__file__).resolve().parents[1]


def _scenario_file(tmp_path: Path, **changes) -> Path:
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["workload"]["requests"] = 60
    doc["mobile"] = "rpi4"
    doc["network"]["uplink"]["bandwidth_mbps"] = [0.1, 1, 10]
    doc["pipelines"] = ["local:teacher", "local:light", "offload:webp?quality=50"]
    doc.update(changes)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_run_returns_dataframes_and_writes_the_same_files_as_the_cli(tmp_path):
    path = _scenario_file(tmp_path)
    sc = sc2sim.load_scenario(path)
    prof = synthetic_profile(sc.pipelines)
    res = sc2sim.run(sc, profile=prof)
    assert isinstance(res.requests, pd.DataFrame) and isinstance(res.summary, pd.DataFrame)
    assert len(res.summary) == len(res.points) * len(sc.pipelines)
    assert len(res.requests) == len(res.points) * len(sc.pipelines) * 60
    best = res.best()
    assert list(best["point"]) == [p.label for p in res.points]
    page = res.report(tmp_path / "out")
    assert page.is_file() and (tmp_path / "out" / "summary.csv").is_file()
    assert res.meta["objective"]["kind"] == "accuracy"
    # a path works too, and bad input is the project's one-line error
    assert len(sc2sim.run(path, profile=prof).summary) == len(res.summary)
    with pytest.raises(ConfigError, match="--engine"):
        sc2sim.run(sc, profile=prof, engine="warp")


def _rows(**cols):
    base = {"point": "p", "point_index": 0, "strategy": "split", "mean_bytes": 1.0, "deadline_ms": 100.0}
    n = len(cols["pipeline"])
    return pd.DataFrame({**{k: [v] * n for k, v in base.items()}, **cols})


def test_default_rule_most_accurate_within_the_deadline_ties_by_latency():
    r = _rows(pipeline=["a", "b", "c", "d"], accuracy=[0.95, 0.90, 0.90, 0.80],
              latency_p95_ms=[150.0, 60.0, 40.0, 10.0], latency_mean_ms=[1.0] * 4, mean_energy_j=[1.0] * 4)
    p = pick(r, Objective(), 100.0)
    assert p.row["pipeline"] == "c" and p.qualifies and p.qualifying == 3  # a misses the deadline; b, c tie: c faster
    assert pick(r, Objective(), None).row["pipeline"] == "a"  # no deadline: the most accurate
    none = pick(r, Objective(), 5.0)
    assert none.row["pipeline"] == "d" and not none.qualifies  # nobody qualifies: the fastest, marked


def test_other_objectives():
    r = _rows(pipeline=["a", "b", "c"], accuracy=[0.95, 0.90, 0.85], latency_p95_ms=[80.0, 50.0, 20.0],
              latency_mean_ms=[1.0] * 3, mean_energy_j=[0.5, 0.1, 0.3])
    assert pick(r, Objective("latency", min_accuracy=0.88), 100.0).row["pipeline"] == "b"
    assert pick(r, Objective("latency"), 100.0).row["pipeline"] == "c"
    assert pick(r, Objective("energy"), 100.0).row["pipeline"] == "b"
    assert pick(r, Objective("energy"), 30.0).row["pipeline"] == "c"
    assert "lowest mean device energy" in Objective("energy").describe(100)
    with pytest.raises(ValueError):
        Objective("throughput")


def test_scenario_objective_reaches_best_per_point(tmp_path):
    path = _scenario_file(tmp_path, objective={"minimize": "latency", "min_accuracy": 0.5})
    sc = sc2sim.load_scenario(path)
    res = sc2sim.run(sc, profile=synthetic_profile(sc.pipelines))
    best = res.best()
    fastest = res.summary.loc[res.summary.groupby("point", sort=False)["latency_p95_ms"].idxmin(), "pipeline"]
    assert list(best["best"]) == list(fastest)
    assert best_per_point(res.summary).shape[0] == len(res.points)


def test_close_calls_take_the_worst_case_against_each_winner():
    from sc2sim.runs.decision import close_calls

    def rows(point, lat, energy=(1.0, 1.0)):
        return _rows(pipeline=["x", "y"], accuracy=[0.9, 0.8], latency_p95_ms=list(lat), latency_mean_ms=[1.0, 1.0],
                     mean_energy_j=list(energy)).assign(point=point)

    # p: x wins at 95 ms, 101 ms with its stages longer: over the deadline, y takes it. q: x at 60 (66) stays.
    base = pd.concat([rows("p", (95, 50)), rows("q", (60, 50))], ignore_index=True)
    up = pd.concat([rows("p", (101, 55)), rows("q", (66, 55))], ignore_index=True)
    down = pd.concat([rows("p", (90, 45)), rows("q", (54, 45))], ignore_index=True)
    assert close_calls(base, up, down) == {"p": True, "q": False}
    # the winner's rows come from `up` and the others' from `down`, never both from one run
    assert close_calls(base, down, up) == {"p": False, "q": False}
    # latency first: y wins both; at p x's 90 (down) stays behind y's 55 (up), at q x's 54 beats y's 55
    fast = Objective("latency")
    assert close_calls(base, up, down, fast) == {"p": False, "q": True}
    tight = pd.concat([rows("p", (52, 50)), rows("q", (60, 50))], ignore_index=True)
    assert close_calls(tight, tight.assign(latency_p95_ms=[54.0, 53.0, 66, 52]),
                       tight.assign(latency_p95_ms=[49.0, 47.0, 57, 45]), fast) == {"p": True, "q": False}
    # energy first: the same worst case on energy
    e = pd.concat([rows("p", (50, 50), (1.0, 1.05)), rows("q", (50, 50), (1.0, 2.0))], ignore_index=True)
    assert close_calls(e, e.assign(mean_energy_j=[1.1, 1.15, 1.1, 2.2]), e.assign(mean_energy_j=[0.9, 0.95, 0.9, 1.8]),
                       Objective("energy")) == {"p": True, "q": False}
    with pytest.raises(ValueError, match="same"):
        close_calls(base, up.iloc[::-1], down)
    best = best_per_point(base.assign(close_call=base["point"].map({"p": True, "q": False})))
    assert best["close"].tolist() == [True, False]
    assert "close" not in best_per_point(base)  # only a summary that carries the check says anything


def test_run_marks_close_calls_by_simulating_the_margin(tmp_path):
    path = _scenario_file(tmp_path)
    sc = sc2sim.load_scenario(path)
    prof = synthetic_profile(sc.pipelines)
    plain = sc2sim.run(sc, profile=prof)
    res = sc2sim.run(sc, profile=prof, close_margin=0.5)
    assert "close_call" not in plain.summary and res.meta["close_margin"] == 0.5
    assert res.summary["close_call"].dtype == bool and res.summary.groupby("point")["close_call"].nunique().eq(1).all()
    assert res.summary.drop(columns="close_call").equals(plain.summary)  # the run itself is unchanged
    huge = sc2sim.run(sc, profile=prof, close_margin=0.99)
    assert huge.summary["close_call"].sum() >= res.summary["close_call"].sum()  # a wider margin marks at least as much
    with pytest.raises(ValueError, match="margin"):
        sc2sim.run(sc, profile=prof, close_margin=1.5)
