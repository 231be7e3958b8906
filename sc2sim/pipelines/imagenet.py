"""Bring your own model: torchvision classifiers in every strategy, and architecture-only pipelines.

* ``local:torchvision?model=resnet50&weights=PATH`` (``arch=`` is another spelling of ``model=``): the whole torchvision model on the device; the
  payload is the predicted class (one byte below 256 classes, else two, little-endian).
* offload and naive split take the same model through ``&model=ARCH&weights=PATH`` (see
  :mod:`.offload` and :mod:`.split_naive`): :func:`load_classifier` builds a bundled model or a
  torchvision one.
* ``weights=none`` (or ``sc2sim profile --weights none``): the architecture with seeded random weights.
  Its times and FLOPs are measured; its bytes and accuracy are **not** (untrained weights say nothing
  about them): they come from a rate-accuracy card point (``&card=NAME|PATH&point=K``, ``&method=``
  to pick the card's method; see :mod:`sc2sim.cards`), applied by
  :func:`sc2sim.profiling.architecture.apply_published` and labelled "published" everywhere.

Images for these models are uint8 RGB ``(224, 224, 3)`` (dataset ``imagefolder:PATH`` or
``sample-photos``); the models divide by 255 and apply ImageNet's normalisation themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sc2sim.cards import DEFAULT_CARD, PublishedPoint, select_point
from sc2sim.errors import ConfigError
from sc2sim.naming import PipelineSpec
from sc2sim.pipelines.base import PIPELINES, Param, register_pipeline, resolve_params
from sc2sim.pipelines.local import LocalPipeline
from sc2sim.pipelines.payload import class_index
from sc2sim.pipelines.torch_util import weights_tag

BUNDLED_CLASSIFIERS = ("teacher", "light")


def _classifiers() -> list[str]:
    """Every value ``model=`` takes: the bundled classifiers and torchvision's classification builders."""
    from sc2sim.models.imagenet import torchvision_archs

    return [*BUNDLED_CLASSIFIERS, *torchvision_archs()]


def _is_classifier(v: str) -> bool:
    return v in _classifiers()


WEIGHTS = Param(str, "", "a state_dict file (PATH, torch.load weights_only) or none (architecture only: times and "
                "FLOPs measured, bytes and accuracy from &card/&point)")
CARD_PARAMS = {
    "card": Param(str, DEFAULT_CARD, "a shipped rate-accuracy card's name or a card file (with weights=none)"),
    "method": Param(str, "", "a method of the card (default: the pipeline's own, e.g. jpeg, webp, entropic-student, the arch)"),
    "point": Param(int, -1, "0-based index of the card's point (with weights=none)", lambda v: v >= -1),
}
ANY_MODEL = Param(str, "teacher", "a bundled classifier (teacher, light) or a torchvision architecture "
                  "(resnet18, resnet50, mobilenet_v3_large, ...; with &weights=PATH|none)", _is_classifier, _classifiers)
EDGE_MODEL_PARAMS = {"model": ANY_MODEL, "weights": WEIGHTS, **CARD_PARAMS}


def card_point(pipeline: str, params: dict[str, Any], default_method: str) -> PublishedPoint | None:
    """The card point standing in for bytes and accuracy when ``weights=none``, else None.

    ConfigError when a card parameter is given without ``weights=none`` (it would silently do nothing).
    """
    if params.get("weights") != "none":
        if params.get("point", -1) != -1 or params.get("method"):
            raise ConfigError(f"pipeline {pipeline!r}: point/method — only with weights=none (architecture only); "
                              "trained weights give measured bytes and accuracy")
        return None
    return select_point(params.get("card") or DEFAULT_CARD, params.get("method") or default_method,
                        int(params.get("point", -1)), pipeline)


def published_for(name: str) -> PublishedPoint | None:
    """The card point of a registry name (None unless it is an architecture-only pipeline); builds no model."""
    cls, canonical, _variant, params = resolve_params(name)
    fn = getattr(cls, "published_point", None)
    return fn(canonical, params) if fn is not None else None


