"""The one small base class every sc2sim model shares, and the model registry.

Like compressai's ``CompressionModel``, :class:`Sc2Model` is deliberately thin: it records the
constructor's hyper-parameters (so a model card can rebuild the architecture), normalises uint8-range
input itself (so every pipeline feeds ``image / 255``), and exposes its layers as an ordered list of
named *stages* so a classifier can be cut at any stage boundary for split computing.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

# Fashion-MNIST training-set statistics of x/255 (computed on the 60k training images).
FMNIST_MEAN, FMNIST_STD = 0.2860, 0.3530

MODELS: dict[str, type["Sc2Model"]] = {}


def register_model(name: str) -> Callable[[type["Sc2Model"]], type["Sc2Model"]]:
    """Class decorator: make a model buildable by ``name`` (as compressai's ``register_model``)."""

    def deco(cls: type[Sc2Model]) -> type[Sc2Model]:
        MODELS[name] = cls
        cls.arch_name = name
        return cls

    return deco


def build_model(name: str, **hparams: Any) -> "Sc2Model":
    """Instantiate a registered model by name with hyper-parameters."""
    if name not in MODELS:
        raise KeyError(f"unknown model {name!r}; known: {sorted(MODELS)}")
    return MODELS[name](**hparams)


class Sc2Model(nn.Module):
    """Base class: hyper-parameters kept for model cards, input normalisation, named stages.

    Subclasses call ``super().__init__(**hparams)`` with every constructor argument and fill
    ``self.stages`` (an ordered ``nn.ModuleDict``). Input is a float tensor ``(B, 1, H, W)`` in [0, 1].
    """

    arch_name: str = "?"

    def __init__(self, **hparams: Any) -> None:
        super().__init__()
        self.hparams = dict(hparams)
        self.stages = nn.ModuleDict()
        self.register_buffer("mean", torch.tensor(FMNIST_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(FMNIST_STD), persistent=False)

    @property
    def stage_names(self) -> list[str]:
        """Names of the stages in execution order; boundary ``k`` is the output of stage ``k``."""
        return list(self.stages.keys())

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map [0, 1] pixels to zero-mean unit-variance inputs (grey 28x28: what the bundled models were trained on)."""
        if x.dim() != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != (28, 28):
            from sc2sim.errors import ConfigError

            raise ConfigError(f"bundled model {self.arch_name!r} takes grey 28x28 images, got {tuple(x.shape[1:])}: use "
                              "dataset fashion-mnist or imagefolder:PATH?size=28&color=grey (torchvision models: "
                              "&model=ARCH&weights=PATH)")
        return (x - self.mean) / self.std

    def forward_to(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """Run the input through stages ``0..k`` (inclusive): the mobile side of a split at boundary ``k``."""
        h = self.normalize(x)
        for stage in list(self.stages.values())[: k + 1]:
            h = stage(h)
        return h

    def forward_from(self, h: torch.Tensor, k: int) -> torch.Tensor:
        """Run a boundary-``k`` feature through the remaining stages: the edge side of a split."""
        for stage in list(self.stages.values())[k + 1 :]:
            h = stage(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - logits (B, classes)
        return self.forward_from(self.normalize(x), -1)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:  # noqa: D102
        # Entropy bottlenecks keep rANS tables whose sizes depend on training: resize them first
        # (compressai's CompressionModel does the same).
        from compressai.entropy_models import EntropyBottleneck
        from compressai.models.utils import update_registered_buffers

        for name, module in self.named_modules():
            if isinstance(module, EntropyBottleneck):
                update_registered_buffers(module, name, ["_quantized_cdf", "_offset", "_cdf_length"], state_dict)
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def n_params(self) -> int:
        """Number of parameters."""
        return sum(p.numel() for p in self.parameters())
