"""Simulator speed: exact vectorised engine vs SimPy engine on the same plans, and a full sweep.

Run: ``.venv/bin/python benchmarks/bench_sim.py [--out benchmarks/sim_results.md]``.
Uses a synthetic profile table (no models, no torch). Every comparison measures both sides in the
same run on the same machine and quotes the ratio; times are best-of-N wall-clock seconds.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import simpy

from sc2sim.devices import load_device
from sc2sim.points import expand
from sc2sim.scenario import parse_scenario
from sc2sim.runs import write_results
from sc2sim.sim import simulate_des, simulate_exact, simulate_scenario
from sc2sim.sim.plan import build_plan, link_capacity, split_profile
from sc2sim.sim.synthetic import synthetic_profile

PIPES8 = ["local:teacher", "local:light", "offload:png", "offload:jpeg?quality=50", "offload:webp?quality=50",
          "offload:avif?quality=50", "split:sc2?beta=0.003", "split:naive?bits=2&stage=3"]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}\n- machine: {cpu}, {os.cpu_count()} cores "
            f"(load average {load} at start: the machine is shared)\n- python {platform.python_version()}, "
            f"numpy {np.__version__}, simpy {simpy.__version__}; single process, no torch")


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def plan_for(pipeline: str, requests: int, bw: float = 10.0):
    doc = {"name": "bench", "seed": 1, "pipelines": [pipeline], "mobile": "rpi4", "edge": "t4",
           "network": {"uplink": {"bandwidth_mbps": bw, "one_way_delay_ms": 20, "jitter_ms": 2}, "transport": "tcp"},
           "workload": {"arrival": {"kind": "poisson", "rate_hz": 20}, "requests": requests}}
    point = expand(parse_scenario(doc, "bench.yaml"))[0]
    rows = split_profile(synthetic_profile([pipeline], 500), [pipeline], None)[pipeline]
    devs = [load_device(n) for n in ("host", "rpi4", "t4")]
    return build_plan(point, rows, 0, *devs, link_capacity(point))


def engines_section(n_same: int, n_big: int) -> list[str]:
    out = ["## Exact engine vs SimPy engine (same plans)", "",
           "One device (rpi4 -> 10 Mbit/s TCP uplink with jitter -> t4), Poisson arrivals. Engine time only "
           "(the plan of costs and random draws is built once and shared).", "",
           "| chain | requests | SimPy s | SimPy req/s | exact s | exact req/s | exact / SimPy |", "|---|---|---|---|---|---|---|"]
    for pipe in ("local:teacher", "offload:webp?quality=50"):
        plan = plan_for(pipe, n_same)
        t_des = best(lambda: simulate_des(plan), 3)
        t_ex = best(lambda: simulate_exact(plan), 7)
        out.append(f"| {pipe} | {n_same:,} | {t_des:.3f} | {n_same / t_des:,.0f} | {t_ex:.4f} | {n_same / t_ex:,.0f} | "
                   f"{t_des / t_ex:,.0f}x |")
    for pipe in ("local:teacher", "offload:webp?quality=50"):
        plan = plan_for(pipe, n_big)
        t_ex = best(lambda: simulate_exact(plan), 3)
        out.append(f"| {pipe} | {n_big:,} | - | - | {t_ex:.4f} | {n_big / t_ex:,.0f} | - |")
    return out


def crowded_section(requests: int) -> list[str]:
    doc = {"name": "crowded", "seed": 3, "pipelines": ["offload:webp?quality=50"], "mobile": "rpi4", "edge": "t4",
           "network": {"uplink": {"bandwidth_mbps": 20, "one_way_delay_ms": 15, "jitter_ms": 2},
                       "transport": {"kind": "tcp", "persistent": True}},
           "workload": {"devices": 20, "arrival": {"kind": "poisson", "rate_hz": 5}, "requests": requests},
           "edge_server": {"gpus": 1, "batching": {"max_batch": 8, "max_wait_ms": 2}}}
    point = expand(parse_scenario(doc, "crowded.yaml"))[0]
    rows = split_profile(synthetic_profile(["offload:webp?quality=50"], 500), ["offload:webp?quality=50"], None)
    plan = build_plan(point, rows["offload:webp?quality=50"], 0, *[load_device(n) for n in ("host", "rpi4", "t4")],
                      link_capacity(point))
    t = best(lambda: simulate_des(plan), 2)
    return ["## SimPy with coupling (crowded cell)", "",
            "20 devices share a 20 Mbit/s cell (processor sharing) and one T4 with dynamic batching (max 8, 2 ms); "
            "the exact engine does not apply.", "",
            "| requests | SimPy s | SimPy req/s |", "|---|---|---|", f"| {requests:,} | {t:.3f} | {requests / t:,.0f} |"]


def sweep_section(requests: int) -> list[str]:
    doc = {"name": "sweep", "seed": 2, "pipelines": PIPES8, "mobile": "rpi4", "edge": "t4",
           "network": {"uplink": {"bandwidth_mbps": [1, 2, 5, 10, 20, 30, 50, 70, 100, 200], "one_way_delay_ms": 20,
                                  "jitter_ms": 2}, "transport": "tcp"},
           "workload": {"arrival": {"kind": "poisson", "rate_hz": 10}, "requests": requests, "deadline_ms": 100}}
    sc = parse_scenario(doc, "sweep.yaml")
    profile = synthetic_profile(PIPES8, 1000)
    t0 = time.perf_counter()
    res = simulate_scenario(sc, profile)
    t_sim = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_results(tmp, res, {"bench": True})
        t_write = time.perf_counter() - t0
    n = res.info["requests"]
    return ["## Full sweep (what `sc2sim run` does once the profile exists)", "",
            f"10 bandwidths x 8 pipelines x {requests:,} requests = {n:,} requests, engine auto "
            f"({res.info['engines']}), records kept.", "",
            "| step | seconds | requests/s |", "|---|---|---|",
            f"| plans + engine + records + summaries | {t_sim:.2f} | {n / t_sim:,.0f} |",
            f"| write requests.parquet + summary.csv/json | {t_write:.2f} | - |",
            f"| total | {t_sim + t_write:.2f} | {n / (t_sim + t_write):,.0f} |"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(Path(__file__).with_name("sim_results.md")))
    ap.add_argument("--same", type=int, default=20_000, help="requests in the shared-plan comparison")
    ap.add_argument("--big", type=int, default=1_000_000, help="requests for the exact engine alone")
    ap.add_argument("--sweep", type=int, default=10_000, help="requests per point x pipeline in the sweep")
    args = ap.parse_args()
    lines = ["# sc2sim simulator benchmark (`benchmarks/bench_sim.py`)", "", machine(), ""]
    lines += engines_section(args.same, args.big) + [""] + crowded_section(args.same) + [""]
    lines += sweep_section(args.sweep) + [""]
    text = "\n".join(lines)
    print(text)
    Path(args.out).write_text(text)
    print(f"(written to {args.out})", file=sys.stderr)


if __name__ == "__main__":
    main()
