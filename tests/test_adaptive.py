"""The adaptive policy: EWMA bandwidth estimate, the choice rule, and adaptive vs static pipelines on
trace-driven links (a synthetic step drop, and scenarios/lte-trace.yaml) with synthetic profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sc2sim.errors import ConfigError
from sc2sim.network import ConstantCapacity
from sc2sim.scenario import load_scenario, parse_scenario
from sc2sim.sim import manual_plan, simulate_scenario
from sc2sim.sim.policy import Candidate, Ewma, choose, simulate_adaptive
from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet

ROOT = Path(__file__).resolve().parents[1]
LIGHT, WEBP = "local:light", "offload:webp?quality=50"


def test_ewma_tracks_a_step():
    e = Ewma(0.3, 10.0)
    vals = [e.update(10.0) for _ in range(5)] + [e.update(1.0) for _ in range(12)]
    assert vals[4] == pytest.approx(10.0)
    after = np.array(vals[5:])
    assert np.all(np.diff(after) < 0)  # falls monotonically towards the new level
    assert after[0] == pytest.approx(0.3 * 1 + 0.7 * 10)
    assert abs(after[-1] - 1.0) < 0.15  # within 10 % after 12 samples (0.7^12 * 9 = 0.12)
    with pytest.raises(ValueError):
        Ewma(0.0, 1.0)


def test_choice_rule():
    cands = [Candidate("local:light", True, 0.88, 0.010, 0), Candidate("offload:webp", False, 0.92, 0.030, 300),
             Candidate("local:teacher", True, 0.93, 0.200, 0)]
    assert choose(cands, 10.0, 0.050) == 1  # webp: 30 ms + 0.24 ms, most accurate within 50 ms
    assert choose(cands, 0.05, 0.050) == 0  # webp: 30 + 48 ms misses -> light
    assert choose(cands, 10.0, 0.005) == 0  # nobody meets 5 ms -> the fastest predicted
    assert choose(cands, 10.0, 1.0) == 2


def test_policy_learns_from_each_transfers_own_time_in_the_bottleneck():
    """The engine tells the policy when each transfer reached the head of its device's queue and when
    its last byte left: five 10 kB transfers queued at once on a 5 Mbit/s link each give a sample of
    exactly 5 Mbit/s (their queueing is not counted), so a later request sees 5 - 4 x 0.7^5."""
    plan = manual_plan([0.0] * 5 + [100.0], 0.0, payload_bytes=10_000, up_post_s=0.01, capacity=ConstantCapacity(5.0))
    run = simulate_adaptive([plan], [0.9], 1.0, alpha=0.3, initial_mbps=1.0)
    assert run.estimate_mbps[:5].tolist() == [1.0] * 5
    assert run.estimate_mbps[5] == pytest.approx(5 - 4 * 0.7**5, rel=1e-12)
    assert (run.chosen == 0).all()


def _drop_trace(path: Path) -> Path:
    """12 Mbit/s (one 1500 B opportunity per ms) for 10 s, then 0.05 Mbit/s (one per 240 ms) for 10 s."""
    ops = list(range(1, 10001)) + list(range(10240, 20000, 240)) + [20000]
    path.write_text("\n".join(map(str, ops)) + "\n")
    return path


def _nested_profile() -> pd.DataFrame:
    """Synthetic profile where light is right only where webp is right (so accuracy comparisons are
    not at the mercy of sampling noise)."""
    t = synthetic_profile([LIGHT, WEBP], samples=500, seed=1)
    w = t[t["pipeline"] == WEBP]["correct"].to_numpy()
    light = t["pipeline"] == LIGHT
    t.loc[light, "correct"] = w & (np.random.default_rng(2).random(w.size) < 0.93)
    return t


def test_adaptive_beats_both_static_extremes_on_a_rate_drop(tmp_path):
    _drop_trace(tmp_path / "drop.up")
    doc = {"name": "drop", "seed": 3, "samples": 500, "pipelines": [LIGHT, WEBP], "mobile": "rpi4", "edge": "t4",
           "network": {"uplink": {"trace": "drop.up", "one_way_delay_ms": 5},
                       "downlink": {"bandwidth_mbps": 50, "one_way_delay_ms": 5}, "transport": "raw"},
           "workload": {"arrival": {"kind": "poisson", "rate_hz": 10}, "requests": 200, "deadline_ms": 50},
           "policy": {"kind": "adaptive", "ewma_alpha": 0.5}}
    sc = parse_scenario(doc, tmp_path / "s.yaml")
    res = simulate_scenario(sc, _nested_profile())
    s = res.summary.set_index("pipeline")
    assert list(s.index) == [LIGHT, WEBP, "adaptive"] and s.loc["adaptive", "engine"] == "simpy"
    fastest = s.loc[[LIGHT, WEBP], "latency_mean_ms"].idxmin()
    most_accurate = s.loc[[LIGHT, WEBP], "accuracy"].idxmax()
    assert (fastest, most_accurate) == (LIGHT, WEBP)
    assert s.loc["adaptive", "accuracy"] >= s.loc[fastest, "accuracy"]
    assert s.loc["adaptive", "deadline_hit_rate"] >= s.loc[most_accurate, "deadline_hit_rate"]
    # and strictly better than each on the other's strength: it really adapts
    assert s.loc["adaptive", "accuracy"] > s.loc[LIGHT, "accuracy"]
    assert s.loc["adaptive", "deadline_hit_rate"] > s.loc[WEBP, "deadline_hit_rate"] + 0.1
    rec = res.records[res.records["pipeline"] == "adaptive"]
    assert set(rec["chosen"].astype(str)) == {LIGHT, WEBP}
    assert "webp" in s.loc["adaptive", "chosen_mix"] and "light" in s.loc["adaptive", "chosen_mix"]
    # the estimate tracks the step: high before the drop, far lower soon after it
    t, est, ch = rec["t_arrival"].to_numpy(), rec["bw_estimate_mbps"].to_numpy(), rec["chosen"].astype(str).to_numpy()
    before = (t > 2) & (t < 10)
    assert np.median(est[before]) > 2.0 and (ch[before] == WEBP).mean() > 0.9
    switch = t[(t > 10) & (ch == LIGHT)]
    assert switch.size and switch[0] < 13.0  # switched within 3 s of the drop (backlog of 240 ms opportunities)
    assert np.all(est[t >= switch[0]] < 0.5)  # below 0.5 Mbit/s once switched (true rate 0.05)
    assert (ch[t > 13] == LIGHT).all()  # no probing: it stays local (see sim/policy.py)
    # static records carry the columns too
    static = res.records[res.records["pipeline"] == WEBP]
    assert (static["chosen"].astype(str) == WEBP).all() and static["bw_estimate_mbps"].isna().all()


def test_adaptive_on_lte_trace_scenario(tmp_path):
    from sc2sim.cli import main

    doc = yaml.safe_load((ROOT / "scenarios" / "lte-trace.yaml").read_text())
    doc["network"]["uplink"]["trace"] = str(ROOT / "traces" / "lte-uplink.up")
    doc["workload"]["requests"] = 400
    doc["policy"] = {"kind": "adaptive", "ewma_alpha": 0.3}
    sc_path = tmp_path / "lte.yaml"
    sc_path.write_text(yaml.safe_dump(doc))
    prof = write_profile_parquet(synthetic_profile(doc["pipelines"], samples=300), tmp_path / "p.parquet")
    try:
        main(["run", str(sc_path), "--out", str(tmp_path / "o"), "--profile", str(prof), "--no-progress", "--quiet",
              "--no-report"])
    except SystemExit as exc:
        assert not exc.code
    summary = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert len(summary) == 3 * (len(doc["pipelines"]) + 1)
    ad = summary[summary["pipeline"] == "adaptive"]
    assert len(ad) == 3 and ad["chosen_mix"].notna().all()
    rec = pd.read_parquet(tmp_path / "o" / "requests.parquet")
    a = rec[rec["pipeline"] == "adaptive"]
    assert len(a) == 3 * 400 and set(a["chosen"].astype(str)) <= set(doc["pipelines"])
    assert (a["latency_s"] > 0).all() and np.isfinite(a["energy_j"]).all()
    # a request that went local spends no radio energy
    loc = a["chosen"].astype(str).str.startswith("local:")
    assert (a.loc[loc, "energy_radio_j"] == 0).all() and (a.loc[loc, "energy_tail_j"] == 0).all()


def test_policy_schema(tmp_path):
    base = {"name": "t", "pipelines": [LIGHT, WEBP], "network": {"uplink": {"bandwidth_mbps": 10}},
            "workload": {"deadline_ms": 50}}
    assert parse_scenario(base).policy.kind == "static"
    assert parse_scenario({**base, "policy": "static"}).policy.kind == "static"
    sc = parse_scenario({**base, "policy": {"kind": "adaptive", "ewma_alpha": 0.2, "initial_mbps": 3}})
    assert (sc.policy.kind, sc.policy.ewma_alpha, sc.policy.initial_mbps) == ("adaptive", 0.2, 3)
    assert parse_scenario({**base, "policy": "adaptive"}).policy.ewma_alpha == 0.3
    with pytest.raises(ConfigError, match="needs workload.deadline_ms"):
        parse_scenario({**base, "workload": {}, "policy": "adaptive"}, "s.yaml")
    with pytest.raises(ConfigError, match="policy.ewma_alpha"):
        parse_scenario({**base, "policy": {"kind": "adaptive", "ewma_alpha": 1.5}}, "s.yaml")
    with pytest.raises(ConfigError, match="policy.kind"):
        parse_scenario({**base, "policy": "greedy"}, "s.yaml")
    assert load_scenario(ROOT / "scenarios" / "default.yaml").policy.kind == "static"
