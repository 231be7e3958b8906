"""``sc2sim whatif``: the best pipeline per mobile device x edge device x uplink bandwidth.

Imports stay light at module level (no torch): profiling loads torch inside the command only when no
``--profile`` table is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sc2sim.api import scenario_profile
from sc2sim.commands.options import MIN_ROUNDS, DataDir, ProfileOpt, ProgressOpt, Repeats, Threads, out_folder
from sc2sim.errors import ConfigError


def whatif(
    scenario: Optional[Path] = typer.Argument(None, help="Scenario YAML whose mobile/edge/bandwidth lists define the grid (optional)."),
    out: Path = typer.Option(..., "--out", parser=out_folder, help="Folder for whatif.html, whatif-EDGE.png|svg, best.csv, summary.csv, verdict.txt."),
    mobile: Optional[str] = typer.Option(None, "--mobile", help="Mobile devices, comma-separated (default rpi4,jetson-nano,phone-flagship)."),
    edge: Optional[str] = typer.Option(None, "--edge", help="Edge devices, comma-separated (default t4,a100)."),
    uplink: Optional[str] = typer.Option(None, "--uplink", help="Uplink bandwidths in Mbit/s, comma-separated (default 1,5,20,100)."),
    pipelines: Optional[str] = typer.Option(None, "--pipelines", help="Pipelines, comma-separated (default: the scenario's, or the bundled set)."),
    deadline_ms: Optional[float] = typer.Option(None, "--deadline-ms", help="Deadline in ms (default: the scenario's, or 100)."),
    requests: Optional[int] = typer.Option(None, "--requests", help="Simulated requests per cell and pipeline."),
    samples: Optional[int] = typer.Option(None, "--samples", help="Test samples to profile (default: the scenario's, or 1000)."),
    profile: ProfileOpt = None,
    repeats: Repeats = MIN_ROUNDS,
    threads: Threads = 1,
    data_dir: DataDir = None,
    weights: Optional[str] = typer.Option(None, "--weights", help="none: architecture-only what-if: every pipeline "
                                          "gets weights=none; times and FLOPs measured, accuracy and bytes from "
                                          "each pipeline's card point (labelled published)."),
    progress: ProgressOpt = True,
) -> None:
    """Which pipeline is best for each mobile device x bandwidth, one heatmap per edge device.

    Best = sc2sim's one decision rule with the scenario's objective (default: the most accurate pipeline whose p95 latency meets the deadline, ties: lower p95; none meets it: the lowest p95). Prints the rule and one verdict line per mobile -> edge.
    """
    from rich.console import Console

    from sc2sim.readers import load_yaml
    from sc2sim.points import expand
    from sc2sim.whatif import run_study, study_scenario, verdict_lines, write_study

    from sc2sim.atomic import check_output_dir

    if deadline_ms is not None and deadline_ms <= 0:
        raise ConfigError(f"--deadline-ms: {deadline_ms:g} — must be greater than 0")
    if requests is not None and requests <= 0:
        raise ConfigError(f"--requests: {requests} — must be greater than 0")
    base, source = None, "<whatif>"
    if scenario is not None:
        base, source = load_yaml(scenario), str(scenario)
        if not isinstance(base, dict):
            raise ConfigError(f"{scenario}: (top level): not a mapping of scenario keys")
    sc = study_scenario(base, source, mobile=mobile, edge=edge, uplink=uplink, pipelines=pipelines,
                        deadline_ms=deadline_ms, requests=requests, samples=samples)  # errors name the option
    check_output_dir(out)  # before any profiling or simulating
    if weights is not None:
        if weights != "none":
            raise ConfigError(f"--weights: {weights!r} — allowed: none")
        from sc2sim.pipelines.imagenet import with_weights_none

        sc.pipelines = with_weights_none(sc.pipelines)
    table, psource = scenario_profile(sc, profile, repeats=repeats, threads=threads, data_dir=data_dir,
                                     progress=progress)
    err = Console(stderr=True)
    n_steps = len(expand(sc)) * len(sc.pipelines)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("simulate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, disable=not progress, transient=True) as bar:
        task = bar.add_task("", total=n_steps)
        study = run_study(sc, table, profile_source=psource, on_step=lambda _i: bar.update(task, advance=1))
    written = write_study(study, out)
    for line in verdict_lines(study):
        print(line)
    err.print(f"{study.info['requests']} requests simulated in {study.info['wall_s']:.2f} s; wrote "
              + ", ".join(str(p) for p in written if p.suffix in (".html", ".csv", ".png")))


def register(app: typer.Typer) -> None:
    """Add ``whatif`` to the app."""
    app.command()(whatif)
