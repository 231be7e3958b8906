"""The report: plots and a self-contained HTML page from a ``sc2sim run`` folder (no torch).

``build_report(DIR)`` reads ``DIR/summary.json`` and ``DIR/requests.parquet`` and writes
``DIR/report.html`` (figures embedded as base64 PNG) and ``DIR/figures/KEY.png`` + ``KEY.svg``;
every file is written atomically. The page opens with the decision rule the run recorded
(:mod:`sc2sim.runs.decision`) and the winner maps. Modules: :mod:`.data` (loading and derivations:
latency breakdown, Pareto front, curve crossings), :mod:`.winners` (the rule applied per point, winner
maps, verdicts), :mod:`.context` (scenario/devices/provenance lines), :mod:`.render` (shared figure
parts), :mod:`.figures` and :mod:`.mapfig` (matplotlib, Agg canvas), :mod:`.jobs` (which figures, drawn in parallel), :mod:`.checks` (readability
checks of every figure), :mod:`.cache` (figures are not redrawn from unchanged inputs), :mod:`.html`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sc2sim.errors import ConfigError

if TYPE_CHECKING:
    from sc2sim.report.data import RunData

LATENCY_METRICS = ("mean", "p50", "p95", "p99")


def build_report(folder: str | Path, latency: str | None = None, run: RunData | None = None) -> Path:
    """Write ``report.html`` and ``figures/*.png|svg`` into ``folder``; returns the page's path.

    The best pipeline everywhere follows the objective the run recorded (``meta["objective"]``; the
    default rule for runs without one). ``run`` is the folder's content when the caller has it in
    memory (:func:`.data.written_run`; default: read from ``folder``). ``latency`` (mean | p50 | p95 |
    p99) is the statistic of the figures' latency axes and the Pareto front (default: the objective's).
    Figures whose inputs did not change since the last report in ``folder`` are reused (:mod:`.cache`).
    Raises ConfigError (one line) when the folder lacks the run's files.
    """
    from sc2sim.atomic import atomic_write_bytes, atomic_write_text
    from sc2sim.report.cache import cached_figures, content_key, write_cache
    from sc2sim.report.data import METRICS, load_run
    from sc2sim.report.html import page
    from sc2sim.report.winners import decide, run_objective

    if latency is not None and latency not in METRICS:
        raise ConfigError(f"--latency: {latency!r} — allowed: {', '.join(LATENCY_METRICS)}")
    run = run if run is not None else load_run(folder)
    objective = run_objective(run.meta)
    metric = METRICS[latency] if latency is not None else objective.column
    w = decide(run.summary, objective)
    fig_dir = Path(folder) / "figures"
    key = content_key(run.summary, run.records, run.meta, metric, objective)
    figs = cached_figures(fig_dir, key)
    if figs is None:
        from sc2sim.report.jobs import MAKERS, all_figures

        figs = all_figures(run, metric, objective, w.maps, w.rule)
        for f in figs:
            atomic_write_bytes(fig_dir / f"{f.key}.png", f.png)
            atomic_write_bytes(fig_dir / f"{f.key}.svg", f.svg)
        for stale in set(MAKERS) - {f.key for f in figs}:  # a figure that no longer applies to this folder's run
            for ext in ("png", "svg"):
                (fig_dir / f"{stale}.{ext}").unlink(missing_ok=True)
        write_cache(fig_dir, key, figs)
    return atomic_write_text(Path(folder) / "report.html", page(run, figs, metric, w))


__all__ = ["LATENCY_METRICS", "build_report"]
