"""The exact and SimPy engines agree per request (1e-9 s); the SimPy-only parts behave as computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sc2sim.devices import load_device
from sc2sim.network import ConstantCapacity, TraceCapacity
from sc2sim.points import expand
from sc2sim.scenario import parse_scenario
from sc2sim.sim import manual_plan, simulate_des, simulate_exact
from sc2sim.sim.plan import build_plan, link_capacity, split_profile
from sc2sim.sim.synthetic import synthetic_profile

ROOT = Path(__file__).resolve().parents[1]
FIELDS = ["t_mobile_start", "t_mobile_end", "t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "t_done"]
PIPES = ["local:teacher", "offload:webp?quality=50", "offload:png", "split:sc2?beta=0.003"]


def plans(doc: dict, requests: int = 3000):
    """Plans of every point x pipeline of a scenario given as a dict (synthetic profile)."""
    doc = {"name": "eq", "seed": 4, "pipelines": PIPES, "mobile": "rpi4", "edge": "t4", **doc}
    doc.setdefault("workload", {})["requests"] = requests
    sc = parse_scenario(doc, ROOT / "scenarios" / "eq.yaml")
    rows = split_profile(synthetic_profile(PIPES, samples=300), PIPES, None)
    host = load_device("host")
    for point in expand(sc):
        cap = link_capacity(point)
        for k, name in enumerate(PIPES):
            yield build_plan(point, rows[name], k, host, load_device(point.mobile), load_device(point.edge), cap)


def assert_same(plan, tol=1e-9):
    a, b = simulate_exact(plan), simulate_des(plan)
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert not np.isnan(y).any(), f
        assert np.max(np.abs(x - y)) <= tol, (plan.pipeline, f, np.max(np.abs(x - y)))
    assert (a.batch == b.batch).all()


CASES = {
    # constant link, tcp, jitter and loss, a congested 0.5 Mbit/s uplink so that the link queues
    "tcp-jitter-loss": {"network": {"uplink": {"bandwidth_mbps": [0.5, 20], "one_way_delay_ms": 20, "jitter_ms": 5,
                                               "loss": 0.02}, "transport": "tcp"},
                        "workload": {"arrival": {"kind": "poisson", "rate_hz": 25}}},
    # Mahimahi trace (scaled down to a congested ~0.25 Mbit/s), raw transport, periodic arrivals
    "trace-raw": {"network": {"uplink": {"trace": "../traces/lte-uplink.up", "scale": 0.05, "one_way_delay_ms": 10},
                              "transport": "raw"},
                  "workload": {"arrival": {"kind": "periodic", "rate_hz": 30}}},
    # a slow CPU edge with two workers: the FIFO two-server queue
    "two-workers": {"edge": "cpu-server", "network": {"uplink": {"bandwidth_mbps": 50}, "transport": {"kind": "tcp", "persistent": True}},
                    "workload": {"arrival": {"kind": "poisson", "rate_hz": 300}}, "edge_server": {"gpus": 2}},
    # several devices with their own links and edges: no coupling, per-device chains
    "per-device": {"network": {"uplink": {"bandwidth_mbps": 1, "one_way_delay_ms": 5}, "sharing": "per_device"},
                   "workload": {"devices": 3, "arrival": {"kind": "poisson", "rate_hz": 20}},
                   "edge_server": {"sharing": "per_device"}},
}


@pytest.mark.parametrize("case", list(CASES))
def test_engines_agree_per_request(case):
    for plan in plans(CASES[case]):
        assert plan.exact_ok
        assert_same(plan)


def test_exact_engine_refuses_coupled_plans():
    plan = next(p for p in plans({"network": {"uplink": {"bandwidth_mbps": 5}}, "workload": {"devices": 2}}, 200)
                if not p.local)
    assert not plan.exact_ok
    with pytest.raises(ValueError):
        simulate_exact(plan)


def test_trace_link_through_both_engines_matches_hand_count():
    cap = TraceCapacity(np.array([2, 2, 5, 9, 10]))
    # transfers enter the link at 0, 3, 9.5, 9.5 ms with 3000, 1600, 4500, 100 bytes (see test_network)
    plan = manual_plan([0.0, 0.003, 0.0095, 0.0095], 0.0, payload_bytes=[3000, 1600, 4500, 100], capacity=cap)
    for times in (simulate_exact(plan), simulate_des(plan)):
        assert (times.t_tx_end * 1000).tolist() == pytest.approx([2.0, 9.0, 12.0, 15.0], abs=1e-9)


def test_trace_entry_rule_holds_for_a_transfer_queued_behind_its_own_device():
    """A transfer that entered during the millisecond in which the one ahead of it finishes cannot use
    the rest of that millisecond's opportunity (Mahimahi's entry rule), even when it was already queued.

    One opportunity of 1500 B per millisecond. Z (1500 B) and A (750 B) enter at 0: Z leaves at 1 ms, A
    at 2 ms using half of that opportunity. B (750 B) enters at exactly 2 ms, queued behind A (its entry
    is processed before A's departure): the other half of the 2 ms opportunity is already spent for it,
    so it leaves at 3 ms, not 2 ms.
    """
    cap = TraceCapacity(np.array([1]))
    plan = manual_plan([0.0, 0.0, 0.0], 0.0, payload_bytes=[1500, 750, 750], up_pre_s=[0.0, 0.0, 0.002], capacity=cap)
    for times in (simulate_exact(plan), simulate_des(plan)):
        assert (times.t_tx_end * 1000).tolist() == pytest.approx([1.0, 2.0, 3.0], abs=1e-9)


def test_simultaneous_arrivals_at_the_edge_go_in_link_order():
    """Requests that reach the edge at the same instant queue there in the order their bytes left the
    link, not by request number: request 0 (0 bytes, entering late) waits behind request 1's 1 MB,
    both leave the link at 1.1 s, and request 1 is served first."""
    cap = ConstantCapacity(8.0)  # one byte per microsecond
    plan = manual_plan([0.0, 0.0], [0.0, 0.1], payload_bytes=[0, 1_000_000], up_pre_s=[0.5, 0.0], edge_s=0.2,
                       capacity=cap)
    for times in (simulate_exact(plan), simulate_des(plan)):
        assert times.t_tx_end.tolist() == pytest.approx([1.1, 1.1], abs=1e-12)
        assert times.t_edge_start.tolist() == pytest.approx([1.3, 1.1], abs=1e-12)


def test_shared_cell_is_processor_sharing_across_devices():
    cap = ConstantCapacity(8.0)  # one byte per microsecond
    # device 0 sends 1 MB at t=0; device 1 sends 0.25 MB at t=0.5 s. Alone 0-0.5 s, then half rate each:
    # device 1 needs 0.5 s (done at 1.0 s), device 0 has 0.25 MB left at 1.0 s (done at 1.25 s).
    plan = manual_plan([0.0, 0.5], 0.0, device=[0, 1], devices=2, payload_bytes=[1_000_000, 250_000], capacity=cap)
    assert simulate_des(plan).t_tx_end.tolist() == pytest.approx([1.25, 1.0], abs=1e-9)
    # a device's own transfers go one after another: device 0 sends two 1 MB transfers, device 1 one
    plan = manual_plan([0.0, 0.0, 0.0], 0.0, device=[0, 0, 1], devices=2, payload_bytes=1_000_000, capacity=cap)
    assert simulate_des(plan).t_tx_end.tolist() == pytest.approx([2.0, 3.0, 2.0], abs=1e-9)
    # per-device links do not share
    plan = manual_plan([0.0, 0.0, 0.0], 0.0, device=[0, 0, 1], devices=2, payload_bytes=1_000_000, capacity=cap,
                       up_sharing="per_device", edge_sharing="per_device")
    assert simulate_des(plan).t_tx_end.tolist() == pytest.approx([1.0, 2.0, 1.0], abs=1e-9)


def test_shared_cell_on_a_trace_shares_opportunities():
    cap = TraceCapacity(np.array([1]))  # 1500 B each millisecond
    # two devices, 3000 B each from t=0: the four opportunities at 1..4 ms alternate, both finish at 4 ms
    plan = manual_plan([0.0, 0.0], 0.0, device=[0, 1], devices=2, payload_bytes=3000, capacity=cap)
    assert (simulate_des(plan).t_tx_end * 1000).tolist() == pytest.approx([4.0, 4.0], abs=1e-9)


def test_edge_dynamic_batching():
    fast = ConstantCapacity(1e6)
    arr = np.arange(8) * 1e-6  # 8 requests reach the edge within 8 microseconds
    plan = manual_plan(arr, 0.0, payload_bytes=1, capacity=fast, edge_s=1e-4, edge_fixed_s=1e-3,
                       max_batch=4, max_wait_s=1e-3)
    t = simulate_des(plan)
    assert t.batch.tolist() == [4] * 8
    first_end = t.t_edge_start[3] + 1e-3 + 4e-4
    assert t.t_edge_start[:4] == pytest.approx([t.t_tx_end[3]] * 4, abs=1e-12)  # the 4th fills the batch
    assert t.t_edge_end[:4] == pytest.approx([first_end] * 4)
    assert t.t_edge_start[4:] == pytest.approx([first_end] * 4)  # waits for the only GPU
    assert t.t_edge_end[4:] == pytest.approx([first_end + 1.4e-3] * 4)
    # a lone request waits max_wait for company, then goes alone
    plan = manual_plan([0.0], 0.0, payload_bytes=1, capacity=fast, edge_s=1e-4, edge_fixed_s=1e-3, max_batch=4, max_wait_s=2e-3)
    t = simulate_des(plan)
    assert t.t_edge_start[0] - t.t_tx_end[0] == pytest.approx(2e-3)
    assert t.batch.tolist() == [1]
    # max_batch 1 is plain FIFO and equals the exact engine
    plan = manual_plan(arr, 0.0, payload_bytes=1, capacity=fast, edge_s=1e-4, edge_fixed_s=1e-3, gpus=2)
    assert_same(plan)


def test_local_pipelines_of_many_devices_are_exact():
    doc = {"network": {"uplink": {"bandwidth_mbps": 5}}, "workload": {"devices": 5, "arrival": {"kind": "poisson", "rate_hz": 30}},
           "edge_server": {"batching": {"max_batch": 4, "max_wait_ms": 1}}}
    for plan in plans(doc, 1000):
        assert plan.exact_ok == plan.local
        if plan.local:
            assert_same(plan)


def test_untimed_samples_take_the_times_of_timed_ones_and_keep_their_own_bytes():
    """Profiles that time only the first K samples (NaN beyond): each request keeps its sample's bytes
    and correctness, and takes timed sample ``row mod K``'s stage times; no NaN reaches an engine."""
    table = synthetic_profile(PIPES, samples=300)
    cols = ["mobile_ms", "edge_ms", "mobile_encode_ms", "edge_decode_ms"]
    table.loc[table["sample"] >= 40, cols] = np.nan
    rows = split_profile(table, PIPES, None)
    sc = parse_scenario({"name": "k", "seed": 3, "pipelines": PIPES, "mobile": "rpi4", "edge": "t4",
                         "network": {"uplink": {"bandwidth_mbps": 5}}, "workload": {"requests": 2000}},
                        ROOT / "scenarios" / "k.yaml")
    point = expand(sc)[0]
    for k, name in enumerate(PIPES):
        r = rows[name]
        assert r.sample.size == 300 and r.mobile_ms.size == 40
        plan = build_plan(point, r, k, load_device("host"), load_device("rpi4"), load_device("t4"), link_capacity(point))
        assert (plan.sample >= 40).mean() > 0.8  # untimed samples are drawn too, with their own bytes
        assert not np.isnan(plan.mobile_s).any() and not np.isnan(plan.edge_s).any()
        assert_same(plan)
    full = split_profile(synthetic_profile(PIPES, samples=300), PIPES, None)["offload:png"]
    assert full.mobile_ms.size == 300
