"""Commands of the model side: ``train``, ``pipelines``, ``profile``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sc2sim.commands.options import MIN_ROUNDS, Repeats, out_folder
from sc2sim.scenario import DEFAULT_TIMING_SAMPLES

DEFAULT_PIPELINES = "local:teacher,local:light,offload:png,offload:jpeg?quality=50,offload:webp?quality=50,offload:avif?quality=50"


def train(
    what: str = typer.Argument(..., help="What to train: teacher | light | student | codec."),
    beta: Optional[float] = typer.Option(None, help="student: rate weight beta of the Entropic Student (bundled: see `sc2sim pipelines`)."),
    lmbda: Optional[float] = typer.Option(None, help="codec: distortion weight lambda of the learned image codec."),
    arch: str = typer.Option("gdn", help="student: gdn | res | franken | e2e (split:sc2?arch=A; recipes in sc2sim/train/student.py)."),
    epochs: Optional[int] = typer.Option(None, help="Epochs (default: the bundled recipe's)."),
    seed: int = typer.Option(0, help="Seed for initialisation, data order and augmentation."),
    threads: int = typer.Option(0, help="torch threads (0 = torch's default: all cores)."),
    out: Optional[Path] = typer.Option(None, parser=out_folder, help="Folder for NAME.pt + NAME.json (default: the bundled weights folder)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Folder of Fashion-MNIST's *-ubyte.gz (default: $SC2SIM_DATA or Debian's)."),
    max_steps: Optional[int] = typer.Option(None, help="Stop after this many optimiser steps (smoke tests)."),
) -> None:
    """Train a bundled model from a seed and write its weights and model card.

    Reproduces sc2sim/weights/NAME.pt and NAME.json: teacher, light, student-beta<B>
    (`train student --beta B`), student-<A>-beta<B> (`train student --arch A --beta B`) and
    codec-lmbda<L> (`train codec --lmbda L`). Students and codecs need the trained teacher.
    Times on 2 CPU cores are in the README.
    """
    from sc2sim.train.cli_train import train_command

    train_command(what, beta=beta, lmbda=lmbda, arch=arch, epochs=epochs, seed=seed, threads=threads, out=out, data_dir=data_dir, max_steps=max_steps)


def pipelines(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the pipeline families, their parameters and example registry names.

    A registry name is FAMILY:VARIANT?key=value&key=value, e.g. offload:jpeg?quality=50.
    """
    from sc2sim.pipelines import describe_pipelines, print_pipelines

    print_pipelines(describe_pipelines(), as_json)


def profile(
    pipelines: str = typer.Option(DEFAULT_PIPELINES, help="Comma-separated registry names (see `sc2sim pipelines`)."),
    samples: Optional[int] = typer.Option(None, help="Profile the first N test samples (default: the whole test set)."),
    timing_samples: str = typer.Option(str(DEFAULT_TIMING_SAMPLES), "--timing-samples",
                                       help="Time the first N of them at batch size 1, or 'all' (bytes and accuracy use every sample)."),
    idle_gap_ms: float = typer.Option(0.0, "--idle-gap-ms", min=0.0, help="Idle this long before each timing repeat, so "
                                      "every repeat starts like an isolated request (0: back to back)."),
    out: Path = typer.Option(Path("results/profile"), parser=out_folder, help="Folder for profile.parquet."),
    dataset: str = typer.Option("fashion-mnist", help="fashion-mnist, imagefolder:/path (224x224 RGB; "
                                "?size=28&color=grey for the bundled models), imagefolder (root from --data-dir) "
                                "or sample-photos."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Folder of Fashion-MNIST's *-ubyte.gz, or the "
                                           "ImageFolder root with --dataset imagefolder."),
    weights: Optional[str] = typer.Option(None, "--weights", help="none: architecture-only profiling: every pipeline "
                                          "gets weights=none (untrained); times and FLOPs are measured, bytes and "
                                          "accuracy come from each pipeline's rate-accuracy card point (&point=K)."),
    repeats: Repeats = MIN_ROUNDS,
    threads: int = typer.Option(1, help="torch threads while timing (1 models a single mobile core)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Ignore and overwrite cached profiles."),
) -> None:
    """Run pipelines on real test samples: bytes, correctness, stage times and FLOPs.

    Writes OUT/profile.parquet (one row per pipeline x sample) and prints a summary.
    Results are cached by pipeline, weights hash, data and settings, so a rerun is instant.
    With --weights none, bytes and accuracy are the card's published numbers and say so.
    """
    from sc2sim.atomic import check_output_dir
    from sc2sim.commands.common import parse_samples
    from sc2sim.errors import ConfigError
    from sc2sim.profiling import ensure_profile, print_profile_summary, print_summary_with_sources, write_profile

    timed = parse_samples(timing_samples, "--timing-samples")
    check_output_dir(out)  # before any measuring
    names = [p.strip() for p in pipelines.split(",") if p.strip()]
    if weights is not None:
        if weights != "none":
            raise ConfigError(f"--weights: {weights!r} — allowed: none (give trained weights per pipeline: "
                              "&weights=PATH or &checkpoint=PATH)")
        from sc2sim.pipelines.imagenet import with_weights_none

        names = with_weights_none(names)
    table = ensure_profile(names, samples, dataset=dataset, data_dir=data_dir, repeats=repeats, threads=threads, use_cache=not no_cache,
                           timed=timed, idle_gap_ms=idle_gap_ms)
    path = write_profile(table, out / "profile.parquet")
    if table.attrs.get("sc2sim", {}).get("published"):
        print_summary_with_sources(table)
    else:
        print_profile_summary(table)
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``train``, ``pipelines`` and ``profile`` to the app."""
    app.command()(train)
    app.command()(pipelines)
    app.command()(profile)
