"""Validation against queueing theory (Pollaczek-Khinchine, zero wait) and the energy model by hand."""

from __future__ import annotations

import numpy as np
import pytest

from sc2sim.devices import load_device, single_call_s
from sc2sim.network import (
    ConstantCapacity,
    TransportModel,
    isolated_time_s,
    transfer_cost,
)
from sc2sim.points import expand
from sc2sim.scenario import parse_scenario
from sc2sim.sim import manual_plan, simulate_des, simulate_exact
from sc2sim.sim.energy import radio_energy_j
from sc2sim.sim.plan import build_plan, link_capacity, split_profile
from sc2sim.sim.synthetic import synthetic_profile


def _pk_setup():
    """A local pipeline whose on-device service time is far from deterministic (CV about 1)."""
    prof = synthetic_profile(["local:teacher"], samples=400, seed=1)
    prof["mobile_ms"] = np.random.default_rng(5).choice([0.5, 1.0, 4.0], size=len(prof), p=[0.5, 0.3, 0.2])
    rows = split_profile(prof, ["local:teacher"], None)["local:teacher"]
    host, mobile, edge = load_device("host"), load_device("rpi4"), load_device("t4")
    s = single_call_s(rows.mobile_ms, rows.mobile_encode_ms, rows.mobile_flops, host, mobile)
    return rows, (host, mobile, edge), s


def _plan(rows, devs, seed, rate, requests, kind="poisson"):
    sc = parse_scenario({"name": "pk", "seed": seed, "pipelines": ["local:teacher"], "mobile": "rpi4", "edge": "t4",
                         "network": {"uplink": {"bandwidth_mbps": 10}},
                         "workload": {"arrival": {"kind": kind, "rate_hz": rate, "phase": "zero"}, "requests": requests}},
                        "pk.yaml")
    point = expand(sc)[0]
    return build_plan(point, rows, 0, *devs, link_capacity(point))


def test_pollaczek_khinchine_mean_wait():
    rows, devs, s = _pk_setup()
    es, es2 = s.mean(), (s**2).mean()  # the profile's service-time distribution (uniform over its rows)
    rho = 0.5
    lam = rho / es
    w_pk = lam * es2 / (2 * (1 - rho))
    # ten independent replications of 100k requests each (exact engine): the mean wait of one
    # replication has a relative standard error of about 1.5 % at this load, their average about 0.5 %
    errors = []
    for seed in range(10):
        plan = _plan(rows, devs, seed, lam, 100_000)
        t = simulate_exact(plan)
        errors.append(np.mean(t.t_mobile_start - plan.t_arrival) / w_pk - 1)
    assert abs(np.mean(errors)) < 0.02
    assert max(abs(e) for e in errors) < 0.06
    # and SimPy agrees with the exact engine request by request on a smaller run
    plan = _plan(rows, devs, 0, lam, 5000)
    a, b = simulate_exact(plan), simulate_des(plan)
    assert np.max(np.abs(a.t_mobile_start - b.t_mobile_start)) < 1e-9
    assert np.max(np.abs(a.t_done - b.t_done)) < 1e-9


def test_deterministic_arrivals_below_capacity_never_wait():
    rows, devs, s = _pk_setup()
    plan = _plan(rows, devs, 0, 0.9 / s.max(), 2000, kind="periodic")
    for t in (simulate_exact(plan), simulate_des(plan)):
        assert np.max(np.abs(t.t_mobile_start - plan.t_arrival)) < 1e-12
    # a whole offload chain below every station's capacity: no queueing anywhere
    tm = TransportModel("tcp")
    cost = isolated_time_s(np.array([4000]), 10.0, 0.02, 0.04, tm)[0]
    c = transfer_cost(np.array([4000]), 10.0, 0.02, 0.04, tm)
    arr = np.arange(500) * 0.05  # every 50 ms; each station needs less than that
    plan = manual_plan(arr, 0.01, payload_bytes=4000, wire_bytes=c.wire_bytes[0], up_pre_s=c.pre_s[0],
                       up_post_s=0.02, edge_s=0.004, edge_fixed_s=0.001, down_s=0.021, capacity=ConstantCapacity(10.0))
    for t in (simulate_exact(plan), simulate_des(plan)):
        assert np.max(np.abs(t.t_mobile_start - arr)) < 1e-12
        assert np.max(np.abs(t.t_tx_end - t.t_tx_start - cost)) < 1e-9  # the isolated TCP time exactly
        assert np.max(np.abs(t.t_edge_start - t.t_tx_end)) < 1e-12
        assert np.max(np.abs(t.t_done - arr - (0.01 + cost + 0.005 + 0.021))) < 1e-9


