"""Helpers shared by the commands: reading options, getting a scenario's profile, and the one ending
of every command that writes a run folder (``run``, ``sweep``, ``emulate``).

Imports stay light at module level (no torch): the profiler is imported only when something must be
measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sc2sim.errors import ConfigError


def parse_samples(text: str, option: str = "--samples") -> int | None:
    """``--samples``-style value: a positive integer, or ``all`` (None: the whole test set)."""
    if text.strip().lower() == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n <= 0:
        raise ConfigError(f"{option}: {text!r} — allowed: a positive integer or 'all'")
    return n


def summary_table(summary: Any, title: str) -> Any:
    """The summary rows as a rich table (accuracy and deadline hits in %, energy in mJ)."""
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    cols = [("point", "point", "{}"), ("pipeline", "pipeline", "{}"), ("accuracy", "acc %", "{:.1f}"),
            ("latency_p50_ms", "p50 ms", "{:.1f}"), ("latency_p95_ms", "p95 ms", "{:.1f}"),
            ("latency_p99_ms", "p99 ms", "{:.1f}"), ("deadline_hit_rate", "deadline %", "{:.1f}"),
            ("mean_bytes", "bytes", "{:.0f}"), ("mean_energy_j", "energy mJ", "{:.1f}"),
            ("throughput_rps", "req/s", "{:.1f}"), ("engine", "engine", "{}")]
    for _, head, _ in cols:
        t.add_column(head, justify="left" if head in ("point", "pipeline", "engine") else "right", no_wrap=True)
    scale = {"accuracy": 100, "deadline_hit_rate": 100, "mean_energy_j": 1000}
    for row in summary.to_dict("records"):
        cells = []
        for key, _, fmt in cols:
            v = row.get(key)
            if v is None or (isinstance(v, float) and v != v):
                cells.append("-")
            else:
                cells.append(fmt.format(v * scale.get(key, 1)) if isinstance(v, (int, float)) else str(v))
        t.add_row(*cells)
    return t


FULL_TABLE_ROWS = 48
"""A run's summary with more rows than this is printed as one row per point, its best pipeline by the
run's decision rule (a 288-row table is unreadable in a terminal and took 0.34-0.43 s to render);
every row is in ``summary.csv``."""


def best_table(summary: Any, meta: dict[str, Any], title: str) -> Any:
    """One row per sweep point: the best pipeline by the run's decision rule (``meta["objective"]``),
    its accuracy, latency at the rule's statistic, deadline hits, bytes and energy, and the runner-up."""
    from rich.table import Table

    from sc2sim.report.winners import rule_text, run_objective
    from sc2sim.runs.decision import best_per_point

    obj = run_objective(meta)
    best = best_per_point(summary, obj)
    caption = f"{rule_text(obj, summary)}. acc %: the accuracy the rule ranks by (the whole test set's where profiled)"
    margin = meta.get("close_margin")
    if margin and "close" in best:
        caption += (f". *: a close call, another pipeline wins with every stage time {100 * margin:.0f} % against the "
                    f"winner ({int(best['close'].sum())} of {len(best)} points)")
    t = Table(title=title, caption=caption, show_lines=False)
    for head in ("point", "best pipeline", "acc %", f"{obj.latency} ms", "deadline %", "bytes", "energy mJ", "runner-up"):
        t.add_column(head, justify="left" if head in ("point", "best pipeline", "runner-up") else "right", no_wrap=True)
    for r in best.to_dict("records"):
        hit = r["deadline_hit_rate"]
        star = " *" if margin and r.get("close") is True else ""
        t.add_row(str(r["point"]), r["best"] + star + ("" if r["qualifies"] else " (none meets the rule)"),
                  f"{100 * r['accuracy']:.1f}", f"{r['latency_ms']:.1f}", "-" if hit != hit else f"{100 * hit:.1f}",
                  f"{r['mean_bytes']:.0f}", f"{1000 * r['mean_energy_j']:.1f}", r["runner_up"] or "-")
    return t


def label_published(result: Any, table: Any) -> None:
    """Put a published card's exact accuracy (and bytes) on architecture-only pipelines' summary rows,
    with ``accuracy_source``/``bytes_source`` columns (see :mod:`sc2sim.cards`)."""
    from sc2sim.cards import published_meta, with_published

    result.summary = with_published(result.summary, published_meta(table.attrs.get("sc2sim", {})))


def warn_threads(err: Any, meta: dict) -> None:
    """Warn when the profile's thread count differs from the one host.yaml was calibrated with."""
    from sc2sim.devices import load_device

    cal = load_device("host").calibration or {}
    if meta.get("threads") and cal.get("threads") and int(meta["threads"]) != int(cal["threads"]):
        err.print(f"[yellow]warning:[/] the profile was measured with {meta['threads']} thread(s) but host.yaml was "
                  f"calibrated with {cal['threads']}; device times assume per-core scaling (see sc2sim/devices/compute.py)")


def progress_bar(verb: str, err: Any, enabled: bool) -> Any:
    """A transient rich progress bar on stderr: ``verb``, bar, done/total, elapsed, current item."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(verb), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=err, disable=not enabled, transient=True)


def finish_run(out: Path, result: Any, meta: dict[str, Any], *, title: str, done_line: str,
               quiet: bool, report: bool, err: Any) -> None:
    """The ending every run-folder command shares: write the files atomically, print the summary table
    (unless ``quiet``; :func:`best_table` for more than :data:`FULL_TABLE_ROWS` rows) and
    ``done_line`` plus the files, and build the report (if ``report``)."""
    from rich.console import Console

    from sc2sim.runs import write_results

    written = write_results(out, result, meta)
    if not quiet:
        con = Console()
        if not con.is_terminal:  # logs and pipes: do not squeeze the table into 80 columns
            con = Console(width=200)
        rows = len(result.summary)
        if rows <= FULL_TABLE_ROWS:
            con.print(summary_table(result.summary, title))
        else:
            con.print(best_table(result.summary, meta, f"{title}: the best pipeline at each point "
                                                       f"(all {rows} rows: {out / 'summary.csv'})"))
    err.print(f"{done_line}; wrote " + ", ".join(str(p) for p in written))
    if report:
        from sc2sim.report import build_report
        from sc2sim.report.data import written_run

        err.print(f"report: {build_report(out, run=written_run(out, result, meta))}")
