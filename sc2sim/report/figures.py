"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no global
backend switch). Each ``fig_*`` function returns a :class:`Figure` entry or None when it does not apply."""

from __future__ import annotations

import math
import textwrap
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from sc2sim.report.context import caption
from sc2sim.report.data import (
    COMPONENTS,
    RunData,
    bandwidth_groups,
    breakdown,
    pareto_front,
    sweep_axes,
)
from sc2sim.report.render import Figure, bandwidth_axis, colors, finish, log_axis
from sc2sim.report.winners import best_table, short_name, verdicts, winner_maps
from sc2sim.runs.decision import Objective

MAX_PANELS = 9
MARKERS = {"local": "s", "offload": "o", "split": "^"}
COMP_COLORS = ["#4c72b0", "#a1c9f4", "#dd8452", "#fab0a0", "#55a868", "#8172b3"]
QUANTS = [(50, "o"), (95, "^"), (99, "s")]
LOG_RATIO = 20
"""A latency or energy axis becomes logarithmic when its data span more than this factor."""


def _strategy(p: str) -> str:
    return p.split(":", 1)[0]


def _maybe_log(ax: Any, which: str, values: Any) -> None:
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size and v.max() / v.min() > LOG_RATIO:
        log_axis(ax, which, float(v.min()), float(v.max()))


def pick_points(points: list[str], k: int = MAX_PANELS) -> list[str]:
    """At most ``k`` points, evenly spread over the sweep (first and last included)."""
    if len(points) <= k:
        return points
    idx = sorted({round(i * (len(points) - 1) / (k - 1)) for i in range(k)})
    return [points[i] for i in idx]


def _grid(n: int, width: float = 4.2, height: float = 3.2, extra_h: float = 1.0,
          sharey: bool = False) -> tuple[MplFigure, list]:
    cols = min(3, max(1, n))
    rows = math.ceil(n / cols)
    fig = MplFigure(figsize=(max(7.5, cols * width), rows * height + extra_h), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=sharey).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _point_title(ax: Any, point: str, fontsize: float = 10) -> None:
    """A panel title naming a sweep point, wrapped to the panel's width (``a=1,b=2`` -> ``a=1, b=2``)."""
    pos, (w, _) = ax.get_position(), ax.figure.get_size_inches()
    per_line = max(12, int(pos.width * w * 72 / (0.6 * fontsize)))
    ax.set_title("\n".join(textwrap.wrap(point.replace(",", ", "), per_line)), fontsize=fontsize)


def _finish(fig: MplFigure, run: RunData, key: str, title: str, note: str = "", extra: str = "") -> Figure:
    return finish(fig, key, title, note, caption(run, key) + (f"\n{extra}" if extra else ""))


def _legend(fig: MplFigure, handles: list, labels: list) -> None:
    fig.legend(handles, labels, loc="outside right center", ncol=1, fontsize=8, frameon=False)


def _metric_label(metric: str) -> str:
    return {"latency_mean_ms": "mean latency (ms)", "latency_p50_ms": "p50 latency (ms)",
            "latency_p95_ms": "p95 latency (ms)", "latency_p99_ms": "p99 latency (ms)"}[metric]


