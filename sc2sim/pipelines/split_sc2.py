"""Supervised compression for split computing: the Entropic Student (``split:sc2?beta=B&arch=A``).

Device: the student's encoder, then compressai's ``EntropyBottleneck.compress`` (rANS). Edge:
``decompress``, the decoder (to the teacher's stage-1 feature shape), then the teacher tail.
``arch`` picks the architecture and recipe (see :data:`sc2sim.train.student.ARCHS`): ``gdn`` (the
SC2 paper's GDN encoder, feature matching then KD with the encoder frozen), ``res`` (a residual
ReLU encoder trained end to end with KD and the rate term), ``franken`` (FrankenSplit: residual
encoder, saliency-weighted feature matching, the frozen teacher tail), ``e2e`` (the bundled gdn
student of beta 0.003 plus an end-to-end stage, encoder unfrozen, at rate weight B). Bundled students:
``sc2sim/weights/student-beta<B>.pt`` (gdn) and ``student-<A>-beta<B>.pt``;
``sc2sim train student --arch A --beta B`` makes a new one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sc2sim.models import load_bundled
from sc2sim.models.entropy import compress_latent, prepare_for_coding
from sc2sim.pipelines.base import Param, Pipeline, register_pipeline
from sc2sim.pipelines.bundled import bundle_name
from sc2sim.pipelines.payload import rans_decode
from sc2sim.pipelines.student_archs import STUDENT_ARCHS, student_prefix
from sc2sim.pipelines.torch_util import argmax1, argmax_batch, image_tensor, images_tensor, weights_tag


@register_pipeline("split", "sc2")
class EntropicStudentSplit(Pipeline):
    """Entropic Student: learned encoder + entropy bottleneck on the device, decoder + teacher tail on the edge."""

    strategy = "split"
    PARAMS = {"beta": Param(float, 0.003, "the rate weight of a bundled student (see sc2sim/weights/student-*beta*.json)",
                            lambda v: v > 0),
              "arch": Param(str, "gdn", "gdn (SC2 recipe) | res (residual encoder, end-to-end) | franken (FrankenSplit) | "
                            "e2e (the gdn student + an end-to-end stage)",
                            lambda v: v in STUDENT_ARCHS)}
    HEADER = "none: the payload is exactly EntropyBottleneck.compress()'s rANS bytes; the latent shape is fixed by the model"
    DOC = __doc__.split("\n\n")[0] if __doc__ else ""

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        super().__init__(name, variant, params)
        arch = params["arch"]
        self.bundle = bundle_name(name, student_prefix(arch), "beta", params["beta"],
                                  "student" if arch == "gdn" else f"student --arch {arch}")
        self.model = load_bundled(self.bundle)
        prepare_for_coding(self.model.entropy_bottleneck)
        self.latent_hw = self.model.latent_hw

    def mobile_compute(self, image: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.model.encode_latent(image_tensor(image))

    def encode(self, x: torch.Tensor) -> bytes:
        return compress_latent(self.model.entropy_bottleneck, x)

    def decode(self, payload: bytes) -> torch.Tensor:
        return rans_decode(self.name, self.model.entropy_bottleneck, [payload], self.latent_hw)

    def edge_compute(self, z: torch.Tensor) -> int:
        with torch.no_grad():
            return argmax1(self.model.tail(self.model.decode_features(z)))

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        with torch.no_grad():
            return self.model.entropy_bottleneck.compress(self.model.encode_latent(images_tensor(images)))

    def edge_batch(self, payloads: list[bytes]) -> np.ndarray:
        with torch.no_grad():
            z = rans_decode(self.name, self.model.entropy_bottleneck, list(payloads), self.latent_hw)
            return argmax_batch(self.model.tail(self.model.decode_features(z)))

    def fingerprint(self) -> str:
        return f"{self.name}|{weights_tag(self.bundle)}"

    def models(self) -> dict[str, list[Any]]:
        return {"mobile": self.model.mobile_modules(), "edge": self.model.edge_modules()}
