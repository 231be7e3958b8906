"""``sc2sim train``: dispatch to the recipe of each bundled model and save weights + card."""

from __future__ import annotations

from pathlib import Path

import torch
from rich.console import Console

from sc2sim.data import load_fashion_mnist
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.train.classifier import ClassifierRecipe, classifier_card, train_classifier

# name -> (architecture, default epochs)
CLASSIFIERS = {"teacher": ("teacher", 18), "light": ("light", 12)}


def train_command(what: str, *, epochs: int | None, seed: int, threads: int, out: Path | None,
                  data_dir: str | None, max_steps: int | None) -> None:
    """Train ``what`` and write ``out/NAME.pt`` + ``out/NAME.json``; prints the test accuracy."""
    console = Console()
    if threads > 0:
        torch.set_num_threads(threads)
    if what not in CLASSIFIERS:
        raise ConfigError(f"train: {what!r} — allowed: {', '.join(CLASSIFIERS)}")
    arch, default_epochs = CLASSIFIERS[what]
    train, test = load_fashion_mnist("train", data_dir), load_fashion_mnist("test", data_dir)
    recipe = ClassifierRecipe(epochs=epochs or default_epochs, seed=seed, max_steps=max_steps)
    torch.manual_seed(seed)
    model = build_model(arch)
    log = train_classifier(model, train, recipe)
    card = classifier_card(model, recipe, train, test, log)
    path = save_bundle(what, model, card, out)
    console.print(f"[bold]{what}[/]: test accuracy {card['test_accuracy'] * 100:.2f} % on {len(test)} images, "
                  f"{card['flops'] / 1e6:.2f} MFLOPs, {card['params']:,} params, {card['train_seconds']:.0f} s -> {path}")