def fig_pareto(run: RunData, metric: str) -> Figure:
    """Latency vs accuracy per sweep point, the Pareto front (lower latency, higher accuracy) marked."""
    from matplotlib.lines import Line2D

    s, col = run.summary, colors(run.pipelines)
    points = pick_points(run.points)
    fig, axes = _grid(len(points), sharey=True)  # one y scale for all panels: easier to compare, less text
    for ax, point in zip(axes, points):
        g = s[s["point"] == point]
        lat, acc = g[metric].to_numpy(float), g["accuracy"].to_numpy(float) * 100
        front = pareto_front(lat, acc)
        order = np.argsort(lat[front])
        ax.step(lat[front][order], acc[front][order], where="post", color="#222222", lw=1, ls="--", zorder=1)
        marker = np.array([MARKERS.get(_strategy(p), "o") for p in g["pipeline"]])
        rgba = np.array([col[p] for p in g["pipeline"]])
        for m in dict.fromkeys(marker):  # one scatter per marker and front membership: few artists
            for f in (False, True):
                sel = (marker == m) & (front == f)
                if sel.any():
                    ax.scatter(lat[sel], acc[sel], c=rgba[sel], marker=m, s=70 if f else 40,
                               edgecolors="black" if f else "none", linewidths=1.4, zorder=3)
        _point_title(ax, point)
        ax.set_xlabel(_metric_label(metric), fontsize=8)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        _maybe_log(ax, "x", lat)
    handles = [Line2D([], [], ls="", marker=MARKERS.get(_strategy(p), "o"), color=col[p]) for p in run.pipelines]
    handles.append(Line2D([], [], ls="--", color="#222222", marker="o", mfc="white", mec="black"))
    _legend(fig, handles, run.pipelines + ["Pareto front (ringed)"])
    note = (f"Each panel is one sweep point{' (a spread of ' + str(len(points)) + ' of ' + str(len(run.points)) + ')' if len(points) < len(run.points) else ''}. "
            f"Ringed markers joined by the dashed step are the Pareto front: no other pipeline has both lower or equal "
            f"{_metric_label(metric)} and higher or equal accuracy.")
    return _finish(fig, run, "pareto", f"{run.scenario}: latency vs accuracy", note)


def fig_latency_vs_bandwidth(run: RunData, metric: str, objective: Objective) -> Figure | None:
    """Latency vs uplink bandwidth per pipeline, the deadline and where the best pipeline by the run's
    rule changes marked; None if bandwidth is not swept."""
    groups = bandwidth_groups(run.summary)
    if not groups:
        return None
    groups = groups[:MAX_PANELS]
    col = colors(run.pipelines)
    fig, axes = _grid(len(groups), width=5.5, height=3.8)
    for ax, (title, g) in zip(axes, groups):
        for p in run.pipelines:
            gp = g[g["pipeline"] == p].sort_values("bandwidth_mbps")
            ax.plot(gp["bandwidth_mbps"], gp[metric], marker=MARKERS.get(_strategy(p), "o"), ms=4, color=col[p], label=p)
        bandwidth_axis(ax, g["bandwidth_mbps"])
        vals = g[metric].to_numpy(float)
        dl = g["deadline_ms"].astype(float).dropna() if "deadline_ms" in g else None
        if dl is not None and len(dl):
            ax.axhline(float(dl.iloc[0]), color="red", ls="--", lw=1)
            vals = np.append(vals, float(dl.iloc[0]))
        _maybe_log(ax, "y", vals)
        vs = verdicts(winner_maps(best_table(g, objective)), g, objective)
        for v in vs:
            for x in v.switches:
                ax.axvline(x, color="#444444", ls=":", lw=1.2)
        ax.set_title("\n".join([title or "all points"] + textwrap.wrap(_best_line(vs), 75)), fontsize=8.5)
        ax.set_ylabel(_metric_label(metric), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, which="both")
    h, lab = axes[0].get_legend_handles_labels()
    _legend(fig, h, lab)
    note = ("Red dashed line: the deadline. Dotted lines (and each panel's title): where the best pipeline by the "
            "report's rule (top of the page) changes, placed where the cause of the change crosses between the two "
            "swept bandwidths (a latency curve crossing the deadline, or two curves crossing; linear in log "
            "bandwidth). Two latency curves crossing is not by itself a change of the best pipeline.")
    return _finish(fig, run, "latency_vs_bandwidth", f"{run.scenario}: latency vs uplink bandwidth", note)


def _best_line(vs: list) -> str:
    """The best pipeline along bandwidth in words: ``best: A; from ~0.2 Mbit/s B``."""
    if len(vs) != 1:
        return ""
    v = vs[0]
    parts = [short_name(v.segments[0][2])] + [f"from ~{x:.3g} Mbit/s {short_name(s[2])}"
                                               for x, s in zip(v.switches, v.segments[1:])]
    return "best by the rule: " + "; ".join(parts) + ("" if v.switches else " at every bandwidth")


