"""The ``report`` command: plots and a self-contained HTML page from a ``sc2sim run`` folder (no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def report(
    folder: Path = typer.Argument(..., help="Output folder of `sc2sim run` (summary.json, requests.parquet)."),
    latency: Optional[str] = typer.Option(None, "--latency", help="Latency statistic of the figures and the Pareto "
                                          "front: mean | p50 | p95 | p99 (default: the run's objective's, p95 unless "
                                          "the scenario chose another). The best pipeline always follows the "
                                          "run's objective."),
) -> None:
    """Write FOLDER/report.html (self-contained) and every figure as PNG and SVG in FOLDER/figures/.

    The page opens with the decision rule and the winner maps (best pipeline per mobile device x uplink bandwidth). Figures are reused when the run's data did not change since the last report.
    """
    from sc2sim.report import build_report

    page = build_report(folder, latency=latency)
    n = len(list((Path(folder) / "figures").glob("*.png")))
    print(f"wrote {page} ({n} figures, PNG + SVG in {Path(folder) / 'figures'})")


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""
    app.command()(report)
