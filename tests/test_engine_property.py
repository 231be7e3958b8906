"""The SimPy engine is exact at every time scale: long runs, zero-byte transfers, and random plans.

* Regressions (each under a time limit, so that a livelock fails instead of hanging the suite): runs
  that pass ~16,384 s of simulated time, where the uplink cell used to stop its clock; zero-byte
  transfers; the edge's batching timer at 10^7 s.
* Properties (hypothesis): random plans (arrivals offset by up to 10^7 s, payloads of 0 B to 1 GB,
  constant-rate and random Mahimahi-trace links, 1-50 devices, several GPUs, batching) give the same
  per-request times in both engines wherever both apply (:attr:`Plan.exact_ok`), to 1e-9 of the time's
  magnitude; where only SimPy applies, every request finishes, in causal order, FIFO per device and at
  the edge, in batches of at most ``max_batch``, and the uplink cell never idles while a transfer waits.

On trace links the random times lie on a 2^-12 s grid, so that every sum is exact in any order: both
engines then see the same entry times, and on whole milliseconds (e.g. 0.125 s) Mahimahi's entry rule
is tested exactly rather than at the mercy of a last-bit rounding.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sc2sim.devices import load_device
from sc2sim.network import ConstantCapacity, TraceCapacity
from sc2sim.points import expand
from sc2sim.scenario import parse_scenario
from sc2sim.sim import manual_plan, simulate_des, simulate_exact
from sc2sim.sim.plan import build_plan, link_capacity, split_profile
from sc2sim.sim.policy import simulate_adaptive
from sc2sim.sim.synthetic import synthetic_profile

FIELDS = ["t_mobile_start", "t_mobile_end", "t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "t_done"]
GRID = 2.0**-12  # s: times on trace links are multiples of this (exact sums)


@contextmanager
def time_limit(seconds: float):
    """Raise TimeoutError in the test if the block runs longer than ``seconds`` (a hung engine fails)."""

    def expire(_sig, _frame):
        raise TimeoutError(f"no result after {seconds} s: the engine does not finish")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def assert_engines_agree(plan, rel: float = 1e-9) -> None:
    """Both engines give every request the same times, to ``rel`` of the time's magnitude."""
    a, b = simulate_exact(plan), simulate_des(plan)
    for f in FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert not np.isnan(y).any(), f"{f}: a request did not finish in the SimPy engine"
        err = np.abs(x - y) / np.maximum(1.0, np.abs(x))
        assert err.max(initial=0.0) <= rel, (f, int(err.argmax()), x[err.argmax()], y[err.argmax()])
    assert (a.batch == b.batch).all()


def long_plans(pipelines: list[str], requests: int, rate_hz: float):
    """Plans of a 1 Mbit/s TCP uplink with jitter and Poisson arrivals at ``rate_hz`` (synthetic profile)."""
    doc = {"name": "long", "seed": 7, "pipelines": pipelines, "mobile": "rpi4", "edge": "t4",
           "network": {"uplink": {"bandwidth_mbps": 1, "one_way_delay_ms": 20, "jitter_ms": 2}, "transport": "tcp"},
           "workload": {"arrival": {"kind": "poisson", "rate_hz": rate_hz}, "requests": requests, "deadline_ms": 100}}
    point = expand(parse_scenario(doc, "long.yaml"))[0]
    rows = split_profile(synthetic_profile(pipelines, 300), pipelines, None)
    devs = [load_device(n) for n in ("host", "rpi4", "t4")]
    return [build_plan(point, rows[p], k, *devs, link_capacity(point)) for k, p in enumerate(pipelines)], rows


# ---------------------------------------------------------------------------------------------- regressions

def test_long_poisson_run_finishes_and_matches_exact():
    """2,000 Poisson requests at 0.05 Hz run to ~40,000 s (the scale of `sc2sim run --engine simpy` with
    20,000 requests at 0.5 Hz): past 16,384 s a float cannot add the cell's leftover work to its position."""
    (plan,), _ = long_plans(["offload:webp?quality=50"], 2000, 0.05)
    assert plan.t_arrival[-1] > 30_000
    with time_limit(60):
        assert_engines_agree(plan)


