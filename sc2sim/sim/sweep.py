"""Sweeps at scale: every sweep point of a scenario as an independent Dask task, resumable.

``run_sweep`` simulates each point (all of the scenario's pipelines) as one ``dask.distributed`` task
on a ``LocalCluster`` or an existing scheduler. The profile rows, device profiles and link capacities
are prepared once on the client and scattered to the workers; tasks return their records and summary
rows, and the client writes each finished point atomically to

    DIR/points/<index>-<safe label>-<key>.parquet

(the request records; the summary rows, engines and the key in the ``sc2sim`` metadata). The file is
the done-marker. ``key`` is a hash of everything the point's result depends on: the point's concrete
parameters (label and index included), the pipeline list, samples, the profile rows of those pipelines,
the device profiles, the trace file's bytes, the engine and this format's version. A rerun or an
interrupted sweep computes only the points whose file is missing; a changed scenario, profile or
device file changes the keys and so never reuses stale points. At the end the point files are
assembled into the same ``requests.parquet``, ``summary.csv`` and ``summary.json`` as ``sc2sim run``
writes (same rows, same order, same dtypes).

Torch-free; ``dask.distributed`` is imported only inside :func:`run_sweep`.

Test hooks (environment, read inside the task): ``SC2SIM_SWEEP_FAIL_POINTS`` (point labels, separated
by ``;``, whose task raises) and ``SC2SIM_SWEEP_TASK_DELAY_S`` (sleep before each point).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.devices import DeviceProfile, load_device
from sc2sim.errors import ConfigError, Sc2SimError
from sc2sim.scenario import Point, Scenario, expand
from sc2sim.sim.metrics import STRING_COLUMNS, assemble
from sc2sim.sim.plan import PipelineRows, link_capacity
from sc2sim.sim.runner import RunResult
from sc2sim.sim.runner import simulate_point as simulate_point_all

SWEEP_FORMAT = 1
POINTS_DIR = "points"
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
class PointResult:
    """One simulated point: its records (all pipelines), summary rows and engine counts."""

    index: int
    label: str
    records: pd.DataFrame
    summary: list[dict]
    engines: dict[str, int]
    requests: int
    wall_s: float


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


# ---------------------------------------------------------------------------------------- keys


def _cap_key(point: Point) -> Any:
    up = point.uplink
    return ("rate", float(up.bandwidth_mbps)) if up.trace is None else ("trace", str(up.trace), up.scale)


def _json_default(v: Any) -> Any:
    if hasattr(v, "model_dump"):
        return v.model_dump(mode="json")
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    raise TypeError(f"cannot serialise {type(v).__name__}")


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=_json_default, separators=(",", ":"))


def file_sha(path: Path | None) -> str | None:
    """SHA-256 of a file's bytes (a trace's), None for no file: part of a point's key."""
    return None if path is None else hashlib.sha256(Path(path).read_bytes()).hexdigest()


