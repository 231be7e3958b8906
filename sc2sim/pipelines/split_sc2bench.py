"""sc2bench's supervised-compression models, split at their bottleneck: ``split:sc2bench``.

``split:sc2bench?config=PATH.yaml&checkpoint=PATH`` builds the splittable model of an sc2bench config
(``models.student_model``; read without running any of its tags, see
:mod:`sc2sim.models.sc2bench_config`) with sc2bench's own builder
(``sc2bench.models.registry.load_classification_model``), loads the checkpoint's state_dict
(``torch.load(..., weights_only=True)``; torchdistill's ``{"model": ...}`` layout is understood) and
splits it at ``bottleneck_layer``:

* device: ImageNet normalisation, the model's ``pre_transform`` (if any), ``bottleneck_layer.encoder``,
  then ``bottleneck_layer.entropy_bottleneck.compress`` (compressai's rANS);
* edge: ``entropy_bottleneck.decompress``, ``bottleneck_layer.decoder``, then the rest of the network
  (for ``splittable_resnet``: layer2, layer3, layer4, avgpool, fc), run by the model's own ``forward``
  with the bottleneck replaced by an identity.

It needs the optional extra (``pip install sc2sim[sc2bench]``) and a factorized-prior bottleneck
(``FPBasedResNetBottleneck``, the Entropic Student's; hyperprior bottlenecks are not supported).

Without ``config`` the model is the SC2 paper's ImageNet Entropic Student (ResNet-50, FP bottleneck
of 24 channels) built in torch by :class:`sc2sim.models.student224.EntropicStudent224` - no sc2bench
needed; its parameter names are sc2bench's, so ``checkpoint=`` takes the same files. ``weights=none``
(instead of a checkpoint) is architecture-only profiling: times and FLOPs measured, bytes and
accuracy from a rate-accuracy card point (method ``entropic-student``; see :mod:`sc2sim.cards`).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from sc2sim.cards import PublishedPoint
from sc2sim.errors import ConfigError
from sc2sim.models.entropy import compress_latent, prepare_for_coding
from sc2sim.models.imagenet import imagenet_normalize, load_strict, read_state_dict
from sc2sim.pipelines.base import Param, Pipeline, register_pipeline
from sc2sim.pipelines.imagenet import CARD_PARAMS, WEIGHTS
from sc2sim.pipelines.payload import rans_decode
from sc2sim.pipelines.torch_util import argmax1, argmax_batch, image_tensor, images_tensor

INSTALL_HINT = "pip install sc2sim[sc2bench]"
INPUT_SIZE = 224


def build_sc2bench_model(config: str, what: str) -> nn.Module:
    """sc2bench's model for ``config`` (untrained); ConfigError naming the extra when sc2bench is missing."""
    from sc2sim.models.sc2bench_config import model_config

    cfg = model_config(config, what)
    try:
        import sc2bench.models.backbone  # noqa: F401  (registers splittable_* builders)
        from sc2bench.models.registry import load_classification_model
    except ImportError:
        raise ConfigError(f"{what}: {config!r} — building sc2bench models needs the optional package sc2bench: "
                          f"{INSTALL_HINT}") from None
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return load_classification_model(cfg, "cpu", False)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ConfigError(f"{what}: {config!r} — sc2bench could not build {cfg['key']!r}: {err}") from None


