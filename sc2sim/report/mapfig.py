"""The winner-map figure: per edge device, a grid of mobile devices (rows) x uplink bandwidths (columns)
whose cells are coloured by the best pipeline (by the run's decision rule). Neighbouring cells with the
same winner merge into one band that names the pipeline and its accuracy once; every cell gives the
winner's latency at the rule's statistic (and energy, if asked). Cells where no pipeline satisfies the
rule are hatched and marked x. Used by the report (``figures/winner_map.png``) and by ``sc2sim whatif``.
"""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

from sc2sim.report.render import Figure, colors, finish
from sc2sim.report.winners import WinnerMap, short_name

MAX_MAPS = 6
MAX_COLS = 16
CELL_W, ROW_H = 1.0, 1.05  # inches
NAME_PT, CELL_PT = 8.5, 8.0


def _spread(items: list, k: int) -> list:
    if len(items) <= k:
        return items
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


def _wrap_name(name: str, inches: float) -> str:
    """Wrap a short pipeline name to ``inches`` of NAME_PT text (break after ``:`` first)."""
    per_line = max(6, int(inches / (0.58 * NAME_PT / 72)))
    if len(name) <= per_line:
        return name
    head, _, tail = name.partition(":")
    lines = [head + ":"] + textwrap.wrap(tail, per_line, break_on_hyphens=False) if tail else textwrap.wrap(name, per_line)
    return "\n".join(lines)


def _pct(r: dict) -> str:
    pub = " pub." if r.get("accuracy_source", "measured") not in ("measured", None, "") else ""
    return f"{r['accuracy'] * 100:.1f} %{pub}"


def _draw_map(ax: Any, m: WinnerMap, cols: list, col: dict, stat: str, energy: bool) -> None:
    from matplotlib.patches import Rectangle

    for i, mobile in enumerate(m.rows):
        cells = [m.cells.get((mobile, c)) for c in cols]
        j = 0
        while j < len(cols):
            if cells[j] is None:
                j += 1
                continue
            k = j
            while k + 1 < len(cols) and cells[k + 1] is not None and cells[k + 1]["best"] == cells[j]["best"]:
                k += 1
            seg = cells[j:k + 1]
            p = cells[j]["best"]
            ax.add_patch(Rectangle((j - 0.47, i - 0.45), k - j + 0.94, 0.9, fc=col.get(p, "#cccccc"), alpha=0.45,
                                   ec=col.get(p, "#999999"), lw=1.2))
            same_acc = len({_pct(r) for r in seg}) == 1
            label = _wrap_name(short_name(p), (k - j + 1) * CELL_W - 0.1) + (f"\n{_pct(seg[0])}" if same_acc else "")
            ax.text((j + k) / 2, i - 0.17, label, ha="center", va="center", fontsize=NAME_PT, fontweight="bold",
                    color="#111111", linespacing=1.15)
            for jj, r in zip(range(j, k + 1), seg):
                miss = not r["qualifies"]
                if miss:
                    ax.add_patch(Rectangle((jj - 0.47, i - 0.45), 0.94, 0.9, fill=False, hatch="//", ec="#555555", lw=0))
                lines = [("x " if miss else "") + f"{stat} {r['latency_ms']:.3g} ms"]
                if not same_acc:
                    lines.insert(0, _pct(r))
                if energy:
                    lines.append(f"{r['mean_energy_j'] * 1e3:.3g} mJ")
                ax.text(jj, i + 0.27, "\n".join(lines), ha="center", va="center", fontsize=CELL_PT, color="#111111",
                        linespacing=1.1, bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.6}
                        if miss else None)
            j = k + 1
    ax.set_xlim(-0.5, len(cols) - 0.5)
    ax.set_ylim(len(m.rows) - 0.5, -0.5)
    labels = [m.col_text(c) for c in cols]
    if not m.numeric:
        labels = ["\n".join(textwrap.wrap(t, 14)) for t in labels]
    ax.set_xticks(range(len(cols)), labels, fontsize=8.5)
    ax.set_yticks(range(len(m.rows)), m.rows, fontsize=9)
    ax.set_xlabel(m.col_label, fontsize=9)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    ax.set_title(m.title, loc="left", fontsize=10, fontweight="bold")


def fig_winner_map(maps: list[WinnerMap], pipelines: Sequence[str], *, title: str, rule: str, caption: str,
                   stat: str, key: str = "winner_map", energy: bool = False, note: str = "") -> Figure | None:
    """The winner-map figure of ``maps`` (at most :data:`MAX_MAPS`, each at most :data:`MAX_COLS`
    columns, spread over the sweep; the caption says when some are left out); None without maps."""
    from matplotlib.figure import Figure as MplFigure

    if not maps:
        return None
    shown = _spread(maps, MAX_MAPS)
    cols = {id(m): _spread(m.cols, MAX_COLS) for m in shown}
    ncols = max(len(c) for c in cols.values())
    label_w = max(len(r) for m in shown for r in m.rows) * 0.075 + 0.45
    width = max(7.5, label_w + ncols * CELL_W + 0.4)
    heights = [len(m.rows) * ROW_H + (1.05 if m.numeric else 1.35) for m in shown]
    wrap = int(width * 72 / (0.62 * 11))  # characters per line of the 11-pt subtitle (average glyph ~0.6 em)
    sub = textwrap.fill(rule, wrap)
    fig = MplFigure(figsize=(width, sum(heights) + 0.5 + 0.2 * sub.count("\n") + 0.8), layout="constrained")
    axes = fig.subplots(len(shown), 1, squeeze=False, height_ratios=heights).ravel()
    col = colors(pipelines)
    for ax, m in zip(axes, shown):
        _draw_map(ax, m, cols[id(m)], col, stat, energy)
    left = []
    if len(shown) < len(maps):
        left.append(f"{len(shown)} of {len(maps)} maps shown (spread over the sweep); all are in the report's tables")
    if any(len(cols[id(m)]) < len(m.cols) for m in shown):
        left.append(f"at most {MAX_COLS} columns per map shown")
    cap = caption + ("\n" + "; ".join(left) + "." if left else "")
    return finish(fig, key, title, note, cap, subtitle=sub)
