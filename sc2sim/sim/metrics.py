"""Request records (one row per simulated request) and summaries (one row per point x pipeline),
computed from an engine's times; their columns are declared in :mod:`sc2sim.runs.columns`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sc2sim.devices import DeviceProfile
from sc2sim.points import Point
from sc2sim.runs.columns import STRING_COLUMNS
from sc2sim.sim.energy import compute_energy_j, radio_energy_j
from sc2sim.sim.exact import Times
from sc2sim.sim.plan import Plan



def records_columns(point: Point, p: Plan, t: Times, mobile: DeviceProfile, strategy: str, engine: str) -> dict:
    """The request records of one engine run as numpy columns (string columns as one ``str`` each),
    sorted by arrival so that ``request`` numbers that order; see :func:`assemble`."""
    e_cpu = compute_energy_j(p.mobile_s, mobile.power.active_w)
    if p.local:
        e_act = e_tail = np.zeros(p.n)
    else:
        e_act, e_tail = radio_energy_j(p.device, t.t_tx_start, t.t_done, p.wire_bytes, p.down_wire_bytes,
                                       mobile.radio_model(point.network.radio))
    o = np.argsort(p.t_arrival, kind="stable")
    latency = (t.t_done - p.t_arrival)[o]
    met = latency <= (np.inf if p.deadline_s is None else p.deadline_s + 1e-12)
    return {
        "point": point.label, "pipeline": p.pipeline, "device": p.device[o].astype(np.int32),
        "request": np.arange(p.n, dtype=np.int64), "t_arrival": p.t_arrival[o],
        "t_mobile_start": t.t_mobile_start[o], "t_mobile_end": t.t_mobile_end[o], "t_tx_start": t.t_tx_start[o],
        "t_tx_end": t.t_tx_end[o], "t_edge_start": t.t_edge_start[o], "t_edge_end": t.t_edge_end[o],
        "t_done": t.t_done[o], "latency_s": latency, "payload_bytes": p.payload_bytes[o], "correct": p.correct[o],
        "deadline_met": (met, np.full(p.n, p.deadline_s is None)), "energy_j": (e_cpu + e_act + e_tail)[o],
        # extras
        "point_index": np.full(p.n, point.index, dtype=np.int32), "strategy": strategy, "sample": p.sample[o],
        "mobile": point.mobile, "edge": point.edge, "wire_bytes": p.wire_bytes[o],
        "batch": t.batch[o].astype(np.int32), "energy_compute_j": e_cpu[o], "energy_radio_j": e_act[o],
        "energy_tail_j": e_tail[o], "engine": engine,
    }


def assemble(parts: list[dict]) -> pd.DataFrame:
    """One DataFrame from :func:`records_columns` parts: string columns become categoricals and
    ``deadline_met`` a nullable boolean (NA where the scenario sets no deadline)."""
    if not parts:
        return pd.DataFrame()
    sizes = np.array([len(part["request"]) for part in parts])
    cols = {}
    for name in parts[0]:
        vals = [part[name] for part in parts]
        if name in STRING_COLUMNS:
            cats = list(dict.fromkeys(vals))
            codes = np.repeat(np.array([cats.index(v) for v in vals], dtype=np.int32), sizes)
            cols[name] = pd.Categorical.from_codes(codes, categories=cats)
        elif name == "deadline_met":
            cols[name] = pd.arrays.BooleanArray(np.concatenate([v[0] for v in vals]), np.concatenate([v[1] for v in vals]))
        else:
            cols[name] = np.concatenate(vals)
    return pd.DataFrame(cols, copy=False)  # fresh arrays: no copy into 2-D blocks (0.1-0.2 s at 3x10^5 rows)


def records_frame(point: Point, p: Plan, t: Times, mobile: DeviceProfile, strategy: str, engine: str) -> pd.DataFrame:
    """The request records of one engine run as a DataFrame (see the module docstring)."""
    return assemble([records_columns(point, p, t, mobile, strategy, engine)])


def point_columns(point: Point) -> dict:
    """The point's main parameters, as summary columns (swept or not)."""
    up, wl = point.network.uplink, point.workload
    return {
        "mobile": point.mobile, "edge": point.edge,
        "bandwidth_mbps": up.bandwidth_mbps if up.trace is None else np.nan,
        "trace": "" if up.trace is None else up.trace.name, "trace_scale": up.scale,
        "delay_ms": up.one_way_delay_ms, "jitter_ms": up.jitter_ms, "loss": up.loss,
        "transport": point.network.transport.kind, "devices": wl.devices, "rate_hz": wl.arrival.rate_hz,
        "arrival": wl.arrival.kind, "gpus": point.edge_server.gpus, "max_batch": point.edge_server.batching.max_batch,
        "deadline_ms": np.nan if wl.deadline_ms is None else wl.deadline_ms,
    }


def summarize(point: Point, pipeline: str, strategy: str, engine: str, lat: np.ndarray, correct: np.ndarray,
              t_arrival: np.ndarray, t_done: np.ndarray, payload: np.ndarray, wire: np.ndarray,
              energy: np.ndarray, deadline_s: float | None, test_accuracy: float | None = None) -> dict:
    """One summary row: accuracy (of the simulated requests), test-set accuracy (over every profiled
    sample of the pipeline: what the decision rule ranks by, free of request-sampling noise), latency
    mean/p50/p95/p99 (ms), throughput (req/s), deadline-hit rate, mean payload and wire bytes, mean
    device energy (J), plus the point's parameters."""
    n = lat.size
    span = float(t_done.max() - t_arrival.min()) if n else float("nan")
    q = np.percentile(lat, [50, 95, 99]) * 1e3 if n else [np.nan] * 3
    return {
        "point": point.label, "point_index": point.index, "pipeline": pipeline, "strategy": strategy,
        "engine": engine, "requests": n, "accuracy": float(np.mean(correct)) if n else np.nan,
        "test_accuracy": np.nan if test_accuracy is None else float(test_accuracy),
        "latency_mean_ms": float(np.mean(lat)) * 1e3 if n else np.nan,
        "latency_p50_ms": float(q[0]), "latency_p95_ms": float(q[1]), "latency_p99_ms": float(q[2]),
        "throughput_rps": n / span if span > 0 else np.nan,
        "deadline_hit_rate": np.nan if deadline_s is None else float(np.mean(lat <= deadline_s + 1e-12)),
        "mean_bytes": float(np.mean(payload)) if n else np.nan,
        "mean_wire_bytes": float(np.mean(wire)) if n else np.nan,
        "mean_energy_j": float(np.mean(energy)) if n else np.nan,
        **point_columns(point),
    }
