"""Readability checks of a drawn matplotlib figure: what a person would see as broken.

:func:`figure_problems` runs after the figure has been rendered (its text positions are then final)
and lists, per panel: tick labels that overlap each other, text that overlaps other text in the panel
(value labels, annotations), a legend or a boxed label drawn over data, a panel with axes but nothing
plotted, and any text cut off by the figure's edge. :func:`sc2sim.report.render.finish` runs it on every report and
what-if figure; the report shows what it finds, and the tests require it to find nothing.
"""

from __future__ import annotations

from typing import Any

TOLERANCE_PX = 1.0
"""Boxes that intersect by more than this many pixels in both directions overlap."""


def _overlap(a: Any, b: Any, tol: float = TOLERANCE_PX) -> bool:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w > tol and h > tol


def _name(ax: Any, k: int) -> str:
    title = ax.get_title() or ax.get_title(loc="left") or ax.get_title(loc="right")
    return f"panel {k + 1} ({title.splitlines()[0][:60]!r})" if title else f"panel {k + 1}"


def _has_data(ax: Any) -> bool:
    """Whether the panel draws anything: a line with a finite point, a non-empty collection, a patch
    (bars, boxes), an image."""
    import numpy as np

    for line in ax.get_lines():
        if line.get_visible():
            x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
            if x.size and np.isfinite(x).any() and np.isfinite(y).any():
                return True
    for c in ax.collections:
        if c.get_visible() and (len(c.get_offsets()) or len(c.get_paths())):
            return True
    return any(p.get_visible() for p in ax.patches) or bool(ax.images)


def _tick_labels(axis: Any) -> list[Any]:
    """Every tick label the axis draws (ticks inside the view, major and minor; visible, non-empty)."""
    ticks = axis._update_ticks()  # the ticks inside the view interval, as drawn
    return [lab for t in ticks for lab in (t.label1, t.label2) if lab.get_visible() and lab.get_text().strip()]


def _tick_overlaps(axis: Any, renderer: Any) -> tuple[list[tuple[str, str]], list[tuple[str, Any]]]:
    """(overlapping pairs, (text, box) of every drawn label) of one axis."""
    labels = _tick_labels(axis)
    boxes = [(lab.get_text(), lab.get_window_extent(renderer)) for lab in labels]
    straight = [lab for lab in labels if lab.get_rotation() % 90 == 0]
    rotated = [lab for lab in labels if lab.get_rotation() % 90 != 0]
    pairs = _pairs([(lab.get_text(), lab.get_window_extent(renderer)) for lab in straight])
    return pairs + _rotated_pairs(rotated, renderer), boxes


def _pairs(boxes: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _overlap(boxes[i][1], boxes[j][1]):
                out.append((boxes[i][0], boxes[j][0]))
    return out


def _rotated_pairs(labels: list[Any], renderer: Any) -> list[tuple[str, str]]:
    """Overlapping neighbours among parallel rotated tick labels: their box corners overlap while the
    text does not, so compare the gap between anchors across the text direction with the text height."""
    import math

    pts = sorted(((lab.get_window_extent(renderer), lab) for lab in labels), key=lambda e: e[0].x0)
    out = []
    for (b0, l0), (b1, l1) in zip(pts, pts[1:]):
        theta = math.radians(l0.get_rotation() % 180)
        h = max(l0.get_fontsize(), l1.get_fontsize()) * renderer.points_to_pixels(1.0) * 1.0
        if abs(b1.x1 - b0.x1) * abs(math.sin(theta)) < h:
            out.append((l0.get_text(), l1.get_text()))
    return out


def _summarise(name: str, what: str, pairs: list[tuple[str, str]]) -> list[str]:
    """One problem line per kind: the first pairs and how many there are."""
    if not pairs:
        return []
    shown = "; ".join(f"{a[:40]!r} and {b[:40]!r}" for a, b in pairs[:2])
    more = f" (and {len(pairs) - 2} more pairs)" if len(pairs) > 2 else ""
    return [f"{name}: {what}: {shown}{more}"]


def _covers_lines(ax: Any, box: Any) -> bool:
    """Whether a data point of a line (or marker) of ``ax`` lies inside the window box ``box``."""
    import numpy as np

    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])
        xy = xy[np.isfinite(xy).all(axis=1)]
        if xy.size:
            d = line.get_transform().transform(xy)
            if ((d[:, 0] > box.x0) & (d[:, 0] < box.x1) & (d[:, 1] > box.y0) & (d[:, 1] < box.y1)).any():
                return True
    for c in ax.collections:  # scatter markers
        off = np.asarray(c.get_offsets(), float)
        if c.get_visible() and off.size:
            d = c.get_offset_transform().transform(off)
            if ((d[:, 0] > box.x0) & (d[:, 0] < box.x1) & (d[:, 1] > box.y0) & (d[:, 1] < box.y1)).any():
                return True
    return False


