"""The main job's wall time: `make run`'s command with an empty profile cache (cold) and again (warm).

Run: ``.venv/bin/python benchmarks/bench_make_run.py [--out benchmarks/make_run.json] [--warm-runs 5]``.

Cold = a new, empty ``SC2SIM_CACHE`` (every pipeline profiled; the venv and dataset present); warm =
the same command again with that cache and the same output folder, as ``make run`` does (the torch-free
index of :mod:`sc2sim.profiling.index` finds the whole profile table, so no model is loaded, and the
report redraws no figure whose data did not change). Both are timed as whole processes
(``sc2sim run scenarios/default.yaml --out DIR``, report included), in the same benchmark run, with
the load average before each, the machine and the date recorded. Targets (issue 15): warm <= 3 s,
cold <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SC2SIM = Path(sys.executable).parent / "sc2sim"


def timed_run(cache: Path, out: Path, extra: list[str]) -> dict:
    """One ``sc2sim run`` of the default scenario as a process; wall seconds, exit code, load before."""
    env = {**os.environ, "SC2SIM_CACHE": str(cache)}
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([str(SC2SIM), "run", "scenarios/default.yaml", "--out", str(out), "--no-progress", "--quiet",
                           *extra], cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"sc2sim run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return {"wall_s": round(wall, 2), "load_before": round(load, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "make_run.json")
    ap.add_argument("--warm-runs", type=int, default=5)
    ap.add_argument("--cache", type=Path, default=None, help="Use this cache folder instead of a new empty one "
                    "(skips the cold run when it already holds the profile).")
    args = ap.parse_args()
    # as `make run` does first: byte-compile sc2sim (this host sets PYTHONDONTWRITEBYTECODE, so Python
    # would otherwise recompile every module of the editable install on every run, ~0.3 s)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "sc2sim"], cwd=ROOT, check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "cache"
        doc: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
                     "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command":
                     "sc2sim run scenarios/default.yaml --out DIR (report included)"}
        if args.cache is None:
            doc["cold"] = timed_run(cache, Path(tmp) / "out", [])
            print(f"cold (empty profile cache): {doc['cold']['wall_s']:.1f} s (load {doc['cold']['load_before']})")
        doc["warm"] = [timed_run(cache, Path(tmp) / "out", []) for _ in range(args.warm_runs)]  # as `make run`: one folder
        for k, w in enumerate(doc["warm"]):
            print(f"warm {k + 1}: {w['wall_s']:.2f} s (load {w['load_before']})")
        walls = sorted(w["wall_s"] for w in doc["warm"])
        best = walls[0]
        doc["warm_best_s"], doc["warm_median_s"] = best, walls[len(walls) // 2]
        print(f"warm: best {best:.2f} s, median {doc['warm_median_s']:.2f} s of {len(walls)}")
        if "cold" in doc:
            doc["cold_over_warm"] = round(doc["cold"]["wall_s"] / best, 1)
            print(f"cold / best warm: {doc['cold_over_warm']}x")
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