def test_adaptive_long_run_finishes():
    """`policy: adaptive` at the same scale finishes, and with a single candidate it is the static run."""
    pipes = ["local:light", "offload:webp?quality=50"]
    plans, rows = long_plans(pipes, 2000, 0.05)
    with time_limit(60):
        run = simulate_adaptive(plans, [float(np.mean(rows[p].correct)) for p in pipes], 0.1)
        for f in FIELDS:
            assert not np.isnan(getattr(run.times, f)).any(), f
        alone = simulate_adaptive(plans[1:], [0.9], 0.1)
        static = simulate_des(plans[1])
    assert (alone.chosen == 0).all()
    for f in FIELDS:
        assert np.array_equal(getattr(alone.times, f), getattr(static, f)), f


def test_zero_byte_transfers_finish_when_they_reach_the_head():
    """A transfer of 0 bytes needs no capacity: it leaves as it enters on an idle link, right behind the
    transfer ahead of it on a busy one, and in the same way on a trace before its first opportunity."""
    const = ConstantCapacity(8.0)  # 1 byte per microsecond
    trace = TraceCapacity(np.array([2, 5]))  # 1500 B at 2 ms and at 5 ms of every 5 ms
    cases = [
        # (capacity, arrivals s, payload bytes, expected departures s)
        (const, [0.0, 1.0], [0, 0], [0.0, 1.0]),
        (const, [0.0, 0.5, 2.0], [1_000_000, 0, 0], [1.0, 1.0, 2.0]),  # behind a 1 s transfer
        (trace, [0.0, 0.0005], [0, 0], [0.0, 0.0005]),  # before the first opportunity
        (trace, [0.0, 0.001, 0.006], [2000, 0, 0], [0.005, 0.005, 0.006]),  # behind 2000 B (2 and 5 ms), then idle
    ]
    for cap, arr, payload, want in cases:
        plan = manual_plan(arr, 0.0, payload_bytes=payload, capacity=cap)
        with time_limit(10):
            assert_engines_agree(plan)
            assert simulate_des(plan).t_tx_end.tolist() == want
    # and in a shared cell with several devices at 10^7 s
    plan = manual_plan([1e7, 1e7, 1e7 + 1], 0.0, device=[0, 1, 2], devices=3, payload_bytes=[0, 500_000, 0],
                       capacity=const)
    with time_limit(10):
        t = simulate_des(plan)
    assert t.t_tx_end.tolist() == [1e7, 1e7 + 0.5, 1e7 + 1]


def test_edge_batching_timer_at_large_times():
    """A lone request waits ``max_wait`` for company and then goes, also at 10^7 s (where an absolute
    1e-12 s tolerance is below the clock's resolution)."""
    for t0 in (0.0, 16_384.3, 1e7 + 0.1234567):
        plan = manual_plan([t0], 0.0, payload_bytes=1, capacity=ConstantCapacity(1e6), edge_s=1e-4,
                           edge_fixed_s=1e-3, max_batch=4, max_wait_s=2e-3)
        with time_limit(10):
            t = simulate_des(plan)
        assert t.batch.tolist() == [1]
        wait = t.t_edge_start[0] - t.t_tx_end[0]
        assert abs(wait - 2e-3) <= 1e-9 * max(1.0, t0), (t0, wait)


# ---------------------------------------------------------------------------------------------- properties

