"""``whatif.html``: a self-contained page (figures embedded as base64 PNG, no external resources)."""

from __future__ import annotations

from sc2sim.cards import published_lines
from sc2sim.report.html import CSS, _cell, esc, figure_html, table
from sc2sim.report.render import Figure
from sc2sim.whatif.study import Study

BEST_COLS = [("mobile", "mobile", "{}", 1), ("edge", "edge", "{}", 1), ("bandwidth_mbps", "uplink Mbit/s", "{:g}", 1),
             ("best", "best pipeline", "{}", 1), ("accuracy", "accuracy %", "{:.2f}", 100),
             ("latency_p95_ms", "p95 ms", "{:.2f}", 1), ("latency_mean_ms", "mean ms", "{:.2f}", 1),
             ("deadline_hit_rate", "deadline %", "{:.1f}", 100), ("mean_energy_j", "energy mJ", "{:.3g}", 1000),
             ("mean_bytes", "payload B", "{:,.0f}", 1), ("qualifying", "pipelines meeting the rule", "{}", 1),
             ("runner_up", "runner-up", "{}", 1)]


def page(study: Study, figures: list[Figure]) -> str:
    """The whole what-if page."""
    sc = study.scenario
    warn = ('<p class="warn">This study used a <b>synthetic</b> profile table: the numbers are made up and only '
            "exercise the simulator. Do not draw conclusions from them.</p>") if study.synthetic else ""
    pm = study.profile_meta
    facts = [("scenario", sc.name), ("mobile devices", ", ".join(sc.mobile)), ("edge devices", ", ".join(sc.edge)),
             ("uplink", ", ".join(f"{b:g}" for b in sc.network.uplink.bandwidth_mbps) + " Mbit/s"),
             ("pipelines", ", ".join(sc.pipelines)), ("deadline", f"{study.deadline_ms:g} ms"),
             ("profile", f"dataset {pm.get('dataset', '?')}, host {pm.get('host', '?')}, {pm.get('threads', '?')} "
                         f"thread(s), {pm.get('repeats', '?')} repeat(s)")]
    if study.published:
        warn += ('<p class="warn"><b>Published, not measured:</b> the accuracy and payload bytes of the pipelines '
                 "below come from a rate-accuracy card; they were profiled with untrained weights (architecture "
                 "only), so only their compute times and FLOPs are measured. Cells and rows that use them say "
                 "<i>published</i>.</p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in published_lines(study.published))
                 + "</ul>")
    facts_html = table([[f"<td>{esc(k)}</td>", f"<td>{esc(v)}</td>"] for k, v in facts], None)
    verdicts = "<ul>" + "".join(f"<li>{esc(v.text)}</li>" for v in study.verdicts) + "</ul>"
    rows, cls = [], []
    for r in study.best.to_dict("records"):
        cells = [_cell(r[c], f, s) for c, _, f, s in BEST_COLS]
        if r.get("accuracy_source", "measured") != "measured":
            k = [c for c, _, _, _ in BEST_COLS].index("accuracy")
            cells[k] = cells[k].replace("</td>", f" ({esc(r['accuracy_source'])})</td>")
        rows.append(cells)
        cls.append("" if r["qualifies"] else "miss")
    body = [f"<h1>sc2sim what-if: {esc(sc.name)}</h1>", warn, facts_html,
            "<h2>Rule</h2>", f'<p class="rule">{esc(study.rule)}.</p><p>The same rule as <code>sc2sim run</code> '
            "reports (the scenario's <code>objective:</code>). Latency and energy are modelled; accuracy is measured on "
            "the profiled test samples (published, where marked). A switch bandwidth is estimated where a latency curve "
            "crosses the deadline, else where the two curves cross (linear in log bandwidth).</p>",
            "<h2>Verdict</h2>", verdicts, "<h2>Heatmaps</h2>", *(figure_html(f) for f in figures),
            "<h2>Best pipeline per cell</h2><p>Rows where no pipeline satisfies the rule are shaded.</p>",
            table(rows, [h for _, h, _, _ in BEST_COLS], cls)]
    css = CSS + "tr.miss td{background:#fbeaea}\n"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>sc2sim what-if: {esc(sc.name)}</title><style>{css}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
