"""``sc2sim whatif``: the best pipeline for every mobile device x edge device x uplink bandwidth (no torch).

:mod:`.study` builds the grid scenario, simulates it and applies sc2sim's one decision rule
(:mod:`sc2sim.runs.decision`, the scenario's ``objective``);
:mod:`.figures` draws one heatmap per edge device; :mod:`.html` writes ``whatif.html``.
:func:`write_study` writes everything into a folder: ``whatif.html``, ``whatif-EDGE.png|svg``,
``best.csv`` (one row per cell), ``summary.csv`` (every cell x pipeline) and ``verdict.txt``.
"""

from __future__ import annotations

from pathlib import Path

from sc2sim.whatif.study import BEST_COLUMNS, DEFAULT_PIPELINES, Study, run_study, study_scenario


def verdict_lines(study: Study) -> list[str]:
    """The rule, one verdict per (mobile, edge) and, for architecture-only pipelines, what is published."""
    from sc2sim.cards import published_lines

    lines = [f"rule: {study.rule}", *(v.text for v in study.verdicts)]
    if study.published:
        lines += ["published, not measured (accuracy and bytes from a rate-accuracy card; times measured with "
                  "untrained weights):", *(f"  {x}" for x in published_lines(study.published))]
    return lines


def write_study(study: Study, out_dir: str | Path) -> list[Path]:
    """Write the study's files atomically into ``out_dir``; returns their paths."""
    from sc2sim.atomic import atomic_write, atomic_write_bytes, atomic_write_text
    from sc2sim.whatif.figures import heatmaps
    from sc2sim.whatif.html import page

    out = Path(out_dir)
    figs = heatmaps(study)
    written = []
    for f in figs:
        written.append(atomic_write_bytes(out / f"{f.key}.png", f.png))
        written.append(atomic_write_bytes(out / f"{f.key}.svg", f.svg))
    written.append(atomic_write(out / "best.csv", lambda t: study.best.to_csv(t, index=False, float_format="%.6g")))
    written.append(atomic_write(out / "summary.csv", lambda t: study.summary.to_csv(t, index=False, float_format="%.6g")))
    written.append(atomic_write_text(out / "verdict.txt", "".join(line + "\n" for line in verdict_lines(study))))
    written.append(atomic_write_text(out / "whatif.html", page(study, figs)))
    return written


__all__ = ["BEST_COLUMNS", "DEFAULT_PIPELINES", "Study", "run_study", "study_scenario", "verdict_lines", "write_study"]
