"""Link models: Mahimahi trace semantics (hand counts), the TCP/raw transport model, losses."""

from __future__ import annotations

import numpy as np
import pytest

from sc2sim.errors import ConfigError
from sc2sim.network import (
    ConstantCapacity,
    TraceCapacity,
    TransportModel,
    isolated_time_s,
    loss_penalty,
    read_mahimahi,
    slow_start_stall_s,
    transfer_cost,
)
from sc2sim.sim.exact import fifo_link

TCP = TransportModel("tcp")
TCP_KEEP = TransportModel("tcp", persistent=True)
RAW = TransportModel("raw")


# ------------------------------------------------------------------------------------------ traces


def test_single_line_trace_is_12_mbps(tmp_path):
    f = tmp_path / "one.up"
    f.write_text("1\n")
    cap = read_mahimahi(f)
    assert cap.mean_rate_mbps == pytest.approx(12.0)
    # one 1500-byte opportunity per millisecond: 15,000 bytes stamped at or before 10 ms; a transfer
    # entering during ms 10 (at 10 ms or 10.9 ms) can no longer use them (the entry rule)
    assert cap.upto(0.010) == cap.before(0.010) == cap.before(0.0109) == 15000
    assert cap.before(0.0099999) == 13500


def test_trace_counts_across_repeats():
    # opportunities at 2, 2, 5, 9, 10 ms; period 10 ms; 10 ms of cycle k coincides with 0 of cycle k+1
    cap = TraceCapacity(np.array([2, 2, 5, 9, 10]))
    assert cap.period_ms == 10
    ms = [0, 1.999, 2, 2.5, 9, 10, 12, 20, 22]
    # opportunities stamped at or before each time's millisecond, counted by hand (cycle 2: 12,12,15,19,20)
    before = [0, 0, 2, 2, 4, 5, 7, 10, 12]
    assert [cap.before(t / 1000) / 1500 for t in ms] == before
    assert [cap.upto(t / 1000) / 1500 for t in ms] == before
    # time of the n-th opportunity (n = 1..7): 2, 2, 5, 9, 10, 12, 12 ms
    got = [round(cap.time_of(1500 * n) * 1000, 9) for n in range(1, 8)]
    assert got == [2, 2, 5, 9, 10, 12, 12]


def test_trace_entry_rule_a_transfer_cannot_use_its_own_millisecond():
    """Mahimahi has used or wasted the opportunities of ms m before it queues a packet arriving in ms m."""
    cap = TraceCapacity(np.array([2, 2, 5, 9, 10]))
    # 100 B entering at exactly 2 ms, or anywhere in ms 2, leave at 5 ms (not at 2 ms)
    assert fifo_link(np.array([0.002]), np.array([100.0]), cap).tolist() == [0.005]
    assert fifo_link(np.array([0.0029]), np.array([100.0]), cap).tolist() == [0.005]
    assert fifo_link(np.array([0.0019]), np.array([100.0]), cap).tolist() == [0.002]
    # the time the engine hands back (an opportunity's millisecond) maps to that millisecond
    for n in range(1, 200):
        t = cap.time_of(1500 * n)
        assert cap.before(t) >= 1500 * n
    # m / 1000 in floating point is in ms m, for every m (1 % of them have fl(m / 1000) * 1000 < m)
    m = np.concatenate([np.arange(2_000_000), 10**10 + np.arange(100_000)])
    assert np.array_equal(cap.ms_index(m / 1000.0), m)
    assert np.array_equal(cap.ms_index(m / 1000.0 - 1e-12 * (m < 10**6)), np.where(m < 10**6, m - 1, m))


@pytest.mark.parametrize("scale,per_op", [(0.009, 14), (0.29, 435), (0.57, 855), (1, 1500), (2.5, 3750), (1e-9, 1)])
def test_trace_scale_gives_whole_bytes_per_opportunity(scale, per_op):
    cap = TraceCapacity(np.array([1]), scale=scale)
    assert cap.bytes_per_opportunity == per_op  # round(1500 x scale) as written, halves up, at least 1
    # a payload of exactly k opportunities takes k of them (floating point made it k + 1 at 0.29, 0.57)
    for k in (1, 2, 3, 7, 100):
        assert fifo_link(np.array([0.0]), np.array([float(k * per_op)]), cap).tolist() == [k / 1000]
        assert fifo_link(np.array([0.0]), np.array([float(k * per_op + 1)]), cap).tolist() == [(k + 1) / 1000]


