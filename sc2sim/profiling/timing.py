"""The timing protocol: how sc2sim times a piece of code on a shared machine, reproducibly.

How far that holds was measured (``benchmarks/bench_profile_noise.py``, BENCHMARKS.md section 9): two
copies of the default pipelines timed in one run agree to a median of 1.5-5.3 % per stage; profiles a
minute apart differ by 4-23 %, because this shared host's own speed moves between them, differently
by kind of work (up to 2x on the image codecs). Compare pipelines profiled in one run.

1. **Threads pinned.** torch's intra- and inter-op thread counts are set for the measurement and
   restored after (:func:`pinned_threads`).
2. **Clock.** With one thread, the calling thread's CPU time (``time.thread_time_ns``): the time
   slices other processes take on a shared machine are not counted. With several threads, wall
   time (``time.perf_counter_ns``; CPU time would add the threads up), and also where the thread
   clock moves in steps coarser than :data:`FINE_CLOCK_NS` (:func:`fine_thread_clock`).
3. **Warm-up.** Before the timed rounds, every pipeline runs its first ``warmup_samples`` samples
   untimed, round after round, for at least ``warmup_s`` seconds: lazy initialisation, allocator,
   the library's primitive caches for batch-1 shapes, and the first seconds of a process, whose runs
   were 30-80 % slower than the later ones on this host (BENCHMARKS.md section 9). It replaced a full
   round of every sample (2-3 s of a cold ``make run``): the caches are keyed by shape, not by image,
   and a first kept round that still ran slow is outvoted by the per-sample minimum over the later
   rounds. (Whether the two warm-ups give the same medians was not measured apart from the host's drift.)
4. **Rounds, interleaved.** A round runs every timed sample of every pipeline being profiled once,
   pipeline after pipeline; the next round starts over. So the runs of one sample are a whole round
   apart (seconds): a slow spell of the host (another process, a frequency change, the first seconds
   of a process) lands on one run of each sample it covers and on every pipeline alike, instead of
   on all repeats of one pipeline (BENCHMARKS.md section 9, reproducibility).
5. **Estimator.** Noise on a busy machine only ever adds time (cache and memory-bandwidth
   contention, frequency changes), so each sample's estimate is the **minimum** over its rounds;
   a stage's time is then the median over samples. At least ``rounds`` kept rounds; rounds
   continue until a round moves every stage median of every pipeline by less than half of
   ``target_ci`` (1 %), at most ``max_rounds``. (With the gate of point 7, every sample gets
   ``rounds`` runs bracketed by fast probes, a round revisiting only the samples that lack them.)
   The 95 % bootstrap interval of each stage median over the samples (:func:`bootstrap_rel_ci`) is
   recorded with it (it measures how much the samples differ, which more rounds do not change), and
   so are the stage medians after each round (``medians_by_round``).
6. **Load recorded.** :func:`host_load` (the 1-minute load average over the cores) is recorded
   before and after, and :func:`busy_note` gives one line when the host was busy. That is a note,
   not a failure: CPU time excludes other processes' slices but not their effect on shared caches.
7. **Fast state only (an option, off by default).** This host's speed switches between a fast and
   a slow state in stretches of seconds (other tenants on the same physical core), slowing small
   models' stages by up to 1.9x. With ``SC2SIM_TIMING_GATE_S`` > 0, each kept run is bracketed by
   two tiny dispatch-bound probes and kept only when both read the fast state; otherwise the sample
   runs again once they do, within that waiting budget (:mod:`sc2sim.profiling.fast_state`,
   ``gate``, ``gate_tolerance``, ``gate_budget_s``). It did not measurably improve agreement
   between profiles here, hence off.
8. **Speed probe.** The load average misses the drift of a virtual machine's own speed, which on
   this host moved a fixed call by up to 1.9x over minutes with nothing else running (BENCHMARKS.md
   section 9). Before each kept round :func:`speed_probe_ms` times a fixed matrix product; the
   probes are recorded, and :func:`drift_note` gives one line when they spread by more than
   :data:`DRIFT_NOTE`.
9. **Memory kept.** A timing process keeps the memory it frees (:mod:`sc2sim.profiling.allocator`),
   as serving stacks do: otherwise glibc hands large activations back to the kernel and the next
   call pays page faults whose number depends on the process's history (a third of mobilenet_v2's
   time at 224x224 and batch 8 on this host). The setting is recorded (``allocator``).
"""