def _legend_covers_data(ax: Any, renderer: Any) -> bool:
    leg = ax.get_legend()
    if leg is None or not leg.get_visible():
        return False
    box = leg.get_window_extent(renderer)
    for p in ax.patches:
        ext = p.get_window_extent(renderer)
        if p.get_visible() and ext.width > 0.5 and ext.height > 0.5 and _overlap(box, ext, 0.5):
            return True
    return _covers_lines(ax, box)


def _boxed_labels_over_lines(ax: Any, renderer: Any) -> list[str]:
    """Texts drawn in a box (annotations) that hide line or marker data."""
    out = []
    for t in ax.texts:
        patch = t.get_bbox_patch()
        if patch is not None and t.get_visible() and t.get_text().strip():
            if _covers_lines(ax, patch.get_window_extent(renderer)):
                out.append(t.get_text().replace("\n", " ")[:40])
    return out


def figure_problems(fig: Any) -> list[str]:
    """What is unreadable in a rendered figure ``fig`` (empty list: nothing found)."""
    renderer = fig.canvas.get_renderer()
    out: list[str] = []
    drawn: list[tuple[str, Any]] = []  # every text the figure draws, for the edge check
    for k, ax in enumerate(a for a in fig.axes if a.get_visible()):
        name = _name(ax, k)
        if ax.axison:
            if not _has_data(ax):
                out.append(f"{name}: empty panel (nothing plotted)")
            for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
                pairs, boxes = _tick_overlaps(axis, renderer)
                drawn += boxes
                out += _summarise(name, f"{which} tick labels overlap", pairs)
            drawn += _boxes([ax.xaxis.label, ax.yaxis.label], renderer)
        texts = _boxes(ax.texts, renderer)
        drawn += texts + _boxes([ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)],
                                renderer)
        out += _summarise(name, "text overlaps text", _pairs(texts))
        if _legend_covers_data(ax, renderer):
            out.append(f"{name}: the legend covers plotted data")
        covering = _boxed_labels_over_lines(ax, renderer)
        if covering:
            out.append(f"{name}: a boxed label covers plotted data: {', '.join(map(repr, covering[:3]))}")
        leg = ax.get_legend()
        if leg is not None:
            drawn += _boxes(leg.get_texts(), renderer)
    drawn += _boxes([*fig.texts, getattr(fig, "_suptitle", None), getattr(fig, "_supxlabel", None)], renderer)
    for leg in fig.legends:
        drawn += _boxes(leg.get_texts(), renderer)
    out += _across_panels(fig, renderer)
    fb = fig.bbox
    cut = [text[:40] for text, e in drawn
           if e.x0 < fb.x0 - 2 or e.x1 > fb.x1 + 2 or e.y0 < fb.y0 - 2 or e.y1 > fb.y1 + 2]
    if cut:
        out.append(f"text cut off by the figure's edge: {', '.join(map(repr, cut[:3]))}"
                   + (f" (and {len(cut) - 3} more)" if len(cut) > 3 else ""))
    return out


def _panel_texts(ax: Any, renderer: Any) -> list[tuple[str, Any]]:
    """Titles, axis labels and drawn tick labels of one panel (what may collide with a neighbour's)."""
    texts = _boxes([ax.title, getattr(ax, "_left_title", None), getattr(ax, "_right_title", None)], renderer)
    if ax.axison:
        texts += _boxes([ax.xaxis.label, ax.yaxis.label], renderer)
        for axis in (ax.xaxis, ax.yaxis):
            texts += [(lab.get_text(), lab.get_window_extent(renderer)) for lab in _tick_labels(axis)
                      if lab.get_rotation() % 90 == 0]
    return texts


def _across_panels(fig: Any, renderer: Any) -> list[str]:
    """Titles and labels of one panel that run into another panel's."""
    import numpy as np

    rows = []
    for k, ax in enumerate(a for a in fig.axes if a.get_visible()):
        rows += [(k, t, b) for t, b in _panel_texts(ax, renderer)]
    if len(rows) < 2:
        return []
    k = np.array([r[0] for r in rows])
    x0, y0, x1, y1 = (np.array([getattr(r[2], a) for r in rows]) for a in ("x0", "y0", "x1", "y1"))
    w = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
    h = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
    hit = (w > TOLERANCE_PX) & (h > TOLERANCE_PX) & (k[:, None] < k[None, :])
    pairs = [(rows[i][1], rows[j][1]) for i, j in zip(*np.nonzero(hit))]
    return _summarise(f"panels {k[0] + 1}-{k[-1] + 1}", "text of one panel runs into another's", pairs)


def _boxes(texts: Any, renderer: Any) -> list[tuple[str, Any]]:
    """(text, window box) of the visible, non-empty texts among ``texts`` (None entries skipped)."""
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts
            if t is not None and t.get_visible() and t.get_text().strip()]