@st.composite
def capacities(draw):
    """A constant rate (0.01 Mbit/s to 10 Gbit/s) or a random Mahimahi trace (1-20 opportunities in up to
    200 ms, repeated timestamps allowed; a scale giving 8-6000 bytes per opportunity)."""
    if draw(st.booleans()):
        return ConstantCapacity(draw(st.floats(0.01, 1e4)))
    ops = sorted(draw(st.lists(st.integers(0, 200), min_size=1, max_size=20)))
    ops[-1] = max(ops[-1], 1)
    scale = draw(st.one_of(st.sampled_from([0.009, 0.29, 0.57, 1.0]), st.floats(0.005, 4.0)))
    return TraceCapacity(np.array(ops, dtype=np.int64), scale=scale)


@st.composite
def plans(draw, exact: bool):
    """A random plan; ``exact``: one the exact engine accepts (else one that may couple requests).

    Hypothesis draws the structure (link, devices, sharing, batching, time offset, how many values
    are zero, the payload mix) and a seed; numpy draws the per-request values from it (fast, and
    still reproducible from the example hypothesis prints).
    """
    cap = draw(capacities())
    devices = draw(st.integers(1, 50))
    if exact:
        sharing = draw(st.sampled_from(["shared", "per_device"])) if devices == 1 else "per_device"
        edge_sharing, max_batch = sharing, 1
    else:
        sharing = draw(st.sampled_from(["shared", "per_device"]))
        edge_sharing = draw(st.sampled_from(["shared", "per_device"]))
        max_batch = draw(st.integers(1, 8))
    offset = draw(st.one_of(st.sampled_from([0.0, 16_384.0, 1e6, 1e7]), st.floats(0.0, 1e7)))
    zeros = draw(st.sampled_from([0.0, 0.3, 1.0]))  # share of zero times (simultaneous arrivals, no compute)
    payload_mix = draw(st.sampled_from(["mixed", "zero", "small", "huge"]))
    # trace links: times on a grid (2^-12 s; 2^-3 s = 125 ms puts entries on whole milliseconds)
    quantum = draw(st.sampled_from([GRID, 2.0**-3])) if isinstance(cap, TraceCapacity) else None
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def times(n: int, hi_s: float) -> np.ndarray:
        x = np.where(rng.random(n) < zeros, 0.0, rng.uniform(0.0, hi_s, n))
        return x if quantum is None else np.round(x / quantum) * quantum

    if quantum is not None:
        offset = round(offset / quantum) * quantum
    counts = rng.integers(1, (5 if devices > 4 else 30) + 1, devices)
    dev = np.repeat(np.arange(devices), counts)
    t_arr = np.concatenate([offset + times(1, 1.0) + np.cumsum(times(c, 2.0)) for c in counts])
    n = t_arr.size
    kinds = {"mixed": rng.integers(0, 3, n), "zero": np.zeros(n, int), "small": np.ones(n, int),
             "huge": np.full(n, 2)}[payload_mix]
    payload = np.choose(kinds, [np.zeros(n, np.int64), rng.integers(0, 3001, n), rng.integers(0, 10**9 + 1, n)])
    return manual_plan(
        t_arr, times(n, 0.05), device=dev, devices=devices, local=draw(st.integers(0, 9)) == 0,
        payload_bytes=payload, up_pre_s=times(n, 0.05), up_post_s=times(n, 0.05) if exact else 0.0,
        edge_s=times(n, 0.01), edge_fixed_s=float(times(1, 0.005)[0]), down_s=times(n, 0.05), capacity=cap,
        up_sharing=sharing, gpus=draw(st.integers(1, 3)), max_batch=max_batch,
        max_wait_s=float(times(1, 0.01)[0]), edge_sharing=edge_sharing,
    )


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.data_too_large])


@SETTINGS
@given(plans(exact=True))
def test_engines_agree_on_random_plans(plan):
    assert plan.exact_ok
    with time_limit(20):
        assert_engines_agree(plan)


def _tol(x) -> np.ndarray:
    return 1e-9 * np.maximum(1.0, np.abs(x))


