"""SimPy discrete-event engine: devices, a shared uplink cell and a batching edge server.

How it is built (SimPy in one paragraph): an :class:`simpy.Environment` keeps a clock and a queue of
events; a *process* is a Python generator that ``yield``\\ s events (a timeout, a resource request,
any event another component will trigger) and is resumed when they happen. Each request here is one
process walking its path (:func:`_request`, the one request life of the engine)::

    arrive -> policy picks a plan -> mobile CPU (FIFO, simpy.Resource) -> protocol waits (timeout)
           -> uplink bottleneck -> propagation (timeout) -> edge server (batching) -> downlink -> done

The uplink :class:`Cell` and the :class:`EdgeServer` are event-driven components rather than
processes: they keep their own state and trigger the waiting requests' events from callbacks, which
is both simple to reason about and much cheaper than a process per queue.

A **policy** (:class:`Policy`) picks, at each request's arrival, which of the engine's plans (one per
candidate pipeline, same arrivals and draws) the request follows, and may observe each transfer once
it has reached the edge. :class:`StaticPolicy` always picks the one plan (:func:`simulate_des`); the
adaptive policy (:mod:`sc2sim.sim.policy`) picks from a bandwidth estimate.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np
import simpy

from sc2sim.sim.exact import Times
from sc2sim.sim.plan import Plan

_ULPS = 8.0
"""Remaining work within this many ulps of the cell's position is numerically zero (see :class:`Cell`)."""


class Cell:
    """Uplink bottleneck shared by devices: processor sharing across devices, FIFO within a device.

    Every device with a backlog gets an equal share of the capacity; a device's own transfers go one
    after another. With one device this is a FIFO queue, identical to the exact engine's link
    (Lindley's recursion ``E_i = max(before(entry_i), E_{i-1}) + w_i``, departure ``time_of(E_i)``).
    State is kept in capacity coordinates (see :mod:`sc2sim.network.capacity`), so a constant-rate
    link and a Mahimahi trace are handled by the same code.

    **Exact at every time scale.** Positions grow with simulated time, and a float cannot add work
    below half an ulp of the position to it. So completions are never decided by subtracting work and
    comparing the rest with a fixed tolerance: a wake-up is scheduled for the position at which the
    smallest remaining transfer(s) end, ``target = pos + n * min(rest)``, and when it fires those
    transfers finish, whatever rounding left of them. Every wake that is not superseded therefore
    completes at least one transfer (asserted), and a zero-work transfer completes as soon as it
    reaches the head of its device's queue. Other transfers whose rest is within a few ulps of the
    position (numerically equal to the smallest) finish in the same step. On a capacity whose
    positions are whole units (a trace's bytes), targets within that noise of a whole number are
    snapped to it before ``time_of`` rounds them up.

    **Entry rule.** A transfer cannot use capacity before ``before(entry)`` (for a trace: the
    opportunities of its entry millisecond are spent); one that queued behind its device's previous
    transfer starts at ``max(that transfer's end, before(entry))``, as in Lindley's recursion.

    The event a :meth:`send` returns succeeds, when the last byte has left, with the time at which the
    transfer reached the head of its device's queue (so ``now - value`` is its time in service).
    """

    def __init__(self, env: simpy.Environment, capacity) -> None:
        self.env, self.cap = env, capacity
        self.pos = 0.0  # capacity position up to which the link has been accounted
        self.heads: dict[int, list] = {}  # device -> [remaining work, event, time it reached the head]
        self.pending: dict[int, deque] = {}  # device -> (work, event, before(entry)) queued behind its head
        self.waiting: list[tuple] = []  # (start position, device, head) of heads whose start lies ahead of pos
        self.version = 0
        self.target = 0.0
        self.finished = 0  # transfers completed so far (progress check)
        self.whole = isinstance(capacity.before(0.0), (int, np.integer))  # positions are whole units

    def send(self, device: int, work: float) -> simpy.Event:
        """Queue ``work`` units from ``device``; the returned event fires when the last byte has left."""
        env = self.env
        ev = env.event()
        now_pos = self.cap.before(env.now)
        if device in self.heads:
            self.pending.setdefault(device, deque()).append((work, ev, now_pos))
            return ev
        if self.heads:
            self._advance(now_pos, settle=False)
        if not self.heads:
            self.pos = max(self.pos, now_pos)
        self.heads[device] = [work, ev, env.now]
        if work <= 0:  # nothing to send: done on reaching the head (FIFO already holds: no head before it)
            self._advance(self.pos)
        self._schedule()
        return ev

    def _admit(self) -> None:
        """Move waiting heads whose start position has been reached into service (when the cell is
        otherwise idle, jump to the earliest start)."""
        waiting = self.waiting
        if not self.heads:
            self.pos = max(self.pos, min(w[0] for w in waiting))
        for w in [w for w in waiting if w[0] <= self.pos]:
            waiting.remove(w)
            self.heads[w[1]] = w[2]

    def _advance(self, upto: float, settle: bool = True) -> None:
        """Serve the backlogged devices in processor sharing from ``self.pos`` to position ``upto``.

        ``settle``: also finish heads that need no more capacity when ``pos`` is already at ``upto``
        (a wake-up's own target; heads just taken from a device's queue are always checked)."""
        heads = self.heads
        while True:
            if self.waiting:
                self._admit()
            if not heads:
                return
            lim = min(upto, min(w[0] for w in self.waiting)) if self.waiting else upto
            pos = self.pos
            if pos >= lim and not settle:
                return
            n = len(heads)
            m = min(h[0] for h in heads.values())
            full = pos + n * m <= lim  # the smallest transfer(s) end within this step
            if not full and pos >= lim:
                return
            step = min(n * m, lim - pos)
            share = step / n
            self.pos = pos = pos + step
            tol = _ULPS * math.ulp(lim if lim > pos else pos)
            settle = False
            done = []
            for d, h in heads.items():
                rest = h[0]
                h[0] = rest - share
                if h[0] <= tol or (full and rest == m):
                    done.append(d)
            now = self.env.now
            for d in done:
                h = heads.pop(d)
                h[1].succeed(h[2])
                self.finished += 1
                queue = self.pending.get(d)
                if queue:
                    settle = True
                    work, ev, start = queue.popleft()
                    head = [work, ev, now]
                    if start > self.pos:  # entered after capacity it may not use (see the entry rule)
                        self.waiting.append((start, d, head))
                    else:
                        heads[d] = head

    def _schedule(self) -> None:
        assert not self.waiting, "a head left waiting beyond the position served"
        if not self.heads:
            return
        self.version += 1
        version = self.version
        n = len(self.heads)
        self.target = target = self.pos + n * min(h[0] for h in self.heads.values())
        if self.whole:
            r = round(target)
            if abs(target - r) <= _ULPS * math.ulp(max(abs(target), 1.0)):
                target = r
        delay = max(0.0, float(self.cap.time_of(target)) - self.env.now)
        self.env.timeout(delay).callbacks.append(lambda _ev: self._wake(version))

    def _wake(self, version: int) -> None:
        if version != self.version:
            return  # superseded by a later arrival
        finished = self.finished
        self._advance(max(self.cap.upto(self.env.now), self.target))
        assert self.finished > finished, "cell wake-up without progress"
        self._schedule()


