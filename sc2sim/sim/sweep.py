"""Sweeps at scale: every sweep point of a scenario as an independent Dask task, resumable.

``run_sweep`` simulates each point (all of the scenario's pipelines) as one ``dask.distributed`` task
on a ``LocalCluster`` or an existing scheduler. The profile rows, device profiles and link capacities
are prepared once on the client and scattered to the workers; tasks return their records and summary
rows, and the client writes each finished point atomically as a point file of the run folder
(:mod:`sc2sim.runs.points`, keyed by :func:`sc2sim.runs.point_key`). A rerun or an interrupted sweep
computes only the points whose file is missing; a changed scenario, profile or device file changes
the keys and so never reuses stale points. At the end the point files are assembled into the same
``requests.parquet``, ``summary.csv`` and ``summary.json`` as ``sc2sim run`` writes (same rows, same
order, same dtypes).

Torch-free; ``dask.distributed`` is imported only inside :func:`run_sweep`.

Fault injection for tests (environment, read inside the task, so it also reaches a sweep started as
a subprocess): ``SC2SIM_SWEEP_FAIL_POINTS`` (point labels, separated by ``;``, whose task raises) and
``SC2SIM_SWEEP_TASK_DELAY_S`` (sleep before each point).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sc2sim.devices import DeviceProfile, load_device
from sc2sim.errors import ConfigError, Sc2SimError
from sc2sim.points import Point, expand
from sc2sim.runs import (
    PointResult,
    RunResult,
    assemble_points,
    file_sha,
    pending_points,
    point_key,
    profile_identity,
    write_point,
)
from sc2sim.runs.points import POINTS_DIR
from sc2sim.scenario import Scenario
from sc2sim.sim.metrics import assemble
from sc2sim.sim.plan import PipelineRows, capacity_key, link_capacity
from sc2sim.sim.runner import check_engine, simulate_point

FAIL_ENV = "SC2SIM_SWEEP_FAIL_POINTS"
DELAY_ENV = "SC2SIM_SWEEP_TASK_DELAY_S"


@dataclass
class SweepInputs:
    """What every task needs, scattered once: profile rows per pipeline, devices, link capacities."""

    pipelines: list[str]
    rows: dict[str, PipelineRows]
    devices: dict[str, DeviceProfile]
    caps: dict[Any, Any]
    policy: Any = None


@dataclass
class SweepOutcome:
    """The assembled result plus which points were computed now and which were resumed from files."""

    result: RunResult
    computed: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


class SweepPointsFailed(Sc2SimError):
    """Some point tasks raised; the others were saved, so a rerun resumes. Exit status 1."""

    exit_code = 1


# ---------------------------------------------------------------------------------------- the task


def _test_hooks(point: Point) -> None:
    delay = os.environ.get(DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    fail = os.environ.get(FAIL_ENV)
    if fail and point.label in [s.strip() for s in fail.split(";")]:
        raise RuntimeError(f"{FAIL_ENV}: injected failure at point {point.label!r}")


def sweep_task(inputs: SweepInputs, point: Point, engine: str = "auto") -> PointResult:
    """One Dask task: simulate one sweep point for every pipeline (the inner loop of ``sc2sim run``,
    :func:`sc2sim.sim.runner.simulate_point`)."""
    _test_hooks(point)
    t0 = time.perf_counter()
    host, mobile, edge = inputs.devices["host"], inputs.devices[point.mobile], inputs.devices[point.edge]
    cap = inputs.caps[capacity_key(point)]
    out = simulate_point(point, inputs.pipelines, inputs.rows, host, mobile, edge, cap, engine, inputs.policy)
    return PointResult(point.index, point.label, assemble(out.frames), out.summary, out.engines, out.requests,
                       time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------- the sweep


def check_scheduler_address(scheduler: str | None) -> None:
    """ConfigError unless ``scheduler`` looks like ``proto://host:port`` or ``host:port``."""
    if scheduler is not None and not re.fullmatch(r"[a-z][a-z0-9+.-]*://\S+|[^\s/:]+:\d+", scheduler):
        raise ConfigError(f"--scheduler: {scheduler!r} — give an address like tcp://host:8786")


