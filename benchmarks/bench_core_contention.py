"""Does work on the other core slow the batch-1 stages timed on this one? (issue 15's cold-run question)

A cold ``make run`` times the stages on one core for about 19 s while the other core idles, then runs
the accuracy pass on both. Overlapping the two would save time only if the timed stages do not slow
down. This script pins itself to CPU 0 and a load process (the accuracy pass of four default
pipelines over 1,000 test images, in a loop, one thread) to CPU 1, and alternates blocks with the
load stopped (SIGSTOP) and running (SIGCONT), in both orders, ``--pairs`` times. In each block it
times 150 batch-1 runs of the teacher, the light model and the Entropic Student's encoder (thread CPU
time) and keeps their median; it prints, per stage, the median of the busy/idle ratios of the pairs.

Run: ``.venv/bin/python benchmarks/bench_core_contention.py [--pairs 12]`` (Linux, 2+ CPUs; about a
minute). Results (2026-11-28 23:05 and 2026-11-29 00:48 UTC): BENCHMARKS.md section 5.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
LOAD = f"""
import os, sys, torch
sys.path.insert(0, {str(ROOT)!r}); os.sched_setaffinity(0, {{1}}); torch.set_num_threads(1)
from sc2sim.data import load_fashion_mnist
from sc2sim.pipelines import build_pipeline
from sc2sim.profiling.quality import quality_passes
imgs = load_fashion_mnist('test').images[:1000]
pipes = [build_pipeline(n) for n in ['offload:webp?quality=50', 'offload:learned?lmbda=0.0067', 'local:teacher',
                                     'split:sc2?beta=0.003']]
print('ready', flush=True)
while True:
    for p in pipes:
        quality_passes([p], imgs, workers=1)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=12)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from sc2sim.models import load_bundled

    torch.set_num_threads(1)
    os.sched_setaffinity(0, {0})
    load = subprocess.Popen([sys.executable, "-c", LOAD], stdout=subprocess.PIPE)
    try:
        load.stdout.readline()
        os.kill(load.pid, signal.SIGSTOP)
        teacher, light = load_bundled("teacher").eval(), load_bundled("light").eval()
        student = load_bundled("student-beta0.003").eval()
        x = torch.rand(1, 1, 28, 28)
        fns = {"teacher": lambda: teacher(x).argmax(1), "light": lambda: light(x).argmax(1),
               "sc2-device": lambda: student.encode_latent(x)}
        res: dict[str, dict[str, list[float]]] = {k: {"idle": [], "busy": []} for k in fns}
        with torch.no_grad():
            for f in fns.values():
                for _ in range(50):
                    f()
            for pair in range(args.pairs):
                for mode in ("idle", "busy") if pair % 2 == 0 else ("busy", "idle"):
                    if mode == "busy":
                        os.kill(load.pid, signal.SIGCONT)
                        time.sleep(0.3)
                    for k, f in fns.items():
                        ts = []
                        for _ in range(150):
                            t0 = time.thread_time_ns()
                            f()
                            ts.append(time.thread_time_ns() - t0)
                        res[k][mode].append(float(np.median(ts)) / 1e6)
                    if mode == "busy":
                        os.kill(load.pid, signal.SIGSTOP)
    finally:
        load.kill()
    for k, d in res.items():
        idle, busy = np.array(d["idle"]), np.array(d["busy"])
        r = busy / idle
        print(f"{k:11s} idle median {np.median(idle):.4f} ms, busy {np.median(busy):.4f} ms; busy/idle per pair: "
              f"median {np.median(r):.3f}, range {r.min():.3f}-{r.max():.3f}")


if __name__ == "__main__":
    main()
