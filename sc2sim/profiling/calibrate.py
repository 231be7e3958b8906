"""``sc2sim calibrate``: measure this machine and write its device profile, labelled measured.

Run it on the target: this host (the default writes ``device_profiles/host.yaml``), a GPU server
(``--device cuda``), a Pi or a Jetson a user owns. It measures, single-threaded like the profile
table (:mod:`sc2sim.profiling.microbench`):

* **micro-benchmarks**: dense GEMM throughput (``torch.mm``), the dispatch cost of one tiny aten
  operator, memory bandwidth (a large tensor copy), the per-call overhead, scalar speed (a fixed
  zlib workload against :data:`REFERENCE_ZLIB_S` on the reference core); on a GPU also the pinned
  host-to-device copy bandwidth;
* **reference stages**: the bundled 28x28 models and (without ``--quick``) three torchvision
  architectures at 224x224, counted and timed (a CPU at batch 1 and 8, a GPU at 1 and 32); the constants of the cost model
  (:mod:`sc2sim.devices.cost_model`) are then fitted to them by least squares on log time:
  CPU: ``dispatch_us``, achieved GFLOPS (``efficiency``) and the per-output work of dense k x k
  convolutions (``output_macs``), with the memory bandwidth taken from the copy micro-benchmark
  (with ``--quick``, 28x28 stages only: ``dispatch_us`` alone, no output term); GPU: ``launch_us``
  from batch 1 and achieved GFLOPS and bandwidth from batch 32, the bandwidth held near its
  micro-benchmark value (:data:`ANCHORED`). Micro-benchmark values start the fit and stay in the
  file's ``calibration`` block, with every reference stage's measured and fitted time.

The profile records when, where and with what it was measured (``calibration``: date, host,
runtime, versions, load average). Power cannot be measured from inside a VM: those figures are
assumptions, labelled. The file is written atomically (temp file + rename).
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sc2sim.atomic import atomic_write_text
from sc2sim.profiling.allocator import keep_freed_memory
from sc2sim.profiling.microbench import REFERENCE_ZLIB_S, RefStage, fit_log, micro, reference_stages, zlib_s

__all__ = ["REFERENCE_ZLIB_S", "calibrate", "host_profile", "write_host_yaml", "measure"]


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


def _profile_of(compute: dict[str, Any], name: str = "fit") -> Any:
    """A device profile with ``compute`` constants, unvalidated (a fit explores values outside the
    plausible ranges on its way)."""
    from sc2sim.devices.profile import ComputeSpec, DeviceProfile

    spec = ComputeSpec.model_construct(**compute)
    return DeviceProfile.model_construct(name=name, roles=["edge"], description="fit", compute=spec)


def modelled_ms(compute: dict[str, Any], stages: list[RefStage]) -> np.ndarray:
    """Modelled time (ms) of each stage (its batch and threads) on a device with ``compute`` constants."""
    from sc2sim.devices.cost_model import StageWork, terms

    prof = _profile_of(compute)
    return np.array([terms(StageWork(**{k: float(getattr(s.work, k)) for k in StageWork.__dataclass_fields__}),
                           0.0, prof, prof, s.batch, s.threads).total for s in stages])


ANCHORED = {"mem_gbps": 0.1}
"""Fitted constants held near their micro-benchmark value (weights of :func:`fit_log`'s ``prior``): the
memory bandwidth binds on few reference stages, and unanchored it came out at 47, 9.4 and 11 GB/s
in three back-to-back calibrations of this host (BENCHMARKS.md section 9), with the same fit quality.
(A CPU calibration no longer fits it: :data:`CPU_KEYS`.)"""

CPU_KEYS = ("dispatch_us", "efficiency", "output_macs")
"""What a full CPU calibration fits; ``mem_gbps`` stays the copy micro-benchmark's (fitted alongside the
output term it ran off to 45-83 GB/s, several times what one core copies: BENCHMARKS.md section 9)."""
OUTPUT_MACS_START = 64.0
"""Start value of ``output_macs`` in a fit (this host fits 40-110)."""


def fit_constants(compute: dict[str, Any], stages: list[RefStage], keys: tuple[str, ...],
                  anchored: dict[str, float] | None = None, floors: dict[str, float] | None = None) -> dict[str, Any]:
    """``compute`` with ``keys`` (among dispatch_us, launch_us, efficiency, mem_gbps, overhead_ms, output_macs) fitted to
    ``stages``, those in ``anchored`` (default :data:`ANCHORED`; ``{}``: none) held near their start
    (micro-benchmark) value with those weights, those in ``floors`` kept at or above those values."""
    floors = floors or {}
    anchored = ANCHORED if anchored is None else anchored
    names = ["dispatch_us", "launch_us", "efficiency", "mem_gbps", "overhead_ms", "output_macs"]
    # a constant that is not fitted keeps its value, zero included (``or 1.0`` once turned a measured 0-ms
    # call overhead into 1 ms in every modelled call of the fit); a fitted one needs a positive start
    p0 = np.array([1.0 if compute.get(k) is None or (k in keys and compute[k] <= 0) else max(float(compute[k]), 1e-30)
                   for k in names])
    target = np.array([s.ms for s in stages])

    def model(p: np.ndarray) -> np.ndarray:
        c = dict(compute, **{k: float(v) for k, v in zip(names, p) if compute.get(k) is not None})
        c["efficiency"] = min(c["efficiency"], 1.0)
        return modelled_ms(c, stages)

    p = fit_log(model, target, p0, free=np.array([k in keys for k in names]),
                prior=np.array([anchored.get(k, 0.0) for k in names]), lower=np.array([floors.get(k, 0.0) for k in names]))
    out = dict(compute, **{k: float(v) for k, v in zip(names, p) if k in keys})
    out["efficiency"] = min(out["efficiency"], 1.0)
    return out


def measure(device: str = "cpu", repeats: int = 5, quick: bool = False) -> dict[str, Any]:
    """Micro-benchmarks, scalar speed and reference stages of this machine (see the module docstring)."""
    m = micro(device, repeats, quick)
    m["zlib_s"] = zlib_s(repeats)
    # a CPU's reference stages at batch 1 and 8: output_macs, dispatch and the GEMM rate trade against each
    # other at batch 1 alone (three calibrations fitted 7, 75 and 163 multiply-adds)
    batches = ((1,) if quick else (1, 8)) if device == "cpu" else (1, 32)
    passes = 1 if quick else 2  # two interleaved passes: a slow spell of the host lands on one of them
    return {"micro": m, "stages": reference_stages(device, quick, batches, max(2, repeats // 2), passes)}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    import torch

    try:
        ours = version("sc2sim")
    except PackageNotFoundError:  # running from a source tree that is not installed
        ours = "source tree"
    v = {"python": platform.python_version(), "torch": str(torch.__version__), "sc2sim": ours}
    if torch.cuda.is_available():
        v["cuda"] = str(torch.version.cuda)
    return v


def initial_compute(m: dict[str, float], threads: int, device: str, peak: float, cores: int) -> dict[str, Any]:
    """The compute block before fitting: micro-benchmark values (see :func:`measure`)."""
    gpu = device != "cpu"
    out: dict[str, Any] = {
        "type": "gpu" if gpu else "cpu", "cores": cores, "peak_gflops": round(float(peak), 2),
        "efficiency": min(m["gemm_gflops"] / (peak if gpu else peak / cores), 1.0), "overhead_ms": m["call_overhead_ms"],
        "scalar_speed": round(REFERENCE_ZLIB_S / m["zlib_s"], 4), "runtime": f"eager PyTorch {_versions()['torch']}",
        "precision": "fp32", "mem_gbps": m["mem_gbps"]}
    if gpu:
        import torch

        out.update(launch_us=m["dispatch_us"], kernels_per_op=1.0, copy_gbps=m["copy_gbps"],
                   precision="tf32" if torch.backends.cudnn.allow_tf32 else "fp32")
    else:
        out["dispatch_us"] = m["dispatch_us"]
    return out


def host_profile(meas: dict[str, Any], threads: int = 1, device: str = "cpu", name: str = "host",
                 quick: bool = False) -> dict[str, Any]:
    """The profile document for measurements ``meas`` (see :func:`measure`)."""
    from sc2sim.profiling.timing import host_load

    m, stages = meas["micro"], meas["stages"]
    cpu = _cpu_info()
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    tag = f"measured by `sc2sim calibrate{' --quick' if quick else ''}` on {when}"
    gpu = device != "cpu"
    if gpu:
        import torch

        props = torch.cuda.get_device_properties(device)
        cores, peak, label = props.multi_processor_count, m["gemm_gflops"], props.name
        peak_src = (f"{tag}: torch.mm of 4096x4096 FP32 matrices in the math mode cuDNN uses for convolutions "
                    f"({'TF32' if torch.backends.cudnn.allow_tf32 else 'FP32'}) reached {peak:.0f} GFLOPS; used as the peak")
    else:
        cores = os.cpu_count() or 1
        mhz, fpc = cpu["mhz"] or 2000.0, _flops_per_cycle(cpu["flags"])
        per_core = max(mhz / 1e3 * fpc, m["gemm_gflops"] / threads)
        peak, label = per_core * cores, cpu["model"]
        peak_src = (f"cores x clock ({mhz:.0f} MHz, /proc/cpuinfo) x {fpc} FP32 FLOP/cycle/core, or the measured "
                    f"GEMM rate ({m['gemm_gflops'] / threads:.1f} GFLOPS/core) where that is higher (boost clock)")
    compute = initial_compute(m, threads, device, peak, int(cores))
    if gpu:
        keys = ("launch_us", "efficiency", "mem_gbps")
    else:
        keys = ("dispatch_us",) if quick else CPU_KEYS
        if not quick:
            compute["output_macs"] = OUTPUT_MACS_START
    # No operator dispatches faster than the micro-benchmark's tiny add: a fit that wants less has been
    # fed reference times below the arithmetic the GEMM rate allows (a busy or misreading clock).
    floors = {} if gpu else {"dispatch_us": m["dispatch_us"]}
    fitted = fit_constants(compute, stages, keys, floors=floors)
    modelled = modelled_ms(fitted, stages)
    fit_src = (f"{tag}: fitted (least squares on log time) to {len(stages)} reference stage timings, see calibration.reference; "
               "micro-benchmark start value in calibration.micro")
    at_floor = [k for k, v in floors.items() if fitted[k] <= v * (1 + 1e-6)]
    if at_floor:
        print(f"sc2sim: calibrate: {', '.join(at_floor)} fitted at its floor (the micro-benchmark's tiny operator): the "
              "reference stages ran faster than their arithmetic at the measured GEMM rate allows; the host was "
              "probably busy while measuring: re-run `sc2sim calibrate` on a quiet machine", file=sys.stderr)
        fit_src += f"; held at its floor ({', '.join(at_floor)}: the reference stages ran faster than the model allows)"
    micro_src = f"{tag}: micro-benchmark (calibration.micro)"
    compute = {k: (round(v, 5) if isinstance(v, float) else v) for k, v in fitted.items()}
    compute["sources"] = {
        "cores": "torch.cuda.get_device_properties: streaming multiprocessors" if gpu else "os.cpu_count() on this machine",
        "peak_gflops": peak_src,
        "efficiency": fit_src if "efficiency" in keys else f"{tag}: GEMM rate / per-core peak",
        "overhead_ms": micro_src + (": a tiny copy in, sync and copy back" if gpu else ": an empty call"),
        "scalar_speed": f"{tag}: zlib level 6 on 2 MiB took {m['zlib_s'] * 1e3:.2f} ms of CPU time vs "
                        f"{REFERENCE_ZLIB_S * 1e3:.2f} ms on the reference core",
        "mem_gbps": fit_src if "mem_gbps" in keys else micro_src + ": 2 x bytes / time of a large tensor copy",
    }
    if "output_macs" in keys:
        compute["sources"]["output_macs"] = fit_src
    if gpu:
        compute["sources"].update(launch_us=fit_src, kernels_per_op="definition: launch_us is per counted kernel",
                                  copy_gbps=micro_src + ": pinned host-to-device copy")
    else:
        compute["sources"]["dispatch_us"] = fit_src
    reference = [{"stage": s.name, "batch": s.batch, "ops": s.work.ops, "kernels": s.work.kernels, "flops": s.work.flops,
                  "bytes": s.work.bytes, "measured_ms": round(s.ms, 4), "fitted_ms": round(float(f), 4)}
                 for s, f in zip(stages, modelled)]
    return {
        "name": name,
        "roles": ["edge"] if gpu else ["mobile", "edge"],
        "description": f"{label}, {cores} {'SMs' if gpu else 'cores'} (measured by sc2sim calibrate, not modelled)",
        "compute": compute,
        "power": {
            "active_w": 300.0 if gpu else 15.0, "idle_w": 50.0 if gpu else 5.0,
            "sources": {
                "active_w": "assumption: not measured by calibrate; " + ("a typical data-centre GPU board power" if gpu else
                            "a 2-vCPU share of a server CPU (EPYC 7003 TDP 155-280 W over 16-64 cores, 5-8 W per core)"),
                "idle_w": "assumption: not measured by calibrate; same reasoning, idle share",
            },
        },
        **({} if gpu else {"radio": _radio_block()}),
        "calibration": {"date": when, "host": f"{cpu['model']} x{os.cpu_count()}", "node": platform.node(),
                        "device": device, "threads": threads, "quick": quick, "versions": _versions(),
                        "allocator": keep_freed_memory(),
                        "load": host_load(), "micro": {k: round(float(v), 5) for k, v in m.items()},
                        "reference": reference},
        "notes": "Regenerate with `sc2sim calibrate`. The host reproduces its profiled stage times exactly.",
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


def calibrate(out: str | Path, threads: int = 1, repeats: int = 5, device: str = "cpu", quick: bool = False,
              name: str | None = None) -> dict[str, Any]:
    """Measure this machine and write its profile to ``out`` (profile name: the file's stem, or ``name``)."""
    from sc2sim.profiling.timing import busy_note, host_load, pinned_threads

    before = host_load()
    with pinned_threads(threads):
        meas = measure(device, repeats, quick)
    doc = host_profile(meas, threads, device, name or Path(out).stem, quick)
    note = busy_note(before, doc["calibration"]["load"])
    if note:
        print(f"sc2sim: {note}", file=sys.stderr)
    write_host_yaml(doc, out)
    return doc