def _check_cell(plan, t, idx: np.ndarray) -> None:
    """The requests ``idx`` share one uplink cell: FIFO per device, and work-conserving: over every busy
    period (transfers overlapping in time) the capacity offered equals the work sent."""
    entry = t.t_tx_start[idx] + plan.up_pre_s[idx]
    dep = t.t_tx_end[idx]  # up_post_s is 0 in these plans
    work, devs = plan.up_work[idx], plan.device[idx]
    for d in np.unique(devs):  # FIFO per device: departures in entry order
        m = devs == d
        o = np.argsort(entry[m], kind="stable")
        assert (np.diff(dep[m][o]) >= -_tol(dep[m][o][1:])).all(), "a device's transfers overtook each other"
    cap = plan.capacity
    order = np.lexsort((dep, entry))
    periods, s, e, w = [], None, None, 0.0
    for k in order:
        if s is not None and (entry[k] < e or (isinstance(cap, ConstantCapacity) and entry[k] <= e)):
            e, w = max(e, dep[k]), w + work[k]
        else:
            if s is not None:
                periods.append((s, e, w))
            s, e, w = entry[k], dep[k], work[k]
    periods.append((s, e, w))
    for s, e, w in periods:
        if isinstance(cap, ConstantCapacity):
            assert abs((e - s) - w) <= 1e-9 * max(1.0, e), ("cell idle or over-served", s, e, w)
        elif w == 0:
            assert abs(e - s) <= _tol(s)
        else:
            c = float(cap.before(s)) + w
            lo, hi = cap.time_of(c - 1e-9 * c), cap.time_of(c + 1e-9 * c)
            assert lo - _tol(lo) <= e <= hi + _tol(hi), ("cell idle or over-served", s, e, w, lo, hi)


@SETTINGS
@given(plans(exact=False))
def test_simpy_invariants_on_coupled_plans(plan):
    check_invariants(plan)


def check_invariants(plan) -> None:
    """What must hold of the SimPy engine's times on any plan (see the module docstring)."""
    with time_limit(20):
        t = simulate_des(plan)
    seq = [plan.t_arrival] + [getattr(t, f) for f in FIELDS]
    for a, b in zip(seq, seq[1:]):  # every request finishes, each stage after the one before
        assert not np.isnan(b).any()
        assert (b >= a - _tol(a)).all()
    for sl in plan.device_slices():  # one CPU per device, FIFO
        assert (t.t_mobile_start[sl][1:] >= t.t_mobile_end[sl][:-1] - _tol(t.t_mobile_end[sl][:-1])).all()
    assert np.allclose(t.t_mobile_end - t.t_mobile_start, plan.mobile_s, rtol=0, atol=1e-9 * np.abs(t.t_done).max())
    if plan.local:
        assert (t.batch == 0).all()
        return
    assert ((t.batch >= 1) & (t.batch <= plan.max_batch)).all()
    groups = [np.arange(plan.n)] if plan.up_sharing == "shared" else [np.arange(plan.n)[s] for s in plan.device_slices()]
    for idx in groups:
        _check_cell(plan, t, idx)
    edges = [np.arange(plan.n)] if plan.edge_sharing == "shared" else [np.arange(plan.n)[s] for s in plan.device_slices()]
    for idx in edges:  # FIFO at the edge: whoever arrived strictly earlier started no later
        arr, start = t.t_tx_end[idx], t.t_edge_start[idx]
        o = np.argsort(arr, kind="stable")
        arr, start = arr[o], start[o]
        first = np.searchsorted(arr, arr, side="left")  # requests before `first` arrived strictly earlier
        prev_max = np.maximum.accumulate(start)
        earlier = np.where(first > 0, prev_max[np.maximum(first - 1, 0)], -np.inf)
        assert (start >= earlier - _tol(start)).all(), "edge queue not FIFO"
        dur = (t.t_edge_end - t.t_edge_start)[idx][o]
        own = (plan.edge_s[idx] + plan.edge_fixed_s)[o]
        assert (dur >= own - _tol(t.t_edge_end[idx][o])).all()
