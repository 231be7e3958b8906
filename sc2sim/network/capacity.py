"""Bottleneck capacity of a link as a cumulative function of time.

A link's bottleneck is described by how much it *can* have delivered by a time ``t``. Both engines
and the emulator's shaper work on this one abstraction, which is what makes a constant-rate link
and a Mahimahi trace interchangeable and lets the exact engine run a FIFO queue in closed form.

Two coordinates are used:

* **time** ``t`` in seconds of simulated time (a trace's time 0 is the start of a millisecond);
* **position** ``c``: cumulative capacity in *work units*. For a constant-rate link a unit is one
  second of transmission at the full rate (so position == time and ``work(bytes) = bytes*8/rate``);
  for a trace link a unit is one byte and positions are whole numbers of bytes.

``before(t)`` is the capacity that a transfer entering the link at ``t`` can no longer use and
``time_of(c)`` the earliest time at which ``c`` units have been offered. A FIFO queue in this
coordinate is Lindley's recursion: ``E_i = max(before(a_i), E_{i-1}) + w_i`` and the departure time
is ``time_of(E_i)``. For a trace this is exactly Mahimahi's ``LinkQueue`` (see :class:`TraceCapacity`
and ``tests/test_mahimahi_reference.py``, which checks it against a port of its delivery loop).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np

from sc2sim.errors import ConfigError

MTU_BYTES = 1500
"""IP bytes per Mahimahi delivery opportunity as documented (DESIGN section 6): one MTU-sized packet."""
TUN_HEADER_BYTES = 4
"""Packet-information header that Mahimahi's TUN devices (opened without ``IFF_NO_PI``) put before each packet."""
COMPILED_OPPORTUNITY_BYTES = MTU_BYTES + TUN_HEADER_BYTES
"""Bytes per opportunity in Mahimahi as compiled (``LinkQueue::PACKET_SIZE`` = 1504)."""
ACCOUNTINGS = ("ip", "tun")
"""Byte accountings of a trace: ``ip`` (documented: 1500 IP bytes per opportunity) or ``tun``
(as compiled: 1504 bytes per opportunity, each packet counted with its 4-byte TUN header)."""
MAX_TRACE_BYTES = 1 << 28
"""Largest trace file read (256 MiB: hours of a fast link; the bundled 120 s LTE trace is 0.3 MB)."""
MAX_TIMESTAMP_MS = 10**12
"""Largest timestamp accepted in a trace file (about 31 years), far inside exact integer arithmetic."""


@dataclass(frozen=True)
class ConstantCapacity:
    """A link of constant rate ``rate_mbps`` (Mbit/s, 10^6 bit/s); positions are seconds."""

    rate_mbps: float

    @property
    def mean_rate_mbps(self) -> float:
        """Long-run rate in Mbit/s."""
        return self.rate_mbps

    def work(self, nbytes: np.ndarray | float, packets: np.ndarray | int | None = None) -> np.ndarray | float:
        """Work units (seconds at full rate) needed to send ``nbytes`` IP bytes (``packets`` is ignored:
        a constant link counts IP bytes only)."""
        return np.asarray(nbytes, dtype=np.float64) * 8.0 / (self.rate_mbps * 1e6)

    def before(self, t: np.ndarray | float) -> np.ndarray | float:
        """Capacity a transfer entering at ``t`` (s) can no longer use; for a fluid link it is ``t``."""
        return t

    def upto(self, t: float) -> float:
        """Capacity used or lost by time ``t`` (s); for a fluid link it is ``t``."""
        return t

    def time_of(self, c: np.ndarray | float) -> np.ndarray | float:
        """Earliest time (s) by which position ``c`` has been offered."""
        return c


def opportunity_bytes(scale: float, accounting: str = "ip") -> int:
    """Whole bytes one opportunity carries: the nearest integer to ``base x scale`` (``base`` 1500 for
    ``ip``, 1504 for ``tun``), with ``scale`` taken as the decimal number it prints as (so 0.009 x 1500
    is 13.5, not 13.4999...), halves rounded up, and at least 1 byte."""
    base = MTU_BYTES if accounting == "ip" else COMPILED_OPPORTUNITY_BYTES
    exact = Decimal(repr(float(scale))) * base
    return max(1, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))


def _int_out(x: np.ndarray) -> np.ndarray | int:
    return int(x) if np.ndim(x) == 0 else x


