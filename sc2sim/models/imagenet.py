"""224x224 RGB models brought by the user: torchvision classifiers and their checkpoints.

:class:`TorchvisionClassifier` wraps any torchvision classification architecture behind the
:class:`~sc2sim.models.base.Sc2Model` interface the pipelines already use: input ``x`` in [0, 1] of
shape ``(B, 3, H, W)``, ImageNet normalisation inside (mean 0.485/0.456/0.406, std 0.229/0.224/0.225,
torchvision's), and named stages so ``split:naive`` can cut it. ResNets (resnet*, resnext*,
wide_resnet*) get the stages ``stem`` (conv1, bn1, relu, maxpool), ``layer1`` ... ``layer4`` and
``head`` (avgpool, flatten, fc); any other architecture is one stage ``model`` (runs whole, cannot be
cut).

Weights are a state_dict file read with ``torch.load(..., weights_only=True)`` (:func:`read_state_dict`),
or ``none``: the architecture with seeded random initialisation, for architecture-only profiling
(times and FLOPs only, never bytes or accuracy). Nothing is ever downloaded.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sc2sim.errors import ConfigError
from sc2sim.models.base import Sc2Model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
RESNET_PREFIXES = ("resnet", "resnext", "wide_resnet")


def imagenet_normalize(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB ``(B, 3, H, W)`` -> ImageNet-normalised input; ConfigError for anything else (a grey dataset)."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise ConfigError(f"this model takes RGB images (B, 3, H, W), got {tuple(x.shape)}: use dataset "
                          "imagefolder:PATH (224x224 RGB) or sample-photos, not a grey 28x28 dataset")
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def torchvision_archs() -> list[str]:
    """Names of torchvision's classification builders (``resnet50``, ``mobilenet_v3_large``, ...)."""
    from torchvision import models

    return sorted(models.list_models(module=models))


def read_state_dict(path: str, what: str) -> dict[str, torch.Tensor]:
    """A state_dict from a checkpoint file, loaded with ``weights_only=True``.

    Accepts a bare state_dict, or a training checkpoint holding it under ``model`` (torchvision's
    reference scripts, torchdistill/sc2bench) or ``state_dict``; such checkpoints also pickle their
    ``argparse.Namespace`` of arguments, which is the one extra type allowed. ``module.`` prefixes
    (DistributedDataParallel) are removed. ``what`` names the parameter in errors.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what}: {path!r} — no such file")
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"{what}: {path!r} — not a state_dict checkpoint readable with weights_only=True "
                          f"({first[:160]}); save model.state_dict()") from None
    if isinstance(obj, dict):
        for key in ("model", "state_dict"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConfigError(f"{what}: {path!r} — holds no state_dict (a mapping of tensor names to tensors)")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_strict(module: nn.Module, state: dict[str, torch.Tensor], what: str, path: str) -> None:
    """``module.load_state_dict(state)`` with a one-line ConfigError on missing, unexpected or misshaped keys."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [k for k in own if k in state and tuple(own[k].shape) != tuple(state[k].shape)
              and not k.endswith(("_quantized_cdf", "_offset", "_cdf_length"))]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first {missing[0]!r})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first {unexpected[0]!r})")
        if shapes:
            k = shapes[0]
            parts.append(f"shape of {k!r}: {tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model")
        raise ConfigError(f"{what}: {path!r} — does not fit the architecture: " + "; ".join(parts))
    module.load_state_dict(state)


def seeded_init(build, seed: int = 0) -> Any:
    """``build()`` under a fixed torch seed (random initialisation that is the same every run)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


class TorchvisionClassifier(Sc2Model):
    """A torchvision classifier with ImageNet normalisation inside and named stages (module docstring)."""

    arch_name = "torchvision"

    def __init__(self, arch: str, num_classes: int = 1000) -> None:
        from torchvision import models

        super().__init__(arch=arch, num_classes=num_classes)
        self.net = seeded_init(lambda: models.get_model(arch, weights=None, num_classes=num_classes))
        n = self.net
        if arch.startswith(RESNET_PREFIXES):
            self.stages["stem"] = nn.Sequential(n.conv1, n.bn1, n.relu, n.maxpool)
            for name in ("layer1", "layer2", "layer3", "layer4"):
                self.stages[name] = getattr(n, name)
            self.stages["head"] = nn.Sequential(n.avgpool, nn.Flatten(1), n.fc)
        else:
            self.stages["model"] = n

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return imagenet_normalize(x)

    def state_dict_for_net(self) -> dict[str, torch.Tensor]:
        """The underlying torchvision model's state_dict (torchvision's own key names)."""
        return self.net.state_dict()

    @classmethod
    def from_weights(cls, arch: str, weights: str, what: str = "weights") -> "TorchvisionClassifier":
        """Build ``arch`` and load ``weights`` (a state_dict file, torchvision key names) or ``none``.

        The number of classes follows the checkpoint's last linear layer (1000 for ``none``).
        """
        if arch not in torchvision_archs():
            raise ConfigError(f"arch={arch!r} — not a torchvision classifier; allowed: {', '.join(torchvision_archs())}")
        if weights == "none":
            model = cls(arch)
        else:
            state = read_state_dict(weights, what)
            probe = cls(arch)
            linears = [n for n, m in probe.net.named_modules() if isinstance(m, nn.Linear)]
            key = f"{linears[-1]}.weight" if linears else ""
            classes = int(state[key].shape[0]) if key in state else 1000
            model = probe if classes == 1000 else cls(arch, classes)
            load_strict(model.net, state, what, weights)
        return model.eval()
