"""``sc2sim train``: dispatch to the recipe of each bundled model and save weights + card.

Bundled names: ``teacher``, ``light``, ``student-beta<B>`` (Entropic Student, split:sc2?beta=B) and
``codec-lmbda<L>`` (learned input codec, offload:learned?lmbda=L).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from sc2sim.data import load_fashion_mnist
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.train.classifier import ClassifierRecipe, classifier_card, train_classifier

# name -> (architecture, default epochs)
CLASSIFIERS = {"teacher": ("teacher", 18), "light": ("light", 12)}
KINDS = ("teacher", "light", "student", "codec")


def train_command(what: str, *, epochs: int | None, seed: int, threads: int, out: Path | None,
                  data_dir: str | None, max_steps: int | None, beta: float | None = None,
                  lmbda: float | None = None, **extra: Any) -> None:
    """Train ``what`` and write ``out/NAME.pt`` + ``out/NAME.json``; prints the test accuracy."""
    if threads > 0:
        torch.set_num_threads(threads)
    if what not in KINDS:
        raise ConfigError(f"train: {what!r} — allowed: {', '.join(KINDS)}")
    if what == "student":
        if beta is None:
            raise ConfigError("train student: --beta is required (the rate weight, e.g. --beta 0.08)")
        from sc2sim.train.student import train_student_command

        return train_student_command(beta, epochs=epochs, seed=seed, out=out, data_dir=data_dir, max_steps=max_steps)
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