from __future__ import annotations

import functools
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from sc2sim.profiling.allocator import keep_freed_memory
from sc2sim.profiling.fast_state import TOLERANCE, default_budget_s

TARGET_CI = 0.02
"""Stability target (relative): rounds stop when a round moves every stage median by less than half of it."""
MIN_ROUNDS = 2
"""Kept timing rounds at least, by default (``--repeats``; more follow until the medians settle)."""
BUSY_LOAD = 0.75
"""Load average per core above which the host counts as busy while timing."""
DRIFT_NOTE = 0.15
"""Relative spread of the speed probes (slowest / fastest - 1) above which a profile gets a note."""
PROBE_SIZE = 256
"""Side of the square float32 matrices of :func:`speed_probe_ms` (34 MFLOP: about 0.4 ms here)."""


@dataclass(frozen=True)
class Protocol:
    """Settings of one timing run (see the module docstring)."""

    threads: int = 1
    warmup: int = 1
    warmup_samples: int = 16
    warmup_s: float = 0.25
    rounds: int = MIN_ROUNDS
    target_ci: float = TARGET_CI
    max_rounds: int = 6
    gate: bool = True
    gate_tolerance: float = TOLERANCE
    gate_budget_s: float = field(default_factory=default_budget_s)

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.warmup_samples < 1 or self.warmup_s < 0:
            raise ValueError("timing protocol: warmup, warmup_samples and warmup_s must be >= 0, >= 1 and >= 0")
        if self.rounds < 1 or self.max_rounds < self.rounds:
            raise ValueError(f"timing protocol: rounds must be >= 1 and <= max_rounds, got {self.rounds}, {self.max_rounds}")
        if self.gate_tolerance <= 0 or self.gate_budget_s < 0:
            raise ValueError("timing protocol: gate_tolerance must be > 0 and gate_budget_s >= 0")

    def clock(self) -> Callable[[], int]:
        """The clock (ns) this protocol times with."""
        return time.thread_time_ns if self.threads == 1 and fine_thread_clock() else time.perf_counter_ns

    @property
    def clock_name(self) -> str:
        """Human-readable name of :meth:`clock` (recorded in profile metadata)."""
        if self.clock() is time.thread_time_ns:
            return "thread CPU time"
        return "wall time" if self.threads != 1 else (
            f"wall time (this machine's thread CPU clock ticks in {thread_clock_step_ns() / 1e3:.0f}-us steps)")


FINE_CLOCK_NS = 50_000
"""A thread CPU clock whose readings move in larger steps (ns) is too coarse for batch-1 stages of
0.1-2 ms; timing then uses the wall clock. Linux's CFS clock moves in ns (the measured step is then
the reading loop's own 0.2-2 us); some kernels and sandboxes account thread time per scheduler tick
(1-10 ms)."""


@functools.lru_cache(maxsize=1)
def thread_clock_step_ns() -> int:
    """The typical step (ns) between distinct readings of this thread's CPU clock, measured by reading
    it in a tight loop (at most 20 ms): the median of 50 steps; 20 ms if it never moved."""
    steps: list[int] = []
    end = time.perf_counter() + 0.02
    last = time.thread_time_ns()
    while len(steps) < 50 and time.perf_counter() < end:
        now = time.thread_time_ns()
        if now != last:
            steps.append(now - last)
            last = now
    return int(np.median(steps)) if steps else 20_000_000


def fine_thread_clock() -> bool:
    """True when this machine's thread CPU clock is fine enough to time batch-1 stages (:data:`FINE_CLOCK_NS`)."""
    return thread_clock_step_ns() <= FINE_CLOCK_NS


@contextmanager
def pinned_threads(threads: int) -> Iterator[None]:
    """Set torch's intra-op threads (and inter-op threads where still allowed) for the block; the
    process keeps its freed memory from then on (point 9 of the module docstring)."""
    import torch

    keep_freed_memory()
    old = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def timed_ms(fn: Callable, arg: object, clock: Callable[[], int]) -> tuple[object, float]:
    """``fn(arg)`` and its time in ms on ``clock``."""
    t0 = clock()
    out = fn(arg)
    return out, (clock() - t0) / 1e6


