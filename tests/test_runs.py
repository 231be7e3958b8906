"""The run folder (sc2sim.runs): one declaration of the columns, point keys, resuming, metadata; and
the structured sweep point (sc2sim.points)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from sc2sim.devices import load_device
from sc2sim.points import SWEEP_FIELDS, expand
from sc2sim.runs import (
    RECORD_COLUMNS,
    SUMMARY_COLUMNS,
    PointResult,
    pending_points,
    point_key,
    read_summary,
    run_meta,
    write_point,
    write_results,
)
from sc2sim.scenario import parse_scenario
from sc2sim.sim import simulate_scenario
from sc2sim.sim.synthetic import synthetic_profile

ROOT = Path(__file__).resolve().parents[1]


def _scenario(**changes):
    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    doc["workload"]["requests"] = 50
    doc["mobile"] = "rpi4"
    doc["pipelines"] = ["local:light", "offload:webp?quality=50"]
    doc.update(changes)
    return parse_scenario(doc, ROOT / "scenarios" / "x.yaml")


def test_records_and_summary_have_the_declared_columns_in_order():
    sc = _scenario()
    res = simulate_scenario(sc, synthetic_profile(sc.pipelines))
    assert tuple(res.records.columns) == RECORD_COLUMNS
    assert tuple(res.summary.columns) == SUMMARY_COLUMNS


def test_a_swept_radio_is_one_more_point_field():
    """Adding a sweepable field (radio): the schema type, SWEEP_FIELDS, and the point's field."""
    sc = _scenario(network={"uplink": {"bandwidth_mbps": 2, "one_way_delay_ms": 20}, "radio": ["wifi", "lte"]})
    points = expand(sc)
    assert [p.label for p in points] == ["radio=wifi", "radio=lte"]
    assert [p.network.radio for p in points] == ["wifi", "lte"]
    assert (("network", "radio"), "radio={}") in SWEEP_FIELDS
    res = simulate_scenario(sc, synthetic_profile(sc.pipelines))
    e = res.summary.set_index(["point", "pipeline"])["mean_energy_j"]
    webp = "offload:webp?quality=50"
    assert e[("radio=lte", webp)] > e[("radio=wifi", webp)]  # LTE's radio power is higher (Huang et al.)
    assert e[("radio=lte", "local:light")] == pytest.approx(e[("radio=wifi", "local:light")])  # nothing sent


def test_point_mirrors_the_scenario_and_the_default_downlink_follows_the_uplink_delay():
    sc = _scenario(network={"uplink": {"bandwidth_mbps": [1, 5], "one_way_delay_ms": [10, 30]}})
    points = expand(sc)
    assert [p.label for p in points] == ["bw=1Mbps,delay=10ms", "bw=1Mbps,delay=30ms", "bw=5Mbps,delay=10ms",
                                         "bw=5Mbps,delay=30ms"]
    p = points[1]
    assert p.network.uplink.bandwidth_mbps == 1 and p.network.uplink.one_way_delay_ms == 30
    assert p.network.downlink.one_way_delay_ms == 30 and p.network.downlink.bandwidth_mbps == 50.0
    assert p.params == {"bandwidth_mbps": 1, "one_way_delay_ms": 30}
    assert p.workload.deadline_s == pytest.approx(sc.workload.deadline_ms[0] / 1e3)


def test_point_keys_change_with_inputs_and_resume_finds_done_points(tmp_path):
    sc = _scenario(network={"uplink": {"bandwidth_mbps": [1, 5], "one_way_delay_ms": 20}})
    points = expand(sc)
    devices = {n: load_device(n) for n in ("host", "rpi4", "t4")}
    k = lambda p, engine="auto": point_key(p, sc.pipelines, None, sc.dataset, "prof", devices, engine, None)  # noqa: E731
    assert k(points[0]) != k(points[1]) and k(points[0]) == k(points[0]) and k(points[0]) != k(points[0], "simpy")
    todo, done, files = pending_points(points, tmp_path, k)
    assert [t.point.label for t in todo] == ["bw=1Mbps", "bw=5Mbps"] and done == []
    res = simulate_scenario(sc, synthetic_profile(sc.pipelines))
    t = todo[0]
    write_point(t.path, PointResult(0, t.point.label, res.records[res.records["point"] == t.point.label],
                                    [], {"exact": 1}, 1, 0.1), t.key)
    todo2, done2, _ = pending_points(points, tmp_path, k)
    assert done2 == ["bw=1Mbps"] and [t.point.label for t in todo2] == ["bw=5Mbps"]
    todo3, done3, _ = pending_points(points, tmp_path, lambda p: k(p, "simpy"))  # another key: recomputed
    assert done3 == [] and len(todo3) == 2


def test_run_meta_carries_what_the_report_needs(tmp_path):
    sc = _scenario()
    points = expand(sc)
    res = simulate_scenario(sc, synthetic_profile(sc.pipelines))
    meta = run_meta(sc, points, scenario_file="x.yaml", engine="auto", profile_source="synthetic", profile_meta={})
    assert meta["network"]["downlink_mbps"] == 50.0 and meta["network"]["radio"] == "wifi"
    write_results(tmp_path, res, meta)
    summary, back = read_summary(tmp_path)
    assert back["network"] == meta["network"] and len(summary) == len(res.summary)
    assert np.allclose(summary["accuracy"], res.summary["accuracy"])