class EdgeServer:
    """``gpus`` workers fed from one FIFO queue with dynamic batching.

    A batch starts on a free worker as soon as ``max_batch`` requests wait, or when the oldest waiting
    request has waited ``max_wait_s``; a batch of ``b`` takes ``fixed_s + sum(per-sample times)`` plus,
    when given, ``extra_s[b]`` (a launch floor or a weight read shared by the batch: Plan.edge_batch_extra_s).
    ``submit`` returns an event whose value is ``(start, end, batch_size)``. The wait is decided by
    the timer, not by comparing clocks: once the timer for a deadline has fired, every request due by
    it may go, whatever rounding did to the clock at large times.
    """

    def __init__(self, env: simpy.Environment, gpus: int, max_batch: int, max_wait_s: float, fixed_s: float,
                 extra_s: Sequence[float] | None = None) -> None:
        self.env, self.free, self.max_batch, self.max_wait, self.fixed = env, gpus, max_batch, max_wait_s, fixed_s
        self.extra = None if extra_s is None else list(extra_s)  # per batch size: see Plan.edge_batch_extra_s
        self.queue: deque = deque()
        self.timer_at = -math.inf  # latest deadline a timer has been set for
        self.expired = -math.inf  # latest deadline whose timer has fired

    def submit(self, work_s: float) -> simpy.Event:
        """Queue a request needing ``work_s`` seconds of per-sample work."""
        ev = self.env.event()
        self.queue.append((self.env.now, work_s, ev))
        self._try_launch()
        return ev

    def _try_launch(self) -> None:
        env, q = self.env, self.queue
        while self.free and q:
            deadline = q[0][0] + self.max_wait
            if len(q) < self.max_batch and deadline > self.expired and env.now < deadline:
                if self.timer_at != deadline:  # wake up when the oldest request has waited long enough
                    self.timer_at = deadline
                    env.timeout(deadline - env.now).callbacks.append(lambda _ev, d=deadline: self._expire(d))
                return
            batch = [q.popleft() for _ in range(min(len(q), self.max_batch))]
            self.free -= 1
            start = env.now
            dur = self.fixed + sum(b[1] for b in batch) + (self.extra[len(batch)] if self.extra else 0.0)
            env.timeout(dur).callbacks.append(lambda _ev, b=batch, s=start: self._finish(b, s))

    def _expire(self, deadline: float) -> None:
        self.expired = max(self.expired, deadline)
        self._try_launch()

    def _finish(self, batch: list, start: float) -> None:
        self.free += 1
        end, size = self.env.now, len(batch)
        for _, _, ev in batch:
            ev.succeed((start, end, size))
        self._try_launch()


class Policy(Protocol):
    """Picks each request's plan. ``choose`` is asked at the request's arrival and returns an index into
    the engine's plans; when ``observes`` is true, ``observe`` is told about each of the request's
    transfers once it has reached the edge: ``t_head`` (s) when it reached the head of its device's
    queue in the uplink cell, ``t_left`` (s) when its last byte left the cell."""

    observes: bool

    def choose(self, i: int, device: int) -> int: ...

    def observe(self, i: int, device: int, k: int, t_head: float, t_left: float) -> None: ...


