"""``sc2sim run``: profile what is missing, simulate every sweep point x pipeline, write the run folder.

Imports stay light at module level (no torch): profiling loads torch inside the command body only
when something must be measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sc2sim.api import scenario_profile
from sc2sim.atomic import check_output_dir
from sc2sim.commands.common import finish_run, parse_samples, progress_bar, warn_threads
from sc2sim.commands.options import MIN_ROUNDS, DataDir, EngineOpt, ProfileOpt, ProgressOpt, QuietOpt, Repeats, ReportOpt, ScenarioArg, Threads, out_folder
from sc2sim.runs.decision import CLOSE_MARGIN
from sc2sim.sim import check_engine


def run(
    scenario: ScenarioArg,
    out: Path = typer.Option(..., "--out", parser=out_folder, help="Folder for requests.parquet, summary.csv, summary.json."),
    profile: ProfileOpt = None,
    engine: EngineOpt = "auto",
    repeats: Repeats = MIN_ROUNDS,
    threads: Threads = 1,
    data_dir: DataDir = None,
    progress: ProgressOpt = True,
    quiet: QuietOpt = False,
    samples: Optional[str] = typer.Option(None, "--samples", help="Override the scenario's profiled test samples: N or 'all' (the whole test set)."),
    timing_samples: Optional[str] = typer.Option(None, "--timing-samples", help="Override the scenario's timed samples (batch-1 stage times): N or 'all'."),
    report: ReportOpt = True,
    close_margin: float = typer.Option(0.0, "--close-margin", min=0.0, max=0.95,
                                       help=f"Mark close calls: points whose winner loses when every stage time moves "
                                            f"this fraction against it (two more simulations; default 0: off). "
                                            f"{CLOSE_MARGIN:g} is the margin checked against cold profiles: stage times "
                                            f"carry host drift and model error of that order (BENCHMARKS.md section 9)."),
) -> None:
    """Simulate every sweep point x pipeline of a scenario and write the request records and summary.

    Profiles the scenario's pipelines first (cached) unless --profile gives a table.
    """
    from rich.console import Console

    from sc2sim.api import run as run_scenario
    from sc2sim.points import expand
    from sc2sim.runs import RunResult
    from sc2sim.scenario import load_scenario

    check_engine(engine)
    sc = load_scenario(scenario)
    check_output_dir(out)  # before any profiling or simulating
    if samples is not None:
        sc.samples = parse_samples(samples)
    if timing_samples is not None:
        sc.timing_samples = parse_samples(timing_samples, "--timing-samples")
    table, source = scenario_profile(sc, profile, repeats=repeats, threads=threads, data_dir=data_dir, progress=progress)
    points = expand(sc)
    err = Console(stderr=True)
    warn_threads(err, table.attrs.get("sc2sim", {}))
    with progress_bar("simulate", err, progress) as bar:
        task = bar.add_task("", total=len(points) * len(sc.pipelines))
        res = run_scenario(sc, profile=table, profile_source=source, engine=engine, scenario_file=str(scenario),
                           on_step=lambda info: bar.update(task, advance=1, description=info), close_margin=close_margin)
    result, info = RunResult(res.requests, res.summary, res.info), res.info
    finish_run(out, result, res.meta, title=f"{sc.name}: {len(points)} point(s) x {len(sc.pipelines)} pipeline(s)",
               done_line=f"{info['requests']} requests simulated in {info['wall_s']:.2f} s "
                         f"({info['requests_per_s']:,.0f} req/s; engines {info['engines']})",
               quiet=quiet, report=report, err=err)


def register(app: typer.Typer) -> None:
    """Add ``run`` to the app."""
    app.command()(run)
