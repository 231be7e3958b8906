"""``sc2sim train``: dispatch to the recipe of each bundled model and save weights + card.

Bundled names: ``teacher``, ``light``, ``student-beta<B>`` (Entropic Student, split:sc2?beta=B),
``student-<A>-beta<B>`` (split:sc2?arch=A&beta=B) and
``codec-lmbda<L>`` (learned input codec, offload:learned?lmbda=L).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from sc2sim.data import load_fashion_mnist
from sc2sim.config import fmt_bound
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.train.classifier import ClassifierRecipe, classifier_card, train_classifier

# name -> (architecture, default epochs)
CLASSIFIERS = {"teacher": ("teacher", 18), "light": ("light", 12)}
KINDS = ("teacher", "light", "student", "codec")


def _in_range(option: str, value: float | None, lo: float, hi: float, unit: str, lo_open: bool = False) -> None:
    """ConfigError unless ``value`` (when given) is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if value is None:
        return
    if not math.isfinite(value) or value < lo or value > hi or (lo_open and value == lo):
        span = f"{'(' if lo_open else '['}{fmt_bound(lo)}, {fmt_bound(hi)}]"
        raise ConfigError(f"train: {option}: {value:g} — must be a number in {span}{' ' + unit if unit else ''}")


def check_train_args(what: str, *, epochs: int | None, seed: int, threads: int, out: Path | None,
                     max_steps: int | None, beta: float | None, lmbda: float | None, arch: str) -> None:
    """Refuse out-of-range or meaningless ``sc2sim train`` arguments before any work (one-line ConfigError),
    and check that the output folder can be written to."""
    from sc2sim.atomic import check_output_dir
    from sc2sim.models.bundle import weights_dir
    from sc2sim.pipelines.student_archs import STUDENT_ARCHS

    if what not in KINDS:
        raise ConfigError(f"train: {what!r} — allowed: {', '.join(KINDS)}")
    _in_range("--beta", beta, 0, 10, "(rate weight, e.g. 0.003)", lo_open=True)
    _in_range("--lmbda", lmbda, 0, 10, "(distortion weight, e.g. 0.0067)", lo_open=True)
    _in_range("--epochs", epochs, 1, 1000, "epochs")
    _in_range("--seed", seed, 0, 2**63 - 1, "")
    _in_range("--threads", threads, 0, 1024, "threads (0: torch's default)")
    _in_range("--max-steps", max_steps, 1, 1e9, "optimiser steps")
    if beta is not None and what != "student":
        raise ConfigError(f"train: --beta: {beta:g} — only for `sc2sim train student`")
    if lmbda is not None and what != "codec":
        raise ConfigError(f"train: --lmbda: {lmbda:g} — only for `sc2sim train codec`")
    if arch != "gdn" and what != "student":
        raise ConfigError(f"train: --arch: {arch!r} — only for `sc2sim train student`")
    if arch not in STUDENT_ARCHS:
        raise ConfigError(f"train: --arch: {arch!r} — allowed: {', '.join(STUDENT_ARCHS)}")
    check_output_dir(out or weights_dir())


def train_command(what: str, *, epochs: int | None, seed: int, threads: int, out: Path | None,
                  data_dir: str | None, max_steps: int | None, beta: float | None = None,
                  lmbda: float | None = None, arch: str = "gdn", **extra: Any) -> None:
    """Train ``what`` and write ``out/NAME.pt`` + ``out/NAME.json``; prints the test accuracy."""
    check_train_args(what, epochs=epochs, seed=seed, threads=threads, out=out, max_steps=max_steps, beta=beta,
                     lmbda=lmbda, arch=arch)
    if threads > 0:
        torch.set_num_threads(threads)
    if what == "student":
        if beta is None:
            raise ConfigError("train student: --beta is required (the rate weight, e.g. --beta 0.08)")
        from sc2sim.train.student import train_student_command

        return train_student_command(beta, epochs=epochs, seed=seed, out=out, data_dir=data_dir, max_steps=max_steps, arch=arch)
    if what == "codec":
        if lmbda is None:
            raise ConfigError("train codec: --lmbda is required (the distortion weight, e.g. --lmbda 0.01)")
        from sc2sim.train.codec import train_codec_command

        return train_codec_command(lmbda, epochs=epochs, seed=seed, out=out, data_dir=data_dir, max_steps=max_steps)
    arch, default_epochs = CLASSIFIERS[what]
    train, test = load_fashion_mnist("train", data_dir), load_fashion_mnist("test", data_dir)
    recipe = ClassifierRecipe(epochs=epochs or default_epochs, seed=seed, max_steps=max_steps)
    torch.manual_seed(seed)
    model = build_model(arch)
    log = train_classifier(model, train, recipe)
    card = classifier_card(model, recipe, train, test, log)
    path = save_bundle(what, model, card, out)
    Console().print(f"[bold]{what}[/]: test accuracy {card['test_accuracy'] * 100:.2f} % on {len(test)} images, "
                    f"{card['flops'] / 1e6:.2f} MFLOPs, {card['params']:,} params, {card['train_seconds']:.0f} s -> {path}")
