"""Small torch helpers shared by pipelines: image to tensor, prediction, model fingerprints."""

from __future__ import annotations

import numpy as np
import torch

from sc2sim.models import read_card


def image_tensor(image: np.ndarray) -> torch.Tensor:
    """uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB image -> float ``(1, C, H, W)`` in [0, 1] (what every Sc2Model takes)."""
    return images_tensor(np.asarray(image)[None])


def images_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(B, H, W)`` grey or ``(B, H, W, 3)`` RGB images -> float ``(B, C, H, W)`` in [0, 1]."""
    x = torch.from_numpy(np.array(images, dtype=np.float32)).div_(255.0)
    return x.permute(0, 3, 1, 2).contiguous() if x.dim() == 4 else x[:, None]


def argmax_batch(logits: torch.Tensor) -> np.ndarray:
    """Predicted classes of a ``(B, classes)`` logit tensor, as int64."""
    return logits.argmax(1).numpy().astype(np.int64)


def argmax1(logits: torch.Tensor) -> int:
    """Predicted class of a ``(1, classes)`` logit tensor."""
    return int(logits.argmax(1).item())


def weights_tag(name: str) -> str:
    """``NAME@sha12``: a bundled model's name with its weights hash (for cache keys)."""
    return f"{name}@{read_card(name)['weights_sha256'][:12]}"
