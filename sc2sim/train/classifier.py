"""Supervised training of the teacher and the light model on Fashion-MNIST.

Recipe (both models): SGD with Nesterov momentum 0.9, weight decay 5e-4, one-cycle learning rate,
label smoothing 0.1, random +-2 px translation and horizontal flips. Deterministic for a given seed
on the same torch build and thread count.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from sc2sim.data import ImageSet
from sc2sim.models.base import Sc2Model
from sc2sim.train.common import accuracy, augment, batches, optimizer_step, progress_bar, seed_everything, to_tensors


@dataclass
class ClassifierRecipe:
    """Hyper-parameters of :func:`train_classifier` (recorded in the model card)."""

    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.1
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    seed: int = 0
    max_steps: int | None = None  # stop early (tests train for a few steps)


def train_classifier(model: Sc2Model, train: ImageSet, recipe: ClassifierRecipe, progress: bool = True) -> dict[str, Any]:
    """Train ``model`` in place; return a log with per-step losses and the wall time in seconds."""
    gen = seed_everything(recipe.seed)
    x, y = to_tensors(train)
    steps_per_epoch = (len(x) + recipe.batch_size - 1) // recipe.batch_size
    total = steps_per_epoch * recipe.epochs
    if recipe.max_steps is not None:
        total = min(total, recipe.max_steps)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=0.9, nesterov=True, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=max(total, 2), pct_start=0.2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    losses: list[float] = []
    t0 = time.perf_counter()
    model.train()
    with progress_bar(f"train {model.arch_name}", total, progress) as bar:
        step = 0
        while step < total:
            for idx in batches(len(x), recipe.batch_size, gen):
                if step >= total:
                    break
                loss = loss_fn(model(augment(x[idx], gen)), y[idx])
                optimizer_step(loss, opt, sched)
                losses.append(loss.item())
                step += 1
                bar.update(0, advance=1, info=f"epoch {1 + step // steps_per_epoch} loss {loss.item():.3f}")
    model.eval()
    return {"losses": losses, "train_seconds": time.perf_counter() - t0, "steps": step}


def classifier_card(model: Sc2Model, recipe: ClassifierRecipe, train: ImageSet, test: ImageSet, log: dict[str, Any]) -> dict[str, Any]:
    """The model card fields of a trained classifier: recipe, data, test accuracy, FLOPs, params."""
    from sc2sim.profiling.flops import model_flops

    return {
        "task": "classification",
        "recipe": asdict(recipe),
        "data": {"train": train.name, "test": test.name, "train_samples": len(train), "test_samples": len(test)},
        "test_accuracy": accuracy(model, test),
        "flops": model_flops(model),
        "params": model.n_params(),
        "train_seconds": round(log["train_seconds"], 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
