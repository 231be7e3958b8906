"""Pieces every training loop shares: seeding, tensors from an ImageSet, augmentation, evaluation, progress."""

from __future__ import annotations

import random
from typing import Iterator

import numpy as np
import torch

from sc2sim.data import ImageSet
from sc2sim.ui import progress_bar  # noqa: F401  (re-exported: the training loops' progress bar)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; return a torch generator for data order and augmentation."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def to_tensors(data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Images as float ``(N, 1, H, W)`` in [0, 1] and labels as int64 ``(N,)``."""
    x = torch.from_numpy(np.ascontiguousarray(data.images)).float().div_(255.0).unsqueeze(1)
    return x, torch.from_numpy(np.ascontiguousarray(data.labels))


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 2, flip: bool = True) -> torch.Tensor:
    """Random translation by up to ``pad`` pixels (zero padding) and random horizontal flip, per image."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])  # (n, h)
    cols = (dx[:, None] + torch.arange(w)[None, :])  # (n, w)
    idx_n = torch.arange(n)[:, None, None]
    out = padded[idx_n, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)
    if flip:
        mask = torch.rand(n, generator=gen) < 0.5
        out[mask] = out[mask].flip(-1)
    return out


def batches(n: int, batch_size: int, gen: torch.Generator, shuffle: bool = True) -> Iterator[torch.Tensor]:
    """Index batches over ``range(n)``, shuffled by ``gen``."""
    order = torch.randperm(n, generator=gen) if shuffle else torch.arange(n)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]


def optimizer_step(loss: torch.Tensor, opt: torch.optim.Optimizer, sched: object | None = None,
                   clip_params: list[torch.nn.Parameter] | None = None, clip_max_norm: float = 0.0) -> None:
    """One optimiser step on ``loss`` (optional gradient clipping, then the scheduler's step)."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if clip_params is not None and clip_max_norm > 0:
        torch.nn.utils.clip_grad_norm_(clip_params, clip_max_norm)
    opt.step()
    if sched is not None:
        sched.step()


def aux_step(model: torch.nn.Module, aux_opt: torch.optim.Optimizer) -> float:
    """One step of compressai's auxiliary loss (the entropy bottleneck's quantiles); returns its value."""
    from sc2sim.models.entropy import aux_loss

    aux = aux_loss(model)
    optimizer_step(aux, aux_opt)
    return aux.item()


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Class predictions of ``model`` (eval mode) for float inputs ``x``."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def accuracy(model: torch.nn.Module, data: ImageSet) -> float:
    """Top-1 accuracy (fraction) of ``model`` on every image of ``data``."""
    x, y = to_tensors(data)
    return float((predict(model, x) == y).float().mean())


