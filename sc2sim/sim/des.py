"""SimPy discrete-event engine: devices, a shared uplink cell and a batching edge server.

How it is built (SimPy in one paragraph): an :class:`simpy.Environment` keeps a clock and a queue of
events; a *process* is a Python generator that ``yield``\\ s events (a timeout, a resource request,
any event another component will trigger) and is resumed when they happen. Each request here is one
process walking its path::

    arrive -> mobile CPU (FIFO, simpy.Resource) -> protocol waits (timeout) -> uplink bottleneck
           -> propagation (timeout) -> edge server (batching) -> downlink (timeout) -> done

The uplink :class:`Cell` and the :class:`EdgeServer` are event-driven components rather than
processes: they keep their own state and trigger the waiting requests' events from callbacks, which
is both simple to reason about and much cheaper than a process per queue.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import simpy

from sc2sim.network import ConstantCapacity
from sc2sim.sim.exact import Times
from sc2sim.sim.plan import Plan


class Cell:
    """Uplink bottleneck shared by devices: processor sharing across devices, FIFO within a device.

    Every device with a backlog gets an equal share of the capacity; a device's own transfers go one
    after another. With one device this is a FIFO queue, identical to the exact engine's link.
    State is kept in capacity coordinates (see :mod:`sc2sim.network.capacity`), so a constant-rate
    link and a Mahimahi trace are handled by the same code.
    """

    def __init__(self, env: simpy.Environment, capacity) -> None:
        self.env, self.cap = env, capacity
        self.pos = 0.0  # capacity position up to which the link has been accounted
        self.heads: dict[int, list] = {}  # device -> [remaining work, event] of its transfer in service
        self.pending: dict[int, deque] = {}
        self.version = 0
        self.target = 0.0
        self.tol = 1e-12 if isinstance(capacity, ConstantCapacity) else 1e-6

    def send(self, device: int, work: float) -> simpy.Event:
        """Queue ``work`` units from ``device``; the returned event fires when the last byte has left."""
        ev = self.env.event()
        if device in self.heads:
            self.pending.setdefault(device, deque()).append((work, ev))
            return ev
        now_pos = self.cap.before(self.env.now)
        if self.heads:
            self._advance(now_pos)
        if not self.heads:
            self.pos = max(self.pos, now_pos)
        self.heads[device] = [work, ev]
        self._schedule()
        return ev

    def _advance(self, upto: float) -> None:
        """Serve the backlogged devices in processor sharing from ``self.pos`` to position ``upto``."""
        heads = self.heads
        while heads and self.pos < upto:
            n = len(heads)
            m = min(h[0] for h in heads.values())
            step = min(n * m, upto - self.pos)
            share = step / n
            for h in heads.values():
                h[0] -= share
            self.pos += step
            for d in [d for d, h in heads.items() if h[0] <= self.tol]:
                heads.pop(d)[1].succeed(self.env.now)
                queue = self.pending.get(d)
                if queue:
                    heads[d] = list(queue.popleft())

    def _schedule(self) -> None:
        if not self.heads:
            return
        self.version += 1
        version = self.version
        n = len(self.heads)
        self.target = self.pos + n * min(h[0] for h in self.heads.values())
        delay = max(0.0, float(self.cap.time_of(self.target)) - self.env.now)
        self.env.timeout(delay).callbacks.append(lambda _ev: self._wake(version))

    def _wake(self, version: int) -> None:
        if version != self.version:
            return  # superseded by a later arrival
        self._advance(max(self.cap.upto(self.env.now), self.target))
        self._schedule()


class EdgeServer:
    """``gpus`` workers fed from one FIFO queue with dynamic batching.

    A batch starts on a free worker as soon as ``max_batch`` requests wait, or when the oldest waiting
    request has waited ``max_wait_s``; a batch of ``b`` takes ``fixed_s + sum(per-sample times)``.
    ``submit`` returns an event whose value is ``(start, end, batch_size)``.
    """

    def __init__(self, env: simpy.Environment, gpus: int, max_batch: int, max_wait_s: float, fixed_s: float) -> None:
        self.env, self.free, self.max_batch, self.max_wait, self.fixed = env, gpus, max_batch, max_wait_s, fixed_s
        self.queue: deque = deque()
        self.timer_at = -1.0

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
            if len(q) < self.max_batch and env.now < deadline - 1e-12:
                if self.timer_at != deadline:  # wake up when the oldest request has waited long enough
                    self.timer_at = deadline
                    env.timeout(deadline - env.now).callbacks.append(lambda _ev: self._try_launch())
                return
            batch = [q.popleft() for _ in range(min(len(q), self.max_batch))]
            self.free -= 1
            start = env.now
            dur = self.fixed + sum(b[1] for b in batch)
            env.timeout(dur).callbacks.append(lambda _ev, b=batch, s=start: self._finish(b, s))

    def _finish(self, batch: list, start: float) -> None:
        self.free += 1
        end, size = self.env.now, len(batch)
        for _, _, ev in batch:
            ev.succeed((start, end, size))
        self._try_launch()


def _request(env, i: int, dev: int, p: Plan, cpu, cell: Cell, edge: EdgeServer, out: Times):
    """The life of request ``i`` as a SimPy process."""
    with cpu.request() as req:
        yield req
        out.t_mobile_start[i] = env.now
        yield env.timeout(p.mobile_s[i])
    now = env.now
    out.t_mobile_end[i] = out.t_tx_start[i] = now
    if p.local:
        out.t_tx_end[i] = out.t_edge_start[i] = out.t_edge_end[i] = out.t_done[i] = now
        return
    if p.up_pre_s[i] > 0:
        yield env.timeout(p.up_pre_s[i])  # handshake and slow-start stalls
    yield cell.send(dev, p.up_work[i])
    yield env.timeout(p.up_post_s[i])  # propagation (+ jitter, loss recovery)
    out.t_tx_end[i] = env.now
    start, end, size = yield edge.submit(p.edge_s[i])
    out.t_edge_start[i], out.t_edge_end[i], out.batch[i] = start, end, size
    yield env.timeout(p.down_s[i])
    out.t_done[i] = env.now


def _source(env, idx: range, dev: int, p: Plan, cpu, cell: Cell, edge: EdgeServer, out: Times):
    """Arrival process of one device: start each request's process at its arrival time."""
    t_arr = p.t_arrival
    for i in idx:
        dt = t_arr[i] - env.now
        if dt > 0:
            yield env.timeout(dt)
        env.process(_request(env, i, dev, p, cpu, cell, edge, out))


