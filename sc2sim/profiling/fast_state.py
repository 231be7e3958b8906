"""Time only while the host runs at its own full speed: a gate in front of every timed run.

Why. On this shared virtual machine the speed of ordinary single-threaded code switches between two
states, with nothing in the machine's own load showing it: a tiny fixed sequence of torch operators
took 72-80 us in the fast state and 120-190 us in the slow one, in stretches of about 0.4 s to a
minute (8-s windows of back-to-back calls, 2026-11-28; BENCHMARKS.md section 9). The 28x28 models'
batch-1 stages slowed by 1.5-1.9x in the slow state, a 256x256 matrix product by only 1.1-1.2x, so a
probe of arithmetic alone cannot correct for it. The slow state is other tenants' work on the same
physical core; whether two profiles agree then depends on how much of each ran in the fast state.
Two cold profiles back to back differed by a median of 24 % per stage, up to 75 %.

Status. An option, off by default (``SC2SIM_TIMING_GATE_S`` > 0 turns it on): alternated with the
gate off, two cold profiles back to back differed by a median of 10.9 % per stage with it and
13.9 % without (10 and 8 runs), a difference inside this host's run-to-run spread; and in stretches
of minutes the fast state hardly came (1-5 % of runs), when the gate only costs time.

What. :class:`FastStateGate` times a fixed dispatch-bound probe (:data:`PROBE_OPS` element-wise
additions on an 8-element tensor: the per-operator work of a small model, about 75 us) and keeps a
running low mark, the floor (its 5th-lowest reading so far). A probe within ``tolerance`` of the
floor means the fast state. Each probe runs its sequence twice and times the second pass: right
after a stage the first pass read about 20 % slow (its code paths evicted), which would reject fast
runs. A timed run of a sample is **kept only when it is bracketed by fast probes**, one right before
and one right after it; otherwise the sample runs again once the probe reads fast. While it waits,
the gate runs ``filler`` (one unit of work that is not timed: a batch of the bytes-and-accuracy
pass, :class:`~sc2sim.profiling.quality.QualityPass`), and then runs the next sample once untimed,
to warm the caches the batch evicted, before the run it keeps; with nothing left to fill it spins on
probes (no sleep: an idle virtual CPU may be handed to another tenant and come back with cold
caches). Waiting is bounded: after ``budget_s`` seconds of waiting and discarded runs in one timing
run the gate opens for good, and sooner when at its pace so far the budget could not finish
(:meth:`FastStateGate.pace`, judged after :data:`PACE_AFTER_S` of waiting: in stretches of minutes
this host ran slow throughout, 1-5 % of runs fast, and waiting bought nothing). Then every run is
kept, and the profile records how many of its runs were bracketed fast (``fast_share`` < 1 then;
:func:`gate_note` gives one line).

A host without such states reads every probe near the floor, so the gate costs two probes per
sample (about 0.3 ms) and changes nothing.
"""

from __future__ import annotations

import heapq
import os
import time
from typing import Callable, TypeVar

from sc2sim.errors import ConfigError

T = TypeVar("T")

PROBE_OPS = 20
"""Element-wise additions per probe (dispatch-bound: about 75 us on this host's fast state)."""
TOLERANCE = 0.2
"""A probe within this fraction above the floor counts as the fast state (its own jitter there is about 10 %)."""
PACE_AFTER_S = 4.0
"""Seconds of waiting after which :meth:`FastStateGate.pace` judges whether the budget can finish the job."""
FLOOR_RANK = 5
"""The floor is the 5th-lowest probe, not the lowest: one probe of 44,000 once read 5 us on the thread
CPU clock (a 70-us sequence), and a floor that low made every later probe read slow."""
BUDGET_S = 15.0
"""Seconds of waiting and discarded runs one timing run may spend before the gate opens for good,
when the gate is on (``SC2SIM_TIMING_GATE_S=15``)."""
DEFAULT_BUDGET_S = 0.0
"""The gate is **off by default** (budget 0): in 18 runs of two cold profiles on this host it did not
make two profiles agree better (BENCHMARKS.md section 9), so it is an option, not the protocol."""


def default_budget_s() -> float:
    """The waiting budget: ``SC2SIM_TIMING_GATE_S`` when set (seconds, >= 0; 0 turns the gate off),
    else :data:`DEFAULT_BUDGET_S`."""
    raw = os.environ.get("SC2SIM_TIMING_GATE_S", "").strip()
    if not raw:
        return DEFAULT_BUDGET_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise ConfigError("environment variable SC2SIM_TIMING_GATE_S: must be a number of seconds >= 0 "
                          f"(0: the gate off), got {raw!r}")
    return value


