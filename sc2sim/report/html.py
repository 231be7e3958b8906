"""The self-contained HTML page: figures embedded as base64 PNG, tables inline, no external resources."""

from __future__ import annotations

import base64
import html
import math
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.report.context import devices_line, header_line, provenance
from sc2sim.report.data import COMPONENTS, RunData, breakdown, pareto_front, sweep_axes
from sc2sim.report.render import Figure
from sc2sim.report.winners import Verdict, WinnerMap, Winners, short_name

CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1400px;color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #ddd}
.sub{color:#555;margin-top:0} .warn{background:#fff3cd;border:1px solid #e0c060;padding:.5em 1em}
table{border-collapse:collapse;font-size:.82em;margin:.5em 0} th,td{border:1px solid #ccc;padding:2px 6px}
th{background:#f3f3f3;position:sticky;top:0} td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.win td{background:#eaf6ea} figure{margin:1em 0;border:1px solid #eee;padding:.5em}
figure img{max-width:100%;height:auto;display:block} figcaption{font-size:.85em;color:#444}
.prov td:first-child{font-weight:bold;white-space:nowrap} code{background:#f5f5f5;padding:0 2px}
.rule{background:#eef4fb;border:1px solid #9bb8d8;padding:.5em 1em} .bad{color:#a00}
table.map td{text-align:center;min-width:7em;line-height:1.25} table.map th{text-align:center}
table.map td.miss{background-image:repeating-linear-gradient(45deg,transparent 0 6px,rgba(0,0,0,.13) 6px 8px)}
"""

SUMMARY_COLS = [  # (column, header, format, scale)
    ("point", "point", "{}", 1), ("pipeline", "pipeline", "{}", 1), ("strategy", "strategy", "{}", 1),
    ("accuracy", "accuracy %", "{:.2f}", 100), ("latency_mean_ms", "mean ms", "{:.2f}", 1),
    ("latency_p50_ms", "p50 ms", "{:.2f}", 1), ("latency_p95_ms", "p95 ms", "{:.2f}", 1),
    ("latency_p99_ms", "p99 ms", "{:.2f}", 1), ("deadline_hit_rate", "deadline %", "{:.1f}", 100),
    ("throughput_rps", "req/s", "{:.2f}", 1), ("mean_bytes", "payload B", "{:,.0f}", 1),
    ("mean_wire_bytes", "wire B", "{:,.0f}", 1), ("mean_energy_j", "energy mJ", "{:.2f}", 1000),
    ("requests", "requests", "{:,}", 1), ("engine", "engine", "{}", 1),
]


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _cell(v: Any, fmt: str, scale: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return '<td class="n">-</td>'
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return f'<td class="n">{esc(fmt.format(v * scale if scale != 1 else v))}</td>'
    return f"<td>{esc(v)}</td>"


def table(rows: list[list[str]], head: list[str] | None, row_class: list[str] | None = None) -> str:
    """An HTML table from already-rendered ``<td>`` cells (no header row when ``head`` is None)."""
    out = ["<table>"] + (["<thead><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr></thead>"] if head else []) + ["<tbody>"]
    for k, r in enumerate(rows):
        cls = f' class="{row_class[k]}"' if row_class and row_class[k] else ""
        out.append(f"<tr{cls}>" + "".join(r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def summary_table(run: RunData, metric: str, best: pd.DataFrame) -> str:
    """The summary (one row per point x pipeline) with the Pareto front (at ``metric``) and the best
    pipeline by the run's rule (``best``: :func:`sc2sim.report.winners.best_table`) marked."""
    s = run.summary.sort_values("point_index", kind="stable").copy()
    extra = sweep_axes(s)
    win = set(zip(best["point"], best["best"])) if len(best) else set()
    front = pd.Series(False, index=s.index)
    for _, g in s.groupby("point", sort=False):
        front[g.index] = pareto_front(g[metric].to_numpy(float), g["accuracy"].to_numpy(float))
    cols = [c for c in SUMMARY_COLS if c[0] in s.columns]
    head = [h for _, h, _, _ in cols[:1]] + extra + [h for _, h, _, _ in cols[1:]] + ["Pareto", "best"]
    rows, cls = [], []
    for i, r in zip(s.index, s.to_dict("records")):  # plain dicts: 288 rows in ~10 ms, not iterrows' ~0.1 s
        cells = [_cell(r[cols[0][0]], "{}", 1)] + [_cell(r[a], "{:g}" if isinstance(r[a], float) else "{}", 1) for a in extra]
        cells += [_cell(r[c], f, sc) for c, _, f, sc in cols[1:]]
        _mark_published(cells, [c for c, _, _, _ in cols[1:]], r, 1 + len(extra))
        is_win = (r["point"], r["pipeline"]) in win
        cells += [f"<td>{'yes' if front[i] else ''}</td>", f"<td>{'yes' if is_win else ''}</td>"]
        rows.append(cells)
        cls.append("win" if is_win else "")
    return table(rows, head, cls)


def _mark_published(cells: list[str], names: list[str], r: Any, offset: int) -> None:
    """Append ``(published)`` to the accuracy and bytes cells of a row whose numbers come from a card."""
    for col, src in (("accuracy", "accuracy_source"), ("mean_bytes", "bytes_source")):
        kind = r.get(src, "measured") if hasattr(r, "get") else "measured"
        if col in names and isinstance(kind, str) and kind != "measured":
            k = offset + names.index(col)
            cells[k] = cells[k].replace("</td>", f" ({esc(kind)})</td>")


def published_html(run: RunData) -> str:
    """A notice listing the architecture-only pipelines whose accuracy and bytes are published, with the source."""
    from sc2sim.cards import published_lines

    if not run.published:
        return ""
    return ('<p class="warn"><b>Published, not measured:</b> these pipelines were profiled with untrained weights '
            "(architecture only): their compute times and FLOPs are measured, their accuracy and payload bytes come "
            "from a rate-accuracy card and are marked <i>published</i> in the tables.</p><ul>"
            + "".join(f"<li>{esc(x)}</li>" for x in published_lines(run.published)) + "</ul>")


def breakdown_table(run: RunData) -> str:
    """Mean latency parts (ms) per point x pipeline; they sum to the mean latency."""
    bd = breakdown(run.records)
    names = [c[0] for c in COMPONENTS]
    rows = []
    for r in bd.to_dict("records"):
        total = sum(r[n] for n in names)
        rows.append([_cell(r["point"], "{}", 1), _cell(r["pipeline"], "{}", 1)] + [_cell(r[n], "{:.3f}", 1) for n in names]
                    + [_cell(total, "{:.3f}", 1), _cell(r["latency_mean_ms"], "{:.3f}", 1)])
    return table(rows, ["point", "pipeline", *(f"{n} ms" for n in names), "sum of parts ms", "mean latency ms"])


def _term_cell(stage_ms: Any, dominant: Any, share: Any) -> str:
    if not dominant or stage_ms is None or not math.isfinite(float(stage_ms)):
        return "<td>-</td>"
    pct = "" if share is None or not math.isfinite(float(share)) else f" {float(share) * 100:.0f} %"
    return f'<td class="num">{float(stage_ms):.3g} ms, {esc(dominant)}{pct}</td>'


def terms_table(run: RunData) -> str:
    """Per pipeline, the modelled batch-1 time of its device stage on each mobile device and of its edge
    stage on each edge device, with the cost-model term that dominates it (summary columns of
    :mod:`sc2sim.sim.terms`); empty for runs without them (emulation, older runs)."""
    s = run.summary
    if "mobile_dominant" not in s.columns:
        return ""
    sides = [("mobile", m, "device side on") for m in dict.fromkeys(s["mobile"].astype(str))]
    sides += [("edge", e, "edge side on") for e in dict.fromkeys(s["edge"].astype(str))]
    first = s.drop_duplicates(["pipeline", "mobile", "edge"]).to_dict("records")
    rows = []
    for p in run.pipelines:
        cells = [f"<td>{esc(p)}</td>"]
        for side, dev, _ in sides:
            r = next((x for x in first if x["pipeline"] == p and str(x[side]) == dev), None)
            cells.append("<td>-</td>" if r is None else
                         _term_cell(r.get(f"{side}_stage_ms"), r.get(f"{side}_dominant"), r.get(f"{side}_dominant_share")))
        rows.append(cells)
    return table(rows, ["pipeline", *(f"{label} {dev}" for _, dev, label in sides)])


def _tint(rgba: tuple, amount: float = 0.4) -> str:
    """A light hex tint of a matplotlib colour (``amount`` of the colour over white)."""
    r, g, b = (round(255 * (1 - amount + amount * c)) for c in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def _pct(r: dict) -> str:
    pub = f" ({esc(r['accuracy_source'])})" if r.get("accuracy_source", "measured") != "measured" else ""
    return f"{r['accuracy'] * 100:.2f} %{pub}"


def map_tables_html(maps: list[WinnerMap], tints: dict[str, str], stat: str, energy: bool = False) -> str:
    """Each winner map as a table: rows mobile devices, columns bandwidths (or other parameters); a cell
    names the best pipeline, its accuracy and its latency at the rule's statistic (and its device energy
    per request when ``energy``)."""
    out = []
    for m in maps:
        head = f"<tr><th>mobile \\ {esc(m.col_label)}</th>" + "".join(f"<th>{esc(m.col_text(c))}</th>" for c in m.cols)
        rows = []
        for mobile in m.rows:
            cells = [f"<th>{esc(mobile)}</th>"]
            for c in m.cols:
                r = m.cells.get((mobile, c))
                if r is None:
                    cells.append("<td>-</td>")
                    continue
                miss = not r["qualifies"]
                cells.append(f'<td class="{"miss" if miss else ""}" style="background-color:{tints.get(r["best"], "#fff")}" '
                             f'title="{esc(r["best"])}"><b>{esc(short_name(r["best"]))}</b><br>{_pct(r)}<br>'
                             f'{"<span class=bad>x</span> " if miss else ""}{stat} {r["latency_ms"]:.3g} ms'
                             + (f'<br>{r["mean_energy_j"] * 1e3:.3g} mJ' if energy else "") + "</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        out.append(f"<h3>{esc(m.title)}</h3><table class=\"map\"><thead>{head}</tr></thead><tbody>{''.join(rows)}"
                   "</tbody></table>")
    return "".join(out)


def verdicts_html(verdicts: list[Verdict]) -> str:
    """Where the winner changes along bandwidth, one line per map row."""
    if not verdicts:
        return ""
    return ("<p><b>Where the winner changes</b> (switch bandwidths estimated between the swept values, see the "
            "latency-vs-bandwidth figure):</p><ul>" + "".join(f"<li>{esc(v.text)}</li>" for v in verdicts) + "</ul>")


def point_winners_html(best: pd.DataFrame, stat: str, open_: bool, margin: float | None = None) -> str:
    """The best pipeline at every sweep point, in words (a collapsible list); with the close-call check
    run at ``margin`` (:func:`sc2sim.runs.decision.close_calls`), the points whose winner would not survive it."""
    items = []
    for r in best.to_dict("records"):
        miss = "" if r["qualifies"] else " <span class=bad>(no pipeline satisfies the rule here: the fastest)</span>"
        runner = f"; runner-up <code>{esc(r['runner_up'])}</code>" if r["runner_up"] else ""
        close = (f" <span class=bad>Close call: with every stage time {100 * margin:.0f} % against it, another pipeline "
                 "wins.</span>" if margin and r.get("close") is True else "")
        items.append(f"<li><b>{esc(r['point'])}</b>: <code>{esc(r['best'])}</code> ({esc(r['strategy'])}), "
                     f"{_pct(r)} accuracy, {stat} {r['latency_ms']:.2f} ms{miss}{runner}.{close}</li>")
    n_close = int(best["close"].sum()) if margin and "close" in best else None
    checked = ("" if n_close is None else f"; {n_close} close call(s) at a {100 * margin:.0f} % margin on stage times")
    return (f"<details{' open' if open_ or n_close else ''}><summary>Best pipeline at each of the {len(best)} sweep "
            f"points{checked}</summary><ul>{''.join(items)}</ul></details>")


def figure_html(fig: Figure, files: str = "figures/") -> str:
    """One figure as an embedded PNG with its caption (and what the readability checks found, if anything)."""
    b64 = base64.b64encode(fig.png).decode("ascii")
    problems = (f'<p class="warn">Figure check: {esc("; ".join(fig.problems))}</p>' if fig.problems else "")
    return (f'<figure id="{esc(fig.key)}"><img src="data:image/png;base64,{b64}" alt="{esc(fig.title)}">'
            f"<figcaption><b>{esc(fig.title)}</b>. {esc(fig.note)} Files: <code>{files}{esc(fig.key)}.png</code>, "
            f"<code>{files}{esc(fig.key)}.svg</code>.</figcaption>{problems}</figure>")


def winners_html(run: RunData, w: Winners, has_figure: bool) -> str:
    """The top of the report: the winner maps as tables, where the winner changes, every point's winner."""
    from sc2sim.report.render import colors

    tints = {p: _tint(c) for p, c in colors(run.pipelines).items()}
    stat = w.objective.latency
    numeric = any(m.numeric for m in w.maps)
    fig = (' The same maps as a figure: <a href="#winner_map">below</a> (<code>figures/winner_map.png</code>).'
           if has_figure else "")
    intro = ("<p>Each table is one edge device" + (" and one combination of the other swept parameters" if
             any(m.where for m in w.maps) else "") + ": rows are mobile devices, columns "
             + ("uplink bandwidths (Mbit/s)" if numeric else "the swept link and workload parameters")
             + f". A cell names the best pipeline by the rule, its accuracy and its {stat} latency; hatched cells "
             f"marked <span class=bad>x</span>: no pipeline satisfies the rule there (the fastest is shown).{fig}</p>")
    return (intro + map_tables_html(w.maps, tints, stat, energy=w.objective.kind == "energy") + verdicts_html(w.verdicts)
            + point_winners_html(w.best, stat, open_=not numeric, margin=run.meta.get("close_margin")))


def page(run: RunData, figures: list[Figure], metric: str, w: Winners) -> str:
    """The whole report page: the rule and the winner maps first, then the run's facts, figures and tables."""
    m = run.meta
    pm = m.get("profile_meta") or {}
    facts = [("scenario", run.scenario), ("scenario file", m.get("scenario_file", "?")),
             ("devices and network", devices_line(run)), ("sweep", ", ".join(sweep_axes(run.summary)) or "none (one point)"),
             ("points x pipelines", f"{len(run.points)} x {len(run.pipelines)}"),
             ("profile", f"{m.get('profile', '?')} (dataset {pm.get('dataset', '?')}, host {pm.get('host', '?')}, "
                         f"{pm.get('threads', '?')} thread(s), {pm.get('repeats', '?')} repeat(s))"),
             ("engine", m.get("engine", "?")), ("created", f"{m.get('created', '?')} on {m.get('host', '?')}")]
    facts_html = table([[f"<td>{esc(k)}</td>", f"<td>{esc(v)}</td>"] for k, v in facts], None)
    prov = table([[f"<td>{esc(k)}</td>", f"<td>{esc(v)}</td>"] for k, v in provenance(run).items()], ["figure", "measured / modelled"])
    warn = ('<p class="warn">This run used a <b>synthetic</b> profile table: the numbers are made up and only exercise '
            "the simulator. Do not draw conclusions from them.</p>") if run.synthetic else ""
    recorded = "" if isinstance(m.get("objective"), dict) else " (this run recorded no objective: the default rule)"
    body = [
        f"<h1>sc2sim report: {esc(run.scenario)}</h1>", f'<p class="sub">{esc(header_line(run))}</p>', warn,
        f'<p class="rule"><b>Rule</b>{esc(recorded)}: {esc(w.rule)}.</p>',
        "<h2>Best pipeline per mobile device and uplink</h2>",
        winners_html(run, w, any(f.key == "winner_map" for f in figures)),
        published_html(run), "<h2>Run</h2>", facts_html,
        "<h2>Measured and modelled</h2>",
        "<p><b>Measured</b> on this host: payload bytes (exact bitstreams), accuracy (real predictions), host stage "
        "times. <b>Modelled</b>: device compute times (host times mapped onto the device profiles), the links and "
        "transport, queueing (simulated), device energy.</p>", prov,
        *(["<h2>Where the modelled compute time goes</h2><p>Each stage at batch size 1 (the median timed sample's "
           "codec time) by the cost model of <code>sc2sim/devices/cost_model.py</code>: its modelled time and the "
           "term that contributes most (dispatch or launch of operators, arithmetic, memory traffic, codec, copy, "
           "fixed cost per call) with its share. Dispatch-bound stages gain little from a faster processor, "
           "arithmetic-bound ones scale with its throughput.</p>", terms] if (terms := terms_table(run)) else []),
        "<h2>Figures</h2>", *(figure_html(f) for f in figures),
        "<h2>Summary</h2><p>One row per point x pipeline (as in <code>summary.csv</code>). <i>Pareto</i>: on the "
        f"latency-accuracy front of its point ({esc(metric.split('_')[1])} latency); <i>best</i>: the best pipeline "
        "at its point by the rule above (highlighted).</p>",
        summary_table(run, metric, w.best),
        "<h2>Latency breakdown</h2><p>Mean of each part over the point's requests, from the record timestamps "
        "(see the breakdown figure for the derivation).</p>", breakdown_table(run),
    ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>sc2sim report: {esc(run.scenario)}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