def simulate_des(p: Plan) -> Times:
    """Run the plan through the SimPy model and return every request's event times."""
    env = simpy.Environment()
    out = Times.empty(p.n)
    out.batch[:] = 0
    # numpy scalars make SimPy's arithmetic slow: give it Python floats
    p_py = Plan(**{**p.__dict__, **{k: v.tolist() for k, v in p.__dict__.items()
                                     if isinstance(v, np.ndarray) and k in _HOT}})
    cells = ([Cell(env, p.capacity)] * p.devices if p.up_sharing == "shared"
             else [Cell(env, p.capacity) for _ in range(p.devices)])
    mk_edge = lambda: EdgeServer(env, p.gpus, p.max_batch, p.max_wait_s, p.edge_fixed_s)  # noqa: E731
    shared_edge = mk_edge()
    edges = [shared_edge] * p.devices if p.edge_sharing == "shared" else [mk_edge() for _ in range(p.devices)]
    for d, sl in enumerate(p.device_slices()):
        cpu = simpy.Resource(env, capacity=1)
        env.process(_source(env, range(sl.start, sl.stop), d, p_py, cpu, cells[d], edges[d], out))
    env.run()
    return out


_HOT = {"t_arrival", "mobile_s", "up_pre_s", "up_work", "up_post_s", "edge_s", "down_s"}
