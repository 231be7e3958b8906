"""Local-only pipelines: the whole classifier runs on the device; only the 1-byte result is sent.

``local:teacher`` runs the teacher on the device, ``local:light`` the light CNN. The payload is one
byte, the class index (header: none). The simulator does not put it on the uplink.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sc2sim.models import load_bundled
from sc2sim.pipelines.base import Pipeline, register_pipeline
from sc2sim.pipelines.payload import class_index
from sc2sim.pipelines.torch_util import argmax1, image_tensor, predict_batch, weights_tag


class LocalPipeline(Pipeline):
    """Run bundled model ``variant`` on the device; the payload is the prediction as one byte."""

    strategy = "local"
    HEADER = "none: the payload is the predicted class index as one unsigned byte"

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        super().__init__(name, variant, params)
        self.model = self.load_model()

    def load_model(self) -> Any:
        """The classifier the device runs (here: bundled model ``variant``)."""
        return load_bundled(self.variant)

    def mobile_compute(self, image: np.ndarray) -> int:
        with torch.no_grad():
            return argmax1(self.model(image_tensor(image)))

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        with torch.no_grad():
            return [self.encode(int(c)) for c in predict_batch(self.model, images)]

    def encode(self, x: int) -> bytes:
        return bytes([x])

    def decode(self, payload: bytes) -> int:
        return class_index(self.name, payload, 1, int(self.model.hparams["num_classes"]))

    def fingerprint(self) -> str:
        return f"{self.name}|{weights_tag(self.variant)}"

    def models(self) -> dict[str, list[Any]]:
        return {"mobile": [self.model], "edge": []}


@register_pipeline("local", "teacher")
class LocalTeacher(LocalPipeline):
    """The ResNet teacher, whole, on the device: the accuracy ceiling, at the highest device cost."""

    DOC = __doc__


@register_pipeline("local", "light")
class LocalLight(LocalPipeline):
    """The light CNN, whole, on the device: cheap compute, lower accuracy, nothing on the uplink."""

    DOC = __doc__
