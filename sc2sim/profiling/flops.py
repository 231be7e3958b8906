"""FLOP counting with torch's own ``FlopCounterMode`` (multiply-add = 2 FLOPs)."""

from __future__ import annotations

from typing import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs that torch's counter sees while ``fn()`` runs (under ``no_grad``); 0 for non-torch code.

    Attention is counted through its parts, with the formulas torch's registry lacks, exactly as
    :func:`sc2sim.profiling.counting.count_work` counts it (a ViT's fused attention would count 0)."""
    from sc2sim.profiling.counting import EXTRA_FLOPS, unfused_attention

    with torch.no_grad(), unfused_attention(), FlopCounterMode(display=False, custom_mapping=EXTRA_FLOPS) as counter:
        fn()
    return int(counter.get_total_flops())


def model_flops(model: torch.nn.Module, shape: tuple[int, ...] = (1, 1, 28, 28)) -> int:
    """FLOPs of one forward pass of ``model`` on a zero input of ``shape`` (batch size 1 by default)."""
    x = torch.zeros(shape)
    was_training = model.training
    model.eval()
    try:
        return count_flops(lambda: model(x))
    finally:
        model.train(was_training)
