"""Commands of the simulator side: ``run``, ``devices``, ``calibrate``.

Imports stay light at module level (no torch): profiling and calibration load torch inside the
command bodies only when they are needed.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import typer

from sc2sim.commands.options import DataDir, EngineOpt, ProfileOpt, ProgressOpt, QuietOpt, Repeats, ReportOpt, ScenarioArg, Threads
from sc2sim.errors import ConfigError


def read_profile_table(path: Path) -> Any:
    """Read a profile table (Parquet) and its ``sc2sim`` metadata into ``DataFrame.attrs['sc2sim']``."""
    from sc2sim.tables import read_table

    if not path.is_file():
        raise ConfigError(f"--profile: {str(path)!r} — no such file; give a Parquet table written by `sc2sim profile`")
    try:
        return read_table(path)
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a bad input file
        raise ConfigError(f"--profile: {str(path)!r} — not a readable Parquet file ({err})") from None


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


def scenario_profile(sc: Any, profile: Path | None, *, repeats: int, threads: int, data_dir: str | None,
                     progress: bool) -> tuple[Any, str]:
    """The profile table a scenario runs on, and where it came from: ``--profile`` or the profile cache
    (profiling whatever is missing; torch is imported only here)."""
    if profile is not None:
        return read_profile_table(profile), str(profile)
    from sc2sim.profiling import ensure_profile

    try:
        table = ensure_profile(sc.pipelines, sc.samples, dataset=sc.dataset, data_dir=data_dir,
                               repeats=repeats, threads=threads, progress=progress, timed=sc.timing_samples,
                               idle_gap_ms=sc.timing_idle_gap_ms)
    except ConfigError as err:  # a pipeline name the registry rejects: say which file and field
        if str(err).startswith("pipeline "):
            raise ConfigError(f"{getattr(sc, '_source', 'scenario')}: pipelines: {err}") from None
        raise
    return table, "profile cache"


def _summary_table(summary: Any, title: str) -> Any:
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
            v = row[key]
            if isinstance(v, float) and v != v:
                cells.append("-")
            else:
                cells.append(fmt.format(v * scale.get(key, 1)) if isinstance(v, (int, float)) else str(v))
        t.add_row(*cells)
    return t


def label_published(result: Any, table: Any) -> None:
    """Put a published card's exact accuracy (and bytes) on architecture-only pipelines' summary rows,
    with ``accuracy_source``/``bytes_source`` columns (see :mod:`sc2sim.cards`)."""
    from sc2sim.cards import published_meta, with_published

    result.summary = with_published(result.summary, published_meta(table.attrs.get("sc2sim", {})))


def _warn_threads(err: Any, meta: dict) -> None:
    """Warn when the profile's thread count differs from the one host.yaml was calibrated with."""
    from sc2sim.devices import load_device

    cal = load_device("host").calibration or {}
    if meta.get("threads") and cal.get("threads") and int(meta["threads"]) != int(cal["threads"]):
        err.print(f"[yellow]warning:[/] the profile was measured with {meta['threads']} thread(s) but host.yaml was "
                  f"calibrated with {cal['threads']}; device times assume per-core scaling (see sc2sim/devices/compute.py)")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``devices`` and ``calibrate`` to the app."""

    @app.command()
    def run(
        scenario: ScenarioArg,
        out: Path = typer.Option(..., "--out", help="Folder for requests.parquet, summary.csv, summary.json."),
        profile: ProfileOpt = None,
        engine: EngineOpt = "auto",
        repeats: Repeats = 3,
        threads: Threads = 1,
        data_dir: DataDir = None,
        progress: ProgressOpt = True,
        quiet: QuietOpt = False,
        samples: Optional[str] = typer.Option(None, "--samples", help="Override the scenario's profiled test samples: N or 'all' (the whole test set)."),
        timing_samples: Optional[str] = typer.Option(None, "--timing-samples", help="Override the scenario's timed samples (batch-1 stage times): N or 'all'."),
        report: ReportOpt = True,
    ) -> None:
        """Simulate every sweep point x pipeline of a scenario and write the request records and summary.

        Profiles the scenario's pipelines first (cached) unless --profile gives a table.
        """
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from sc2sim.scenario import expand, load_scenario
        from sc2sim.sim import ENGINES, simulate_scenario, write_results

        if engine not in ENGINES:
            raise ConfigError(f"--engine: {engine!r} — allowed: {', '.join(ENGINES)}")
        sc = load_scenario(scenario)
        if samples is not None:
            sc.samples = parse_samples(samples)
        if timing_samples is not None:
            sc.timing_samples = parse_samples(timing_samples, "--timing-samples")
        table, source = scenario_profile(sc, profile, repeats=repeats, threads=threads, data_dir=data_dir,
                                         progress=progress)
        points = expand(sc)
        err = Console(stderr=True)
        _warn_threads(err, table.attrs.get("sc2sim", {}))
        total = len(points) * len(sc.pipelines)
        with Progress(TextColumn("simulate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      TextColumn("{task.description}"), console=err, disable=not progress, transient=True) as bar:
            task = bar.add_task("", total=total)
            result = simulate_scenario(sc, table, engine=engine, profile_source=source,
                                       on_step=lambda info: bar.update(task, advance=1, description=info))
        meta = {
            "scenario": sc.name, "scenario_file": str(scenario), "engine": engine, "profile": source,
            "profile_meta": table.attrs.get("sc2sim", {}), "points": len(points), "pipelines": sc.pipelines,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "host": platform.node(),
        }
        label_published(result, table)
        written = write_results(out, result, meta)
        if not quiet:
            con = Console()
            if not con.is_terminal:  # logs and pipes: do not squeeze the table into 80 columns
                con = Console(width=200)
            con.print(_summary_table(result.summary, f"{sc.name}: {len(points)} point(s) x {len(sc.pipelines)} pipeline(s)"))
        info = result.info
        err.print(f"{info['requests']} requests simulated in {info['wall_s']:.2f} s "
                  f"({info['requests_per_s']:,.0f} req/s; engines {info['engines']}); wrote "
                  + ", ".join(str(p) for p in written))
        if report:
            from sc2sim.report import build_report

            err.print(f"report: {build_report(out)}")

    @app.command()
    def devices(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
        """List the device profiles (device_profiles/*.yaml): roles, compute, power, radio."""
        from rich.console import Console
        from rich.table import Table

        from sc2sim.devices import device_files, load_device_file

        profs = [load_device_file(p) for p in device_files().values()]
        if as_json:
            docs = [p.model_dump(by_alias=True, exclude_none=True) for p in profs]
            for d, p in zip(docs, device_files().values()):
                d["file"] = str(p)
            print(json.dumps(docs, indent=1))
            return
        t = Table(title="device profiles")
        for head in ("name", "roles", "type", "peak GFLOPS", "eff", "GFLOPS/core", "overhead ms", "scalar", "active W", "idle W", "radios"):
            t.add_column(head, justify="left" if head in ("name", "roles", "type", "radios") else "right")
        for p in profs:
            c = p.compute
            radios = ",".join(k for k in ("wifi", "lte", "3g") if p.radio and getattr(p.radio, "three_g" if k == "3g" else k))
            t.add_row(p.name, ",".join(p.roles), c.type, f"{c.peak_gflops:g}", f"{c.efficiency:.2f}",
                      f"{c.achieved_gflops_per_core:.1f}", f"{c.overhead_ms:g}", f"{c.scalar_speed:g}",
                      f"{p.power.active_w:g}", f"{p.power.idle_w:g}", radios or "-")
        Console().print(t)

    @app.command()
    def calibrate(
        out: Optional[Path] = typer.Option(None, "--out", help="Where to write (default: device_profiles/host.yaml of the repository)."),
        threads: int = typer.Option(1, help="torch threads for the GEMM measurement (match the profile's)."),
        repeats: int = typer.Option(7, help="Timed repeats of each measurement (median)."),
    ) -> None:
        """Measure this machine (GEMM GFLOPS, per-call overhead, scalar speed) and write host.yaml."""
        from sc2sim.profiling.calibrate import calibrate as do_calibrate

        target = out or Path(__file__).resolve().parents[2] / "device_profiles" / "host.yaml"
        doc = do_calibrate(target, threads=threads, repeats=repeats)
        c = doc["compute"]
        print(f"wrote {target}: {c['peak_gflops'] * c['efficiency'] / c['cores']:.1f} GFLOPS/core achieved, "
              f"overhead {c['overhead_ms']:.4f} ms/call, scalar speed {c['scalar_speed']:.3f}")
