"""Bottleneck capacity of a link as a cumulative function of time.

A link's bottleneck is described by how much it *can* have delivered by a time ``t``. Both engines
work on this one abstraction, which is what makes a constant-rate link and a Mahimahi trace
interchangeable and lets the exact engine run a FIFO queue in closed form.

Two coordinates are used:

* **time** ``t`` in seconds of simulated time;
* **position** ``c``: cumulative capacity in *work units*. For a constant-rate link a unit is one
  second of transmission at the full rate (so position == time and ``work(bytes) = bytes*8/rate``);
  for a trace link a unit is one byte (so ``work(bytes) = bytes``).

``before(t)`` is the capacity that lies strictly before ``t`` (what a transfer that starts at ``t``
can no longer use) and ``time_of(c)`` the earliest time at which ``c`` units have been offered.
A FIFO queue in this coordinate is Lindley's recursion: ``E_i = max(before(a_i), E_{i-1}) + w_i`` and
the departure time is ``time_of(E_i)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sc2sim.errors import ConfigError

MTU_BYTES = 1500
"""Bytes per Mahimahi delivery opportunity (DESIGN section 6)."""


@dataclass(frozen=True)
class ConstantCapacity:
    """A link of constant rate ``rate_mbps`` (Mbit/s, 10^6 bit/s); positions are seconds."""

    rate_mbps: float

    @property
    def mean_rate_mbps(self) -> float:
        """Long-run rate in Mbit/s."""
        return self.rate_mbps

    def work(self, nbytes: np.ndarray | float) -> np.ndarray | float:
        """Work units (seconds at full rate) needed to send ``nbytes`` bytes."""
        return np.asarray(nbytes, dtype=np.float64) * 8.0 / (self.rate_mbps * 1e6)

    def before(self, t: np.ndarray | float) -> np.ndarray | float:
        """Capacity offered strictly before time ``t`` (seconds); for a fluid link it is ``t``."""
        return t

    def upto(self, t: float) -> float:
        """Capacity offered up to and including time ``t``."""
        return t

    def time_of(self, c: np.ndarray | float) -> np.ndarray | float:
        """Earliest time (s) by which position ``c`` has been offered."""
        return c


@dataclass(frozen=True)
class TraceCapacity:
    """A Mahimahi trace: delivery opportunities at integer millisecond timestamps.

    Each line of the file is one opportunity to deliver ``MTU_BYTES`` bytes (times ``scale``) at that
    millisecond; a repeated timestamp gives several opportunities in that millisecond; capacity not
    used at its opportunity is lost; the schedule repeats with period ``period_ms`` (the last
    timestamp), exactly as Mahimahi's link shell replays it. Positions are bytes.
    """

    opportunities_ms: np.ndarray  # sorted int64
    scale: float = 1.0
    source: str = ""

    def __post_init__(self) -> None:
        ops = np.asarray(self.opportunities_ms, dtype=np.int64)
        if ops.size == 0 or ops[-1] <= 0:
            raise ConfigError(f"{self.source or 'trace'}: the trace needs at least one timestamp > 0")
        if np.any(np.diff(ops) < 0) or ops[0] < 0:
            raise ConfigError(f"{self.source or 'trace'}: timestamps must be non-negative and non-decreasing")
        object.__setattr__(self, "opportunities_ms", ops)

    @property
    def period_ms(self) -> int:
        """Length of one pass of the trace (ms); the schedule repeats after it."""
        return int(self.opportunities_ms[-1])

    @property
    def bytes_per_opportunity(self) -> float:
        """Bytes delivered by one opportunity: 1500 x scale."""
        return MTU_BYTES * self.scale

    @property
    def mean_rate_mbps(self) -> float:
        """Long-run rate of the scaled trace in Mbit/s."""
        return self.opportunities_ms.size * self.bytes_per_opportunity * 8 / (self.period_ms * 1e3)

    def work(self, nbytes: np.ndarray | float) -> np.ndarray | float:
        """Work units (bytes) needed to send ``nbytes`` bytes."""
        return np.asarray(nbytes, dtype=np.float64)

    def _count(self, t: np.ndarray | float, side: str) -> np.ndarray:
        """Number of opportunities at times < t (side='left') or <= t (side='right')."""
        ops = self.opportunities_ms
        m, period = ops.size, self.period_ms
        tm = np.asarray(t, dtype=np.float64) * 1000.0
        k = np.floor(tm / period)
        r = tm - k * period
        n = k * m + np.searchsorted(ops, r, side=side)
        # opportunities at the period boundary (value == period) of cycle k-1 fall exactly at k*period
        at_end = int(np.count_nonzero(ops == period))
        if side == "left":
            n = n - np.where((r == 0) & (k > 0), at_end, 0)
        return n

    def before(self, t: np.ndarray | float) -> np.ndarray | float:
        """Bytes offered by opportunities strictly before ``t`` (seconds)."""
        out = self._count(t, "left") * self.bytes_per_opportunity
        return float(out) if np.ndim(out) == 0 else out

    def upto(self, t: float) -> float:
        """Bytes offered by opportunities at or before ``t`` (seconds)."""
        return float(self._count(t, "right") * self.bytes_per_opportunity)

    def time_of(self, c: np.ndarray | float) -> np.ndarray | float:
        """Time (s) of the opportunity at which cumulative capacity first reaches ``c`` bytes."""
        n = np.ceil(np.asarray(c, dtype=np.float64) / self.bytes_per_opportunity).astype(np.int64)
        n = np.maximum(n, 1)
        m = self.opportunities_ms.size
        k, i = np.divmod(n - 1, m)
        out = (k * self.period_ms + self.opportunities_ms[i]) / 1000.0
        return float(out) if np.ndim(out) == 0 else out


Capacity = ConstantCapacity | TraceCapacity


def read_mahimahi(path: str | Path, scale: float = 1.0) -> TraceCapacity:
    """Read a Mahimahi trace file (one integer millisecond timestamp per line) into a capacity."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"{p}: cannot read trace ({err.strerror or err})") from None
    values = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        try:
            values.append(int(s))
        except ValueError:
            raise ConfigError(f"{p}: line {lineno}: {s!r} — a Mahimahi trace holds one integer (ms) per line") from None
    return TraceCapacity(np.array(values, dtype=np.int64), scale=scale, source=str(p))
