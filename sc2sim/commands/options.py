"""Command-line options that several commands share, declared once (Typer ``Annotated`` aliases).

Use as ``repeats: Repeats = MIN_ROUNDS``: the default stays at the parameter, the flag and help text here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sc2sim.profiling.timing import MIN_ROUNDS

__all__ = ["MIN_ROUNDS", "out_folder", "DataDir", "EngineOpt", "ProfileOpt", "ProgressOpt", "QuietOpt", "Repeats", "ReportOpt",
           "ScenarioArg", "Threads"]

ScenarioArg = Annotated[Path, typer.Argument(help="Scenario YAML (see scenarios/).")]
ProfileOpt = Annotated[Optional[Path], typer.Option("--profile", help="Use this profile table (Parquet) instead of profiling.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="auto | simpy | exact (auto: exact where no requests interact).")]
Repeats = Annotated[int, typer.Option(min=1, help="Timing rounds per sample when profiling, at least (the per-sample minimum is kept; "
                                                  "more rounds follow until the stage medians settle, up to 6 or this many). 12 "
                                                  "rounds took twice as long and narrowed the median gap between profiles "
                                                  "taken a minute apart from 12 % to 8 % on a shared 2-core host "
                                                  "(BENCHMARKS.md section 9). With "
                                                  "SC2SIM_TIMING_GATE_S=S > 0, a run counts only when probes around it find the host "
                                                  "in its fast state, waiting for it at most S seconds.")]
Threads = Annotated[int, typer.Option(min=1, max=4096, help="torch threads when profiling.")]
DataDir = Annotated[Optional[str], typer.Option("--data-dir", help="Dataset folder when profiling.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress bars.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="Do not print the summary table.")]
ReportOpt = Annotated[bool, typer.Option("--report/--no-report", help="Also write report.html and figures/ into --out.")]


def out_folder(text: str | Path) -> Path:
    """The ``parser`` of every ``--out`` folder option: the empty string is refused (as a path it is the
    current folder, so ``--out "$UNSET_VAR"`` would write the run into wherever the command was started)."""
    if not str(text).strip():
        raise typer.BadParameter("an empty path — name a folder (`.` for the current one)")
    return Path(text)