@dataclass(frozen=True)
class TraceCapacity:
    """A Mahimahi trace: delivery opportunities at whole-millisecond timestamps, exactly as ``mm-link``.

    * Each line of the file is one delivery opportunity at that millisecond; a repeated timestamp gives
      several opportunities in that millisecond; the schedule repeats shifted by its last timestamp
      (``period_ms``), so an opportunity at ``k * period_ms + ops[i]`` for ``k = 0, 1, ...``.
    * **Whole bytes.** One opportunity carries :attr:`bytes_per_opportunity` bytes, an integer:
      ``round(1500 x scale)`` with ``accounting="ip"`` (Mahimahi's documented MTU-sized packet) or
      ``round(1504 x scale)`` with ``accounting="tun"`` (Mahimahi as compiled), halves up, at least 1
      (:func:`opportunity_bytes`). Positions are whole bytes; ``time_of`` divides exactly in integers.
    * **Fluid bytes, FIFO.** Bytes go out in arrival order; a packet that does not fit in what is left of
      an opportunity continues at the next one and leaves at the opportunity that carries its last byte;
      bytes of an opportunity that finds the queue empty are lost.
    * **Entry rule.** Mahimahi stamps time in whole milliseconds and, before it queues a packet that
      arrives during ms ``m``, it has already used or wasted every opportunity stamped ``<= m``: a packet
      can only leave at an opportunity stamped after its arrival millisecond. So ``before(t)`` is the
      capacity of the opportunities at ``ms <= floor(1000 t)``, and ``upto(t)`` (what is used or lost by
      ``t``) is the same number.
    * **Accounting** ``tun``: each packet costs its IP bytes plus the 4-byte TUN header
      (``work(nbytes, packets)``), as ``mm-link`` counts what it reads from its TUN device.

    What still differs from Mahimahi as compiled (``ravinet/mahimahi``, ``src/frontend/link_queue.cc``):
    with ``accounting="ip"`` the opportunity is 1500 bytes and no TUN header is counted (select ``tun``
    for 1504 and per-packet headers); the simulator moves whole transfers as fluid bytes, so the
    packet count of a transfer is the transport model's (``work``'s ``packets``, by default the fewest
    1500-byte packets) and all its packets enter the link at the transfer's entry time (the emulator's
    shaper, in contrast, sees every real packet at its own time); ``mm-link`` hands a departed packet
    on when its event loop next runs (at or just after the opportunity's millisecond) while here it
    leaves exactly at the millisecond; ``scale`` is sc2sim's own (Mahimahi has no such knob; its
    ``PACKET_SIZE`` would simply be changed); the queue in front of the link is unbounded here
    (``mm-link``'s default ``infinite`` queue; the emulator's shaper has its own byte bound).
    """

    opportunities_ms: np.ndarray  # sorted int64
    scale: float = 1.0
    source: str = ""
    accounting: str = "ip"
    _bytes: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        src = self.source or "trace"
        ops = np.asarray(self.opportunities_ms)
        if ops.ndim != 1 or ops.size == 0:
            raise ConfigError(f"{src}: timestamps: none — a trace needs at least one timestamp (ms), the last > 0")
        if not np.issubdtype(ops.dtype, np.integer):
            raise ConfigError(f"{src}: timestamps: {ops.dtype} — whole milliseconds (integers) are allowed")
        ops = ops.astype(np.int64)
        if ops[0] < 0 or np.any(np.diff(ops) < 0):
            raise ConfigError(f"{src}: timestamps: not sorted or negative — they must be >= 0 and non-decreasing")
        if ops[-1] <= 0:
            raise ConfigError(f"{src}: last timestamp: {int(ops[-1])} — a trace must last at least 1 ms (last > 0)")
        scale_ok = isinstance(self.scale, (int, float)) and not isinstance(self.scale, bool)
        if not (scale_ok and math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"{src}: scale: {self.scale!r} — a finite number > 0 is allowed")
        if self.accounting not in ACCOUNTINGS:
            raise ConfigError(f"{src}: accounting: {self.accounting!r} — allowed: {', '.join(ACCOUNTINGS)}")
        object.__setattr__(self, "opportunities_ms", ops)
        object.__setattr__(self, "_bytes", opportunity_bytes(self.scale, self.accounting))

    @property
    def period_ms(self) -> int:
        """Length of one pass of the trace (ms); the schedule repeats after it."""
        return int(self.opportunities_ms[-1])

    @property
    def bytes_per_opportunity(self) -> int:
        """Whole bytes delivered by one opportunity (see :func:`opportunity_bytes`)."""
        return self._bytes

    @property
    def header_bytes(self) -> int:
        """Bytes counted on top of each packet's IP bytes: 4 (the TUN header) with ``tun``, else 0."""
        return TUN_HEADER_BYTES if self.accounting == "tun" else 0

    @property
    def mean_rate_mbps(self) -> float:
        """Long-run rate of the scaled trace in Mbit/s (in the bytes an opportunity carries: with ``tun``
        accounting these include the TUN headers)."""
        return self.opportunities_ms.size * self.bytes_per_opportunity * 8 / (self.period_ms * 1e3)

    def work(self, nbytes: np.ndarray | float, packets: np.ndarray | int | None = None) -> np.ndarray | int:
        """Work units (whole bytes) needed to send ``nbytes`` IP bytes in ``packets`` packets.

        Fractions of a byte round up. With ``tun`` accounting every packet adds its 4-byte header;
        ``packets`` defaults to the fewest 1500-byte packets that hold ``nbytes`` (0 for 0 bytes).
        """
        b = np.ceil(np.asarray(nbytes, dtype=np.float64)).astype(np.int64)
        if self.header_bytes:
            n = -(-b // MTU_BYTES) if packets is None else np.asarray(packets, dtype=np.int64)
            b = b + self.header_bytes * n
        return _int_out(b)

    def ms_index(self, t: np.ndarray | float) -> np.ndarray:
        """The millisecond (int64) a time ``t`` (s) falls in: the largest ``m`` with ``m / 1000.0 <= t``
        in floating point, so that the times ``time_of`` returns map back to their own millisecond."""
        tm = np.asarray(t, dtype=np.float64)
        m = np.floor(tm * 1000.0)
        m = np.where(m / 1000.0 > tm, m - 1.0, m)
        m = np.where((m + 1.0) / 1000.0 <= tm, m + 1.0, m)
        return m.astype(np.int64)

    def count_through(self, m: np.ndarray | int) -> np.ndarray:
        """Number of opportunities stamped at milliseconds ``<= m`` (int64; 0 for ``m < 0``)."""
        ops = self.opportunities_ms
        mm = np.asarray(m, dtype=np.int64)
        k, r = np.divmod(np.maximum(mm, 0), self.period_ms)  # cycle k's opportunities are at k*period + ops
        n = k * ops.size + np.searchsorted(ops, r, side="right")
        return np.where(mm < 0, 0, n)

    def before(self, t: np.ndarray | float) -> np.ndarray | int:
        """Bytes a transfer entering at ``t`` (s) can no longer use: those of the opportunities stamped at
        or before its millisecond (the entry rule)."""
        return _int_out(self.count_through(self.ms_index(t)) * self.bytes_per_opportunity)

    def upto(self, t: float) -> int:
        """Bytes used or lost by time ``t`` (s): the opportunities stamped at or before its millisecond
        (equal to ``before(t)``; kept as the capacity API's name for what a running queue has consumed)."""
        return int(self.before(float(t)))

    def time_of(self, c: np.ndarray | float) -> np.ndarray | float:
        """Time (s) of the opportunity at which cumulative capacity first reaches ``c`` bytes (the first
        opportunity for ``c <= 0``); fractional positions round up to whole bytes."""
        ci = np.ceil(np.asarray(c, dtype=np.float64)).astype(np.int64)
        n = np.maximum(-(-ci // self.bytes_per_opportunity), 1)  # exact integer ceil-division
        k, i = np.divmod(n - 1, self.opportunities_ms.size)
        out = (k * self.period_ms + self.opportunities_ms[i]) / 1000.0
        return float(out) if np.ndim(out) == 0 else out


Capacity = ConstantCapacity | TraceCapacity


def read_mahimahi(path: str | Path, scale: float = 1.0, accounting: str = "ip") -> TraceCapacity:
    """Read a Mahimahi trace file (one integer millisecond timestamp per line, non-decreasing, the last
    > 0; blank lines are skipped) into a capacity with ``scale`` and ``accounting`` (see
    :class:`TraceCapacity`)."""
    from sc2sim.readers import read_bytes_file  # lazily: the emulator's forwarder needs no YAML

    p = Path(path)
    raw = read_bytes_file(p, "Mahimahi trace (one integer ms timestamp per line)", MAX_TRACE_BYTES)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{p}: byte {err.start}: {raw[err.start:err.start + 1]!r} — a Mahimahi trace is plain "
                          "text, one integer (ms) per line") from None
    values: list[int] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        if not s.isdigit():
            shown = s if len(s) <= 40 else s[:40] + "..."
            raise ConfigError(f"{p}: line {lineno}: {shown!r} — a Mahimahi trace holds one integer (ms) per line")
        v = int(s)
        if v > MAX_TIMESTAMP_MS:
            raise ConfigError(f"{p}: line {lineno}: {v} — timestamps up to {MAX_TIMESTAMP_MS} ms are allowed")
        if values and v < values[-1]:
            raise ConfigError(f"{p}: line {lineno}: {v} — timestamps must be non-decreasing (previous {values[-1]})")
        values.append(v)
    return TraceCapacity(np.array(values, dtype=np.int64), scale=scale, source=str(p), accounting=accounting)
