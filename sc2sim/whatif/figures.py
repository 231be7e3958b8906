"""What-if heatmaps: one winner map per edge device (the report's figure, :mod:`sc2sim.report.mapfig`):
rows = mobile devices, columns = uplink bandwidths; a cell's colour and name are its best pipeline by
the scenario's rule, its text the winner's accuracy, p95 latency (the rule's statistic) and device
energy. Cells where no pipeline satisfies the rule are hatched and marked with an x."""

from __future__ import annotations

from sc2sim.cards import published_lines
from sc2sim.report.mapfig import fig_winner_map
from sc2sim.report.render import Figure
from sc2sim.whatif.study import Study

MEASURED = ("accuracy: measured (real predictions on the profiled test samples); latency and energy: modelled "
            "(host-measured stage times mapped onto the device profiles, link and transport model, queueing simulated)")


def _caption(study: Study) -> str:
    sc = study.scenario
    up = sc.network.uplink
    lines = [f"scenario {sc.name} | uplink delay {up.one_way_delay_ms[0]:g} ms, jitter {up.jitter_ms[0]:g} ms, loss "
             f"{up.loss[0]:g}, {sc.network.transport.kind} | {sc.workload.arrival.kind} {sc.workload.arrival.rate_hz[0]:g} "
             f"req/s, {sc.workload.requests} requests per cell and pipeline", MEASURED]
    if study.synthetic:
        lines[0] += " | SYNTHETIC profile: made-up numbers, for testing only"
    if study.published:
        lines[1] = lines[1].replace("accuracy: measured", "accuracy: measured where not marked pub.")
        lines.append("pub. = PUBLISHED, not measured: " + "; ".join(published_lines(study.published)))
    return "\n".join(lines)


def fig_heatmap(study: Study, edge: str) -> Figure | None:
    """The best-pipeline map of one edge device."""
    maps = [m for m in study.winners.maps if m.edge == edge]
    stat = study.winners.objective.latency
    note = (f"Each cell: the best pipeline by the rule ({study.rule}), its accuracy, {stat} latency and mean device "
            "energy per request (compute + radio). Hatched cells marked x: no pipeline satisfies the rule there.")
    return fig_winner_map(maps, study.pipelines, title=f"{study.scenario.name}: best pipeline per mobile device x "
                          f"bandwidth, edge {edge}", rule=study.rule, caption=_caption(study), stat=stat,
                          key=f"whatif-{edge}", energy=True, note=note)


def heatmaps(study: Study) -> list[Figure]:
    """One map per edge device, in the scenario's order."""
    figs = [fig_heatmap(study, e) for e in dict.fromkeys(study.scenario.edge)]
    return [f for f in figs if f is not None]
