"""Micro-benchmarks and reference models that ``sc2sim calibrate`` runs on the target machine.

Every function takes ``device`` ("cpu" or a CUDA device): on a GPU the clock is wall time around
a synchronised block, on a CPU the calling thread's CPU time checked against the wall time
(:func:`best_ms`).
The GPU paths run on a CPU too (synchronisation and pinned memory are skipped), which is how the
tests exercise them on machines without a GPU.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sc2sim.profiling.counting import WorkCount, count_work

REFERENCE_ZLIB_S = 0.0650
"""Best CPU time (s) of :func:`zlib_s`'s workload on the reference core (the first calibration host,
AMD EPYC Zen 3 vCPU at 2.45 GHz under KVM), i.e. what ``scalar_speed == 1`` means."""

_rng = np.random.default_rng(0)
_ZLIB_DATA = (_rng.integers(0, 16, 1 << 21, dtype=np.uint8) * 7 + np.arange(1 << 21, dtype=np.uint8) % 5).tobytes()


def _sync(device: str) -> None:
    import torch

    if device != "cpu":
        torch.cuda.synchronize(device)


AGREE = 0.02
"""On a CPU a timed round counts when this thread's CPU time is within this fraction of the wall time
(see :func:`best_ms`)."""


def best_ms(fn: Callable[[], object], device: str = "cpu", repeats: int = 5, inner: int = 1, warmup: int = 1,
            min_s: float = 0.25, max_s: float | None = None) -> float:
    """Best (minimum) mean time per call (ms) over at least ``repeats`` rounds of ``inner`` calls.

    At least ``warmup`` calls and ``min_s`` / 2 seconds of warm-up first, then rounds until there are
    ``repeats`` usable ones and ``min_s`` seconds have passed: a fast stage gets hundreds of rounds, and
    the first stretch of a process (30-80 % slower on this host: BENCHMARKS.md section 9) is never
    timed. The minimum discards one-sided noise (caches, contention).

    GPU, or a CPU whose thread clock is coarse (:func:`~sc2sim.profiling.timing.fine_thread_clock`):
    wall time of a (synchronised) round. CPU: a round is usable when this thread's CPU time and
    the wall time agree within :data:`AGREE` (nothing else ran on the vCPU meanwhile), and its CPU
    time is taken. The thread clock alone can read low, which a minimum would keep: a hypervisor's
    steal time is subtracted from it in lumps, and once a 70-us probe read 5 us (BENCHMARKS.md
    section 9); the wall clock never reads low. On a quiet host 97-99 % of rounds agree (50-us and
    90-ms rounds). If fewer than ``repeats`` rounds agree by ``max_s`` (default 8 x ``min_s``), the
    minimum wall time, an upper bound, is returned."""
    from sc2sim.profiling.allocator import keep_freed_memory
    from sc2sim.profiling.timing import fine_thread_clock

    keep_freed_memory()  # no page faults from memory glibc handed back (sc2sim/profiling/allocator.py)
    wall_only = device != "cpu" or not fine_thread_clock()
    max_s = 8 * min_s if max_s is None else max_s
    start, done = time.perf_counter(), 0
    while done < warmup or time.perf_counter() - start < min_s / 2:
        fn()
        done += 1
    _sync(device)
    usable: list[float] = []
    walls: list[float] = []
    start = time.perf_counter()
    while True:
        elapsed = time.perf_counter() - start
        if (len(usable) >= repeats and elapsed >= min_s) or (elapsed >= max_s and len(walls) >= repeats):
            break
        w0, t0 = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(inner):
            fn()
        _sync(device)
        t1, w1 = time.thread_time_ns(), time.perf_counter_ns()
        wall = (w1 - w0) / inner / 1e6
        walls.append(wall)
        cpu = (t1 - t0) / inner / 1e6
        if wall_only or abs(wall - cpu) <= AGREE * wall:
            usable.append(wall if wall_only else cpu)
    return float(min(usable)) if len(usable) >= repeats else float(min(walls))


def zlib_s(repeats: int = 5) -> float:
    """Best CPU time (s) of zlib level 6 on 2 MiB (a stand-in for scalar, branchy codec code)."""
    return best_ms(lambda: zlib.compress(_ZLIB_DATA, 6), "cpu", repeats) / 1e3


def micro(device: str = "cpu", repeats: int = 5, quick: bool = False) -> dict[str, float]:
    """Micro-benchmarks: dense GEMM GFLOPS, per-operator dispatch (µs), memory bandwidth (GB/s),
    per-call overhead (ms); on a GPU also host-to-device copy bandwidth (GB/s)."""
    import torch

    dev = torch.device(device)
    n = 256 if quick else (512 if device == "cpu" else 4096)
    a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    tf32 = torch.backends.cuda.matmul.allow_tf32
    if device != "cpu":  # the math mode cuDNN uses for FP32 convolutions (TF32 by default on Ampere and later)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32
    try:
        t_mm = best_ms(lambda: torch.mm(a, b), device, repeats, inner=2 if device == "cpu" else 10)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32
    tiny = torch.zeros(1, 8, 4, 4, device=dev)
    inner = 200 if quick else 2000
    with torch.no_grad():
        t_op = best_ms(lambda: torch.add(tiny, tiny), device, repeats, inner=inner)
        t_call = best_ms(lambda: None, device, repeats, inner=inner)
    size = (16 if quick else 64) << 20
    src, dst = torch.empty(size // 4, device=dev), torch.empty(size // 4, device=dev)
    t_copy = best_ms(lambda: dst.copy_(src), device, repeats, inner=2)
    out = {"gemm_gflops": 2 * n**3 / t_mm / 1e6, "dispatch_us": t_op * 1e3, "mem_gbps": 2 * size / t_copy / 1e6,
           "call_overhead_ms": t_call}
    if device != "cpu":
        host = torch.empty(size // 4, pin_memory=True)
        out["copy_gbps"] = size / best_ms(lambda: src.copy_(host, non_blocking=True), device, repeats, inner=2) / 1e6
        one = torch.zeros(1, pin_memory=True)
        out["call_overhead_ms"] = best_ms(lambda: tiny.new_zeros(1).copy_(one).cpu(), device, repeats, inner=50)
    return out


@dataclass
class RefStage:
    """A reference stage timed by calibrate: what it is, its counts and measured time (ms) per batch."""

    name: str
    batch: int
    work: WorkCount
    ms: float
    threads: int = 1


Case = tuple[str, Callable, list, tuple]
"""A stage to time: (name, callable on a batch, modules whose weights it reads, per-sample input shape)."""


def bundled_cases(device: str = "cpu") -> list[Case]:
    """The bundled 28x28 models as stages: teacher, light model, Entropic Student device and edge sides,
    learned image codec analysis and synthesis transforms."""
    import torch

    from sc2sim.models import load_bundled

    dev = torch.device(device)
    teacher, light, student, codec = (load_bundled(n).to(dev).eval()
                                      for n in ("teacher", "light", "student-beta0.003", "codec-lmbda0.0067"))
    z = tuple(student.encode_latent(torch.zeros(1, 1, 28, 28, device=dev)).shape[1:])
    y = tuple(codec.g_a(torch.zeros(1, 1, 28, 28, device=dev)).shape[1:])
    return [
        ("teacher-28", lambda x: teacher(x).argmax(1), [teacher], (1, 28, 28)),
        ("light-28", lambda x: light(x).argmax(1), [light], (1, 28, 28)),
        ("sc2-device-28", student.encode_latent, [student], (1, 28, 28)),
        ("sc2-edge-28", lambda v: student.tail(student.decode_features(v)).argmax(1), [student], z),
        ("codec-analysis-28", codec.g_a, [codec], (1, 28, 28)),
        ("codec-synthesis-28", codec.g_s, [codec], y),
    ]


def arch_case(arch: str, device: str = "cpu", size: int = 224) -> Case:
    """A torchvision architecture (untrained weights: time does not depend on them) as one stage."""
    import torch
    import torchvision

    model = torchvision.models.get_model(arch, weights=None).to(torch.device(device)).eval()
    return (f"{arch}-{size}", lambda x: model(x).argmax(1), [model], (3, size, size))


def time_cases(cases: list[Case], device: str = "cpu", batches: tuple[int, ...] = (1,), repeats: int = 3,
               passes: int = 1) -> list[RefStage]:
    """Time every case at every batch size (counted at batch 1, the cost model's unit); a GPU call
    includes the input copy, the argmax and the copy back, as a served request would (inputs random).

    ``passes`` > 1 times all calls in that many interleaved passes (forward, then backward, ...) and
    keeps each call's fastest pass: this host slows by up to 1.9x in spells of 10-50 s
    (BENCHMARKS.md section 9), and timing the calls one after another lets a spell land on some of
    them and not on others, which no cost model fitted to one part can explain in the other. Spread
    over the passes, every call gets its chance at the host's fast state."""
    import torch

    dev = torch.device(device)
    calls = []
    with torch.no_grad():
        for name, fn, mods, shape in cases:
            for b in batches:
                host_x = torch.rand(b, *shape)
                if device != "cpu":
                    host_x = host_x.pin_memory()
                x = host_x.to(dev)
                one = x[:1].clone()
                work = count_work(lambda: fn(one), mods)  # counts are per call at batch 1 (cost_model)
                call = (lambda fn=fn, h=host_x: fn(h.to(dev, non_blocking=True)).cpu()) if device != "cpu" else (
                    lambda fn=fn, x=x: fn(x))
                calls.append((name, b, work, call))
        best = [float("inf")] * len(calls)
        for p in range(max(1, int(passes))):
            order = range(len(calls)) if p % 2 == 0 else reversed(range(len(calls)))
            for i in order:
                best[i] = min(best[i], best_ms(calls[i][3], device, repeats, warmup=2 if p == 0 else 1))
    return [RefStage(name, b, work, ms) for (name, b, work, _), ms in zip(calls, best)]


REFERENCE = ("teacher-28", "light-28", "sc2-device-28", "sc2-edge-28")
REFERENCE_ARCHS = ("resnet18", "mobilenet_v2", "squeezenet1_1")
"""The reference stages of ``sc2sim calibrate``: the bundled 28x28 models and (unless quick) three
torchvision architectures at 224x224."""


def reference_stages(device: str = "cpu", quick: bool = False, batches: tuple[int, ...] = (1,),
                     repeats: int = 3, passes: int = 1) -> list[RefStage]:
    """Time the reference stages (:data:`REFERENCE`, and :data:`REFERENCE_ARCHS` unless ``quick``) on ``device``."""
    cases = [c for c in bundled_cases(device) if c[0] in REFERENCE]
    if not quick:
        cases += [arch_case(a, device) for a in REFERENCE_ARCHS]
    return time_cases(cases, device, batches, repeats, passes)


def fit_log(model: Callable[[np.ndarray], np.ndarray], target: np.ndarray, p0: np.ndarray,
            free: np.ndarray | None = None, iters: int = 60, prior: np.ndarray | None = None,
            lower: np.ndarray | None = None) -> np.ndarray:
    """Positive parameters minimising the squared log-ratio ``log(model(p) / target)``; ``free`` masks
    the parameters to fit. Damped Gauss-Newton in log space with a numerical Jacobian, started from
    ``p0`` and from ``p0`` scaled by 1/4 and 4 in every free parameter (the max() of the roofline and
    of the launch floor make the objective piecewise smooth: a single start can stall on a flat side).

    ``prior`` (weights per parameter, 0 = none) adds ``w * log(p / p0)`` to the residuals: a parameter
    the targets do not constrain (e.g. a bandwidth when no target is memory-bound, where the objective
    is flat) stays at its measured start value instead of wandering off with the noise, while one the
    targets do constrain moves about as it would without it (a 0.1 weight costs as much as a 10 %
    error on one target per factor e).

    ``lower`` (per parameter, 0 = none) is a floor on a parameter's value: the model sees
    ``max(p, lower)`` and that is what is returned."""
    floor = np.zeros(len(p0)) if lower is None else np.asarray(lower, dtype=np.float64)
    lp0 = np.log(np.maximum(np.asarray(p0, dtype=np.float64), floor))
    inner = model

    def model(p: np.ndarray) -> np.ndarray:
        return inner(np.maximum(p, floor))

    mask = np.ones(lp0.size, bool) if free is None else np.asarray(free, bool)
    idx = np.flatnonzero(mask)
    w = np.zeros(lp0.size) if prior is None else np.asarray(prior, dtype=np.float64)
    anchored = np.flatnonzero(mask & (w > 0))

    def res(x: np.ndarray) -> np.ndarray:
        r = np.log(np.maximum(model(np.exp(x)), 1e-30) / target)
        return np.concatenate([r, w[anchored] * (x[anchored] - lp0[anchored])]) if anchored.size else r

    best, best_cost = lp0, float(res(lp0) @ res(lp0))
    for shifts in np.array(np.meshgrid(*[[0.0, -np.log(4), np.log(4)]] * idx.size)).reshape(idx.size, -1).T:
        lp = lp0.copy()
        lp[idx] += shifts
        lam, r = 1e-3, res(lp)
        for _ in range(iters):
            jac = np.zeros((r.size, lp.size))
            for j in idx:
                step = np.zeros_like(lp)
                step[j] = 1e-4
                jac[:, j] = (res(lp + step) - r) / 1e-4
            delta = -np.linalg.solve(jac.T @ jac + lam * np.eye(lp.size), jac.T @ r)
            trial = res(lp + delta)
            if trial @ trial < r @ r:
                lp, r, lam = lp + delta, trial, lam / 3
                if np.abs(delta).max() < 1e-6:
                    break
            else:
                lam *= 10
        if r @ r < best_cost:
            best, best_cost = lp, float(r @ r)
    return np.maximum(np.exp(best), floor)
