"""The report's figures, drawn with matplotlib's object API on the Agg canvas (no pyplot, no global
backend switch). Each ``fig_*`` function returns a :class:`Figure` entry or None when it does not apply."""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.figure import Figure as MplFigure

from sc2sim.report.context import caption
from sc2sim.report.data import (
    COMPONENTS,
    RunData,
    bandwidth_crossovers,
    bandwidth_groups,
    breakdown,
    pareto_front,
    sweep_axes,
)

MAX_PANELS = 9
MARKERS = {"local": "s", "offload": "o", "split": "^"}
COMP_COLORS = ["#4c72b0", "#a1c9f4", "#dd8452", "#fab0a0", "#55a868", "#8172b3"]
QUANTS = [(50, "o"), (95, "^"), (99, "s")]


@dataclass
class Figure:
    """One finished figure: ``key`` names the files ``figures/KEY.png`` and ``figures/KEY.svg``."""

    key: str
    title: str
    note: str
    png: bytes
    svg: bytes


def colors(pipelines: list[str]) -> dict[str, tuple]:
    """A stable colour per pipeline (scenario order)."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(pipelines) <= 10 else "tab20"]
    return {p: cmap(k % cmap.N) for k, p in enumerate(pipelines)}


def _strategy(p: str) -> str:
    return p.split(":", 1)[0]


def pick_points(points: list[str], k: int = MAX_PANELS) -> list[str]:
    """At most ``k`` points, evenly spread over the sweep (first and last included)."""
    if len(points) <= k:
        return points
    idx = sorted({round(i * (len(points) - 1) / (k - 1)) for i in range(k)})
    return [points[i] for i in idx]


def _grid(n: int, width: float = 4.2, height: float = 3.2, extra_h: float = 1.0) -> tuple[MplFigure, list]:
    cols = min(3, max(1, n))
    rows = math.ceil(n / cols)
    fig = MplFigure(figsize=(max(7.5, cols * width), rows * height + extra_h), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _finish(fig: MplFigure, run: RunData, key: str, title: str, note: str = "", extra: str = "") -> Figure:
    fig.suptitle(title, fontsize=12, fontweight="bold")
    lines = caption(run, key).split("\n") + ([extra] if extra else [])
    width = int(fig.get_figwidth() * 16)  # characters of 7-pt text per line
    text = "\n".join(textwrap.fill(line, width) for line in lines)
    fig.supxlabel(text, fontsize=7, color="#333333", ha="center")
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    fig.set_layout_engine("none")  # the layout is settled: the SVG pass need not solve it again
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Figure(key, title, note, png.getvalue(), svg.getvalue())


def _legend(fig: MplFigure, handles: list, labels: list) -> None:
    fig.legend(handles, labels, loc="outside right center", ncol=1, fontsize=8, frameon=False)


def _bw_axis(ax, values) -> None:
    """Log bandwidth axis ticked at the swept values, in plain numbers."""
    from matplotlib.ticker import NullLocator

    v = sorted({float(x) for x in values if x == x})
    ax.set_xscale("log")
    ax.set_xticks(v, [f"{x:g}" for x in v])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("uplink bandwidth (Mbit/s)", fontsize=8)


def _metric_label(metric: str) -> str:
    return {"latency_mean_ms": "mean latency (ms)", "latency_p50_ms": "p50 latency (ms)",
            "latency_p95_ms": "p95 latency (ms)", "latency_p99_ms": "p99 latency (ms)"}[metric]


def fig_pareto(run: RunData, metric: str) -> Figure:
    """Latency vs accuracy per sweep point, the Pareto front (lower latency, higher accuracy) marked."""
    s, col = run.summary, colors(run.pipelines)
    points = pick_points(run.points)
    fig, axes = _grid(len(points))
    for ax, point in zip(axes, points):
        g = s[s["point"] == point]
        lat, acc = g[metric].to_numpy(float), g["accuracy"].to_numpy(float) * 100
        front = pareto_front(lat, acc)
        order = np.argsort(lat[front])
        ax.step(lat[front][order], acc[front][order], where="post", color="#222222", lw=1, ls="--", zorder=1)
        for (_, r), f in zip(g.iterrows(), front):
            ax.scatter(r[metric], r["accuracy"] * 100, color=col[r["pipeline"]], marker=MARKERS.get(_strategy(r["pipeline"]), "o"),
                       s=70 if f else 40, edgecolors="black" if f else "none", linewidths=1.4, zorder=3)
        ax.set_title(point, fontsize=10)
        ax.set_xlabel(_metric_label(metric), fontsize=8)
        ax.set_ylabel("accuracy (%)", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if lat[np.isfinite(lat)].size and np.nanmax(lat) / max(np.nanmin(lat), 1e-9) > 20:
            ax.set_xscale("log")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], ls="", marker=MARKERS.get(_strategy(p), "o"), color=col[p]) for p in run.pipelines]
    handles.append(Line2D([], [], ls="--", color="#222222", marker="o", mfc="white", mec="black"))
    _legend(fig, handles, run.pipelines + ["Pareto front (ringed)"])
    note = (f"Each panel is one sweep point{' (a spread of ' + str(len(points)) + ' of ' + str(len(run.points)) + ')' if len(points) < len(run.points) else ''}. "
            f"Ringed markers joined by the dashed step are the Pareto front: no other pipeline has both lower or equal "
            f"{_metric_label(metric)} and higher or equal accuracy.")
    return _finish(fig, run, "pareto", f"{run.scenario}: latency vs accuracy", note)


def fig_latency_vs_bandwidth(run: RunData, metric: str) -> Figure | None:
    """Latency vs uplink bandwidth per pipeline, crossovers of the winner marked; None if bandwidth is not swept."""
    groups = bandwidth_groups(run.summary)
    if not groups:
        return None
    groups = groups[:MAX_PANELS]
    cross = dict(bandwidth_crossovers(run.summary, metric))
    col = colors(run.pipelines)
    fig, axes = _grid(len(groups), width=5.5, height=3.8)
    for ax, (title, g) in zip(axes, groups):
        for p in run.pipelines:
            gp = g[g["pipeline"] == p].sort_values("bandwidth_mbps")
            ax.plot(gp["bandwidth_mbps"], gp[metric], marker=MARKERS.get(_strategy(p), "o"), ms=4, color=col[p], label=p)
        _bw_axis(ax, g["bandwidth_mbps"])
        vals = g[metric].to_numpy(float)
        if vals[np.isfinite(vals)].size and np.nanmax(vals) / max(np.nanmin(vals), 1e-9) > 20:
            ax.set_yscale("log")
        for c in cross.get(title, []):
            ax.axvline(c.at, color="#444444", ls=":", lw=1.2)
            ax.annotate(f"{c.before} -> {c.after}\n~{c.at:.3g} Mbit/s", (c.at, 0.98), xycoords=("data", "axes fraction"),
                        fontsize=7, ha="left", va="top", rotation=0, color="#222222",
                        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#888888", "alpha": 0.85})
        none = "" if cross.get(title) else "\n(no crossover: the same pipeline is fastest at every bandwidth)"
        ax.set_title((title or "all points") + none, fontsize=9)
        ax.set_ylabel(_metric_label(metric), fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, which="both")
    h, lab = axes[0].get_legend_handles_labels()
    _legend(fig, h, lab)
    note = (f"Winner rule: the lowest {_metric_label(metric)} at a bandwidth (ties: higher accuracy). Dotted lines mark "
            "where the winner changes, placed where the two curves cross (linear interpolation in log bandwidth).")
    return _finish(fig, run, "latency_vs_bandwidth", f"{run.scenario}: latency vs uplink bandwidth", note)


def _cdf_xy(lat_ms: np.ndarray, n: int = 800) -> tuple[np.ndarray, np.ndarray]:
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
    fig, axes = _grid(len(points))
    deadline = run.summary.set_index(["point", "pipeline"])["deadline_ms"] if "deadline_ms" in run.summary else None
    by_point = {k: g for k, g in rec.groupby("point", sort=False)}
    for ax, point in zip(axes, points):
        g = by_point.get(point)
        lo, hi = np.inf, 0.0
        for p, gp in ([] if g is None else g.groupby("pipeline", sort=False)):
            lat = gp["latency_s"].to_numpy(float) * 1e3
            lat = lat[np.isfinite(lat)]
            if not lat.size:
                continue
            x, y = _cdf_xy(lat)
            ax.plot(x, y, color=col.get(p, "grey"), lw=1.3, drawstyle="steps-post")
            for q, m in QUANTS:
                ax.plot(np.percentile(lat, q), q / 100, marker=m, color=col.get(p, "grey"), mec="black", mew=0.6, ms=5, ls="")
            lo, hi = min(lo, lat.min()), max(hi, lat.max())
        if deadline is not None:
            d = deadline.xs(point, level="point")
            d = d[np.isfinite(d.astype(float))]
            if len(d):
                ax.axvline(float(d.iloc[0]), color="red", ls="--", lw=1)
        if np.isfinite(lo) and hi / max(lo, 1e-9) > 20:
            ax.set_xscale("log")
        ax.set_title(point, fontsize=10)
        ax.set_xlabel("latency (ms)", fontsize=8)
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
    from matplotlib.patches import Patch

    bd = breakdown(run.records)
    names = [c[0] for c in COMPONENTS]
    points = pick_points(run.points)
    fig, axes = _grid(len(points), width=4.6, height=0.45 * len(run.pipelines) + 1.4, extra_h=1.3)
    for ax, point in zip(axes, points):
        g = bd[bd["point"] == point].set_index("pipeline").reindex(run.pipelines)
        y = np.arange(len(run.pipelines))
        left = np.zeros(len(run.pipelines))
        for name, c in zip(names, COMP_COLORS):
            v = np.nan_to_num(g[name].to_numpy(float))
            ax.barh(y, v, left=left, color=c, height=0.7)
            left += v
        for yi, total in zip(y, g["latency_mean_ms"].to_numpy(float)):
            if np.isfinite(total):
                ax.text(total, yi, f" {total:.1f}", va="center", fontsize=7)
        ax.set_yticks(y, run.pipelines, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, np.nanmax(left) * 1.18 if np.nanmax(left) > 0 else 1)
        ax.set_title(point, fontsize=10)
        ax.set_xlabel("mean latency (ms)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
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
            _bw_axis(ax, s["bandwidth_mbps"])
        else:
            ticks = pick_points(run.points, 12)
            ax.set_xticks([pos[t] for t in ticks], ticks, rotation=30, ha="right", fontsize=7)
            ax.set_xlabel("sweep point", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


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
    if (g["mean_bytes"] > 0).any() and g["mean_bytes"].max() / max(g["mean_bytes"][g["mean_bytes"] > 0].min(), 1) > 30:
        ax_b.set_xscale("symlog", linthresh=10)
    ax_b.set_xlabel("bytes per request (mean over points)", fontsize=8)
    ax_b.set_title("uplink bytes per request (local: 0)", fontsize=10)
    ax_b.legend(fontsize=7, loc="lower right")
    ax_b.grid(alpha=0.3, axis="x")
    _per_point(ax_e, run, "mean_energy_j", 1e3, "device energy per request (mJ)")
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


_JOB: dict[str, Any] = {}


def _draw(k: int) -> Figure | None:
    run, metric = _JOB["run"], _JOB["metric"]
    makers = [lambda: fig_pareto(run, metric), lambda: fig_latency_vs_bandwidth(run, metric), lambda: fig_cdf(run),
              lambda: fig_breakdown(run), lambda: fig_resources(run)]
    return makers[k]()


def all_figures(run: RunData, metric: str = "latency_mean_ms", workers: int | None = None) -> list[Figure]:
    """Every figure that applies to the run, in report order.

    The five figures are drawn in ``workers`` forked processes (default: one per core, at most 5;
    rendering PNG and SVG is most of a report's time), or here when ``workers`` is 1 or fork is missing.
    """
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    _JOB.update(run=run, metric=metric)
    n = min(5, workers or os.cpu_count() or 1)
    try:
        if n > 1 and "fork" in mp.get_all_start_methods():
            with ProcessPoolExecutor(n, mp_context=mp.get_context("fork")) as pool:
                figs = list(pool.map(_draw, range(5)))
        else:
            figs = [_draw(k) for k in range(5)]
    finally:
        _JOB.clear()
    return [f for f in figs if f is not None]
