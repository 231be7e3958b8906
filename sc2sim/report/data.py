"""Report inputs and derivations: load a run folder, derive the latency breakdown, the Pareto front,
the winner per sweep point and the crossovers between winners. No plotting here, no torch.

Latency breakdown (per request, from the record timestamps; the six parts telescope, so their sum is
exactly ``t_done - t_arrival = latency_s``):

===================  ================================  =============================================
component            derivation                        what it holds
===================  ================================  =============================================
mobile queue         t_mobile_start - t_arrival        waiting for the device CPU (earlier requests)
mobile compute       t_mobile_end - t_mobile_start     device compute incl. encoding (modelled)
transfer (uplink)    t_tx_end - t_mobile_end           handshake, link queueing, serialisation,
                                                       propagation, jitter, loss recovery (modelled)
edge queue           t_edge_start - t_tx_end           waiting for a GPU (and for a batch to form)
edge compute         t_edge_end - t_edge_start         decode + inference on the edge (modelled)
result (downlink)    t_done - t_edge_end               the result's trip back (modelled)
===================  ================================  =============================================

The record columns cannot split *transfer* into its queueing, handshake and propagation parts; the
figure says so. Local pipelines have zero transfer, edge and result parts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.errors import ConfigError

RUN_HINT = "run `sc2sim run SCENARIO --out DIR` first"

# (name, later timestamp, earlier timestamp): component = later - earlier
COMPONENTS = [
    ("mobile compute", "t_mobile_end", "t_mobile_start"),
    ("mobile queue", "t_mobile_start", "t_arrival"),
    ("transfer (uplink)", "t_tx_end", "t_mobile_end"),
    ("edge queue", "t_edge_start", "t_tx_end"),
    ("edge compute", "t_edge_end", "t_edge_start"),
    ("result (downlink)", "t_done", "t_edge_end"),
]
RECORD_COLUMNS = ["point", "point_index", "pipeline", "strategy", "t_arrival", "t_mobile_start", "t_mobile_end",
                  "t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "t_done", "latency_s"]
# summary columns that describe a point (see sc2sim.sim.metrics.point_columns)
POINT_COLUMNS = ["mobile", "edge", "bandwidth_mbps", "trace", "trace_scale", "delay_ms", "jitter_ms", "loss",
                 "transport", "devices", "rate_hz", "arrival", "gpus", "max_batch", "deadline_ms"]
METRICS = {"mean": "latency_mean_ms", "p50": "latency_p50_ms", "p95": "latency_p95_ms", "p99": "latency_p99_ms"}


@dataclass
class RunData:
    """One run folder: its summary rows, request records (only the columns the report needs) and meta."""

    folder: Path
    summary: pd.DataFrame
    records: pd.DataFrame
    meta: dict[str, Any]
    scenario_doc: dict[str, Any] = field(default_factory=dict)

    @property
    def scenario(self) -> str:
        return str(self.meta.get("scenario") or "?")

    @property
    def pipelines(self) -> list[str]:
        """Pipelines in the scenario's order."""
        return list(dict.fromkeys(self.summary["pipeline"]))

    @property
    def points(self) -> list[str]:
        """Point labels in sweep order."""
        return list(self.summary.sort_values("point_index", kind="stable")["point"].drop_duplicates())

    @property
    def published(self) -> dict[str, dict]:
        """``{pipeline: card point}`` of architecture-only pipelines (accuracy and bytes published, not measured)."""
        from sc2sim.cards import published_meta

        return published_meta(self.meta.get("profile_meta"))

    @property
    def synthetic(self) -> bool:
        pm = self.meta.get("profile_meta") or {}
        return pm.get("host") == "synthetic" or pm.get("dataset") == "synthetic"