def _cdf_xy(lat_ms: np.ndarray, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    x = np.sort(lat_ms)
    y = np.arange(1, x.size + 1) / x.size
    if x.size > n:  # thin to n quantiles: same curve, small SVG
        idx = np.unique(np.linspace(0, x.size - 1, n).round().astype(int))
        x, y = x[idx], y[idx]
    return x, y


def fig_cdf(run: RunData) -> Figure:
    """Latency CDF per pipeline, one panel per sweep point, p50/p95/p99 marked."""
    from matplotlib.lines import Line2D

    rec, col = run.records, colors(run.pipelines)
    points = pick_points(run.points)
    fig, axes = _grid(len(points), sharey=True)  # one y scale for all panels: easier to compare, less text
    deadline = run.summary.set_index(["point", "pipeline"])["deadline_ms"] if "deadline_ms" in run.summary else None
    by_point = {k: g for k, g in rec.groupby("point", sort=False)}
    for ax, point in zip(axes, points):
        g = by_point.get(point)
        span: list[float] = []
        marks: dict[str, tuple[list, list, list]] = {m: ([], [], []) for _, m in QUANTS}
        for p, gp in ([] if g is None else g.groupby("pipeline", sort=False, observed=True)):
            lat = gp["latency_s"].to_numpy(float) * 1e3
            lat = lat[np.isfinite(lat)]
            if not lat.size:
                continue
            x, y = _cdf_xy(lat)
            ax.plot(x, y, color=col.get(p, "grey"), lw=1.3, drawstyle="steps-post")
            for (q, m), v in zip(QUANTS, np.percentile(lat, [q for q, _ in QUANTS])):
                marks[m][0].append(v)
                marks[m][1].append(q / 100)
                marks[m][2].append(col.get(p, "grey"))
            span += [float(lat.min()), float(lat.max())]
        for m, (xs, ys, cs) in marks.items():  # one scatter per quantile marker
            if xs:
                ax.scatter(xs, ys, c=cs, marker=m, edgecolors="black", linewidths=0.6, s=25, zorder=3)
        if deadline is not None:
            d = deadline.xs(point, level="point")
            d = d[np.isfinite(d.astype(float))]
            if len(d):
                ax.axvline(float(d.iloc[0]), color="red", ls="--", lw=1)
                span.append(float(d.iloc[0]))
        _maybe_log(ax, "x", span)
        _point_title(ax, point)
        ax.set_xlabel("latency (ms)", fontsize=8)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("fraction of requests", fontsize=8)
        ax.set_ylim(0, 1.01)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=col[p]) for p in run.pipelines]
    handles += [Line2D([], [], ls="", marker=m, color="grey", mec="black") for _, m in QUANTS]
    handles.append(Line2D([], [], color="red", ls="--"))
    _legend(fig, handles, run.pipelines + [f"p{q}" for q, _ in QUANTS] + ["deadline"])
    note = ("Empirical CDF of per-request latency (all simulated requests of the point). Markers: p50 (circle), "
            "p95 (triangle), p99 (square); the red dashed line is the deadline.")
    return _finish(fig, run, "cdf", f"{run.scenario}: latency CDF per pipeline", note)