def test_trace_tun_accounting_counts_1504_bytes_and_a_header_per_packet():
    cap = TraceCapacity(np.array([1]), accounting="tun")
    assert cap.bytes_per_opportunity == 1504 and cap.header_bytes == 4
    assert cap.mean_rate_mbps == pytest.approx(12.032)
    assert cap.work(1500, packets=1) == 1504  # one full packet per opportunity, as mm-link counts it
    assert cap.work(3000) == 3008  # default: the fewest 1500-byte packets (2)
    assert cap.work(np.array([0, 1, 1500, 1501])).tolist() == [0, 5, 1504, 1509]
    assert TraceCapacity(np.array([1])).work(3000) == 3000  # ip accounting: IP bytes only
    assert TraceCapacity(np.array([1]), scale=0.5, accounting="tun").bytes_per_opportunity == 752


def test_trace_fifo_delivers_what_a_hand_count_says():
    cap = TraceCapacity(np.array([2, 2, 5, 9, 10]))
    entry = np.array([0.0, 0.003, 0.0095, 0.0095])
    nbytes = np.array([3000.0, 1600.0, 4500.0, 100.0])
    dep = fifo_link(entry, nbytes, cap) * 1000
    # 3000 B at 0 ms: opportunities 2, 2 -> 2 ms.
    # 1600 B at 3 ms: 5 (1500) + 9 (100 of 1500) -> 9 ms; the other 1400 B of that opportunity are lost.
    # 4500 B at 9.5 ms: 10, 12, 12 -> 12 ms; 100 B queued behind it: next opportunity 15 ms.
    assert dep.tolist() == pytest.approx([2.0, 9.0, 12.0, 15.0], abs=1e-9)


def test_trace_shared_opportunity_precise():
    cap = TraceCapacity(np.array([2, 2, 5, 9, 10]))
    # queued bytes use the rest of a partly used opportunity: 1600 B + 1000 B queued before 2 ms
    # need 2600 B <= the 3000 B of the two opportunities at 2 ms, so both finish at 2 ms
    dep = fifo_link(np.array([0.0, 0.001]), np.array([1600.0, 1000.0]), cap) * 1000
    assert dep.tolist() == pytest.approx([2.0, 2.0], abs=1e-9)


def test_trace_scale_and_errors(tmp_path):
    cap = TraceCapacity(np.array([1]), scale=0.5)
    assert cap.mean_rate_mbps == pytest.approx(6.0)
    cases = {"1\n2\nthree\n": r"bad.up: line 3: 'three' — a Mahimahi trace holds one integer",
             "5\n3\n": r"bad.up: line 2: 3 — timestamps must be non-decreasing",
             "0\n0\n": r"bad.up: last timestamp: 0 — a trace must last at least 1 ms",
             "": r"bad.up: timestamps: none",
             "-1\n4\n": r"bad.up: line 1: '-1'",
             "1\n99999999999999999999\n": r"bad.up: line 2: 99999999999999999999 — timestamps up to"}
    bad = tmp_path / "bad.up"
    for text, msg in cases.items():
        bad.write_text(text)
        with pytest.raises(ConfigError, match=msg):
            read_mahimahi(bad)
    bad.write_bytes(b"1\n\xff\xfe\n")
    with pytest.raises(ConfigError, match=r"bad.up: byte 2: .* plain text"):
        read_mahimahi(bad)
    with pytest.raises(ConfigError, match="no such|cannot read"):
        read_mahimahi(tmp_path / "missing.up")
    for kw, msg in (({"scale": 0.0}, "scale: 0.0"), ({"scale": float("inf")}, "scale: inf"),
                    ({"accounting": "x"}, "accounting: 'x' — allowed: ip, tun")):
        with pytest.raises(ConfigError, match=msg):
            TraceCapacity(np.array([1]), **kw)


def test_constant_fifo_is_lindley():
    cap = ConstantCapacity(8.0)  # 1 byte per microsecond
    dep = fifo_link(np.array([0.0, 0.0005, 0.01]), cap.work(np.array([1000.0, 1000.0, 1000.0])), cap)
    assert dep.tolist() == pytest.approx([0.001, 0.002, 0.011], abs=1e-12)


# ------------------------------------------------------------------------------------------ transport


def test_raw_is_bytes_over_rate_plus_delay():
    t = isolated_time_s(np.array([1000, 125000]), 10.0, 0.02, 0.04, RAW)
    assert t.tolist() == pytest.approx([1000 * 8 / 10e6 + 0.02, 0.1 + 0.02])


def test_tcp_headers_per_segment():
    c = transfer_cost(np.array([1, 1448, 1449, 14480]), 10.0, 0.0, 0.0, TCP, handshake=False)
    assert c.segments.tolist() == [1, 1, 2, 10]
    assert c.wire_bytes.tolist() == [53, 1500, 1449 + 104, 15000]


