"""``sc2sim sweep``: every sweep point as a Dask task, resumable, same output files as ``run``.

Imports stay light at module level: dask and the profiler (torch) load inside the command body.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from sc2sim.api import scenario_profile
from sc2sim.atomic import check_output_dir
from sc2sim.commands.common import finish_run, label_published, progress_bar, warn_threads
from sc2sim.commands.options import MIN_ROUNDS, DataDir, EngineOpt, ProfileOpt, ProgressOpt, QuietOpt, Repeats, ReportOpt, ScenarioArg, Threads, out_folder
from sc2sim.errors import ConfigError
from sc2sim.sim import check_engine

MAX_WORKERS = 256
"""Most LocalCluster workers (100,000 thread workers never started: the sweep hung)."""
MAX_CONNECT_S = 3600
"""Longest --connect-timeout in seconds (Dask's timeout parser refuses infinity and NaN with a traceback)."""


def sweep(
    scenario: ScenarioArg,
    out: Path = typer.Option(..., "--out", parser=out_folder, help="Folder for points/, requests.parquet, summary.csv, summary.json."),
    profile: ProfileOpt = None,
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler (tcp://host:port); default: a LocalCluster."),
    workers: int = typer.Option(2, "--workers", help="LocalCluster workers (one thread each)."),
    processes: bool = typer.Option(True, "--processes/--no-processes", help="LocalCluster workers as processes (default) or threads in this process."),
    connect_timeout: float = typer.Option(10.0, "--connect-timeout", help="Seconds to wait for --scheduler."),
    engine: EngineOpt = "auto",
    repeats: Repeats = MIN_ROUNDS,
    threads: Threads = 1,
    data_dir: DataDir = None,
    progress: ProgressOpt = True,
    quiet: QuietOpt = False,
    report: ReportOpt = True,
) -> None:
    """Simulate every sweep point of a scenario as an independent Dask task; resumes an interrupted sweep.

    Each finished point is saved under OUT/points/ (keyed by a hash of its parameters, the profile
    and the devices), so a rerun computes only the missing points. The end result is the same
    requests.parquet, summary.csv and summary.json as `sc2sim run`.
    """
    from rich.console import Console

    from sc2sim.points import expand
    from sc2sim.runs import run_meta
    from sc2sim.scenario import load_scenario
    from sc2sim.sim import split_profile
    from sc2sim.sim.sweep import run_sweep

    check_engine(engine)
    if not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(f"--workers: {workers} — must be a whole number in [1, {MAX_WORKERS}]")
    if not (math.isfinite(connect_timeout) and 0 < connect_timeout <= MAX_CONNECT_S):
        raise ConfigError(f"--connect-timeout: {connect_timeout:g} — must be a number in (0, {MAX_CONNECT_S}] s")
    sc = load_scenario(scenario)
    check_output_dir(out)  # before any profiling or simulating
    table, source = scenario_profile(sc, profile, repeats=repeats, threads=threads, data_dir=data_dir, progress=progress)
    rows = split_profile(table, sc.pipelines, sc.samples, source)
    err = Console(stderr=True)
    warn_threads(err, table.attrs.get("sc2sim", {}))
    t0 = datetime.now(timezone.utc)
    with progress_bar("sweep", err, progress) as bar:
        task = bar.add_task("", total=None)

        def on_start(total: int, done: int) -> None:
            bar.update(task, total=total, completed=done, description=f"{done} resumed" if done else "")

        outcome = run_sweep(sc, rows, out, engine=engine, scheduler=scheduler, workers=workers,
                            processes=processes, connect_timeout=connect_timeout, on_start=on_start,
                            on_point=lambda label: bar.update(task, advance=1, description=label))
    result = outcome.result
    wall = (datetime.now(timezone.utc) - t0).total_seconds()
    n = len(outcome.files)
    meta = run_meta(sc, expand(sc), scenario_file=str(scenario), engine=engine, profile_source=source,
                    profile_meta=table.attrs.get("sc2sim", {}),
                    sweep={"scheduler": scheduler or f"LocalCluster({workers} {'process' if processes else 'thread'} worker(s))",
                           "computed": len(outcome.computed), "resumed": len(outcome.resumed), "wall_s": wall})
    label_published(result, table)
    finish_run(out, result, meta, title=f"{sc.name}: {n} point(s) x {len(sc.pipelines)} pipeline(s)",
               done_line=f"{n} point(s): {len(outcome.computed)} computed, {len(outcome.resumed)} resumed "
                         f"in {wall:.2f} s ({result.info['requests']} requests)",
               quiet=quiet, report=report, err=err)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the app."""
    app.command()(sweep)