def with_weights_none(names: list[str], option: str = "--weights none") -> list[str]:
    """``names`` with ``weights=none`` set (and any ``checkpoint`` dropped): architecture-only profiling."""
    out = []
    for name in names:
        spec = PipelineSpec.parse(name)
        cls = PIPELINES.get(spec.key)
        if cls is None or "weights" not in cls.PARAMS:
            have = ", ".join(k for k, c in sorted(PIPELINES.items()) if "weights" in c.PARAMS)
            raise ConfigError(f"{option}: pipeline {name!r} has no architecture-only mode (its weights are bundled "
                              f"and trained); pipelines that have one: {have}")
        out.append(spec.with_params(checkpoint=None, weights="none").name)
    return out


@dataclass
class Classifier:
    """A classifier for a pipeline: the module, its cache tag, the decoded-image mode and a probe input shape."""

    module: torch.nn.Module
    tag: str
    pixel_mode: str  # "L" (bundled, grey 28x28) or "RGB" (torchvision, 224x224)
    input_shape: tuple[int, ...]


def load_classifier(pipeline: str, params: dict[str, Any]) -> Classifier:
    """``params["model"]`` with ``params["weights"]``: a bundled classifier, or a torchvision one."""
    from sc2sim.models import load_bundled
    from sc2sim.models.bundle import file_sha256
    from sc2sim.models.imagenet import TorchvisionClassifier

    model, weights = params["model"], params.get("weights", "")
    if model in BUNDLED_CLASSIFIERS:
        if weights:
            raise ConfigError(f"pipeline {pipeline!r}: weights={weights!r} — only with a torchvision model "
                              f"(&model=resnet50 ...); {model} uses its bundled weights")
        return Classifier(load_bundled(model), weights_tag(model), "L", (1, 1, 28, 28))
    if not weights:
        raise ConfigError(f"pipeline {pipeline!r}: weights — required with model={model}: a state_dict file, "
                          "or none (architecture only)")
    net = TorchvisionClassifier.from_weights(model, weights, f"pipeline {pipeline!r}: weights")
    tag = f"{model}@{'untrained-seed0' if weights == 'none' else file_sha256(Path(weights).expanduser())[:12]}"
    return Classifier(net, tag, "RGB", (1, 3, 224, 224))


@register_pipeline("local", "torchvision")
class LocalTorchvision(LocalPipeline):
    """A torchvision classifier (``model``, ``weights``) run whole on the device; the payload is the class.

    ``model`` names the classifier as in the offload and split families; ``arch`` is accepted as
    another spelling of it (:data:`sc2sim.naming.PARAM_ALIASES`).
    """

    strategy = "local"
    PARAMS = {"model": Param(str, "resnet50", "a torchvision classification architecture (resnet18, resnet50, ...)", _is_classifier,
                             _classifiers),
              "weights": WEIGHTS, **CARD_PARAMS}
    HEADER = "none: the predicted class index, one unsigned byte (two, little-endian, above 256 classes)"
    DOC = ("A torchvision classifier run whole on the device (weights=PATH: a state_dict; weights=none: "
           "architecture only, bytes and accuracy from a card point)")

    def load_model(self) -> Any:
        name, params = self.name, self.params
        if params["model"] in BUNDLED_CLASSIFIERS:
            raise ConfigError(f"pipeline {name!r}: model={params['model']!r} — use local:{params['model']} for bundled models")
        self.published = self.published_point(name, params)
        self.clf = load_classifier(name, {"model": params["model"], "weights": params["weights"]})
        self.nbytes = 1 if self.clf.module.hparams["num_classes"] <= 256 else 2
        return self.clf.module

    @classmethod
    def published_point(cls, name: str, params: dict[str, Any]) -> PublishedPoint | None:
        """Card point for ``weights=none`` (method: the architecture's name)."""
        return card_point(name, params, params["model"])

    def encode(self, x: int) -> bytes:
        return int(x).to_bytes(self.nbytes, "little")

    def decode(self, payload: bytes) -> int:
        return class_index(self.name, payload, self.nbytes, int(self.clf.module.hparams["num_classes"]))

    def fingerprint(self) -> str:
        return f"{self.name}|{self.clf.tag}"
