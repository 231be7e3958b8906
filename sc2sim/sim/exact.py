"""Exact vectorised engine: closed-form FIFO queues for requests that do not interact across devices.

Each device is a chain of FIFO stations: its CPU, its uplink bottleneck, the edge, then a pure delay
(the downlink). A single FIFO server obeys **Lindley's recursion**
``end_i = max(arrival_i, end_{i-1}) + service_i``, which unrolls to
``end_i = S_i + max_{j<=i}(arrival_j - S_{j-1})`` with ``S`` the cumulative service: a cumulative sum
and a running maximum, i.e. two numpy passes instead of an event loop.

A trace-driven link is the same recursion in *capacity* coordinates (bytes the trace has offered,
see :mod:`sc2sim.network.capacity`): ``E_i = max(before(entry_i), E_{i-1}) + bytes_i``; the departure
time inverts the trace's cumulative capacity, ``time_of(E_i)``.

An edge with several GPUs and no batching is a FIFO multi-server queue (Kiefer-Wolfowitz), solved
with a heap in one pass. Batching (``max_batch > 1``) and shared cells couple requests and need the
SimPy engine; :attr:`Plan.exact_ok` says when this engine applies.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from sc2sim.network import ConstantCapacity
from sc2sim.sim.plan import Plan


@dataclass
class Times:
    """Per-request event times (s) produced by an engine, in the plan's request order."""

    t_mobile_start: np.ndarray
    t_mobile_end: np.ndarray
    t_tx_start: np.ndarray
    t_tx_end: np.ndarray
    t_edge_start: np.ndarray
    t_edge_end: np.ndarray
    t_done: np.ndarray
    batch: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Times":
        """All-NaN times for ``n`` requests (batch sizes 0)."""
        f = [np.full(n, np.nan) for _ in range(7)]
        return cls(*f, np.zeros(n, dtype=np.int64))


def lindley(arrival: np.ndarray, service: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of a FIFO single server; ``arrival`` must be sorted (s)."""
    if arrival.size == 0:
        return arrival.copy(), arrival.copy()
    cum = np.cumsum(service)
    end = cum + np.maximum.accumulate(arrival - (cum - service))
    start = np.maximum(arrival, np.concatenate(([-np.inf], end[:-1])))
    return start, end


def fifo_link(entry: np.ndarray, work: np.ndarray, capacity) -> np.ndarray:
    """Departure times (s) of transfers through a FIFO bottleneck; ``entry`` must be sorted."""
    if isinstance(capacity, ConstantCapacity):
        return lindley(entry, work)[1]
    if entry.size == 0:
        return entry.copy()
    cum = np.cumsum(work)
    spent = np.asarray(capacity.before(entry), dtype=np.float64)
    pos = cum + np.maximum.accumulate(spent - (cum - work))
    # a transfer that needs no capacity (0 bytes) and finds the link idle leaves as it enters
    return np.where(pos > spent, np.asarray(capacity.time_of(pos), dtype=np.float64), entry)


def multi_server(arrival: np.ndarray, service: np.ndarray, servers: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of a FIFO queue with ``servers`` identical servers; ``arrival`` sorted."""
    if servers == 1:
        return lindley(arrival, service)
    free = [0.0] * servers  # heap of times at which each server becomes free
    start = np.empty_like(arrival)
    for i, (a, s) in enumerate(zip(arrival.tolist(), service.tolist())):
        f = heapq.heappop(free)
        st = a if a > f else f
        start[i] = st
        heapq.heappush(free, st + s)
    return start, start + service


def _device_chain(p: Plan, sl: slice, out: Times) -> None:
    a = p.t_arrival[sl]
    ms, me = lindley(a, p.mobile_s[sl])
    out.t_mobile_start[sl], out.t_mobile_end[sl] = ms, me
    if p.local:
        for name in ("t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "t_done"):
            getattr(out, name)[sl] = me
        return
    out.t_tx_start[sl] = me
    entry = me + p.up_pre_s[sl]
    order = np.argsort(entry, kind="stable")
    dep = np.empty_like(entry)
    dep[order] = fifo_link(entry[order], p.up_work[sl][order], p.capacity)
    tx_end = dep + p.up_post_s[sl]
    out.t_tx_end[sl] = tx_end
    # the edge queues requests by arrival; simultaneous ones in the order their bytes left the link
    order = order[np.argsort(tx_end[order], kind="stable")]
    es, ee = multi_server(tx_end[order], (p.edge_s[sl] + p.edge_fixed_s)[order], p.gpus)
    e_start, e_end = np.empty_like(tx_end), np.empty_like(tx_end)
    e_start[order], e_end[order] = es, ee
    out.t_edge_start[sl], out.t_edge_end[sl] = e_start, e_end
    out.t_done[sl] = e_end + p.down_s[sl]
    out.batch[sl] = 1


def simulate_exact(p: Plan) -> Times:
    """Resolve every request of a plan in closed form; ValueError if the plan couples devices."""
    if not p.exact_ok:
        raise ValueError("the exact engine needs independent devices and no batching (see Plan.exact_ok)")
    out = Times.empty(p.n)
    if p.devices == 1:
        _device_chain(p, slice(0, p.n), out)
    else:
        for sl in p.device_slices():
            _device_chain(p, sl, out)
    return out
