"""The winner of every sweep point by the run's decision rule, the winner maps (mobile device x uplink
bandwidth -> best pipeline) and the verdicts (where the winner changes along bandwidth).

There is one rule, :func:`sc2sim.runs.decision.pick`; this module only applies it per point and
arranges the results. The report (:mod:`sc2sim.report`) and ``sc2sim whatif`` both use it. No
plotting, no torch.

A **winner map** is one grid per edge device (and per combination of the other swept parameters):
rows are the mobile devices, columns the uplink bandwidths (Mbit/s). When bandwidth is not swept but
other parameters are (trace links, delays, arrival rates, ...), the columns are those parameters'
combinations instead, and there are no verdicts (they walk a bandwidth axis).

A **verdict** names, per map row, where the winner changes along bandwidth. The switch bandwidth is
estimated where the cause of the change crosses, linear in log10 bandwidth between the two swept
values around it: where the new (or old) winner's latency curve crosses the deadline, else where the
two curves of the objective's quantity (latency, or energy for ``minimize: energy``) cross, else the
geometric midpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.errors import ConfigError
from sc2sim.naming import PipelineSpec
from sc2sim.report.data import crossovers
from sc2sim.runs import POINT_COLUMNS
from sc2sim.runs.decision import Objective, best_per_point, objective_from_doc

BANDWIDTH = "bandwidth_mbps"
LATENCY_COLUMNS = ("latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


def run_objective(meta: dict[str, Any]) -> Objective:
    """The objective a run recorded (``meta["objective"]``: ``{"kind", "latency", "min_accuracy"}``);
    the default objective for runs that recorded none."""
    return objective_from_doc(meta.get("objective"))


def rule_text(objective: Objective, summary: pd.DataFrame) -> str:
    """The rule in one sentence, naming the run's deadline (or its deadlines, when swept)."""
    dl = sorted({float(x) for x in summary.get("deadline_ms", pd.Series(dtype=float)).astype(float) if x == x})
    text = objective.describe(dl[0] if dl else None)
    if len(dl) > 1:
        text = text.replace(f"({dl[0]:g} ms)", f"({'/'.join(f'{d:g}' for d in dl)} ms: each point's own)")
    return text


best_table = best_per_point
"""One row per sweep point: the winner by the rule (see :func:`sc2sim.runs.decision.best_per_point`)."""


def short_name(p: str) -> str:
    """A pipeline name for a map cell: ``offload:jpeg q50``, ``split:sc2 β0.003`` (weights/card dropped)."""
    abbrev = {"quality": "q", "lmbda": "λ", "beta": "β", "point": "pt", "model": "", "arch": ""}
    try:
        spec = PipelineSpec.parse(p)
    except (ConfigError, ValueError):
        return p
    parts = [f"{abbrev.get(k, k + '=')}{v}" for k, v in spec.params if k not in ("weights", "card", "method")]
    return spec.key + (" " + " ".join(parts) if parts else "")


# ------------------------------------------------------------------------------------------ maps


@dataclass
class WinnerMap:
    """One grid: ``cells[(row, col)]`` is the best-table row of that mobile device and column.
    ``numeric``: the columns are uplink bandwidths (Mbit/s), else labels of other parameters."""

    title: str
    edge: str
    rows: list[str]
    cols: list[Any]
    numeric: bool
    col_label: str
    cells: dict[tuple[str, Any], dict[str, Any]]
    where: dict[str, Any] = field(default_factory=dict)  # the slice's other parameters

    def col_text(self, c: Any) -> str:
        return f"{c:g}" if self.numeric else str(c)


def _fmt(v: Any) -> str:
    if isinstance(v, (float, np.floating)):
        return f"{float(v):g}"
    s = str(v)
    return Path(s).name if "/" in s else s


def _swept(best: pd.DataFrame, col: str) -> bool:
    return col in best.columns and best[col].astype(str).nunique(dropna=False) > 1