def test_tcp_handshake_costs_one_rtt_and_its_packets():
    """One RTT, the 60-byte SYN on the uplink and SYN-ACK on the downlink, the 52-byte ACK before the data."""
    b = np.array([100, 5000, 50000])
    new = isolated_time_s(b, 10.0, 0.02, 0.05, TCP, back_rate_mbps=100.0)
    kept = isolated_time_s(b, 10.0, 0.02, 0.05, TCP_KEEP, back_rate_mbps=100.0)
    assert (new - kept).tolist() == pytest.approx([0.05 + 60 * 8 / 10e6 + 60 * 8 / 100e6 + 52 * 8 / 10e6] * 3)
    c = transfer_cost(b, 10.0, 0.02, 0.05, TCP)
    assert (c.wire_bytes - transfer_cost(b, 10.0, 0.02, 0.05, TCP_KEEP).wire_bytes).tolist() == [52] * 3


def test_tcp_slow_start_rounds():
    # at a huge rate serialisation is ~0 and each extra round costs one RTT: windows 10, 20, 40, ...
    segs = np.array([1, 10, 11, 30, 31, 70, 71, 150, 151])
    stall = slow_start_stall_s(segs, 0.1, 1e9, TCP)
    assert (stall / 0.1).round(6).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4]
    # at a low rate the first window already fills the pipe: no stall (9 segments x 12 ms > 40 ms)
    assert slow_start_stall_s(np.array([100]), 0.04, 1.0, TCP).tolist() == [0.0]


def test_tcp_time_monotone_in_bytes_and_above_raw():
    b = np.unique(np.geomspace(1, 2_000_000, 400).astype(int))
    for rate in (1.0, 10.0, 100.0):
        t = isolated_time_s(b, rate, 0.02, 0.04, TCP)
        assert np.all(np.diff(t) >= -1e-15)
        assert np.all(t >= isolated_time_s(b, rate, 0.02, 0.04, RAW))
    # large transfers approach wire/rate: overhead 52/1448 per full segment (+ handshake, slow start)
    big = 10_000_000
    t = isolated_time_s(np.array([big]), 10.0, 0.0, 0.0, TCP)[0]
    assert t == pytest.approx(big * 1500 / 1448 * 8 / 10e6, rel=1e-3)


def test_loss_penalty():
    rng = np.random.default_rng(0)
    segs = np.full(200_000, 10)
    extra, wait = loss_penalty(segs, 0.0, 0.05, TCP, rng, 1500)
    assert not extra.any() and not wait.any()
    p = 0.02
    extra, wait = loss_penalty(segs, p, 0.05, TCP, rng, 1500)
    lost = extra / 1500
    assert lost.mean() == pytest.approx(10 * p / (1 - p), rel=0.03)  # negative binomial mean
    # 7 of 10 segments recover by fast retransmit (1 RTT), the last 3 by an RTO (200 ms)
    expect = (7 * 0.05 + 3 * 0.2) * p / (1 - p)
    assert wait.mean() == pytest.approx(expect, rel=0.05)
    _, wait_raw = loss_penalty(segs, p, 0.05, RAW, rng, 1500)
    assert wait_raw.mean() == pytest.approx(10 * 0.05 * p / (1 - p), rel=0.05)


def test_trace_transfers_time_their_handshake_and_slow_start_at_the_local_rate():
    """On a trace, the rate around each transfer (2 RTT + 50 ms), never below 1 % of the long-run mean."""
    from sc2sim.network import ConstantCapacity, TraceCapacity
    from sc2sim.sim.plan import local_rate_mbps

    assert local_rate_mbps(ConstantCapacity(7.0), np.array([0.0, 3.0]), 0.04) == 7.0
    # 10 opportunities in each of the first 100 ms (120 Mbit/s), then nothing until 1000 ms
    cap = TraceCapacity(np.concatenate([np.repeat(np.arange(1, 101), 10), [1000]]))
    rate = local_rate_mbps(cap, np.array([0.0, 0.5]), 0.025)  # window 100 ms
    # what a transfer entering at 0 can use by 100 ms: the opportunities stamped 1-100 ms (the entry rule)
    assert rate[0] == pytest.approx(1000 * 1500 * 8 / 0.1 / 1e6)
    assert rate[1] == pytest.approx(0.01 * cap.mean_rate_mbps)
    fast = transfer_cost(np.array([20000]), rate[:1], 0.0125, 0.025, TCP).pre_s[0]
    slow = transfer_cost(np.array([20000]), np.array([cap.mean_rate_mbps]), 0.0125, 0.025, TCP).pre_s[0]
    assert fast > slow  # a fast link stalls in slow start; at the (lower) mean rate the window fills the pipe