def _client(scheduler: str | None, workers: int, processes: bool, connect_timeout: float):
    """A Dask client and the cluster it owns (None for an existing scheduler)."""
    import logging

    from distributed import Client, LocalCluster

    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None,
                               silence_logs=logging.CRITICAL)
        try:
            return Client(cluster), cluster
        except BaseException:
            cluster.close()
            raise
    try:
        return Client(scheduler, timeout=connect_timeout), None
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(f"--scheduler: {scheduler!r} — cannot reach the Dask scheduler within "
                          f"{connect_timeout:g} s ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no reply'})") from None


def run_sweep(sc: Scenario, rows: dict[str, PipelineRows], out_dir: str | Path, engine: str = "auto",
              scheduler: str | None = None, workers: int = 2, processes: bool = False, connect_timeout: float = 10.0,
              on_start: Callable[[int, int], None] | None = None,
              on_point: Callable[[str], None] | None = None) -> SweepOutcome:
    """Simulate the missing points of ``sc`` on Dask, write each one, and assemble the whole result.

    ``rows`` is ``split_profile(table, sc.pipelines, sc.samples)``. ``on_start(total, already_done)``
    is called once before any work, ``on_point(label)`` after each point is written.
    """
    check_engine(engine)
    if workers < 1:
        raise ConfigError(f"--workers: {workers} — must be at least 1")
    check_scheduler_address(scheduler)
    points = expand(sc)
    devices = {"host": load_device("host")}
    for p in points:
        for name in (p.mobile, p.edge):
            if name not in devices:
                devices[name] = load_device(name)
    caps: dict[Any, Any] = {}
    for p in points:
        link_capacity(p, caps)
    trace_shas: dict[Any, str | None] = {}
    prof_id = profile_identity(rows)

    def key_of(p: Point) -> str:
        t = p.network.uplink.trace
        if t not in trace_shas:
            trace_shas[t] = file_sha(t)
        return point_key(p, sc.pipelines, sc.samples, sc.dataset, prof_id, devices, engine, trace_shas[t], sc.policy)

    folder = Path(out_dir) / POINTS_DIR
    todo, resumed, files = pending_points(points, folder, key_of)
    if on_start:
        on_start(len(points), len(resumed))
    computed: list[str] = []
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        client, cluster = _client(scheduler, workers, processes, connect_timeout)
        try:
            from distributed import as_completed

            inputs = client.scatter([SweepInputs(list(sc.pipelines), rows, devices, caps, sc.policy)], broadcast=True)[0]
            futures = {client.submit(sweep_task, inputs, t.point, engine, pure=False): t for t in todo}
            first_error: BaseException | None = None
            failed: list[str] = []
            for fut in as_completed(list(futures)):
                t = futures.pop(fut)  # dropping the future frees its result on the cluster
                try:
                    res = fut.result()
                except Exception as err:  # noqa: BLE001 - keep finishing the other points, raise after
                    failed.append(t.point.label)
                    first_error = first_error or err
                    continue
                write_point(t.path, res, t.key)
                computed.append(t.point.label)
                if on_point:
                    on_point(t.point.label)
                del res
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        if first_error is not None:
            if isinstance(first_error, ConfigError):
                raise first_error
            raise SweepPointsFailed(f"{len(failed)} of {len(points)} sweep point(s) failed ({', '.join(failed[:3])}"
                               f"{', ...' if len(failed) > 3 else ''}); the other points are saved — rerun to resume: "
                               f"{type(first_error).__name__}: {first_error}") from first_error
    result = assemble_points([files[p.label] for p in points])
    return SweepOutcome(result, computed, resumed, files)