def load_run(folder: str | Path) -> RunData:
    """Read ``summary.json`` and ``requests.parquet`` of a ``sc2sim run`` folder; ConfigError (one line) if absent."""
    d = Path(folder)
    if not d.is_dir():
        raise ConfigError(f"{d}: no such folder — {RUN_HINT}")
    sj, rq = d / "summary.json", d / "requests.parquet"
    for f in (sj, rq):
        if not f.is_file():
            raise ConfigError(f"{d}: no {f.name} — {RUN_HINT}")
    try:
        doc = json.loads(sj.read_text(encoding="utf-8"))
        summary = pd.DataFrame(doc["summary"])
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{sj}: not a summary written by `sc2sim run` ({err.__class__.__name__}: {err})") from None
    need = ["point", "point_index", "pipeline", "accuracy", *METRICS.values(), "mean_bytes", "mean_energy_j"]
    missing = [c for c in need if c not in summary.columns]
    if summary.empty or missing:
        raise ConfigError(f"{sj}: summary rows lack {', '.join(missing) or 'rows'} — {RUN_HINT}")
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(rq)
        cols = [c for c in RECORD_COLUMNS if c in schema.names]
        lacking = sorted(set(RECORD_COLUMNS) - set(cols) - {"point_index", "strategy"})
        if lacking:
            raise ConfigError(f"{rq}: columns {', '.join(lacking)} missing — {RUN_HINT}")
        records = pq.read_table(rq, columns=cols).to_pandas()
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a bad input file
        raise ConfigError(f"{rq}: not a readable Parquet file ({err})") from None
    for c in ("point", "pipeline"):
        records[c] = records[c].astype(str)
    meta = doc.get("meta") or {}
    from sc2sim.cards import published_meta, with_published

    summary = with_published(summary, published_meta(meta.get("profile_meta")))  # card values on architecture-only pipelines
    return RunData(d, summary, records, meta, _scenario_doc(meta, d))


def _scenario_doc(meta: dict, folder: Path) -> dict:
    """The scenario YAML as a plain dict, best effort (for radio/downlink details the summary lacks)."""
    import yaml

    f = meta.get("scenario_file")
    if not f:
        return {}
    for cand in (Path(f), folder / Path(f).name):
        try:
            if cand.is_file():
                doc = yaml.safe_load(cand.read_text(encoding="utf-8"))
                return doc if isinstance(doc, dict) else {}
        except Exception:  # noqa: BLE001 - decoration only; the report works without it
            return {}
    return {}


# ------------------------------------------------------------------------------------ derivations


def sweep_axes(summary: pd.DataFrame) -> list[str]:
    """Point columns that take more than one value across the run (the swept parameters)."""
    axes = []
    for c in POINT_COLUMNS:
        if c in summary.columns and summary[c].astype(str).nunique(dropna=False) > 1:
            axes.append(c)
    return axes


def breakdown(records: pd.DataFrame) -> pd.DataFrame:
    """Mean latency components (ms) per (point, pipeline); columns: the component names plus
    ``latency_mean_ms`` (mean of ``latency_s``) and ``requests``. Rows without a finite latency are left out."""
    r = records[np.isfinite(records["latency_s"].to_numpy(np.float64))]
    parts = pd.DataFrame({name: (r[hi].to_numpy(np.float64) - r[lo].to_numpy(np.float64)) * 1e3
                          for name, hi, lo in COMPONENTS})
    parts["latency_mean_ms"] = r["latency_s"].to_numpy(np.float64) * 1e3
    parts["point"], parts["pipeline"] = r["point"].to_numpy(), r["pipeline"].to_numpy()
    g = parts.groupby(["point", "pipeline"], sort=False)
    out = g.mean()
    out["requests"] = g.size()
    return out.reset_index()


def pareto_front(latency: np.ndarray | list, accuracy: np.ndarray | list) -> np.ndarray:
    """Boolean mask of the non-dominated entries: no other entry has latency <= and accuracy >=
    with at least one strictly better. Exact duplicates are all on the front. NaN never is."""
    lat, acc = np.asarray(latency, np.float64), np.asarray(accuracy, np.float64)
    ok = np.isfinite(lat) & np.isfinite(acc)
    front = ok.copy()
    for i in np.flatnonzero(ok):
        dom = ok & (lat <= lat[i]) & (acc >= acc[i]) & ((lat < lat[i]) | (acc > acc[i]))
        front[i] = not dom.any()
    return front


