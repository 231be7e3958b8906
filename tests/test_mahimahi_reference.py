"""Trace links against an independent reference: a port of Mahimahi's ``mm-link`` delivery loop.

:class:`RefLinkQueue` re-implements, from Mahimahi's documented semantics and the structure of
``LinkQueue::rationalize`` / ``read_packet`` (``ravinet/mahimahi``, ``src/frontend/link_queue.cc``),
the per-opportunity loop that ``mm-link`` runs; it shares no code with :mod:`sc2sim.network.capacity`:

* time is whole milliseconds; the schedule's opportunity ``i`` of pass ``k`` is at
  ``base + schedule[i]`` and ``base`` grows by the last timestamp when the schedule wraps;
* before a packet arriving during ms ``now`` is queued, every opportunity stamped ``<= now`` is
  processed (used by the packets already queued, or wasted);
* an opportunity carries ``B`` bytes: it takes bytes from the packet in transit (then from the next
  queued packets, FIFO); a packet leaves at the opportunity that carries its last byte; what is left
  of an opportunity when the queue is empty is lost.

The simulator's closed-form FIFO (:func:`sc2sim.sim.exact.fifo_link`, whole transfers) and the
emulator's :class:`~sc2sim.emu.shaper.Shaper` (every packet) must give exactly the reference's
departure milliseconds, on lone and queued transfers entering at arbitrary and at whole-millisecond
times (also exactly on an opportunity), across the wrap, at several scales, on sparse and dense
traces with repeated timestamps, in both byte accountings (``ip``: 1500 x scale per opportunity;
``tun``: 1504 x scale and 4 bytes per packet, Mahimahi as compiled).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sc2sim.emu.shaper import LinkSpec, Shaper
from sc2sim.network.capacity import TraceCapacity, read_mahimahi
from sc2sim.sim.exact import fifo_link

REAL_TRACE = Path(__file__).resolve().parent.parent / "traces" / "lte-uplink.up"
NS_PER_MS = 1_000_000
# bytes per opportunity, worked out by hand: round(1500 x scale) / round(1504 x scale), halves up
HAND_BYTES = {("ip", 0.009): 14, ("ip", 0.29): 435, ("ip", 0.57): 855, ("ip", 1.0): 1500, ("ip", 2.5): 3750,
              ("tun", 0.009): 14, ("tun", 0.29): 436, ("tun", 0.57): 857, ("tun", 1.0): 1504, ("tun", 2.5): 3760}
STATS = {"cases": 0, "transfers": 0, "packets": 0, "worst_diff_ms": 0.0}


class RefLinkQueue:
    """mm-link's delivery loop, one opportunity at a time (see the module docstring)."""

    def __init__(self, schedule: list[int], opportunity_bytes: int) -> None:
        self.schedule, self.size = list(schedule), opportunity_bytes
        self.next, self.base = 0, 0
        self.queue: deque[list[int]] = deque()  # [packet id, bytes to transmit, arrival ms]
        self.transit: list[int] | None = None
        self.departure: dict[int, int] = {}  # packet id -> departure ms

    def next_time(self) -> int:
        return self.base + self.schedule[self.next]

    def _use_opportunity(self) -> None:
        self.next = (self.next + 1) % len(self.schedule)
        if self.next == 0:  # wrap: the schedule repeats, shifted by its last timestamp
            self.base += self.schedule[-1]

    def rationalize(self, now: int) -> None:
        """Run the link up to and including ms ``now``."""
        period = self.schedule[-1]
        while True:
            if self.transit is None and not self.queue and self.next == 0 and now - self.base >= period:
                # a shortcut, not a change: with nothing queued, every opportunity of the passes that
                # end by ``now`` is wasted; skip those whole passes instead of burning them one by one
                self.base += (now - self.base) // period * period
            if self.next_time() > now:
                return
            this_time = self.next_time()
            left = self.size
            self._use_opportunity()
            while left > 0:
                if self.transit is None:
                    if not self.queue:
                        break  # the rest of this opportunity is lost
                    self.transit = self.queue.popleft()
                assert self.transit[2] < this_time  # queued in an earlier millisecond
                self.transit[1] -= left
                left = 0
                if self.transit[1] <= 0:
                    left = -self.transit[1]  # surplus goes on to the next packet
                    self.departure[self.transit[0]] = this_time
                    self.transit = None

    def read_packet(self, now: int, pid: int, nbytes: int) -> None:
        """A packet of ``nbytes`` (as the link counts them) arrives during ms ``now``."""
        self.rationalize(now)
        self.queue.append([pid, nbytes, now])

    def drain(self) -> None:
        while self.transit is not None or self.queue:
            self.rationalize(self.next_time())