class StaticPolicy:
    """The trivial policy: every request follows plan 0 and nothing is observed."""

    observes = False

    def choose(self, i: int, device: int) -> int:
        """Always plan 0."""
        return 0

    def observe(self, i: int, device: int, k: int, t_head: float, t_left: float) -> None:
        """Nothing to learn."""


STATIC = StaticPolicy()


@dataclass
class DesRun:
    """Event times of every request and the index of the plan each one followed."""

    times: Times
    chosen: np.ndarray


class _Costs:
    """One plan's per-request costs as Python lists (numpy scalars make SimPy's arithmetic slow)."""

    __slots__ = ("local", "mobile_s", "up_pre_s", "up_work", "up_post_s", "edge_s", "down_s")

    def __init__(self, p: Plan) -> None:
        self.local = p.local
        for name in self.__slots__[1:]:
            setattr(self, name, getattr(p, name).tolist())


def _request(env, i: int, dev: int, costs: list[_Costs], policy: Policy, cpu, cell: Cell, edge: EdgeServer,
             out: Times, chosen: np.ndarray):
    """The life of request ``i`` as a SimPy process."""
    k = policy.choose(i, dev)
    chosen[i] = k
    c = costs[k]
    with cpu.request() as req:
        yield req
        out.t_mobile_start[i] = env.now
        yield env.timeout(c.mobile_s[i])
    now = env.now
    out.t_mobile_end[i] = out.t_tx_start[i] = now
    if c.local:
        out.t_tx_end[i] = out.t_edge_start[i] = out.t_edge_end[i] = out.t_done[i] = now
        return
    if c.up_pre_s[i] > 0:
        yield env.timeout(c.up_pre_s[i])  # handshake and slow-start stalls
    t_head = yield cell.send(dev, c.up_work[i])
    t_left = env.now
    yield env.timeout(c.up_post_s[i])  # propagation (+ jitter, loss recovery)
    if policy.observes:
        policy.observe(i, dev, k, t_head, t_left)
    out.t_tx_end[i] = env.now
    start, end, size = yield edge.submit(c.edge_s[i])
    out.t_edge_start[i], out.t_edge_end[i], out.batch[i] = start, end, size
    yield env.timeout(c.down_s[i])
    out.t_done[i] = env.now


def _source(env, idx: range, t_arr: list, start_request):
    """Arrival process of one device: start each request's process at its arrival time."""
    for i in idx:
        dt = t_arr[i] - env.now
        if dt > 0:
            yield env.timeout(dt)
        env.process(start_request(i))


def batch_overhead_s(plans: Sequence[Plan]) -> float:
    """The edge's per-batch overhead (s) when requests follow any of ``plans``: the first offloading plan's."""
    return next((p.edge_fixed_s for p in plans if not p.local), 0.0)


def batch_extra_s(plans: Sequence[Plan]) -> np.ndarray | None:
    """The edge's extra time per batch size when requests follow any of ``plans``: the first offloading plan's."""
    return next((p.edge_batch_extra_s for p in plans if not p.local), None)


def run_des(plans: Sequence[Plan], policy: Policy = STATIC) -> DesRun:
    """Run requests through the SimPy model, each following the plan ``policy`` picks for it.

    All ``plans`` must share the arrivals and the devices, links and edge (the static plans of one
    sweep point); the first one's are used. The edge's per-batch overhead is
    :func:`batch_overhead_s`.
    """
    p0 = plans[0]
    if any(p.n != p0.n or p.devices != p0.devices for p in plans):
        raise ValueError("run_des: the plans must share their requests and devices")
    env = simpy.Environment()
    out = Times.empty(p0.n)
    out.batch[:] = 0
    chosen = np.zeros(p0.n, np.int64)
    costs = [_Costs(p) for p in plans]
    fixed = batch_overhead_s(plans)
    cells = ([Cell(env, p0.capacity)] * p0.devices if p0.up_sharing == "shared"
             else [Cell(env, p0.capacity) for _ in range(p0.devices)])
    extra = batch_extra_s(plans)
    mk_edge = lambda: EdgeServer(env, p0.gpus, p0.max_batch, p0.max_wait_s, fixed, extra)  # noqa: E731
    shared_edge = mk_edge()
    edges = [shared_edge] * p0.devices if p0.edge_sharing == "shared" else [mk_edge() for _ in range(p0.devices)]
    t_arr = p0.t_arrival.tolist()
    for d, sl in enumerate(p0.device_slices()):
        cpu = simpy.Resource(env, capacity=1)

        def start(i: int, d=d, cpu=cpu):
            return _request(env, i, d, costs, policy, cpu, cells[d], edges[d], out, chosen)

        env.process(_source(env, range(sl.start, sl.stop), t_arr, start))
    env.run()
    return DesRun(out, chosen)


def simulate_des(p: Plan) -> Times:
    """Run the plan through the SimPy model and return every request's event times."""
    return run_des([p]).times
