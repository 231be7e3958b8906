"""The user-space link's packet model (no root needed): rate, queue, loss, jitter, Mahimahi traces."""

from __future__ import annotations

import numpy as np
import pytest

from sc2sim.emu.forwarder import link_spec
from sc2sim.emu.shaper import LinkSpec, Shaper
from sc2sim.network.capacity import ConstantCapacity, TraceCapacity


def test_constant_rate_serialises_back_to_back_packets_then_adds_the_delay():
    s = Shaper(LinkSpec(ConstantCapacity(1.0), one_way_delay_ms=10))
    # 1500 B at 1 Mbit/s = 12 ms each, FIFO from t=0
    assert [s.offer(0.0, 1500) for _ in range(3)] == pytest.approx([0.022, 0.034, 0.046])
    assert s.offer(1.0, 125) == pytest.approx(1.0 + 0.001 + 0.010)  # an idle link: no queueing


def test_bounded_queue_drops_the_tail():
    s = Shaper(LinkSpec(ConstantCapacity(1.0), queue_bytes=4000))
    got = [s.offer(0.0, 1500) for _ in range(4)]
    assert got[:2] != [None, None] and got[2] is None and got[3] is None
    assert s.dropped_queue == 2 and s.accepted == 2
    assert s.offer(0.013, 1500) is not None  # the first packet has left (12 ms): room again


def test_random_loss_rate():
    s = Shaper(LinkSpec(ConstantCapacity(100.0), loss=0.1), seed=5)
    kept = [s.offer(i * 1e-4, 100) for i in range(20000)]
    assert abs(s.dropped_loss / 20000 - 0.1) < 0.01 and kept.count(None) == s.dropped_loss


def test_jitter_is_drawn_per_burst_and_never_reorders():
    s = Shaper(LinkSpec(ConstantCapacity(100.0), one_way_delay_ms=20, jitter_ms=5), seed=5)
    sparse = np.array([s.offer(i * 0.1, 100) for i in range(2000)]) - np.arange(2000) * 0.1 - 8e-6
    assert abs(np.median(sparse) - 0.020) < 0.001 and abs(np.std(sparse) - 0.005) < 0.0005 and sparse.min() >= 0
    burst = [s.offer(500.0 + i * 1e-4, 100) for i in range(100)]  # one transfer: one draw, in order
    assert np.all(np.diff(burst) >= 0) and np.ptp(np.diff(burst)) < 1e-9


def test_trace_link_has_the_simulators_semantics():
    """Opportunities of 1500 B at ms timestamps, unused capacity lost, the trace repeating."""
    cap = TraceCapacity(np.array([2, 2, 5, 10]))
    s = Shaper(LinkSpec(cap))
    assert s.offer(0.0, 3000) == pytest.approx(0.002)  # both opportunities at 2 ms
    assert s.offer(0.003, 1500) == pytest.approx(0.005)
    assert s.offer(0.006, 1600) == pytest.approx(0.012)  # 10 ms gives 1500 B, the rest waits for 12 ms (2 + period)
    # the same departures as the simulator's capacity model
    assert cap.time_of(max(cap.before(0.006), 0) + 1600) == pytest.approx(0.012)


def test_trace_packets_follow_mahimahis_entry_rule_and_accounting():
    """A packet arriving during ms m cannot use the opportunities stamped m; ``tun`` counts 1504-byte
    opportunities and 4 bytes per packet (Mahimahi as compiled). More in test_mahimahi_reference.py."""
    cap = TraceCapacity(np.array([2, 2, 5, 10]))
    s = Shaper(LinkSpec(cap))
    assert s.offer(0.002, 100) == 0.005  # arrives exactly at 2 ms: the 2 ms opportunities are gone
    assert s.offer(0.0049, 100) == 0.005  # queued before 5 ms: shares the 5 ms opportunity
    assert s.offer(0.005, 100) == 0.010
    tun = Shaper(LinkSpec(TraceCapacity(np.array([1]), accounting="tun")))
    assert [tun.offer(0.0, 1500) for _ in range(2)] == [0.001, 0.002]  # 1504 B each: one per opportunity
    assert [tun.offer(0.0025, 748) for _ in range(2)] == [0.003, 0.003]  # 2 x (748 + 4) = 1504
    assert tun.offer(0.0025, 1) == 0.004


def test_link_spec_from_json(tmp_path):
    trace = tmp_path / "t.up"
    trace.write_text("1\n")
    spec = link_spec({"trace": str(trace), "scale": 0.5, "one_way_delay_ms": 7, "loss": 0.01})
    assert isinstance(spec.capacity, TraceCapacity) and spec.capacity.mean_rate_mbps == pytest.approx(6.0)
    assert spec.one_way_delay_ms == 7 and spec.loss == 0.01
    assert link_spec({"trace": str(trace), "accounting": "tun"}).capacity.bytes_per_opportunity == 1504
    assert link_spec({"rate_mbps": 5}).capacity == ConstantCapacity(5.0)
