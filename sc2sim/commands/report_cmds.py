"""The ``report`` command: plots and a self-contained HTML page from a ``sc2sim run`` folder (no torch)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``report`` to the app."""

    @app.command()
    def report(
        folder: Path = typer.Argument(..., help="Output folder of `sc2sim run` (summary.json, requests.parquet)."),
        latency: str = typer.Option("mean", "--latency", help="Latency statistic of the Pareto front, winners and crossovers: mean | p50 | p95 | p99."),
    ) -> None:
        """Write FOLDER/report.html (self-contained) and every figure as PNG and SVG in FOLDER/figures/."""
        from sc2sim.report import build_report

        page = build_report(folder, latency=latency)
        n = len(list((Path(folder) / "figures").glob("*.png")))
        print(f"wrote {page} ({n} figures, PNG + SVG in {Path(folder) / 'figures'})")
