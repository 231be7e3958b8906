"""Simulate a whole scenario: every sweep point x pipeline, with the engine of choice.

``simulate_scenario`` is what ``sc2sim run`` calls once it has a profile table; ``simulate_point`` is
its inner loop, shared with ``sc2sim sweep``. Writing the results is the run folder's job
(:func:`sc2sim.runs.write_results`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from sc2sim.devices import DeviceProfile, load_device
from sc2sim.errors import ConfigError
from sc2sim.points import Point, expand
from sc2sim.runs import RunResult
from sc2sim.scenario import Scenario
from sc2sim.sim.des import simulate_des
from sc2sim.sim.exact import Times, simulate_exact
from sc2sim.sim.metrics import assemble, records_columns, summarize
from sc2sim.sim.plan import Plan, build_plan, link_capacity, split_profile, stage_costs
from sc2sim.sim.policy import ADAPTIVE, adaptive_records, choice_mix, simulate_adaptive
from sc2sim.sim.terms import stage_terms

ENGINES = ("auto", "simpy", "exact")


def check_engine(engine: str) -> None:
    """ConfigError (naming ``--engine``) unless ``engine`` is one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ConfigError(f"--engine: {engine!r} — allowed: {', '.join(ENGINES)}")


def run_plan(plan: Plan, engine: str = "auto") -> tuple[Times, str]:
    """Resolve one plan; returns the times and the engine actually used (``exact`` or ``simpy``)."""
    check_engine(engine)
    if engine == "exact" or (engine == "auto" and plan.exact_ok):
        if not plan.exact_ok:
            raise ConfigError("--engine: 'exact' — this scenario couples requests (several devices sharing the "
                              "uplink cell or the edge, or batching); allowed here: auto, simpy")
        return simulate_exact(plan), "exact"
    return simulate_des(plan), "simpy"


@dataclass
class PointOutput:
    """What one sweep point gives: record frames and summary rows (one per pipeline), engines, request count."""

    frames: list[pd.DataFrame]
    summary: list[dict[str, Any]]
    engines: dict[str, int]
    requests: int


def simulate_point(point: Point, pipelines: list[str], rows: dict[str, Any], host: DeviceProfile, mobile: DeviceProfile,
                   edge: DeviceProfile, cap: Any, engine: str = "auto", policy: Any = None,
                   on_step: Callable[[str], None] | None = None, cache: dict | None = None,
                   stage_scale: float = 1.0) -> PointOutput:
    """Simulate every pipeline of one sweep point (and the adaptive policy when ``policy.kind`` is adaptive).

    The one inner loop behind both ``sc2sim run`` (:func:`simulate_scenario`) and ``sc2sim sweep``.
    ``cache`` keeps what does not depend on the network across the points of a run: each (pipeline,
    mobile, edge)'s stage costs and cost-model terms. ``stage_scale`` multiplies every stage time (the
    close-call check, :func:`sc2sim.runs.decision.close_calls`).
    """
    cache = {} if cache is None else cache
    adaptive = policy is not None and policy.kind == "adaptive"
    out = PointOutput([], [], {}, 0)
    plans = []
    max_batch = point.edge_server.batching.max_batch
    for k, name in enumerate(pipelines):
        r = rows[name]
        key = (name, mobile.name, edge.name)
        if (key, max_batch, stage_scale) not in cache:  # scaled once per run, not per point
            cache[key, max_batch, stage_scale] = stage_costs(r, host, mobile, edge, max_batch).scaled(stage_scale)
        plan = build_plan(point, r, k, host, mobile, edge, cap, cache[key, max_batch, stage_scale])
        plans.append(plan)
        times, used = run_plan(plan, engine)
        out.engines[used] = out.engines.get(used, 0) + 1
        rec = records_columns(point, plan, times, mobile, r.strategy, used)
        if adaptive:
            rec["chosen"], rec["bw_estimate_mbps"] = np.full(plan.n, name, dtype=object), np.full(plan.n, np.nan)
        out.requests += plan.n
        out.summary.append(summarize(point, name, r.strategy, used, rec["latency_s"], rec["correct"], rec["t_arrival"],
                                     rec["t_done"], rec["payload_bytes"], rec["wire_bytes"], rec["energy_j"],
                                     plan.deadline_s, test_accuracy=float(np.mean(r.correct))))
        if key not in cache:
            cache[key] = stage_terms(r, host, mobile, edge)
        out.summary[-1].update(cache[key])
        out.frames.append(rec)
        if on_step:
            on_step(f"{point.label} {name}")
    if adaptive:  # the adaptive policy over the same plans (sequential state: SimPy, see sim/policy.py)
        ar = simulate_adaptive(plans, [float(np.mean(rows[n].correct)) for n in pipelines],
                               plans[0].deadline_s, policy.ewma_alpha, policy.initial_mbps)
        out.engines["simpy"] = out.engines.get("simpy", 0) + 1
        rec = adaptive_records(point, ar, mobile)
        out.requests += ar.plan.n
        row = summarize(point, ADAPTIVE, ADAPTIVE, "simpy", rec["latency_s"], rec["correct"], rec["t_arrival"],
                        rec["t_done"], rec["payload_bytes"], rec["wire_bytes"], rec["energy_j"], ar.plan.deadline_s)
        row["chosen_mix"] = choice_mix(ar.names, ar.chosen)
        out.summary.append(row)
        out.frames.append(rec)
        if on_step:
            on_step(f"{point.label} {ADAPTIVE}")
    return out


def simulate_scenario(sc: Scenario, profile: pd.DataFrame, engine: str = "auto", keep_records: bool = True,
                      on_step: Callable[[str], None] | None = None, profile_source: str = "profile",
                      stage_scale: float = 1.0) -> RunResult:
    """Simulate every point x pipeline of ``sc`` on the given profile table.

    ``on_step(info)`` is called after each (point, pipeline) for progress reporting. With
    ``policy: adaptive`` every point also gets pipeline ``adaptive`` (see :mod:`sc2sim.sim.policy`);
    its records add ``chosen`` (the pipeline each request used) and ``bw_estimate_mbps``, its summary
    row ``chosen_mix``. ``stage_scale`` multiplies every modelled stage time (default 1).
    """
    rows = split_profile(profile, sc.pipelines, sc.samples, profile_source)
    host = load_device("host")
    devices: dict[str, DeviceProfile] = {}
    caps: dict = {}
    cache: dict = {}
    frames, summary = [], []
    engines_used: dict[str, int] = {}
    t0 = time.perf_counter()
    n_req = 0
    for point in expand(sc):
        for name in (point.mobile, point.edge):
            if name not in devices:
                devices[name] = load_device(name)
        mobile, edge = devices[point.mobile], devices[point.edge]
        res = simulate_point(point, sc.pipelines, rows, host, mobile, edge, link_capacity(point, caps), engine,
                             sc.policy, on_step, cache, stage_scale)
        for k, v in res.engines.items():
            engines_used[k] = engines_used.get(k, 0) + v
        n_req += res.requests
        summary.extend(res.summary)
        if keep_records:
            frames.extend(res.frames)
    records = assemble(frames) if keep_records else None
    if records is not None and "chosen" in records:
        records["chosen"] = records["chosen"].astype("category")
    elapsed = time.perf_counter() - t0
    info = {"engines": engines_used, "requests": n_req, "wall_s": elapsed,
            "requests_per_s": n_req / elapsed if elapsed > 0 else float("nan")}
    return RunResult(records, pd.DataFrame(summary), info)
