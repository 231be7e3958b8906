"""Report inputs and derivations: load a run folder, derive the latency breakdown, the Pareto front
and where two curves cross along bandwidth. No plotting here, no torch (the winners by the run's
decision rule are in :mod:`sc2sim.report.winners`).

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

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.runs import LATENCY_METRICS, POINT_COLUMNS, read_records, read_summary

# (name, later timestamp, earlier timestamp): component = later - earlier
COMPONENTS = [
    ("mobile compute", "t_mobile_end", "t_mobile_start"),
    ("mobile queue", "t_mobile_start", "t_arrival"),
    ("transfer (uplink)", "t_tx_end", "t_mobile_end"),
    ("edge queue", "t_edge_start", "t_tx_end"),
    ("edge compute", "t_edge_end", "t_edge_start"),
    ("result (downlink)", "t_done", "t_edge_end"),
]
REPORT_RECORD_COLUMNS = ["point", "point_index", "pipeline", "strategy", "t_arrival", "t_mobile_start", "t_mobile_end",
                         "t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "t_done", "latency_s"]
"""The record columns the report reads (``point_index`` and ``strategy`` may be absent in old runs)."""
METRICS = LATENCY_METRICS


@dataclass
class RunData:
    """One run folder: its summary rows, request records (only the columns the report needs) and meta."""

    folder: Path
    summary: pd.DataFrame
    records: pd.DataFrame
    meta: dict[str, Any]

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return str(self.meta.get("scenario") or "?")

    @property
    def network(self) -> dict[str, Any]:
        """Network settings the summary columns do not carry (downlink, radio, sharing; see
        :func:`sc2sim.runs.run_meta`); empty for runs written before they were recorded."""
        net = self.meta.get("network")
        return net if isinstance(net, dict) else {}

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
    """Read a run folder (summary rows, the records the report needs, metadata); ConfigError (one line) if absent."""
    summary, meta = read_summary(folder)
    records = read_records(folder, REPORT_RECORD_COLUMNS, optional=("point_index", "strategy"))
    return run_data(folder, summary, records, meta)


def written_run(folder: str | Path, result: Any, meta: dict[str, Any]) -> RunData | None:
    """The :class:`RunData` of a :class:`~sc2sim.runs.RunResult` just written to ``folder`` with ``meta``,
    equal to what :func:`load_run` would read back (the summary through the same JSON), without reading
    the files again; None when the result kept no records."""
    from sc2sim.runs import saved_summary

    return None if result.records is None else run_data(folder, saved_summary(result.summary), result.records, meta)


def run_data(folder: str | Path, summary: pd.DataFrame, records: pd.DataFrame, meta: dict[str, Any]) -> RunData:
    """A :class:`RunData` from a run's tables as the folder holds them (``summary`` as ``summary.json``
    has it, ``records`` with at least the report's columns). ``point`` and ``pipeline`` become
    categoricals of their text (grouping 10^5-10^6 records by category codes, not by strings)."""
    from sc2sim.cards import published_meta, with_published

    records = records[[c for c in REPORT_RECORD_COLUMNS if c in records.columns]]  # a new frame (copy on write)
    for c in ("point", "pipeline"):
        col = records[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            records[c] = col.cat.rename_categories(str)
        else:
            records[c] = col.astype(str).astype("category")
    summary = with_published(summary, published_meta(meta.get("profile_meta")))  # card values on architecture-only pipelines
    return RunData(Path(folder), summary, records, meta)


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
    parts["point"], parts["pipeline"] = r["point"].array, r["pipeline"].array
    g = parts.groupby(["point", "pipeline"], sort=False, observed=True)
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


@dataclass
class Crossover:
    """The lowest curve changes from ``before`` (at ``lo``) to ``after`` (at ``hi``); ``at`` estimates where
    the two curves cross (linear interpolation in log10 bandwidth)."""

    lo: float
    hi: float
    before: str
    after: str
    at: float


def crossovers(bandwidth: np.ndarray | list, curves: dict[str, np.ndarray | list]) -> list[Crossover]:
    """Where the lowest of ``curves`` changes: ``curves`` maps name -> value (e.g. latency) at each
    ``bandwidth`` (any order; sorted here); the lowest finite value leads (ties: the curve listed
    first). Used to place a winner's switch between two swept bandwidths, not to pick winners."""
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