def test_energy_includes_radio_tail_truncated_by_next_transfer():
    lte = load_device("rpi4").radio_model("lte")  # beta 1288.04 mW, tail 11.6 s at 1060 mW
    dev = np.zeros(3, dtype=np.int64)
    start = np.array([0.0, 1.0, 30.0])
    done = start + 0.1
    up = np.full(3, 1e6 / 8)  # 1 Mbit each way up, nothing down
    active, tail = radio_energy_j(dev, start, done, up, np.zeros(3), lte)
    assert active == pytest.approx([(0.1 * 1288.04 + 438.39) / 1e3] * 3)
    # request 0's tail is cut at 0.9 s by request 1's upload; request 1 gets a full tail; the last too
    assert tail == pytest.approx([0.9 * 1.060, 11.6 * 1.060, 11.6 * 1.060])
    # overlapping active periods are counted once; the tail follows the last of them
    start = np.array([0.0, 0.05])
    done = np.array([0.1, 0.2])
    active, tail = radio_energy_j(np.zeros(2, np.int64), start, done, np.zeros(2), np.zeros(2), lte)
    assert active.sum() == pytest.approx(0.2 * 1.28804)
    assert tail.tolist() == pytest.approx([0.0, 11.6 * 1.060])
    # devices do not cut each other's tails
    active, tail = radio_energy_j(np.array([0, 1]), np.array([0.0, 1.0]), np.array([0.1, 1.1]), np.zeros(2), np.zeros(2), lte)
    assert tail.tolist() == pytest.approx([11.6 * 1.060] * 2)


def test_record_energy_adds_compute_and_radio():
    from sc2sim.sim.metrics import records_frame

    sc = parse_scenario({"name": "e", "pipelines": ["local:teacher", "offload:webp?quality=50"], "mobile": "rpi4",
                         "edge": "t4", "network": {"uplink": {"bandwidth_mbps": 5}, "radio": "lte"},
                         "workload": {"requests": 50, "arrival": {"rate_hz": 0.05}}}, "e.yaml")
    point = expand(sc)[0]
    rows = split_profile(synthetic_profile(sc.pipelines, 50), sc.pipelines, None)
    devs = [load_device(n) for n in ("host", "rpi4", "t4")]
    for k, name in enumerate(sc.pipelines):
        plan = build_plan(point, rows[name], k, *devs, link_capacity(point))
        rec = records_frame(point, plan, simulate_exact(plan), devs[1], rows[name].strategy, "exact")
        assert rec["energy_compute_j"].to_numpy() == pytest.approx(plan.mobile_s[np.argsort(plan.t_arrival)] * 6.4)
        if name.startswith("local"):
            assert (rec["energy_radio_j"] == 0).all() and (rec["energy_tail_j"] == 0).all()
            assert (rec["payload_bytes"] == 0).all()
        else:  # requests 20 s apart: every request pays the full 11.6 s LTE tail (12.3 J)
            assert rec["energy_tail_j"].to_numpy() == pytest.approx(np.full(50, 11.6 * 1.060))
        total = rec["energy_compute_j"] + rec["energy_radio_j"] + rec["energy_tail_j"]
        assert rec["energy_j"].to_numpy() == pytest.approx(total.to_numpy())
