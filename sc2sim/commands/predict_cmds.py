"""Commands of the device cost model: ``predict`` (modelled stage times, term by term) and
``calibrate`` (measure this machine's constants and write its profile)."""

from __future__ import annotations

import difflib
import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from sc2sim.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

    from sc2sim.profiling.predict import Stage

TERM_COLUMNS = ("fixed_ms", "dispatch_ms", "launch_ms", "arithmetic_ms", "memory_ms", "codec_ms", "copy_ms")


def parse_batches(raw: str, option: str = "--batch") -> list[int]:
    """``"1,4,16"`` -> ``[1, 4, 16]``; ConfigError unless every item is a whole number >= 1."""
    out = []
    for item in (p.strip() for p in raw.split(",")):
        if not item.isdigit() or int(item) < 1:
            raise ConfigError(f"{option}: {raw!r} — allowed: comma-separated whole numbers >= 1, e.g. 1,4,16")
        out.append(int(item))
    return out


OTHER_TASKS = (("detection", "detection"), ("segmentation", "segmentation"), ("video", "video"),
               ("optical_flow", "optical-flow"), ("quantization", "quantized"))
"""torchvision.models submodules whose models ``--arch`` does not take, with the word for their kind."""

ARCH_SIZE = 224
"""The input size every torchvision classifier takes (the size of its ImageNet weights' centre crop or
the one its builder is made for)."""


def check_arch(arch: str) -> str:
    """``arch`` when it names a torchvision classification architecture; else a one-line ConfigError
    that says which kind of model it is (detection, segmentation, ...) or suggests close names."""
    import torchvision

    from sc2sim.models.imagenet import torchvision_archs

    names = torchvision_archs()
    if arch in names:
        return arch
    kind = next((word for mod, word in OTHER_TASKS
                 if arch in torchvision.models.list_models(module=getattr(torchvision.models, mod))), None)
    float_twin = arch.removeprefix("quantized_")  # a quantized model's float architecture
    close = [float_twin] if float_twin in names else difflib.get_close_matches(arch.strip().lower(), names, 3, 0.6)
    what = f"a torchvision {kind} model, not a classifier" if kind else "not a torchvision classification architecture"
    hint = f"did you mean {' or '.join(close)}?" if close else f"allowed: {', '.join(names)}"
    raise ConfigError(f"--arch: {arch!r} — {what}; {hint}")


def _meta_model(arch: str) -> nn.Module:
    """``arch`` built on the meta device (shapes only, no memory, no initialisation cost), in eval mode.

    Only ``torch.empty`` (what every layer allocates its parameters with) is sent to the meta device
    while building: builders that compute their layout with small tensors (RegNet's widths) still
    read them on the CPU."""
    import torch
    import torchvision
    from torch.overrides import TorchFunctionMode

    class EmptyOnMeta(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = dict(kwargs or {})
            if func is torch.empty and kwargs.get("device") is None:
                kwargs["device"] = "meta"
            return func(*args, **kwargs)

    with EmptyOnMeta(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the builders' notes on their default initialisation, said when counting
        model = torchvision.models.get_model(arch, weights=None)
    return model.to("meta").eval()


def _shape_error(model: nn.Module, size: int) -> Optional[str]:
    """The first line of the error ``model`` raises on a ``size`` x ``size`` RGB input (meta device), or None."""
    import torch

    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, size, size, device="meta"))
    except NotImplementedError:
        return None  # an operator without a meta kernel: the shape check cannot tell
    except (RuntimeError, AssertionError, ValueError, IndexError) as err:
        return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return None


def _size_that_works(model: nn.Module, size: int) -> Optional[int]:
    """A size ``model`` takes, None when even :data:`ARCH_SIZE` fails. Below it, the boundary that
    bisection finds between ``size`` (fails) and :data:`ARCH_SIZE` (works): the smallest size that
    works where every larger one does too (most architectures; MaxViT's windows take only some)."""
    if _shape_error(model, ARCH_SIZE) is not None:
        return None
    lo, hi = size, ARCH_SIZE  # lo fails, hi works
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _shape_error(model, mid) is None else (mid, hi)
    return hi


def check_size(arch: str, size: int) -> None:
    """One-line ConfigError when classifier ``arch`` cannot take ``size`` x ``size`` inputs, found by
    running it on the meta device (no weights, no arithmetic; a fraction of a second, seconds with
    the search for a size that works); the message names a size that works."""
    try:
        model = _meta_model(arch)
    except NotImplementedError:
        return  # a builder that reads tensor values: the shape check cannot tell, the count will
    err = _shape_error(model, size)
    if err is None:
        return
    works = _size_that_works(model, size)
    hint = f"; --size {works} works" if works is not None else ""
    raise ConfigError(f"--size: {size} — {arch} cannot take {size}x{size} inputs ({err}){hint}")


def counted_arch(arch: str, size: int) -> Stage:
    """:func:`sc2sim.profiling.predict.arch_stage` of classifier ``arch`` at ``size``; when the count
    fails and the architecture's shapes are the cause (:func:`check_size`), a one-line ConfigError."""
    from sc2sim.profiling.predict import arch_stage

    try:
        return arch_stage(arch, size)
    except (RuntimeError, AssertionError, ValueError, IndexError):
        check_size(arch, size)
        raise  # not a shape error: a bug, shown with its traceback


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
    x launch cost, overlapping the roofline), arithmetic and memory (the roofline: the larger counts;
    on a CPU whose profile has output_macs, arithmetic includes the per-output work of dense convolutions
    with kernels larger than 1x1), codec (scalar code, scaled by scalar speed), copy (GPU input copy). The
    model and its sources:
    sc2sim/devices/cost_model.py; its validation: BENCHMARKS.md (compute model).
    """
    from sc2sim.profiling.predict import pipeline_stages
    from sc2sim.profiling.predict import predict as run_predict

    if (arch is None) == (pipeline is None):
        raise ConfigError("--arch/--pipeline: give exactly one of them")
    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise ConfigError(f"--device: {device!r} — give at least one device profile name (see `sc2sim devices`)")
    batches = parse_batches(batch)
    stages = [counted_arch(check_arch(arch), size)] if arch else pipeline_stages(pipeline, samples, dataset, data_dir)
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
