"""Commands of the device cost model: ``predict`` (modelled stage times, term by term) and
``calibrate`` (measure this machine's constants and write its profile)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from sc2sim.errors import ConfigError

TERM_COLUMNS = ("fixed_ms", "dispatch_ms", "launch_ms", "arithmetic_ms", "memory_ms", "codec_ms", "copy_ms")


def parse_batches(raw: str, option: str = "--batch") -> list[int]:
    """``"1,4,16"`` -> ``[1, 4, 16]``; ConfigError unless every item is a whole number >= 1."""
    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item.isdigit() or int(item) < 1:
            raise ConfigError(f"{option}: {raw!r} — allowed: comma-separated whole numbers >= 1, e.g. 1,4,16")
        out.append(int(item))
    return out


def predict(
    device: str = typer.Option(..., "--device", help="Device profile(s), comma-separated (see `sc2sim devices`)."),
    arch: Optional[str] = typer.Option(None, "--arch", help="A torchvision architecture, e.g. resnet50 (counted at --size)."),
    pipeline: Optional[str] = typer.Option(None, "--pipeline", help="A registry pipeline, e.g. split:sc2?beta=0.003 (its device and edge stages)."),
    batch: str = typer.Option("1", "--batch", help="Batch sizes, comma-separated, e.g. 1,4,16."),
    size: int = typer.Option(224, "--size", min=16, max=1024, help="--arch: input height and width (RGB)."),
    threads: int = typer.Option(1, "--threads", min=1, help="CPU devices: threads the stage may use (the simulator uses 1)."),
    samples: int = typer.Option(20, "--samples", min=1, help="--pipeline: samples profiled for its counts and codec times (cached)."),
    dataset: str = typer.Option("fashion-mnist", "--dataset", help="--pipeline: dataset it runs on (as for `sc2sim profile`)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="--pipeline: dataset folder (as for `sc2sim profile`)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Modelled time of an architecture or a pipeline's stages on devices, with the terms broken down.

    Terms (ms): fixed per call, dispatch (CPU: operators x per-operator cost), launch (GPU: kernels
    x launch cost, overlapping the roofline), arithmetic and memory (the roofline: the larger counts),
    codec (scalar code, scaled by scalar speed), copy (GPU input copy). The model and its sources:
    sc2sim/devices/cost_model.py; its validation: BENCHMARKS.md (compute model).
    """
    from sc2sim.profiling.predict import arch_stage, pipeline_stages
    from sc2sim.profiling.predict import predict as run_predict

    if (arch is None) == (pipeline is None):
        raise ConfigError("--arch/--pipeline: give exactly one of them")
    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise ConfigError(f"--device: {device!r} — give at least one device profile name (see `sc2sim devices`)")
    batches = parse_batches(batch)
    stages = [arch_stage(arch, size)] if arch else pipeline_stages(pipeline, samples, dataset, data_dir)
    rows = run_predict(stages, devices, batches, threads)
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    from rich.markup import escape
    from rich.table import Table

    from sc2sim.ui import console

    t = Table(title="modelled stage time (ms) by term — sc2sim/devices/cost_model.py")
    heads = ("device", "stage", "batch", "fixed", "dispatch", "launch", "arithmetic", "memory", "codec", "copy",
             "total", "per sample", "dominant")
    for h in heads:
        t.add_column(h, justify="left" if h in ("device", "stage", "dominant") else "right")
    for r in rows:
        t.add_row(r["device"], escape(r["stage"]), str(r["batch"]), *(f"{r[c]:.3f}" for c in TERM_COLUMNS),
                  f"{r['total_ms']:.3f}", f"{r['per_sample_ms']:.3f}", r["dominant"])
    console().print(t)


def calibrate(
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write (default: device_profiles/host.yaml of the "
                                       "repository on a CPU, device_profiles/NAME.yaml with --device cuda)."),
    device: str = typer.Option("cpu", "--device", help="cpu, or cuda / cuda:N to calibrate a GPU as an edge device."),
    name: Optional[str] = typer.Option(None, "--name", help="Profile name (default: the --out file's stem; "
                                       "'host' on a CPU, 'gpu-measured' on a GPU)."),
    threads: int = typer.Option(1, min=1, help="torch threads while measuring (match the profile table's)."),
    repeats: int = typer.Option(5, min=1, help="Timed rounds of each micro-benchmark (the minimum is kept)."),
    quick: bool = typer.Option(False, "--quick", help="Small micro-benchmarks and only the 28x28 reference stages "
                               "(seconds; the achieved throughput and bandwidth then come from the micro-benchmarks)."),
) -> None:
    """Measure this machine (micro-benchmarks plus reference models) and write its device profile, labelled measured.

    The profile carries the cost model's constants (per-operator dispatch or per-kernel launch cost,
    achieved throughput and memory bandwidth, scalar speed, per-call overhead) with the date, host,
    runtime, versions and load average of the measurement.
    """
    from sc2sim.profiling.calibrate import calibrate as do_calibrate

    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"--device: {device!r} — allowed: cpu, cuda, cuda:N")
    if device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"--device: {device!r} — no CUDA device is visible on this machine")
    default = "host" if device == "cpu" else "gpu-measured"
    target = out or Path(__file__).resolve().parents[2] / "device_profiles" / f"{name or default}.yaml"
    doc = do_calibrate(target, threads=threads, repeats=repeats, device=device, quick=quick, name=name)
    c = doc["compute"]
    per_op = f"dispatch {c['dispatch_us']:.1f} us/op" if c["type"] == "cpu" else f"launch {c['launch_us']:.1f} us/kernel"
    print(f"wrote {target}: {c['peak_gflops'] * c['efficiency'] / (c['cores'] if c['type'] == 'cpu' else 1):.1f} GFLOPS "
          f"achieved{' per core' if c['type'] == 'cpu' else ''}, {per_op}, memory {c['mem_gbps']:.1f} GB/s, "
          f"scalar speed {c['scalar_speed']:.3f}")


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the app (``calibrate`` is registered by :mod:`sc2sim.commands.device_cmds`)."""
    app.command()(predict)
