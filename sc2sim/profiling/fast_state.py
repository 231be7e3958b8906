"""Time only while the host runs at its own full speed: a gate in front of every timed run.

Why. On this shared virtual machine the speed of ordinary single-threaded code switches between two
states, with nothing in the machine's own load showing it: a tiny fixed sequence of torch operators
took 72-80 us in the fast state and 120-190 us in the slow one, in stretches of about 1-4 s each
(8 s of back-to-back calls, 2026-11-28; BENCHMARKS.md section 9). The 28x28 models' batch-1 stages
slowed by 1.5-1.9x in the slow state, a 256x256 matrix product by only 1.1-1.2x, so a probe of
arithmetic alone cannot correct for it. The slow state is other tenants' work on the same
physical core; whether two profiles agree then depends on how much of each ran in the fast state.
Two cold profiles back to back differed by a median of 24 % per stage, up to 75 %.

What. :class:`FastStateGate` times a fixed dispatch-bound probe (:data:`PROBE_OPS` element-wise
additions on an 8-element tensor: the per-operator work of a small model, about 75 us) and keeps
its running minimum, the floor. A probe within ``tolerance`` of the floor means the fast state.
Each probe runs its sequence twice and times the second pass: right after a stage the first pass read
about 20 % slow (its code paths evicted), which would reject fast runs.
A timed run of a sample is **kept only when it is bracketed by fast probes**, one right before and
one right after it; otherwise the sample runs again once the probe reads fast. The gate spins on
probes (no sleep: an idle virtual CPU may be handed to another tenant and come back with cold
caches). Waiting is bounded: after ``budget_s`` seconds of waiting and discarded runs in one timing
run the gate opens for good, every run is kept, and the profile records how many of its runs were
bracketed fast (``fast_share`` < 1 then; :func:`gate_note` gives one line).

A host without such states reads every probe near the floor, so the gate costs two probes per
sample (about 0.3 ms) and changes nothing.
"""

from __future__ import annotations

import os
import time
from typing import Callable, TypeVar

from sc2sim.errors import ConfigError

T = TypeVar("T")

PROBE_OPS = 20
"""Element-wise additions per probe (dispatch-bound: about 75 us on this host's fast state)."""
TOLERANCE = 0.2
"""A probe within this fraction above the floor counts as the fast state (its own jitter there is about 10 %)."""
BUDGET_S = 15.0
"""Seconds of waiting and discarded runs one timing run may spend before the gate opens for good
(the environment variable ``SC2SIM_TIMING_GATE_S`` overrides it; 0 keeps every run as it comes)."""


def default_budget_s() -> float:
    """The waiting budget: ``SC2SIM_TIMING_GATE_S`` when set (seconds, >= 0), else :data:`BUDGET_S`."""
    raw = os.environ.get("SC2SIM_TIMING_GATE_S", "").strip()
    if not raw:
        return BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError(f"environment variable SC2SIM_TIMING_GATE_S: must be a number of seconds >= 0 (0: no waiting), "
                          f"got {raw!r}")
    return value


class FastStateGate:
    """Keeps timed runs to the host's fast state (see the module docstring).

    ``clock`` is the timing protocol's clock (ns); ``tolerance`` and ``budget_s`` as above;
    ``enabled=False`` makes every check pass at no cost (what a run with idle gaps uses)."""

    def __init__(self, clock: Callable[[], int], tolerance: float = TOLERANCE, budget_s: float = BUDGET_S,
                 enabled: bool = True) -> None:
        import torch

        self.clock, self.tolerance, self.budget_s, self.enabled = clock, float(tolerance), float(budget_s), enabled
        self._x = torch.ones(8)
        self._add = torch.add
        self.floor_us = float("inf")
        self.probes = self.waits = self.discarded = self.kept = self.kept_fast = 0
        self.spent_s = 0.0

    @property
    def open(self) -> bool:
        """True once the waiting budget is spent (or the gate is disabled): every run is kept."""
        return not self.enabled or self.spent_s >= self.budget_s

    def probe_us(self) -> float:
        """One probe's time in us on the clock; lowers the floor when faster."""
        for _pass in range(2):  # the first pass warms the probe's code paths after a stage evicted them
            y, t0 = self._x, self.clock()
            for _ in range(PROBE_OPS):
                y = self._add(y, 1.0)
        us = (self.clock() - t0) / 1e3
        self.probes += 1
        self.floor_us = min(self.floor_us, us)
        return us

    def fast(self) -> bool:
        """Whether one probe now reads the fast state (always True when the gate is open)."""
        return self.open or self.probe_us() <= self.floor_us * (1 + self.tolerance)

    def wait(self) -> bool:
        """Probe until the fast state or the end of the budget; True when the fast state was read."""
        if self.open:
            return False
        t0 = time.perf_counter()
        while not self.fast():
            self.waits += 1
            self.spent_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            if self.open:
                return False
        self.spent_s += time.perf_counter() - t0
        return True

    def run(self, fn: Callable[[], T]) -> tuple[T, bool]:
        """``fn()`` (one timed run that measures itself) again until a run is bracketed by fast
        probes or the gate opens: the last run's value, and whether it was bracketed fast."""
        while True:
            before = self.wait()
            t0 = time.perf_counter()
            out = fn()
            if self.open:  # the budget ran out (or the gate is disabled): kept as it is
                self.kept += 1
                return out, False
            if before and self.fast():
                self.kept += 1
                self.kept_fast += 1
                return out, True
            self.discarded += 1
            self.spent_s += time.perf_counter() - t0

    def stats(self) -> dict:
        """What the gate did, for the profile's metadata."""
        return {"enabled": self.enabled, "floor_us": round(self.floor_us, 2) if self.probes else None,
                "tolerance": self.tolerance, "budget_s": self.budget_s, "spent_s": round(self.spent_s, 3),
                "probes": self.probes, "waits": self.waits, "discarded": self.discarded, "kept": self.kept,
                "fast_share": round(self.kept_fast / self.kept, 4) if self.kept and self.enabled else None}


def gate_note(stats: dict) -> str | None:
    """One line when some kept runs were not bracketed by fast probes (the budget ran out), else None."""
    share = stats.get("fast_share")
    if not stats.get("enabled") or share is None or share >= 1:
        return None
    return (f"note: this host ran in its slow state for long stretches while timing: {100 * (1 - share):.0f} % of the "
            f"kept runs were timed after {stats['budget_s']:g} s of waiting for the fast state ran out, so those stage "
            "times may be up to 2x high; profile again (`--no-cache`) when the host is quieter")