def speed_probe_ms(clock: Callable[[], int] = time.perf_counter_ns, reps: int = 20) -> float:
    """The host's speed now, in ms: the fastest of ``reps`` runs of one fixed ``PROBE_SIZE`` square
    float32 matrix product in torch (threads as the caller set them), on ``clock``."""
    import torch

    gen = torch.Generator().manual_seed(0)
    a = torch.rand(PROBE_SIZE, PROBE_SIZE, generator=gen)
    b = torch.rand(PROBE_SIZE, PROBE_SIZE, generator=gen)
    best = float("inf")
    for _ in range(reps + 1):  # the first run warms the path and is not kept
        t0 = clock()
        torch.mm(a, b)
        best = min(best, (clock() - t0) / 1e6) if _ else best
    return best


def drift_note(probes: list[float]) -> str | None:
    """One line when the speed probes of a timing run spread by more than :data:`DRIFT_NOTE`, else None."""
    p = [x for x in probes if x == x and x > 0]
    if len(p) < 2 or max(p) / min(p) - 1 <= DRIFT_NOTE:
        return None
    return (f"note: this host's own speed moved by {100 * (max(p) / min(p) - 1):.0f} % while timing (a fixed matrix "
            f"product took {min(p):.3f}-{max(p):.3f} ms across the rounds, with the load average not showing it); "
            "each sample keeps its fastest round, but the stage times may be off by up to that much: "
            "profile again (`--no-cache`) to check them")


def bootstrap_rel_ci(values: np.ndarray, draws: int = 400, seed: int = 0) -> float:
    """Half-width of the 95 % bootstrap interval of the median of ``values``, relative to the median
    (0 for fewer than 2 values or a zero median)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size < 2:
        return 0.0
    med = float(np.median(v))
    if med <= 0:
        return 0.0
    rng = np.random.default_rng(seed)
    meds = np.median(v[rng.integers(0, v.size, (draws, v.size))], axis=1)
    lo, hi = np.quantile(meds, [0.025, 0.975])
    return float((hi - lo) / 2 / med)


def host_load() -> dict[str, float]:
    """The 1-, 5- and 15-minute load averages and the core count of this machine."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        one = five = fifteen = float("nan")
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2), "cores": os.cpu_count() or 1}


def busy_note(before: dict[str, float], after: dict[str, float] | None = None) -> str | None:
    """One line saying the host was busy while timing (load per core above :data:`BUSY_LOAD`), else None."""
    loads = [x["load1"] for x in (before, after) if x]
    worst = max(loads)
    cores = before["cores"]
    if not worst == worst or worst / cores <= BUSY_LOAD:
        return None
    return (f"note: this host was busy while timing (load average {worst:.1f} on {cores} cores); stage times are "
            "this thread's CPU time, so other processes' time slices are excluded, but shared caches and memory "
            "bandwidth still slow them: profile again on an idle host for the most faithful numbers")


NOW = "now"
"""Run label of the pipelines timed by the current call, in :func:`mixed_runs_note`."""


def mixed_runs_note(runs: dict[str, str | None]) -> str | None:
    """One line when the pipelines of one table were timed in separate runs, else None.

    ``runs`` maps each pipeline to the id of the timing run its stage times come from (:data:`NOW` for
    this call's, None for cache entries written before runs had ids: one earlier run, as far as can
    be told). Two copies of a pipeline timed in one run agree more closely than profiles a minute
    apart on a shared host (module docstring), so times from separate runs are compared with care."""
    groups: dict[str | None, list[str]] = {}
    for name, run in runs.items():
        groups.setdefault(run, []).append(name)
    if len(groups) < 2:
        return None
    now = groups.pop(NOW, None)
    parts = ([f"{', '.join(now)} now"] if now else []) + [f"{', '.join(g)} earlier (cached)" for g in groups.values()]
    names = ",".join(runs)
    return (f"note: these stage times come from {len(parts)} separate timing runs ({'; '.join(parts)}); on a shared "
            "host, profiles taken minutes apart differed by 4-23 % per stage (median) where pipelines timed together "
            f"agreed to 1.5-5 %: to compare them closely, time them together with `sc2sim profile --pipelines "
            f"'{names}' --no-cache`")