def winners(summary: pd.DataFrame, metric: str = "latency_mean_ms") -> pd.DataFrame:
    """Per point: the pipeline with the lowest ``metric`` (ties: higher accuracy, then scenario order),
    the runner-up and the margin. One row per point, in sweep order."""
    rows = []
    order = {p: k for k, p in enumerate(dict.fromkeys(summary["pipeline"]))}
    for point, g in summary.sort_values("point_index", kind="stable").groupby("point", sort=False):
        g = g[np.isfinite(g[metric].astype(float))]
        if g.empty:
            continue
        g = g.assign(_o=g["pipeline"].map(order)).sort_values([metric, "accuracy", "_o"], ascending=[True, False, True])
        best = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        rows.append({
            "point": point, "point_index": int(best["point_index"]), "winner": best["pipeline"],
            "strategy": best.get("strategy", ""), "value_ms": float(best[metric]), "accuracy": float(best["accuracy"]),
            "runner_up": "" if second is None else second["pipeline"],
            "margin_ms": math.nan if second is None else float(second[metric] - best[metric]),
            "bandwidth_mbps": _number(best.get("bandwidth_mbps")),  # NaN for trace links
        })
    return pd.DataFrame(rows)


@dataclass
class Crossover:
    """The winner changes from ``before`` (at ``lo``) to ``after`` (at ``hi``); ``at`` estimates where
    the two latency curves cross (linear interpolation in log10 bandwidth)."""

    lo: float
    hi: float
    before: str
    after: str
    at: float


def crossovers(bandwidth: np.ndarray | list, curves: dict[str, np.ndarray | list]) -> list[Crossover]:
    """Crossover points of the lowest-latency curve: ``curves`` maps pipeline -> latency at each
    ``bandwidth`` (any order; sorted here). The winner at a bandwidth is the lowest finite latency
    (ties: the pipeline listed first)."""
    bw = np.asarray(bandwidth, np.float64)
    order = np.argsort(bw, kind="stable")
    bw = bw[order]
    names = list(curves)
    lat = np.array([np.asarray(curves[n], np.float64)[order] for n in names]).reshape(len(names), bw.size)
    filled = np.where(np.isfinite(lat), lat, np.inf)
    win = np.argmin(filled, axis=0)
    out = []
    for i in range(bw.size - 1):
        a, b = win[i], win[i + 1]
        if a == b or not np.isfinite(filled[a, i]) or not np.isfinite(filled[b, i + 1]):
            continue
        d0, d1 = lat[a, i] - lat[b, i], lat[a, i + 1] - lat[b, i + 1]  # d0 <= 0 < d1 when both are finite
        x0, x1 = math.log10(bw[i]), math.log10(bw[i + 1])
        t = d0 / (d0 - d1) if np.isfinite(d0) and np.isfinite(d1) and d0 != d1 else 0.5
        out.append(Crossover(float(bw[i]), float(bw[i + 1]), names[a], names[b],
                             float(10 ** (x0 + min(1.0, max(0.0, t)) * (x1 - x0)))))
    return out


def bandwidth_groups(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """When bandwidth is swept: one (title, rows) group per combination of the other swept axes."""
    axes = sweep_axes(summary)
    if "bandwidth_mbps" not in axes or summary["bandwidth_mbps"].nunique() < 2:
        return []
    others = [a for a in axes if a != "bandwidth_mbps"]
    if not others:
        return [("", summary)]
    groups = []
    for key, g in summary.groupby(others, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        groups.append((", ".join(f"{a}={_short(v)}" for a, v in zip(others, key)), g))
    return groups


def _short(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def bandwidth_crossovers(summary: pd.DataFrame, metric: str = "latency_mean_ms") -> list[tuple[str, list[Crossover]]]:
    """Crossovers of ``metric`` along the bandwidth axis, per group of :func:`bandwidth_groups`."""
    out = []
    for title, g in bandwidth_groups(summary):
        piv = g.pivot_table(index="bandwidth_mbps", columns="pipeline", values=metric, sort=True)
        piv = piv[[p for p in dict.fromkeys(g["pipeline"]) if p in piv.columns]]
        out.append((title, crossovers(piv.index.to_numpy(), {p: piv[p].to_numpy() for p in piv.columns})))
    return out


def _number(value: object) -> float:
    """``float(value)``, or NaN for None / non-numbers (a trace link has no bandwidth)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
