"""What-if heatmaps (matplotlib object API on the Agg canvas, the report's style): one figure per edge
device, rows = mobile devices, columns = uplink bandwidths; a cell's colour is its best pipeline and
its text the pipeline, accuracy, p95 latency and device energy. Cells where no pipeline meets the
deadline are hatched and marked with an x."""

from __future__ import annotations

import io
import textwrap

import numpy as np
from matplotlib.figure import Figure as MplFigure

from sc2sim.cards import published_lines
from sc2sim.errors import ConfigError
from sc2sim.naming import parse_name
from sc2sim.report.figures import Figure, colors
from sc2sim.whatif.study import RULE, Study, grid

MEASURED = ("accuracy: measured (real predictions on the profiled test samples); latency and energy: modelled "
            "(host-measured stage times mapped onto the device profiles, link and transport model, queueing simulated)")


_ABBREV = {"quality": "q", "lmbda": "λ", "beta": "β", "point": "pt", "model": "", "arch": ""}


def _short(p: str) -> str:
    """A pipeline name for a heatmap cell: ``offload:jpeg q50``, ``split:sc2bench pt3`` (weights/card dropped)."""
    try:
        family, variant, params = parse_name(p)
    except ConfigError:
        return p
    parts = [f"{_ABBREV.get(k, k + '=')}{v}" for k, v in params.items() if k not in ("weights", "card", "method")]
    return f"{family}:{variant}" + (" " + " ".join(parts) if parts else "")


def fig_heatmap(study: Study, edge: str) -> Figure:
    """The best-pipeline heatmap of one edge device."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch, Rectangle

    pipes = study.pipelines
    col = colors(pipes)
    mobiles, bws, names = grid(study, edge, "best")
    _, _, acc = grid(study, edge, "accuracy")
    _, _, p95 = grid(study, edge, "latency_p95_ms")
    _, _, en = grid(study, edge, "mean_energy_j")
    _, _, meets = grid(study, edge, "meets_deadline")
    _, _, src = grid(study, edge, "accuracy_source")
    idx = np.array([[pipes.index(n) if isinstance(n, str) and n in pipes else -1 for n in row] for row in names])
    fig = MplFigure(figsize=(max(7.5, 2.3 * len(bws) + 3.5), 1.25 * len(mobiles) + 2.4), layout="constrained")
    ax = fig.subplots()
    cmap = ListedColormap([col[p] for p in pipes])
    ax.imshow(np.ma.masked_less(idx, 0), cmap=cmap, vmin=-0.5, vmax=len(pipes) - 0.5, aspect="auto", alpha=0.55)
    for i in range(len(mobiles)):
        for j in range(len(bws)):
            if idx[i, j] < 0:
                continue
            ok = bool(meets[i, j])
            if not ok:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//", ec="#444444", lw=0))
            pub = " pub." if src[i, j] not in ("measured", None) and src[i, j] == src[i, j] else ""
            txt = (f"{'x ' if not ok else ''}{_short(names[i, j])}\n{acc[i, j] * 100:.1f} %{pub} | p95 {p95[i, j]:.3g} ms\n"
                   f"{en[i, j] * 1e3:.3g} mJ")
            ax.text(j, i, txt, ha="center", va="center", fontsize=7.5, color="#111111",
                    fontweight="bold" if ok else "normal")
    ax.set_xticks(range(len(bws)), [f"{b:g}" for b in bws], fontsize=8)
    ax.set_yticks(range(len(mobiles)), mobiles, fontsize=8)
    ax.set_xlabel("uplink bandwidth (Mbit/s)", fontsize=8)
    ax.set_ylabel("mobile device", fontsize=8)
    ax.set_xticks(np.arange(len(bws) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(mobiles) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    ax.set_title(f"deadline {study.deadline_ms:g} ms. Rule: {RULE}", fontsize=8, wrap=True)
    used = [p for p in pipes if p in set(names.ravel().tolist())]
    fig.legend([Patch(color=col[p], alpha=0.55) for p in used], used, loc="outside right center", fontsize=8, frameon=False)
    title = f"{study.scenario.name}: best pipeline per mobile device x bandwidth, edge {edge}"
    note = (f"Each cell: the best pipeline by the rule ({RULE}), its accuracy, p95 latency and mean device energy per "
            "request (compute + radio). Hatched cells marked x: no pipeline meets the deadline there.")
    return _finish(fig, study, f"whatif-{edge}", title, note)


def _finish(fig: MplFigure, study: Study, key: str, title: str, note: str) -> Figure:
    fig.suptitle(title, fontsize=11, fontweight="bold")
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
    width = int(fig.get_figwidth() * 16)
    fig.supxlabel("\n".join(textwrap.fill(line, width) for line in lines), fontsize=7, color="#333333", ha="center")
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=100, metadata={"Software": None})
    fig.set_layout_engine("none")
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return Figure(key, title, note, png.getvalue(), svg.getvalue())


def heatmaps(study: Study) -> list[Figure]:
    """One heatmap per edge device, in the scenario's order."""
    return [fig_heatmap(study, e) for e in dict.fromkeys(study.scenario.edge)]
