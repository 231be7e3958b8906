"""``sc2sim calibrate``: measure this machine and write ``device_profiles/host.yaml``.

What is measured (single thread, like the default profile table; CPU time of this process, so
that other load on a shared machine does not count):

* **achieved dense FP32 GEMM throughput** (GFLOPS): best of timed ``torch.mm`` calls on 512x512
  matrices; ``efficiency = achieved / peak`` where peak is ``cores x clock x FP32 FLOP/cycle/core``
  (32 with AVX2+FMA: two 256-bit FMA units; 64 with AVX-512; 8 otherwise), the clock read from
  ``/proc/cpuinfo``;
* **per-call overhead** (ms): best time of a forward call of a tiny conv layer (framework dispatch
  and allocation, which every stage pays once);
* **scalar speed**: time of a fixed zlib workload (a stand-in for image codecs: scalar, branchy C)
  relative to :data:`REFERENCE_ZLIB_S`, the same workload's time on the reference core.

Power figures of the host are not measurable from inside a VM; they are copied from the template
below with their sources. The file is written atomically (temp file + rename).
"""

from __future__ import annotations

import os
import platform
import time
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sc2sim.atomic import atomic_write_text

REFERENCE_ZLIB_S = 0.0650
"""Best CPU time (s) of :func:`_zlib_workload` on the reference core (the first calibration host,
AMD EPYC Zen 3 vCPU at 2.45 GHz under KVM), i.e. what ``scalar_speed == 1`` means."""