def fig_breakdown(run: RunData) -> Figure:
    """Stacked mean-latency breakdown per pipeline, one panel per sweep point."""
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch

    bd = breakdown(run.records)
    names = [c[0] for c in COMPONENTS]
    points = pick_points(run.points)
    fig, axes = _grid(len(points), width=4.6, height=0.45 * len(run.pipelines) + 1.4, extra_h=1.3, sharey=True)
    y = np.arange(len(run.pipelines))
    axes[0].set_yticks(y, run.pipelines, fontsize=7)  # shared: the first column carries the names
    for ax, point in zip(axes, points):
        g = bd[bd["point"] == point].set_index("pipeline").reindex(run.pipelines)
        parts = np.nan_to_num(g[names].to_numpy(float))  # pipelines x components
        left = np.cumsum(parts, axis=1) - parts
        boxes = [[(x0, yi - 0.35), (x0 + w, yi - 0.35), (x0 + w, yi + 0.35), (x0, yi + 0.35)]
                 for yi, (xs, ws) in zip(y, zip(left, parts)) for x0, w in zip(xs, ws)]
        ax.add_collection(PolyCollection(boxes, facecolors=COMP_COLORS * len(y), edgecolors="none"))  # one artist
        left = parts.sum(axis=1)
        for yi, total in zip(y, g["latency_mean_ms"].to_numpy(float)):
            if np.isfinite(total):
                ax.text(total, yi, f" {total:.1f}", va="center", fontsize=7)
        ax.set_xlim(0, np.nanmax(left) * 1.2 if np.nanmax(left) > 0 else 1)
        ax.set_ylim(len(y) - 0.5, -0.5)  # the first pipeline on top
        _point_title(ax, point)
        ax.set_xlabel("mean latency (ms)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        ax.tick_params(axis="y", labelsize=7)  # the shared axis' names, on every row's first panel
        ax.grid(alpha=0.3, axis="x")
    _legend(fig, [Patch(color=c) for c in COMP_COLORS], names)
    note = ("Derived from the record timestamps: mobile queue = t_mobile_start - t_arrival, mobile compute = "
            "t_mobile_end - t_mobile_start, transfer = t_tx_end - t_mobile_end, edge queue = t_edge_start - t_tx_end, "
            "edge compute = t_edge_end - t_edge_start, result = t_done - t_edge_end; the parts sum to the mean latency. "
            "Not derivable from the records: how transfer splits into uplink queueing, TCP handshake/slow start, "
            "propagation, jitter and loss recovery (all inside 'transfer'); edge queue includes waiting for a batch to form.")
    extra = ("parts from the record timestamps, summing to the mean latency; 'transfer' holds uplink queueing, handshake, "
             "serialisation, propagation, jitter and loss recovery together: the records cannot split it")
    return _finish(fig, run, "breakdown", f"{run.scenario}: where the mean latency goes", note, extra)


def _per_point(ax, run: RunData, column: str, scale: float, ylabel: str) -> None:
    s, col = run.summary, colors(run.pipelines)
    axes = sweep_axes(s)
    if len(run.points) == 1:
        g = s.set_index("pipeline").reindex(run.pipelines)
        ax.bar(range(len(run.pipelines)), g[column].to_numpy(float) * scale, color=[col[p] for p in run.pipelines])
        ax.set_xticks(range(len(run.pipelines)), run.pipelines, rotation=30, ha="right", fontsize=7)
    else:
        numeric = axes == ["bandwidth_mbps"]
        pos = {p: k for k, p in enumerate(run.points)}
        for p in run.pipelines:
            gp = s[s["pipeline"] == p].sort_values("point_index")
            x = gp["bandwidth_mbps"] if numeric else gp["point"].map(pos)
            ax.plot(x, gp[column].astype(float) * scale, marker=MARKERS.get(_strategy(p), "o"), ms=4, color=col[p], label=p)
        if numeric:
            bandwidth_axis(ax, s["bandwidth_mbps"])
        else:
            _point_axis(ax, run.points)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def _point_axis(ax: Any, points: list[str]) -> None:
    """An x axis of sweep points in order. When bandwidth is swept with other parameters, consecutive
    points that differ only in bandwidth form a group: one label per group (without the bandwidth) and
    a thin line between groups; else at most 12 point labels, spread over the sweep."""
    import re

    groups: list[tuple[str, int, int]] = []  # (label, first, last)
    for k, p in enumerate(points):
        g = re.sub(r"(^|,)bw=[^,]*", "", p).strip(",") or p
        if groups and groups[-1][0] == g:
            groups[-1] = (g, groups[-1][1], k)
        else:
            groups.append((g, k, k))
    if len(groups) < len(points):
        shown = pick_points([g for g, _, _ in groups], 12)
        for g, a, b in groups:
            if a > 0:
                ax.axvline(a - 0.5, color="#999999", lw=0.6)
        centers = [((a + b) / 2, g) for g, a, b in groups if g in shown]
        ax.set_xticks([c for c, _ in centers], [g.replace(",", ", ") for _, g in centers], rotation=30, ha="right",
                      fontsize=7)
        ax.set_xlabel("sweep point (within a group: uplink bandwidth rising)", fontsize=8)
    else:
        ticks = pick_points(points, 12)
        pos = {p: k for k, p in enumerate(points)}
        ax.set_xticks([pos[t] for t in ticks], ticks, rotation=30, ha="right", fontsize=7)
        ax.set_xlabel("sweep point", fontsize=8)


def fig_resources(run: RunData) -> Figure:
    """Bytes per request (payload and on the wire), device energy per request and deadline-hit rate."""
    s, col = run.summary, colors(run.pipelines)
    fig = MplFigure(figsize=(14, 4.6), layout="constrained")
    ax_b, ax_e, ax_d = fig.subplots(1, 3)
    g = s.groupby("pipeline", sort=False)[["mean_bytes"] + (["mean_wire_bytes"] if "mean_wire_bytes" in s else [])].mean()
    g = g.reindex(run.pipelines)
    y = np.arange(len(run.pipelines))
    ax_b.barh(y - 0.18, g["mean_bytes"].clip(lower=0), height=0.36, color=[col[p] for p in run.pipelines], label="payload")
    if "mean_wire_bytes" in g:
        ax_b.barh(y + 0.18, g["mean_wire_bytes"].clip(lower=0), height=0.36, color=[col[p] for p in run.pipelines],
                  alpha=0.45, hatch="//", label="on the wire (headers, retransmissions)")
    for yi, v in zip(y, g["mean_bytes"]):
        ax_b.text(max(v, 0), yi - 0.18, f" {v:,.0f}", va="center", fontsize=7)
    ax_b.set_yticks(y, run.pipelines, fontsize=7)
    ax_b.invert_yaxis()
    pos = g.to_numpy(float)
    pos = pos[np.isfinite(pos) & (pos > 0)]
    if pos.size and pos.max() / max(pos.min(), 1) > 30:  # symlog: local pipelines send 0 bytes
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        from sc2sim.report.render import log_ticks, plain_number

        ax_b.set_xscale("symlog", linthresh=10)
        ticks = [0.0] + log_ticks(10, float(pos.max()), 6)
        ax_b.xaxis.set_major_locator(FixedLocator(ticks))
        ax_b.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: plain_number(v)))
        ax_b.xaxis.set_minor_locator(NullLocator())
    ax_b.set_xlabel("bytes per request (mean over points)", fontsize=8)
    ax_b.set_title("uplink bytes per request (local: 0)", fontsize=10)
    ax_b.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax_b.grid(alpha=0.3, axis="x")
    _per_point(ax_e, run, "mean_energy_j", 1e3, "device energy per request (mJ)")
    _maybe_log(ax_e, "y", s["mean_energy_j"].astype(float) * 1e3)
    ax_e.set_title("device energy per request", fontsize=10)
    has_deadline = "deadline_hit_rate" in s and np.isfinite(s["deadline_hit_rate"].astype(float)).any()
    if has_deadline:
        _per_point(ax_d, run, "deadline_hit_rate", 100, "requests within the deadline (%)")
        ax_d.set_ylim(-2, 102)
    else:
        ax_d.text(0.5, 0.5, "no deadline in this scenario", ha="center", va="center", transform=ax_d.transAxes)
        ax_d.set_axis_off()
    ax_d.set_title("deadline-hit rate", fontsize=10)
    h, lab = ax_e.get_legend_handles_labels()
    if h:
        _legend(fig, h, lab)
    note = ("Bytes: mean payload the device puts on the uplink (exact bitstream + header) and the wire bytes including "
            "transport headers and retransmissions. Energy: compute + radio (active and tail) energy of the mobile device. "
            "Deadline-hit rate: share of requests whose latency is within the deadline.")
    return _finish(fig, run, "resources", f"{run.scenario}: bytes, device energy and deadline-hit rate", note)