class _Tail(nn.Module):
    """The model after its bottleneck: a shallow copy whose ``bottleneck_layer`` is an identity."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        rest = copy.copy(model)
        rest._modules = dict(model._modules)  # share the layers, not the module table
        rest._modules["bottleneck_layer"] = nn.Identity()
        if "pre_transform" in rest._modules:
            rest._modules["pre_transform"] = None
        else:
            rest.pre_transform = None
        rest.bottleneck_updated = False  # the identity has no encode/decode
        self.rest = rest

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.rest(h)


@register_pipeline("split", "sc2bench")
class Sc2benchSplit(Pipeline):
    """sc2bench Entropic Student split at its bottleneck: encoder + rANS on the device, decoder + rest on the edge."""

    strategy = "split"
    PARAMS = {
        "config": Param(str, "", "an sc2bench YAML config (default: the SC2 paper's ResNet-50 FP-24 student, built in)"),
        "checkpoint": Param(str, "", "the trained model's state_dict file (torch.load weights_only)"),
        "weights": WEIGHTS,
        **CARD_PARAMS,
    }
    HEADER = ("none: exactly EntropyBottleneck.compress()'s rANS bytes; the latent shape (24 x 55 x 55 for the "
              "ResNet-50 student) is fixed by the model and the 224 x 224 input")
    DOC = __doc__.split("\n\n")[0] if __doc__ else ""

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        super().__init__(name, variant, params)
        ckpt, weights = params["checkpoint"], params["weights"]
        if weights not in ("", "none"):
            raise ConfigError(f"pipeline {name!r}: weights={weights!r} — allowed: none (trained weights: checkpoint=PATH)")
        if bool(ckpt) == (weights == "none"):
            raise ConfigError(f"pipeline {name!r}: checkpoint — give checkpoint=PATH (a trained model) or weights=none "
                              "(architecture only), not both")
        self.published = self.published_point(name, params)
        what = f"pipeline {name!r}"
        if params["config"]:
            self.model = build_sc2bench_model(params["config"], f"{what}: config")
        else:
            from sc2sim.models.student224 import EntropicStudent224

            self.model = EntropicStudent224()
        if ckpt:
            load_strict(self.model, read_state_dict(ckpt, f"{what}: checkpoint"), f"{what}: checkpoint", ckpt)
        self.model.eval()
        bl = getattr(self.model, "bottleneck_layer", None)
        if bl is None or not all(hasattr(bl, a) for a in ("encoder", "entropy_bottleneck", "decoder")) \
                or hasattr(bl, "gaussian_conditional"):
            raise ConfigError(f"{what}: the model's bottleneck_layer ({type(bl).__name__}) is not a factorized-prior "
                              "bottleneck (encoder, entropy_bottleneck, decoder); split:sc2bench supports those only")
        self.bl = bl
        prepare_for_coding(bl.entropy_bottleneck)
        pre = getattr(self.model, "pre_transform", None)
        self.pre: Callable[[torch.Tensor], torch.Tensor] = pre if pre is not None else (lambda x: x)
        self.tail: nn.Module | Callable = self.model.tail if hasattr(self.model, "tail") else _Tail(self.model)
        with torch.no_grad():
            self.latent_hw = tuple(self._latent(torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)).shape[-2:])

    @classmethod
    def published_point(cls, name: str, params: dict[str, Any]) -> PublishedPoint | None:
        """Card point for ``weights=none`` (method ``entropic-student``)."""
        from sc2sim.pipelines.imagenet import card_point

        return card_point(name, params, "entropic-student")

    def _latent(self, x: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB ``(B, 3, H, W)`` -> unquantised latent ``(B, C, h, w)``."""
        return self.bl.encoder(self.pre(imagenet_normalize(x)))

    def _classify(self, z: torch.Tensor) -> torch.Tensor:
        return self.tail(self.bl.decoder(z))

    def mobile_compute(self, image: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            y = self._latent(image_tensor(image))
        if tuple(y.shape[-2:]) != self.latent_hw:
            raise ConfigError(f"{self.name}: takes {INPUT_SIZE}x{INPUT_SIZE} images, got {tuple(np.shape(image))}; "
                              "use dataset imagefolder:PATH (224x224 RGB) or sample-photos")
        return y

    def encode(self, x: torch.Tensor) -> bytes:
        return compress_latent(self.bl.entropy_bottleneck, x)

    def decode(self, payload: bytes) -> torch.Tensor:
        return rans_decode(self.name, self.bl.entropy_bottleneck, [payload], self.latent_hw)

    def edge_compute(self, z: torch.Tensor) -> int:
        with torch.no_grad():
            return argmax1(self._classify(z))

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        with torch.no_grad():  # the caller bounds the batch (sc2sim.profiling.quality.PIXELS_PER_BATCH)
            return self.bl.entropy_bottleneck.compress(self._latent(images_tensor(images)))

    def edge_batch(self, payloads: list[bytes]) -> np.ndarray:
        with torch.no_grad():
            return argmax_batch(self._classify(rans_decode(self.name, self.bl.entropy_bottleneck, list(payloads),
                                                           self.latent_hw)))

    def fingerprint(self) -> str:
        import compressai

        from sc2sim.models.bundle import file_sha256

        parts = [self.name, f"compressai-{compressai.__version__}"]
        for key in ("config", "checkpoint"):
            if self.params[key]:
                parts.append(f"{key}@{file_sha256(Path(self.params[key]).expanduser())[:12]}")
        if self.params["config"]:
            import sc2bench

            parts.append(f"sc2bench-{getattr(sc2bench, '__version__', '?')}")
        return "|".join(parts)

    def models(self) -> dict[str, list[Any]]:
        pre = [self.pre] if isinstance(self.pre, nn.Module) else []
        tail = [self.tail] if isinstance(self.tail, nn.Module) else [m for m in (
            self.model.layer2, self.model.layer3, self.model.layer4, self.model.fc)]
        return {"mobile": [*pre, self.bl.encoder, self.bl.entropy_bottleneck], "edge": [self.bl.decoder, *tail]}
