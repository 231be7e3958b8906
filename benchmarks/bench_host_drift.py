"""How much this machine's own speed drifts while nothing else runs: the same calls, timed again and again.

Run: ``.venv/bin/python benchmarks/bench_host_drift.py [--minutes 5] [--every 10] [--out benchmarks/host_drift.json]``.

Every ``--every`` seconds for ``--minutes`` minutes, one thread times three fixed calls with the
micro-benchmark estimator of ``sc2sim calibrate`` (``best_ms``: thread CPU time checked against
wall time, warm-up, minimum over at least 0.25 s of rounds):

* ``teacher``: the bundled 28x28 teacher at batch size 1 (a small model: dispatch-bound on this host);
* ``gemm``: a 512 x 512 FP32 matrix product (arithmetic-bound);
* ``copy``: a 64 MiB tensor copy (memory-bound).

Each sample records the 1-minute load average and the steal time the kernel reports over the sample
(``/proc/stat``, ticks of 10 ms). The summary gives each call's min / median / max and max/min
ratio, and the correlation of the three series (1: the whole machine slows alike; ~0: each kind of
work on its own). A cost model or a profile measured at one moment carries whatever drift this
shows: it bounds how well two profiles taken minutes apart can agree (BENCHMARKS.md section 9).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sc2sim.profiling.microbench import best_ms  # noqa: E402
from sc2sim.profiling.timing import host_load  # noqa: E402


def steal_ticks() -> int:
    """Steal time of all CPUs so far (USER_HZ ticks; 0 where /proc/stat has no such column)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) if len(fields) > 8 else 0
    except OSError:
        return 0


def calls() -> dict:
    """The three timed calls (module docstring), built once."""
    from sc2sim.models import load_bundled

    teacher = load_bundled("teacher").eval()
    x = torch.rand(1, 1, 28, 28)
    a, b = torch.rand(512, 512), torch.rand(512, 512)
    src = torch.rand(16 * 1024 * 1024)  # 64 MiB of FP32
    dst = torch.empty_like(src)

    def run_teacher() -> None:
        with torch.no_grad():
            teacher(x)

    return {"teacher": run_teacher, "gemm": lambda: torch.mm(a, b), "copy": lambda: dst.copy_(src)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "host_drift.json")
    args = ap.parse_args()
    torch.set_num_threads(1)
    fns = calls()
    samples = []
    t_end = time.monotonic() + args.minutes * 60
    while time.monotonic() < t_end:
        t0, s0 = time.monotonic(), steal_ticks()
        row = {"t_s": round(t0 - (t_end - args.minutes * 60), 1), "load1": host_load()["load1"]}
        row.update({k: round(best_ms(f), 4) for k, f in fns.items()})
        row["steal_ticks"] = steal_ticks() - s0
        samples.append(row)
        print(" ".join(f"{k} {v}" for k, v in row.items()), flush=True)
        time.sleep(max(0.0, args.every - (time.monotonic() - t0)))
    series = {k: np.array([r[k] for r in samples]) for k in fns}
    summary = {k: {"min_ms": float(v.min()), "median_ms": float(np.median(v)), "max_ms": float(v.max()),
                   "max_over_min": round(float(v.max() / v.min()), 3)} for k, v in series.items()}
    names = list(fns)
    corr = np.corrcoef(np.vstack([series[k] for k in names])) if len(samples) > 2 else np.full((3, 3), np.nan)
    doc = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": platform.machine(),
           "cores": os.cpu_count(), "torch": torch.__version__, "threads": 1, "minutes": args.minutes,
           "every_s": args.every, "summary": summary,
           "correlation": {f"{names[i]}~{names[j]}": round(float(corr[i, j]), 3)
                           for i in range(3) for j in range(i + 1, 3)},
           "steal_ticks_total": int(sum(r["steal_ticks"] for r in samples)), "samples": samples}
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    for k, s in summary.items():
        print(f"{k}: min {s['min_ms']:.4f} ms, median {s['median_ms']:.4f}, max {s['max_ms']:.4f}, max/min {s['max_over_min']}")
    print("correlation:", doc["correlation"], "| steal ticks:", doc["steal_ticks_total"], f"| wrote {args.out}")


if __name__ == "__main__":
    main()
