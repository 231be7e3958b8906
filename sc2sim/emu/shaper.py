"""The link model the user-space forwarder applies to each packet (no I/O here, so it is testable).

One :class:`Shaper` per direction. A packet of ``n`` bytes (the whole IP packet) arriving at time
``t`` (seconds since the link started):

1. is dropped with probability ``loss`` (independent random loss);
2. is dropped when the bytes already waiting for the bottleneck plus ``n`` exceed ``queue_bytes``
   (a bounded drop-tail queue);
3. otherwise joins the FIFO bottleneck, which is the simulator's own capacity model
   (:mod:`sc2sim.network.capacity`): a constant rate, or a Mahimahi trace with ``mm-link``'s exact
   semantics (whole-byte opportunities at millisecond timestamps, the packet's bytes flowing over
   them in FIFO order, unused bytes lost, the trace repeating, and the entry rule: a packet that
   arrives during ms ``m`` can only use opportunities stamped after ``m``; with ``tun`` accounting
   the packet also counts its 4-byte TUN header). Its departure is Lindley's recursion in capacity
   units (whole bytes for a trace), ``E = max(before(t), E_prev) + work(n, packets=1)``,
   ``depart = time_of(E)``: the opportunity that carries the packet's last byte;
4. is delivered ``d`` after it departs, never before the previous packet of the same direction.
   ``d`` is the one-way delay plus jitter: ``one_way_delay + jitter * N(0, 1)`` (at least 0), drawn
   anew whenever a packet finds nothing in flight in its direction; packets that follow while others
   are still in flight keep the current ``d``. A burst (one transfer) thus shares one draw, as the
   simulator's per-transfer jitter does, and packets are never reordered.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from sc2sim.network.capacity import Capacity


@dataclass
class LinkSpec:
    """One direction of an emulated link (times in ms, sizes in bytes)."""

    capacity: Capacity
    one_way_delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    queue_bytes: int = 1_000_000


class Shaper:
    """Departure and delivery times of the packets of one direction (see the module docstring)."""

    def __init__(self, spec: LinkSpec, seed: int = 0) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.end: float | int = 0  # E_prev: capacity position where the last accepted packet finishes
        self.last_delivery = 0.0
        self.delay = spec.one_way_delay_ms / 1e3  # the current draw of the one-way delay (s)
        self.waiting: deque[tuple[float, int]] = deque()  # (departure time, bytes) not yet departed
        self.waiting_bytes = 0
        self.dropped_loss = 0
        self.dropped_queue = 0
        self.accepted = 0

    def restart(self) -> None:
        """Start the link afresh at time 0 (empty queue, idle bottleneck); counts and random state go on."""
        self.end, self.last_delivery = 0, 0.0
        self.waiting.clear()
        self.waiting_bytes = 0
        self.delay = self.spec.one_way_delay_ms / 1e3

    def offer(self, t: float, nbytes: int) -> float | None:
        """Delivery time (s) of a packet of ``nbytes`` offered at ``t``; None if it is dropped."""
        spec = self.spec
        while self.waiting and self.waiting[0][0] <= t:
            self.waiting_bytes -= self.waiting.popleft()[1]
        if spec.loss > 0.0 and self.rng.random() < spec.loss:
            self.dropped_loss += 1
            return None
        if self.waiting_bytes + nbytes > spec.queue_bytes:
            self.dropped_queue += 1
            return None
        cap = spec.capacity
        self.end = max(cap.before(t), self.end) + cap.work(nbytes, packets=1)  # whole bytes on a trace
        depart = float(cap.time_of(self.end))
        self.waiting.append((depart, nbytes))
        self.waiting_bytes += nbytes
        if spec.jitter_ms > 0.0 and t >= self.last_delivery:  # nothing in flight: a new draw
            self.delay = max(0.0, (spec.one_way_delay_ms + spec.jitter_ms * float(self.rng.standard_normal())) / 1e3)
        deliver = max(depart + self.delay, self.last_delivery)
        self.last_delivery = deliver
        self.accepted += 1
        return deliver
