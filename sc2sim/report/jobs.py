"""Which figures a report draws, and drawing them in parallel (forked workers share the run's data)."""

from __future__ import annotations

from typing import Any

from sc2sim.report.context import caption
from sc2sim.report.data import RunData
from sc2sim.report.figures import fig_breakdown, fig_cdf, fig_latency_vs_bandwidth, fig_pareto, fig_resources
from sc2sim.report.render import Figure
from sc2sim.runs.decision import Objective


def fig_winner_map(run: RunData, objective: Objective, maps: list, rule: str) -> Figure | None:
    """The winner map(s) (see :mod:`sc2sim.report.mapfig`): the report's first figure."""
    from sc2sim.report.mapfig import fig_winner_map as draw

    note = ("Each grid is one edge device (and one combination of the other swept parameters): rows are mobile "
            "devices, columns uplink bandwidths. A cell's colour and name give the best pipeline by the rule above "
            "(neighbouring cells with the same winner merge; the name carries the accuracy), its number the "
            f"winner's {objective.latency} latency. Hatched cells marked x: no pipeline satisfies the rule there "
            "(the fastest is shown).")
    return draw(maps, run.pipelines, title=f"{run.scenario}: the best pipeline per mobile device and uplink",
                rule=rule, caption=caption(run, "winner_map"), stat=objective.latency,
                energy=objective.kind == "energy", note=note)


_JOB: dict[str, Any] = {}
MAKERS = ("winner_map", "pareto", "latency_vs_bandwidth", "cdf", "breakdown", "resources")
"""Figure keys in report order (a figure that does not apply to a run is left out)."""


def draw_figure(key: str) -> Figure | None:
    """Draw one figure of the job set by :func:`all_figures` (module state, so forked workers share it)."""
    run, metric, obj = _JOB["run"], _JOB["metric"], _JOB["objective"]
    if key == "winner_map":
        return fig_winner_map(run, obj, _JOB["maps"], _JOB["rule"])
    if key == "pareto":
        return fig_pareto(run, metric)
    if key == "latency_vs_bandwidth":
        return fig_latency_vs_bandwidth(run, metric, obj)
    return {"cdf": fig_cdf, "breakdown": fig_breakdown, "resources": fig_resources}[key](run)


def all_figures(run: RunData, metric: str, objective: Objective, maps: list, rule: str,
                workers: int | None = None, keys: tuple[str, ...] = MAKERS) -> list[Figure]:
    """The figures ``keys`` that apply to the run, in report order.

    Drawn in ``workers`` forked processes (default: one per core, at most one per figure; rendering
    PNG and SVG is most of a report's time), or here when ``workers`` is 1 or fork is missing.
    """
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    _JOB.update(run=run, metric=metric, objective=objective, maps=maps, rule=rule)
    n = min(len(keys), workers or os.cpu_count() or 1)
    try:
        if n > 1 and "fork" in mp.get_all_start_methods():
            with ProcessPoolExecutor(n, mp_context=mp.get_context("fork")) as pool:
                figs = list(pool.map(draw_figure, keys))
        else:
            figs = [draw_figure(k) for k in keys]
    finally:
        _JOB.clear()
    return [f for f in figs if f is not None]
