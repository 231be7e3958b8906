"""The report: plots and a self-contained HTML page from a ``sc2sim run`` folder (no torch).

``build_report(DIR)`` reads ``DIR/summary.json`` and ``DIR/requests.parquet`` and writes
``DIR/report.html`` (figures embedded as base64 PNG) and ``DIR/figures/KEY.png`` + ``KEY.svg``;
every file is written atomically. Modules: :mod:`.data` (loading and derivations: latency
breakdown, Pareto front, winners, crossovers), :mod:`.context` (scenario/devices/provenance lines),
:mod:`.figures` (matplotlib, Agg canvas), :mod:`.html` (the page).
"""

from __future__ import annotations

from pathlib import Path

from sc2sim.errors import ConfigError

LATENCY_METRICS = ("mean", "p50", "p95", "p99")


def build_report(folder: str | Path, latency: str = "mean") -> Path:
    """Write ``report.html`` and ``figures/*.png|svg`` into ``folder``; returns the page's path.

    ``latency`` (mean | p50 | p95 | p99) is the latency statistic of the Pareto front, the winner rule
    and the crossovers. Raises ConfigError (one line) when the folder lacks the run's files.
    """
    from sc2sim.atomic import atomic_write_bytes, atomic_write_text
    from sc2sim.report.data import METRICS, load_run
    from sc2sim.report.figures import all_figures
    from sc2sim.report.html import page

    if latency not in METRICS:
        raise ConfigError(f"--latency: {latency!r} — allowed: {', '.join(LATENCY_METRICS)}")
    metric = METRICS[latency]
    run = load_run(folder)
    figs = all_figures(run, metric)
    out = Path(folder)
    for f in figs:
        atomic_write_bytes(out / "figures" / f"{f.key}.png", f.png)
        atomic_write_bytes(out / "figures" / f"{f.key}.svg", f.svg)
    return atomic_write_text(out / "report.html", page(run, figs, metric))


__all__ = ["LATENCY_METRICS", "build_report"]
