"""Full offload with a learned input codec: ``offload:learned?lmbda=L``.

The device runs the analysis transform ``g_a`` of a bundled factorized-prior codec
(``codec-lmbda<L>``, see :mod:`sc2sim.models.codec`) and entropy-codes the latent with rANS; the edge
decodes the latent, runs the synthesis transform ``g_s``, clamps and rounds the image to uint8 and
classifies it with bundled model ``model`` (default: the teacher), as every ``offload:*`` pipeline does.
The payload is exactly the rANS bytes: the latent's shape (M x 7 x 7) is fixed by the model and the
28x28 input, so no header is sent.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sc2sim.models import load_bundled
from sc2sim.models.entropy import compress_latent, prepare_for_coding
from sc2sim.pipelines.base import Param, register_pipeline
from sc2sim.pipelines.offload import _MODEL, ImageOffload
from sc2sim.pipelines.bundled import bundle_name
from sc2sim.pipelines.payload import rans_decode
from sc2sim.pipelines.torch_util import image_tensor, images_tensor, weights_tag

@register_pipeline("offload", "learned")
class LearnedOffload(ImageOffload):
    """Learned input codec (factorized prior, Ballé et al. 2018) at rate-distortion weight ``lmbda``:
    g_a + rANS on the device, g_s + the classifier on the edge."""

    FORMAT = "learned"
    PARAMS = {
        "lmbda": Param(float, 0.0067, "the lambda of a bundled codec (sc2sim/weights/codec-lmbda*.json)", lambda v: v > 0),
        "model": _MODEL,
    }
    HEADER = "none: exactly the rANS bytes of the M x 7 x 7 latent (its shape is fixed by the model)"
    DOC = __doc__

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        self.codec_name = bundle_name(name, "codec-lmbda", "lmbda", float(params["lmbda"]), "codec")
        super().__init__(name, variant, params)
        self.codec = load_bundled(self.codec_name)
        prepare_for_coding(self.codec.entropy_bottleneck)
        self.hw = self.codec.latent_hw()

    def mobile_compute(self, image: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return self.codec.g_a(image_tensor(image))

    def encode(self, x: torch.Tensor) -> bytes:
        return compress_latent(self.codec.entropy_bottleneck, x)

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        with torch.no_grad():
            return self.codec.entropy_bottleneck.compress(self.codec.g_a(images_tensor(images)))

    def decode_latent(self, payload: bytes) -> torch.Tensor:
        """The dequantised latent ``(1, M, 7, 7)`` decoded from the payload (PayloadError if it is not a valid
        rANS stream of that latent, see :mod:`sc2sim.pipelines.payload`)."""
        return rans_decode(self.name, self.codec.entropy_bottleneck, [payload], self.hw)

    def _synthesize(self, y_hat: torch.Tensor) -> np.ndarray:
        """``g_s`` of dequantised latents, clamped and rounded to uint8 images ``(B, H, W)``."""
        with torch.no_grad():
            x_hat = self.codec.g_s(y_hat)
        return x_hat.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)[:, 0].numpy()

    def decode(self, payload: bytes) -> np.ndarray:
        return self._synthesize(self.decode_latent(payload))[0]

    def decode_batch(self, payloads: list[bytes]) -> np.ndarray:
        with torch.no_grad():
            return self._synthesize(rans_decode(self.name, self.codec.entropy_bottleneck, list(payloads), self.hw))

    def payload_only(self, payload: bytes) -> int:
        return len(payload)  # no container: the payload is the rANS stream alone

    def fingerprint(self) -> str:
        import compressai

        return (f"{self.name}|{weights_tag(self.codec_name)}|{weights_tag(self.params['model'])}"
                f"|compressai-{compressai.__version__}")

    def models(self) -> dict[str, list[Any]]:
        return {"mobile": self.codec.mobile_modules(), "edge": [*self.codec.edge_modules(), self.model]}
