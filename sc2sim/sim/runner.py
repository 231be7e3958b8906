"""Simulate a whole scenario: every sweep point x pipeline, with the engine of choice; write results.

``simulate_scenario`` is what ``sc2sim run`` calls once it has a profile table; ``write_results``
writes ``requests.parquet``, ``summary.csv`` and ``summary.json`` atomically (temp file + rename).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from sc2sim.atomic import atomic_write
from sc2sim.devices import DeviceProfile, load_device
from sc2sim.errors import ConfigError
from sc2sim.scenario import Scenario, expand
from sc2sim.sim.des import simulate_des
from sc2sim.sim.exact import Times, simulate_exact
from sc2sim.sim.metrics import assemble, records_columns, summarize
from sc2sim.sim.plan import Plan, build_plan, link_capacity, split_profile
from sc2sim.tables import write_table

ENGINES = ("auto", "simpy", "exact")


def run_plan(plan: Plan, engine: str = "auto") -> tuple[Times, str]:
    """Resolve one plan; returns the times and the engine actually used (``exact`` or ``simpy``)."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine: {engine!r} — allowed: {', '.join(ENGINES)}")
    if engine == "exact" or (engine == "auto" and plan.exact_ok):
        if not plan.exact_ok:
            raise ConfigError("--engine: 'exact' — this scenario couples requests (several devices sharing the "
                              "uplink cell or the edge, or batching); allowed here: auto, simpy")
        return simulate_exact(plan), "exact"
    return simulate_des(plan), "simpy"


@dataclass
class RunResult:
    """Records (None when not kept), summary rows, and timing/engine information."""

    records: pd.DataFrame | None
    summary: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def simulate_scenario(sc: Scenario, profile: pd.DataFrame, engine: str = "auto", keep_records: bool = True,
                      on_step: Callable[[str], None] | None = None, profile_source: str = "profile") -> RunResult:
    """Simulate every point x pipeline of ``sc`` on the given profile table.

    ``on_step(info)`` is called after each (point, pipeline) for progress reporting.
    """
    rows = split_profile(profile, sc.pipelines, sc.samples, profile_source)
    host = load_device("host")
    devices: dict[str, DeviceProfile] = {}
    caps: dict = {}
    frames, summary = [], []
    engines_used: dict[str, int] = {}
    t0 = time.perf_counter()
    n_req = 0
    for point in expand(sc):
        mobile = devices.setdefault(point.mobile, load_device(point.mobile))
        edge = devices.setdefault(point.edge, load_device(point.edge))
        cap = link_capacity(point, caps)
        for k, name in enumerate(sc.pipelines):
            r = rows[name]
            plan = build_plan(point, r, k, host, mobile, edge, cap)
            times, used = run_plan(plan, engine)
            engines_used[used] = engines_used.get(used, 0) + 1
            rec = records_columns(point, plan, times, mobile, r.strategy, used)
            n_req += plan.n
            summary.append(summarize(point, name, r.strategy, used, rec["latency_s"], rec["correct"], rec["t_arrival"],
                                     rec["t_done"], rec["payload_bytes"], rec["wire_bytes"], rec["energy_j"],
                                     plan.deadline_s))
            if keep_records:
                frames.append(rec)
            if on_step:
                on_step(f"{point.label} {name}")
    records = assemble(frames) if keep_records else None
    elapsed = time.perf_counter() - t0
    info = {"engines": engines_used, "requests": n_req, "wall_s": elapsed,
            "requests_per_s": n_req / elapsed if elapsed > 0 else float("nan")}
    return RunResult(records, pd.DataFrame(summary), info)


def write_results(out_dir: str | Path, result: RunResult, meta: dict[str, Any]) -> list[Path]:
    """Write ``requests.parquet`` (if records were kept), ``summary.csv`` and ``summary.json``."""
    out = Path(out_dir)
    written = []
    if result.records is not None:
        write_table(result.records, out / "requests.parquet", meta)
        written.append(out / "requests.parquet")
    atomic_write(out / "summary.csv", lambda tmp: result.summary.to_csv(tmp, index=False, float_format="%.6g"))
    written.append(out / "summary.csv")
    rows = json.loads(result.summary.to_json(orient="records"))
    doc = {"meta": meta, "info": result.info, "summary": rows}
    atomic_write(out / "summary.json", lambda tmp: tmp.write_text(json.dumps(doc, indent=1, default=str)))
    written.append(out / "summary.json")
    return written