class FastStateGate:
    """Keeps timed runs to the host's fast state (see the module docstring).

    ``clock`` is the timing protocol's clock (ns); ``tolerance`` and ``budget_s`` as above;
    ``enabled=False`` makes every check pass at no cost (what a run with idle gaps uses); ``runs``:
    how many runs the caller will want kept in the fast state, for :meth:`pace`."""

    def __init__(self, clock: Callable[[], int], tolerance: float = TOLERANCE, budget_s: float = BUDGET_S,
                 enabled: bool = True, filler: Callable[[], bool] | None = None, runs: int = 0) -> None:
        import torch

        self.clock, self.tolerance, self.budget_s, self.enabled = clock, float(tolerance), float(budget_s), enabled
        self.filler, self.filled, self._cold = filler, 0, False
        self.gave_up, self.remaining = False, int(runs)
        self._x = torch.ones(8)
        self._add = torch.add
        self.floor_us = float("inf")
        self._lowest: list[float] = []  # the FLOOR_RANK lowest probes so far, as a max-heap (negated)
        self.probes = self.waits = self.discarded = self.kept = self.kept_fast = 0
        self.spent_s = 0.0

    @property
    def open(self) -> bool:
        """True once the waiting budget is spent (or the gate is disabled): every run is kept."""
        return not self.enabled or self.gave_up or self.spent_s >= self.budget_s

    def probe_us(self) -> float:
        """One probe's time in us on the clock; lowers the floor when faster."""
        for _pass in range(2):  # the first pass warms the probe's code paths after a stage evicted them
            y, t0 = self._x, self.clock()
            for _ in range(PROBE_OPS):
                y = self._add(y, 1.0)
        us = (self.clock() - t0) / 1e3
        self.probes += 1
        self._lower_floor(us)
        return us

    def _lower_floor(self, us: float) -> None:
        """The floor is the :data:`FLOOR_RANK`-th lowest probe so far (the lowest until there are that many)."""
        if len(self._lowest) < FLOOR_RANK:
            heapq.heappush(self._lowest, -us)
        elif us < -self._lowest[0]:
            heapq.heapreplace(self._lowest, -us)
        self.floor_us = -self._lowest[0] if len(self._lowest) == FLOOR_RANK else -max(self._lowest)

    def fast(self) -> bool:
        """Whether one probe now reads the fast state (always True when the gate is open)."""
        return self.open or self._probe_reads_fast()

    def _probe_reads_fast(self) -> bool:
        return self.probe_us() <= self.floor_us * (1 + self.tolerance)

    def pace(self, remaining: int) -> None:
        """Open the gate for good when the ``remaining`` runs still to keep in the fast state would,
        at the waste per kept run so far, need more waiting than the budget has left (judged after
        :data:`PACE_AFTER_S` of waiting): where the fast state is rare, waiting buys little."""
        self.remaining = remaining
        if self.open or self.spent_s < PACE_AFTER_S:
            return
        per_run = self.spent_s / self.kept_fast if self.kept_fast else float("inf")
        self.gave_up = remaining * per_run > self.budget_s - self.spent_s

    def wait(self) -> bool:
        """Probe until the fast state or the end of the budget; True when the fast state was read."""
        while not self.open:
            t0 = time.perf_counter()
            if self._probe_reads_fast():
                self.spent_s += time.perf_counter() - t0
                return True
            self.pace(self.remaining)  # one wait can last seconds where the fast state is rare
            if not self.open and self.filler is not None and self.filler():
                self.filled += 1
                self._cold = True  # the untimed work evicted the stages' data from the caches
            elif not self.open:
                self.waits += 1
            self.spent_s += time.perf_counter() - t0
        return False

    def run(self, fn: Callable[[], T]) -> tuple[T, bool]:
        """``fn()`` (one timed run that measures itself) again until a run is bracketed by fast
        probes or the gate opens: the last run's value, and whether it was bracketed fast."""
        while True:
            before = self.wait()
            t0 = time.perf_counter()
            if self._cold:
                fn()  # warm the caches again after filling: this run is not kept
                self._cold = False
            out = fn()
            if self.open:  # the budget ran out (or the gate is disabled): kept as it is
                self.kept += 1
                return out, False
            if before and self.fast():
                self.kept += 1
                self.kept_fast += 1
                self.pace(self.remaining - 1)
                return out, True
            self.discarded += 1
            self.spent_s += time.perf_counter() - t0

    def stats(self) -> dict:
        """What the gate did, for the profile's metadata."""
        return {"enabled": self.enabled, "floor_us": round(self.floor_us, 2) if self.probes else None,
                "tolerance": self.tolerance, "budget_s": self.budget_s, "spent_s": round(self.spent_s, 3),
                "gave_up": self.gave_up, "probes": self.probes, "waits": self.waits, "filled": self.filled,
                "discarded": self.discarded, "kept": self.kept,
                "fast_share": round(self.kept_fast / self.kept, 4) if self.kept and self.enabled else None}


def gate_note(stats: dict) -> str | None:
    """One line when some kept runs were not bracketed by fast probes (the gate opened), else None."""
    share = stats.get("fast_share")
    if not stats.get("enabled") or share is None or share >= 1:
        return None
    why = ("the fast state came too seldom to finish within the waiting budget" if stats.get("gave_up")
           else f"{stats['budget_s']:g} s of waiting for the fast state ran out")
    return (f"note: this host ran in its slow state for long stretches while timing: {100 * (1 - share):.0f} % of the "
            f"kept runs were timed after {why}, so those stage times may be up to 2x high; profile again "
            "(`--no-cache`) when the host is quieter")