def check(cap: TraceCapacity, transfers: list[tuple[int, list[int]]]) -> None:
    """Compare fifo_link and the Shaper with the reference on ``transfers``: (entry ns, packet IP sizes);
    entries non-decreasing. Exact equality of departure times (s) is required."""
    header = 4 if cap.accounting == "tun" else 0
    ref = RefLinkQueue(cap.opportunities_ms.tolist(), cap.bytes_per_opportunity)
    last_pid, pid = [], 0
    for ns, sizes in transfers:
        for size in sizes:
            ref.read_packet(ns // NS_PER_MS, pid, size + header)
            pid += 1
        last_pid.append(pid - 1)
    ref.drain()
    ref_pkt = np.array([ref.departure[i] for i in range(pid)], dtype=np.int64)

    entry = np.array([ns / 1e9 for ns, _ in transfers])
    work = np.array([cap.work(sum(sizes), packets=len(sizes)) for _, sizes in transfers], dtype=np.float64)
    dep = fifo_link(entry, work, cap)
    want = ref_pkt[last_pid] / 1000.0
    STATS["worst_diff_ms"] = max(STATS["worst_diff_ms"], float(np.max(np.abs(dep - want))) * 1e3)
    assert dep.tolist() == want.tolist(), (dep * 1e3, want * 1e3)

    shaper = Shaper(LinkSpec(cap, queue_bytes=10**12))
    got = [shaper.offer(ns / 1e9, size) for ns, sizes in transfers for size in sizes]
    STATS["worst_diff_ms"] = max(STATS["worst_diff_ms"], float(np.max(np.abs(np.array(got) - ref_pkt / 1000.0))) * 1e3)
    assert got == (ref_pkt / 1000.0).tolist()
    STATS["cases"] += 1
    STATS["transfers"] += len(transfers)
    STATS["packets"] += pid


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    print(f"\nmahimahi reference: {STATS['cases']} cases, {STATS['transfers']} transfers, {STATS['packets']} packets, "
          f"worst |difference| {STATS['worst_diff_ms']:g} ms")


# ------------------------------------------------------------------------------------------- hand cases


@pytest.mark.parametrize("accounting", ["ip", "tun"])
@pytest.mark.parametrize("scale", [0.009, 0.29, 0.57, 1.0, 2.5])
def test_bytes_per_opportunity_by_hand(accounting, scale):
    assert TraceCapacity(np.array([1]), scale=scale, accounting=accounting).bytes_per_opportunity == \
        HAND_BYTES[(accounting, scale)]


def test_reference_itself_on_a_hand_count():
    """The reference on a case counted by hand (so that the comparisons below compare with something right)."""
    ref = RefLinkQueue([2, 2, 5, 9, 10], 1500)
    ref.read_packet(0, 0, 1500)
    ref.read_packet(0, 1, 1000)  # both fit in the two opportunities at 2 ms
    ref.read_packet(2, 2, 100)  # arrives during ms 2: the 500 B left at 2 ms are already lost -> 5 ms
    ref.read_packet(5, 3, 1600)  # ms 5 is used up: 9 ms carries 1500 B, 10 ms the last 100 B
    ref.read_packet(10, 4, 10)  # during ms 10: next is 12 ms (2 + period)
    ref.drain()
    assert ref.departure == {0: 2, 1: 2, 2: 5, 3: 10, 4: 12}


@pytest.mark.parametrize("accounting", ["ip", "tun"])
@pytest.mark.parametrize("scale", [0.009, 0.29, 0.57, 1.0, 2.5])
def test_exact_multiples_and_entries_on_opportunities(scale, accounting):
    """Payloads of exactly k opportunities, entering exactly on an opportunity's millisecond, lone and queued."""
    cap = TraceCapacity(np.array([1, 3, 3, 3, 7, 20]), scale=scale, accounting=accounting)
    for k in (1, 2, 3, 5):
        work = k * cap.bytes_per_opportunity
        npk = -(-work // (1500 + cap.header_bytes))  # the fewest packets whose counted bytes make ``work``
        ip = work - npk * cap.header_bytes
        sizes = [ip // npk + (1 if j < ip % npk else 0) for j in range(npk)]
        assert cap.work(sum(sizes), packets=npk) == work
        for start_ms in (0, 1, 3, 7, 19, 20, 21, 40, 43):
            check(cap, [(start_ms * NS_PER_MS, sizes)])
            check(cap, [(start_ms * NS_PER_MS, sizes), (start_ms * NS_PER_MS + 1, [100]),
                        ((start_ms + 1) * NS_PER_MS, sizes)])


def test_real_trace_lone_and_queued_across_the_wrap():
    """The bundled LTE trace (120 s, outages): transfers entering exactly on opportunities (the case that
    finished up to 831 ms early), mid-millisecond, back to back, and across the wrap at 120 s."""
    rng = np.random.default_rng(11)
    for scale, accounting in ((1.0, "ip"), (0.29, "tun"), (2.5, "ip")):
        cap = read_mahimahi(REAL_TRACE, scale=scale, accounting=accounting)
        ops, period = cap.opportunities_ms, cap.period_ms
        starts = np.sort(np.concatenate([rng.choice(ops, 60), period - rng.integers(0, 400, 6),
                                         rng.integers(0, 2 * period, 20)]))
        transfers, t_ns = [], 0
        for s in starts.tolist():
            ns = max(s * NS_PER_MS + int(rng.choice([0, 0, rng.integers(1, NS_PER_MS)])), t_ns)
            sizes = rng.integers(1, 1501, int(rng.integers(1, 25))).tolist()
            transfers.append((ns, sizes))
            if rng.random() < 0.3:  # another transfer queued right behind it
                transfers.append((ns, rng.integers(1, 1501, int(rng.integers(1, 5))).tolist()))
            t_ns = ns
        check(cap, transfers)


# -------------------------------------------------------------------------------------------- property


@st.composite
def traces(draw) -> np.ndarray:
    kind = draw(st.sampled_from(["dense", "sparse", "bursty"]))
    n = draw(st.integers(1, 25))
    if kind == "dense":
        gaps = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    elif kind == "sparse":
        gaps = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    else:  # several opportunities in the same millisecond, then gaps
        gaps = draw(st.lists(st.sampled_from([0, 0, 0, 1, 50]), min_size=n, max_size=n))
    first = draw(st.integers(0, 5))
    ops = np.cumsum([first] + gaps)
    if ops[-1] == 0:
        ops[-1] = 1
    return ops.astype(np.int64)


SCALES = st.one_of(st.sampled_from([0.009, 0.29, 0.57, 1.0, 2.5]), st.floats(0.002, 4.0).map(lambda x: round(x, 4)))


@given(ops=traces(), scale=SCALES, accounting=st.sampled_from(["ip", "tun"]), data=st.data())
@settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_traces_and_transfers_match_the_reference(ops, scale, accounting, data):
    cap = TraceCapacity(ops, scale=scale, accounting=accounting)
    period = cap.period_ms
    offset_ms = data.draw(st.sampled_from([0, 0, period, 3 * period + 1, 10**7 * 1000 // period * period - 2]))
    transfers, t_ns = [], offset_ms * NS_PER_MS
    for _ in range(data.draw(st.integers(1, 6))):
        how = data.draw(st.sampled_from(["same", "ns", "whole-ms", "on-opportunity"]))
        if how == "ns":
            t_ns += data.draw(st.integers(1, 3 * period * NS_PER_MS))
        elif how == "whole-ms":
            t_ns = (t_ns // NS_PER_MS + data.draw(st.integers(1, 2 * period))) * NS_PER_MS
        elif how == "on-opportunity":
            k, i = t_ns // NS_PER_MS // period + data.draw(st.integers(0, 1)), data.draw(st.integers(0, ops.size - 1))
            t_ns = max(t_ns, (k * period + int(ops[i])) * NS_PER_MS)
        sizes = data.draw(st.lists(st.integers(1, 1500), min_size=1, max_size=8))
        transfers.append((t_ns, sizes))
    check(cap, transfers)
