"""What every report figure shares: the finished-figure record, pipeline colours, readable log and
bandwidth axes, and the one place a matplotlib figure becomes PNG + SVG bytes (after the readability
checks of :mod:`sc2sim.report.checks`).

Importing this module does not import matplotlib (a report whose figures are cached never needs it).
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Sequence

PNG_DPI = 100
"""Pixels per inch of the PNGs: the page shows them 1:1 (figures are sized in inches for that)."""


@dataclass
class Figure:
    """One finished figure: ``key`` names the files ``figures/KEY.png`` and ``figures/KEY.svg``;
    ``problems`` lists what :func:`sc2sim.report.checks.figure_problems` found (empty when readable)."""

    key: str
    title: str
    note: str
    png: bytes
    svg: bytes
    problems: list[str] = field(default_factory=list)


TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
TAB20 = ("#1f77b4", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896", "#9467bd", "#c5b0d5",
         "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7", "#bcbd22", "#dbdb8d", "#17becf", "#9edae5")
"""matplotlib's tab10 and tab20 palettes, spelled out so the page's tables need no matplotlib."""


def colors(pipelines: Sequence[str]) -> dict[str, tuple]:
    """A stable colour per pipeline (scenario order), as an RGBA tuple of 0-1 floats."""
    pal = TAB10 if len(pipelines) <= 10 else TAB20
    rgba = [tuple(int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)) + (1.0,) for h in pal]
    return {p: rgba[k % len(rgba)] for k, p in enumerate(pipelines)}


def plain_number(v: float) -> str:
    """A tick label without exponents: ``0.05``, ``2``, ``500``, ``2,000``."""
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"


def log_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Major ticks for a log axis spanning [lo, hi]: the densest of 1-2-5, 1-3, decades, every 2nd or
    3rd decade that has at most ``max_ticks`` ticks inside the span (at least two ticks when possible)."""
    if not (lo > 0 and hi > lo and math.isfinite(lo) and math.isfinite(hi)):
        return []
    k0, k1 = math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1
    options = [([1, 2, 5], 1), ([1, 3], 1), ([1], 1), ([1], 2), ([1], 3), ([1], 5)]
    ticks: list[float] = []
    for mants, step in options:
        ticks = [m * 10.0 ** k for k in range(k0, k1 + 1) if k % step == 0 for m in mants]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) <= max(2, max_ticks):
            break
    if len(ticks) < 2:  # a narrow span: evenly spaced round numbers (1, 2 or 5 x a power of ten apart)
        for step in sorted(m * 10.0 ** k for k in range(k0 - 2, k1 + 1) for m in (1, 2, 5)):
            ticks = [round(t * step, 12) for t in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
            if 2 <= len(ticks) <= max(2, max_ticks):
                break
    return ticks


def _axis_inches(ax: Any, which: str) -> float:
    pos = ax.get_position()
    w, h = ax.figure.get_size_inches()
    return max(0.5, pos.width * w if which == "x" else pos.height * h)


def log_axis(ax: Any, which: str, lo: float, hi: float, fontsize: float = 8) -> None:
    """Make ``which`` ('x' or 'y') of ``ax`` a log axis over the data span [lo, hi] with plain-number
    labels at 1-2-5 ticks, as many as fit without touching (no minor ticks)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    per_tick = (0.11 * fontsize / 8 * 5 + 0.1) if which == "x" else 0.28 * fontsize / 8  # inches a label needs
    ticks = log_ticks(lo, hi, int(_axis_inches(ax, which) / per_tick))
    if ticks:
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(_PlainFormatter())
    axis.set_minor_locator(NullLocator())  # the 1-2-5 labels show the scale; minor ticks cost drawing time


class _PlainFormatter:
    """A matplotlib formatter (built lazily so this module imports without matplotlib)."""

    def __new__(cls):  # type: ignore[misc]
        from matplotlib.ticker import FuncFormatter

        return FuncFormatter(lambda v, _pos: plain_number(v))


def bandwidth_axis(ax: Any, values: Sequence[float], fontsize: float = 8) -> None:
    """A log uplink-bandwidth axis ticked at the swept values (plain numbers), thinned so labels fit."""
    from matplotlib.ticker import NullLocator

    v = sorted({float(x) for x in values if x == x and float(x) > 0})
    ax.set_xscale("log")
    ax.set_xlabel("uplink bandwidth (Mbit/s)", fontsize=fontsize)
    ax.xaxis.set_minor_locator(NullLocator())
    if not v:
        return
    keep = thin_log_labels(v, _axis_inches(ax, "x"), fontsize)
    ax.set_xticks(v, [plain_number(x) if x in keep else "" for x in v])


def thin_log_labels(values: Sequence[float], inches: float, fontsize: float = 8) -> set[float]:
    """The values on a log axis of ``inches`` that can carry a label without overlap (greedy, left to
    right, first and last preferred), assuming labels ~0.6 em per character plus a gap."""
    v = sorted(values)
    if len(v) < 2:
        return set(v)
    span = math.log10(v[-1]) - math.log10(v[0]) or 1.0
    pos = [(math.log10(x) - math.log10(v[0])) / span * inches for x in v]
    width = [len(plain_number(x)) * 0.6 * fontsize / 72 + 0.08 for x in v]
    keep = [len(v) - 1]
    for i in range(len(v) - 2, -1, -1):  # from the right so the last one is always kept
        j = keep[-1]
        if pos[j] - pos[i] >= (width[i] + width[j]) / 2:
            keep.append(i)
    if 0 not in keep and len(keep) > 1:  # prefer the first label over its right neighbour
        keep[-1] = 0 if pos[keep[-2]] - pos[0] >= (width[0] + width[keep[-2]]) / 2 else keep[-1]
    return {v[i] for i in keep}


def finish(fig: Any, key: str, title: str, note: str, caption: str, *, subtitle: str = "",
           svg: bool = True) -> Figure:
    """Title, caption (wrapped to the figure's width), PNG and SVG bytes, and the readability checks."""
    from sc2sim.report.checks import figure_problems

    if subtitle:  # two lines: the title and, in the same normal weight (one style per text), the subtitle
        fig.suptitle(f"{title}\n{subtitle}", fontsize=11)
    else:
        fig.suptitle(title, fontsize=12, fontweight="bold")
    width = int(fig.get_figwidth() * 16)  # characters of 7-pt text per line
    text = "\n".join(textwrap.fill(line, width) for line in caption.split("\n"))
    fig.supxlabel(text, fontsize=7, color="#333333", ha="center")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # the checks measure text on the Agg canvas the PNG is drawn with
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    problems = [f"{key}: {p}" for p in figure_problems(fig)]
    out = io.BytesIO()
    if svg:
        from matplotlib import rc_context

        fig.set_layout_engine("none")  # the layout is settled: the SVG pass need not solve it again
        with rc_context({"svg.fonttype": "none"}):  # text as <text>, not glyph paths: faster, smaller, editable
            fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return Figure(key, title, note, png.getvalue(), out.getvalue(), problems)