def _cpu_info() -> dict[str, Any]:
    info: dict[str, Any] = {"model": platform.processor() or platform.machine(), "mhz": None, "flags": set()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            key = key.strip()
            if key == "model name":
                info["model"] = val.strip()
            elif key == "cpu MHz" and info["mhz"] is None:
                info["mhz"] = float(val)
            elif key == "flags" and not info["flags"]:
                info["flags"] = set(val.split())
    except OSError:
        pass
    return info


def _flops_per_cycle(flags: set[str]) -> int:
    if "avx512f" in flags:
        return 64
    if "avx2" in flags and "fma" in flags:
        return 32
    return 8


def _best_time(fn, repeats: int, inner: int) -> float:
    """Best (minimum) mean CPU time per call over ``repeats`` rounds of ``inner`` calls.

    Every measurement here is single-threaded, so this process's CPU time (``time.process_time``)
    is its speed without the time slices that other processes on a shared machine take; the
    minimum further discards cache and frequency disturbances."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(inner):
            fn()
        times.append((time.process_time() - t0) / inner)
    return min(times)


def _zlib_workload() -> None:
    zlib.compress(_ZLIB_DATA, 6)


_rng = np.random.default_rng(0)
_ZLIB_DATA = (_rng.integers(0, 16, 1 << 21, dtype=np.uint8) * 7 + np.arange(1 << 21, dtype=np.uint8) % 5).tobytes()


def measure(threads: int = 1, repeats: int = 7) -> dict[str, float]:
    """Measure GEMM GFLOPS, per-call overhead (ms) and zlib time (s) with ``threads`` torch threads."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        n = 512
        a, b = torch.randn(n, n), torch.randn(n, n)
        t_mm = _best_time(lambda: torch.mm(a, b), repeats, 10)
        conv = torch.nn.Conv2d(1, 1, 1)
        x = torch.randn(1, 1, 2, 2)
        with torch.no_grad():
            t_call = _best_time(lambda: conv(x), repeats, 200)
    finally:
        torch.set_num_threads(old)
    t_zlib = _best_time(_zlib_workload, repeats, 1)
    return {"gemm_gflops": 2 * n**3 / t_mm / 1e9, "call_overhead_ms": t_call * 1e3, "zlib_s": t_zlib}


def host_profile(m: dict[str, float], threads: int = 1) -> dict[str, Any]:
    """The host.yaml document for measurements ``m`` (see :func:`measure`)."""
    cpu = _cpu_info()
    cores = os.cpu_count() or 1
    fpc = _flops_per_cycle(cpu["flags"])
    mhz = cpu["mhz"] or 2000.0
    per_core_peak = mhz / 1e3 * fpc
    achieved = m["gemm_gflops"] / threads
    peak_src = (f"cores x clock ({mhz:.0f} MHz, /proc/cpuinfo) x {fpc} FP32 FLOP/cycle/core "
                "(AVX2: two 256-bit FMA units = 32; AVX-512: 64)")
    if achieved > per_core_peak:  # boost clock above the nominal one that /proc/cpuinfo shows
        peak_src += (f"; the measured GEMM rate ({achieved:.1f} GFLOPS/core) exceeds that nominal peak "
                     f"(boost clock), so the peak is set to the measured rate (efficiency 1)")
        per_core_peak = achieved
    peak = per_core_peak * cores
    eff = achieved / per_core_peak
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    measured = f"measured by `sc2sim calibrate` on {when}"
    return {
        "name": "host",
        "roles": ["mobile", "edge"],
        "description": f"This machine: {cpu['model']}, {cores} cores (measured, not modelled)",
        "compute": {
            "type": "cpu", "cores": cores, "peak_gflops": round(peak, 2), "efficiency": round(eff, 4),
            "overhead_ms": round(m["call_overhead_ms"], 5), "scalar_speed": round(REFERENCE_ZLIB_S / m["zlib_s"], 4),
            "sources": {
                "cores": "os.cpu_count() on this machine",
                "peak_gflops": peak_src,
                "efficiency": f"{measured}: torch.mm 512x512 FP32 on {threads} thread(s) reached "
                              f"{m['gemm_gflops']:.1f} GFLOPS; efficiency = that / per-core peak",
                "overhead_ms": f"{measured}: best-of-repeats CPU time of a forward call of a 1x1 Conv2d on a 1x1x2x2 tensor",
                "scalar_speed": f"{measured}: zlib level 6 on 2 MiB took {m['zlib_s'] * 1e3:.2f} ms of CPU time vs "
                                f"{REFERENCE_ZLIB_S * 1e3:.2f} ms on the reference core",
            },
        },
        "power": {
            "active_w": 15.0, "idle_w": 5.0,
            "sources": {
                "active_w": "assumption: not measurable inside a VM; a 2-vCPU share of a server CPU "
                            "(EPYC 7003 TDP 155-280 W over 16-64 cores, about 5-8 W per core incl. uncore)",
                "idle_w": "assumption: same reasoning, idle share",
            },
        },
        "radio": _radio_block(),
        "calibration": {"date": when, "threads": threads, "host": f"{cpu['model']} x{cores}", **{k: float(v) for k, v in m.items()}},
        "notes": "Regenerate with `sc2sim calibrate`. The host reproduces profiled stage times exactly.",
    }


def _radio_block() -> dict[str, Any]:
    src = ("Huang et al., 'A Close Examination of Performance and Power Characteristics of 4G LTE Networks', "
           "MobiSys 2012 (figures as quoted in DESIGN.md section 6; NOT re-checked against the paper's table)")
    return {
        "wifi": {"alpha_up_mw_per_mbps": 283.17, "alpha_down_mw_per_mbps": 137.01, "beta_mw": 132.86, "tail_s": 0.0, "tail_mw": 0.0},
        "lte": {"alpha_up_mw_per_mbps": 438.39, "alpha_down_mw_per_mbps": 51.97, "beta_mw": 1288.04, "tail_s": 11.6, "tail_mw": 1060.0},
        "3g": {"alpha_up_mw_per_mbps": 868.98, "alpha_down_mw_per_mbps": 122.12, "beta_mw": 817.88, "tail_s": 0.0, "tail_mw": 0.0},
        "sources": {
            "wifi": src + "; WiFi tail not modelled (assumption: 0 s)",
            "lte": src + "; tail about 11.6 s at about 1060 mW from the same paper",
            "3g": src + "; 3G tail not given in DESIGN.md, set to 0 s (assumption)",
        },
    }


def write_host_yaml(doc: dict[str, Any], path: str | Path) -> Path:
    """Write ``doc`` as YAML to ``path`` atomically (temp file in the same folder + rename)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    header = "# Written by `sc2sim calibrate` (sc2sim/profiling/calibrate.py). Every number cites its source.\n"
    return atomic_write_text(p, header + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))


def calibrate(out: str | Path, threads: int = 1, repeats: int = 7) -> dict[str, Any]:
    """Measure this machine and write its profile to ``out``; returns the document."""
    doc = host_profile(measure(threads, repeats), threads)
    write_host_yaml(doc, out)
    return doc
