"""Commands of the emulation room: ``emulate`` (real payloads over an emulated link)."""

from __future__ import annotations

from pathlib import Path

import typer

from sc2sim.atomic import check_output_dir
from sc2sim.api import scenario_profile
from sc2sim.commands.common import finish_run, label_published, progress_bar
from sc2sim.commands.options import MIN_ROUNDS, DataDir, ProfileOpt, ProgressOpt, QuietOpt, ReportOpt, ScenarioArg, out_folder
from sc2sim.errors import ConfigError


def emulate(
    scenario: ScenarioArg,
    out: Path = typer.Option(..., "--out", parser=out_folder, help="Folder for requests.parquet, summary.csv, summary.json, points/."),
    backend: str = typer.Option("userspace", "--backend", help="userspace (TUN forwarder: rate, delay, jitter, loss, "
                                "queue, Mahimahi traces) or mininet (TCLink; delay/jitter/loss need the kernel's netem)."),
    requests: int = typer.Option(50, "--requests", min=1, help="Requests per point and pipeline (emulation runs in real "
                                 "time: 50 requests at 10 Hz take 5 s per pipeline)."),
    congestion: str = typer.Option("cubic", "--congestion", help="TCP congestion control of both hosts' sockets "
                                   "(cubic, reno, bbr; 'system' keeps the kernel default)."),
    edge_threads: int = typer.Option(1, "--edge-threads", min=1, help="torch threads of the edge server."),
    profile: ProfileOpt = None,
    data_dir: DataDir = None,
    progress: ProgressOpt = True,
    quiet: QuietOpt = False,
    report: ReportOpt = True,
) -> None:
    """Send each request's real payload over TCP between two network namespaces through an emulated link.

    The mobile host sends the bytes its pipeline produced at the time the simulator's plan says its payload is ready; the edge host decodes and classifies them for real (on this CPU). The records have the same format as `sc2sim run`, so `sc2sim report` works on both.

    Needs root. An interrupted emulation resumes: finished points are kept in OUT/points/.
    """
    from rich.console import Console

    from sc2sim.emu.netns import require_root
    from sc2sim.emu.runner import BACKENDS, EmuOptions, emulate_scenario, emulation_meta, emulation_notes
    from sc2sim.naming import is_local
    from sc2sim.points import expand
    from sc2sim.runs import run_meta
    from sc2sim.scenario import load_scenario

    if backend not in BACKENDS:
        raise ConfigError(f"--backend: {backend!r} — allowed: {', '.join(BACKENDS)}")
    require_root(f"sc2sim emulate --backend {backend}")
    sc = load_scenario(scenario)
    check_output_dir(out)  # before any profiling or simulating
    sc.workload.requests = requests
    points = expand(sc)
    if backend == "mininet":
        from sc2sim.emu.mininet_backend import check_points

        check_points(points, str(scenario))
    err = Console(stderr=True)
    for note in emulation_notes(sc, points):
        err.print(f"[yellow]note:[/] {note}")
    table, source = scenario_profile(sc, profile, repeats=MIN_ROUNDS, threads=1, data_dir=data_dir, progress=progress)
    opts = EmuOptions(backend=backend, congestion=None if congestion == "system" else congestion, edge_threads=edge_threads)
    networked = sum(not is_local(n) for n in sc.pipelines)
    with progress_bar("emulate", err, progress) as bar:
        task = bar.add_task("", total=len(points) * networked)
        result, resumed = emulate_scenario(sc, table, out, opts, data_dir,
                                           on_step=lambda info: bar.update(task, advance=1, description=info))
    meta = run_meta(sc, points, scenario_file=str(scenario), engine=f"emu-{backend}", profile_source=source,
                    profile_meta=table.attrs.get("sc2sim", {}), requests_per_point_and_pipeline=requests,
                    emulation=emulation_meta(opts))
    if resumed:
        err.print(f"resumed {len(resumed)} point(s) from {out / 'points'}")
    label_published(result, table)
    finish_run(out, result, meta, title=f"{sc.name}: {len(points)} point(s), emulated ({backend})",
               done_line=f"{result.info['requests']} requests emulated", quiet=quiet, report=report, err=err)


def register(app: typer.Typer) -> None:
    """Add ``emulate`` to the app."""
    app.command()(emulate)