def winner_maps(best: pd.DataFrame) -> list[WinnerMap]:
    """The grids of a best table (:func:`best_table`), in sweep order; see the module doc."""
    if best.empty:
        return []
    params = [c for c in POINT_COLUMNS if c in best.columns]
    others = [c for c in params if c not in ("mobile", "edge", BANDWIDTH) and _swept(best, c)]
    bw = best[BANDWIDTH].astype(float) if BANDWIDTH in best else pd.Series(math.nan, index=best.index)
    numeric = bool(np.isfinite(bw).all()) and (_swept(best, BANDWIDTH) or not others)
    b = best.assign(_edge=best["edge"].astype(str) if "edge" in best else "?",
                    _mobile=best["mobile"].astype(str) if "mobile" in best else "?")
    if numeric:
        b["_col"], slice_axes = bw, others
    else:  # columns: the other parameters' combinations (a trace link's label, delays, rates, ...)
        cols = others or [c for c in ("trace", "trace_scale") if c in b]
        b["_col"] = (b[cols].apply(lambda r: ", ".join(_param(c, v) for c, v in r.items()), axis=1)
                     if cols else b["point"])
        slice_axes = []
    if b.duplicated(["_edge", *slice_axes, "_mobile", "_col"]).any():
        # points the summary's parameter columns cannot tell apart (a swept field without a column,
        # e.g. the radio): the columns are the point labels (less mobile and edge)
        b["_col"] = b["point"].astype(str).str.replace(r"(^|,)(mobile|edge)=[^,]*", "", regex=True).str.strip(",")
        numeric, slice_axes, others = False, [], []
    maps = []
    for key, g in b.groupby(["_edge", *slice_axes], sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        where = dict(zip(slice_axes, key[1:]))
        title = f"edge {key[0]}" + "".join(f", {_param(a, v)}" for a, v in where.items())
        rows = list(dict.fromkeys(g["_mobile"]))
        cols = sorted(set(g["_col"])) if numeric else list(dict.fromkeys(g["_col"]))
        cells = {(r["_mobile"], r["_col"]): r for r in g.to_dict("records")}
        label = "uplink bandwidth (Mbit/s)" if numeric else " x ".join(_param(a) for a in others) or "sweep point"
        maps.append(WinnerMap(title, str(key[0]), rows, cols, numeric, label, cells, where))
    return maps


_PARAM = {"bandwidth_mbps": ("bw", "Mbit/s"), "delay_ms": ("delay", "ms"), "jitter_ms": ("jitter", "ms"),
          "rate_hz": ("rate", "req/s"), "deadline_ms": ("deadline", "ms"), "trace_scale": ("scale", "")}


def _param(col: str, value: Any = None) -> str:
    """A parameter for a title or column: ``delay=20 ms``, ``scale=0.5``; without a value its name."""
    name, unit = _PARAM.get(col, (col, ""))
    if value is None:
        return name + (f" ({unit})" if unit else "")
    return f"{name}={_fmt(value)}" + (f" {unit}" if unit else "")


# -------------------------------------------------------------------------------------- verdicts


@dataclass
class Verdict:
    """Where the winner of one map row changes along bandwidth: ``text`` in words, ``segments``
    (from Mbit/s, to Mbit/s, best) and the estimated ``switches`` (Mbit/s) between them."""

    mobile: str
    edge: str
    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    switches: list[float] = field(default_factory=list)
    where: dict[str, Any] = field(default_factory=dict)


def _bw(v: float) -> str:
    return f"{v:g} Mbit/s"


def switch_at(curve: Any, lo: float, hi: float, before: str, after: str, deadline_ms: float | None,
              objective: Objective) -> float:
    """Where the winner changes from ``before`` (at ``lo`` Mbit/s) to ``after`` (at ``hi``); ``curve(p, bw,
    column)`` is pipeline ``p``'s summary value at bandwidth ``bw``. See the module doc."""
    x0, x1 = math.log10(lo), math.log10(hi)
    col = objective.column
    if deadline_ms is not None and math.isfinite(deadline_ms):
        for p in (after, before):
            y0, y1 = curve(p, lo, col), curve(p, hi, col)
            if (y0 > deadline_ms >= y1 or y0 <= deadline_ms < y1) and y0 != y1:  # this curve crosses the deadline
                return float(10 ** (x0 + (y0 - deadline_ms) / (y0 - y1) * (x1 - x0)))
    q = "mean_energy_j" if objective.kind == "energy" else col
    cs = crossovers([lo, hi], {before: [curve(before, lo, q), curve(before, hi, q)],
                               after: [curve(after, lo, q), curve(after, hi, q)]})
    return cs[0].at if cs else float(10 ** ((x0 + x1) / 2))


def verdicts(maps: list[WinnerMap], summary: pd.DataFrame, objective: Objective) -> list[Verdict]:
    """One :class:`Verdict` per row of every bandwidth map with at least two bandwidths, e.g.
    ``rpi4 -> t4: below ~3.2 Mbit/s local:light wins; above, offload:webp?quality=50``."""
    out = []
    for m in maps:
        if not m.numeric or len(m.cols) < 2:
            continue
        for mobile in m.rows:
            cells = [(c, m.cells[(mobile, c)]) for c in m.cols if (mobile, c) in m.cells]
            if len(cells) < 2:
                continue
            s = _slice(summary, mobile, m)
            idx = {(r["pipeline"], float(r[BANDWIDTH])): r for r in s.to_dict("records")}

            def curve(p: str, bw: float, col: str, idx=idx) -> float:
                r = idx.get((p, float(bw)))
                return float(r[col]) if r is not None else math.nan

            bws, names = [float(c) for c, _ in cells], [r["best"] for _, r in cells]
            segs, switches, start = [], [], 0
            for i in range(1, len(bws) + 1):
                if i == len(bws) or names[i] != names[start]:
                    segs.append((bws[start], bws[i - 1], names[start]))
                    if i < len(bws):
                        dl = cells[i][1].get("deadline_ms")
                        switches.append(switch_at(curve, bws[i - 1], bws[i], names[i - 1], names[i],
                                                  None if dl is None or dl != dl else float(dl), objective))
                    start = i
            out.append(Verdict(mobile, m.edge, _verdict_text(mobile, m, segs, switches, cells, objective), segs, switches,
                               m.where))
    return out


def _slice(summary: pd.DataFrame, mobile: str, m: WinnerMap) -> pd.DataFrame:
    sel = np.ones(len(summary), dtype=bool)
    if "mobile" in summary:
        sel &= (summary["mobile"].astype(str) == mobile).to_numpy()
    if "edge" in summary:
        sel &= (summary["edge"].astype(str) == m.edge).to_numpy()
    for a, v in m.where.items():
        sel &= (summary[a].astype(str) == str(v)).to_numpy()
    return summary[sel]


def _verdict_text(mobile: str, m: WinnerMap, segs: list, switches: list, cells: list, objective: Objective) -> str:
    scope = "".join(f", {_param(a, v)}" for a, v in m.where.items())
    if len(segs) == 1:
        body = f"{segs[0][2]} wins at every bandwidth ({_bw(segs[0][0])} to {_bw(segs[0][1])})"
    else:
        parts = [f"below ~{switches[0]:.3g} Mbit/s {segs[0][2]} wins"]
        for k in range(1, len(segs) - 1):
            parts.append(f"from ~{switches[k - 1]:.3g} to ~{switches[k]:.3g} Mbit/s {segs[k][2]}")
        parts.append(f"above, {segs[-1][2]}")
        body = "; ".join(parts)
    miss = [(float(c), r) for c, r in cells if not r["qualifies"]]
    if miss:
        dl = miss[0][1].get("deadline_ms")
        what = (f"meets the {dl:g} ms deadline" if objective.min_accuracy is None and dl is not None and dl == dl
                else "satisfies the rule")
        body += f" (no pipeline {what} at {', '.join(_bw(b) for b, _ in miss)}: the fastest is shown there)"
    return f"{mobile} -> {m.edge}{scope}: {body}"



@dataclass
class Winners:
    """Everything the rule decides for one run: the objective and its sentence, the best table, the maps
    and the verdicts."""

    objective: Objective
    rule: str
    best: pd.DataFrame
    maps: list[WinnerMap]
    verdicts: list[Verdict]


def decide(summary: pd.DataFrame, objective: Objective) -> Winners:
    """Apply the rule to every point of ``summary`` and arrange the results (maps, verdicts)."""
    best = best_table(summary, objective)
    maps = winner_maps(best)
    return Winners(objective, rule_text(objective, summary), best, maps, verdicts(maps, summary, objective))