def profile_identity(rows: dict[str, PipelineRows]) -> str:
    """A hash of the profile rows the sweep uses (the scenario's pipelines and samples only)."""
    h = hashlib.sha256()
    for name in sorted(rows):
        r = rows[name]
        h.update(f"{name}\0{r.strategy}\0".encode())
        for f in dataclasses.fields(r):
            v = getattr(r, f.name)
            if isinstance(v, np.ndarray):
                h.update(f.name.encode() + str(v.dtype).encode() + np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def point_key(point: Point, pipelines: list[str], samples: int | None, dataset: str, profile_id: str,
              devices: dict[str, DeviceProfile], engine: str, trace_sha: str | None, policy: Any = None) -> str:
    """The hash that names a point's file: everything its records and summary depend on."""
    doc = {
        "format": SWEEP_FORMAT, "point": dataclasses.asdict(point), "pipelines": list(pipelines),
        "samples": samples, "dataset": dataset, "profile": profile_id, "engine": engine, "trace_sha": trace_sha,
        "policy": policy.model_dump(mode="json") if hasattr(policy, "model_dump") else policy,
        "devices": {role: devices[name].model_dump(mode="json") for role, name in
                    (("host", "host"), ("mobile", point.mobile), ("edge", point.edge))},
    }
    return hashlib.sha256(_canon(doc).encode()).hexdigest()[:20]


def point_filename(point: Point, key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._=+-]+", "_", point.label).strip("._") or "point"
    return f"{point.index:05d}-{safe[:80]}-{key}.parquet"


# ---------------------------------------------------------------------------------------- the task


def _test_hooks(point: Point) -> None:
    delay = os.environ.get(DELAY_ENV)
    if delay:
        time.sleep(float(delay))
    fail = os.environ.get(FAIL_ENV)
    if fail and point.label in [s.strip() for s in fail.split(";")]:
        raise RuntimeError(f"{FAIL_ENV}: injected failure at point {point.label!r}")


def simulate_point(inputs: SweepInputs, point: Point, engine: str = "auto") -> PointResult:
    """Simulate one sweep point for every pipeline (the same inner loop as ``sc2sim run``: runner.simulate_point)."""
    _test_hooks(point)
    t0 = time.perf_counter()
    host, mobile, edge = inputs.devices["host"], inputs.devices[point.mobile], inputs.devices[point.edge]
    cap = inputs.caps[_cap_key(point)]
    out = simulate_point_all(point, inputs.pipelines, inputs.rows, host, mobile, edge, cap, engine, inputs.policy)
    return PointResult(point.index, point.label, assemble(out.frames), out.summary, out.engines, out.requests,
                       time.perf_counter() - t0)


# ---------------------------------------------------------------------------------------- point files


def write_point(path: Path, res: PointResult, key: str) -> Path:
    """Write one finished point atomically (records + summary rows and key in the metadata)."""
    from sc2sim.tables import write_table

    meta = {"sweep_key": key, "format": SWEEP_FORMAT, "index": res.index, "label": res.label,
            "summary": res.summary, "engines": res.engines, "requests": res.requests, "wall_s": res.wall_s}
    return write_table(res.records, path, meta)


def read_point_meta(path: Path) -> dict | None:
    import pyarrow.parquet as pq

    try:
        raw = (pq.read_schema(path).metadata or {}).get(b"sc2sim")
        return json.loads(raw) if raw else None
    except Exception:  # noqa: BLE001 - an unreadable point file is simply not done
        return None


def _load_point(path: Path) -> tuple[pd.DataFrame, dict]:
    from sc2sim.tables import read_table

    df = read_table(path)
    return df, df.attrs.pop("sc2sim")


def assemble_points(files: list[Path]) -> RunResult:
    """Concatenate point files (in point order) into the RunResult ``sc2sim run`` would produce."""
    from pandas.api.types import union_categoricals

    frames, summary, engines, n_req, wall = [], [], {}, 0, 0.0
    for path in files:
        df, meta = _load_point(path)
        frames.append(df)
        summary.extend(meta["summary"])
        for k, v in meta["engines"].items():
            engines[k] = engines.get(k, 0) + int(v)
        n_req += int(meta["requests"])
        wall += float(meta["wall_s"])
    if frames:
        records = pd.concat(frames, ignore_index=True)
        for col in STRING_COLUMNS:  # categories in order of first appearance, as sc2sim.sim.metrics.assemble
            if col in records.columns:
                records[col] = union_categoricals([f[col] for f in frames], sort_categories=False)
    else:
        records = pd.DataFrame()
    info = {"engines": engines, "requests": n_req, "wall_s": wall,
            "requests_per_s": n_req / wall if wall > 0 else float("nan")}
    return RunResult(records, pd.DataFrame(summary), info)


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
    from sc2sim.sim.runner import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"--engine: {engine!r} — allowed: {', '.join(ENGINES)}")
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
        k = _cap_key(p)
        if k not in caps:
            caps[k] = link_capacity(p)
    trace_shas: dict[Any, str | None] = {}
    prof_id = profile_identity(rows)
    folder = Path(out_dir) / POINTS_DIR
    files: dict[str, Path] = {}
    todo: list[tuple[Point, str, Path]] = []
    resumed: list[str] = []
    for p in points:
        t = p.uplink.trace
        if t not in trace_shas:
            trace_shas[t] = file_sha(t)
        key = point_key(p, sc.pipelines, sc.samples, sc.dataset, prof_id, devices, engine, trace_shas[t], sc.policy)
        path = folder / point_filename(p, key)
        files[p.label] = path
        meta = read_point_meta(path) if path.is_file() else None
        if meta is not None and meta.get("sweep_key") == key:
            resumed.append(p.label)
        else:
            todo.append((p, key, path))
    if on_start:
        on_start(len(points), len(resumed))
    computed: list[str] = []
    if todo:
        folder.mkdir(parents=True, exist_ok=True)
        client, cluster = _client(scheduler, workers, processes, connect_timeout)
        try:
            from distributed import as_completed

            inputs = client.scatter([SweepInputs(list(sc.pipelines), rows, devices, caps, sc.policy)], broadcast=True)[0]
            futures = {client.submit(simulate_point, inputs, p, engine, pure=False): (p, key, path) for p, key, path in todo}
            first_error: BaseException | None = None
            failed: list[str] = []
            for fut in as_completed(list(futures)):
                p, key, path = futures.pop(fut)  # dropping the future frees its result on the cluster
                try:
                    res = fut.result()
                except Exception as err:  # noqa: BLE001 - keep finishing the other points, raise after
                    failed.append(p.label)
                    first_error = first_error or err
                    continue
                write_point(path, res, key)
                computed.append(p.label)
                if on_point:
                    on_point(p.label)
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
