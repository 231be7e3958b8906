"""Full offload with input compression: the device encodes the image, the edge decodes and classifies.

The payload is the whole image file as Pillow writes it (container and headers included); the edge
decodes it with Pillow and runs classifier ``model`` on the decoded image: a bundled model (default:
the teacher; grey 28x28) or, with ``&model=ARCH&weights=PATH|none``, a torchvision classifier on
224x224 RGB images (see :mod:`sc2sim.pipelines.imagenet`; ``weights=none`` takes bytes and accuracy
from a rate-accuracy card point, method = the codec's name).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sc2sim.cards import PublishedPoint
from sc2sim.errors import ConfigError
from sc2sim.pipelines.base import Param, Pipeline, register_pipeline
from sc2sim.pipelines.imagenet import EDGE_MODEL_PARAMS, card_point, load_classifier
from sc2sim.pipelines.image_codecs import decode_image, encode_image, payload_only_bytes
from sc2sim.pipelines.torch_util import argmax1, image_tensor, predict_batch

_MODEL = Param(str, "teacher", "a bundled classifier: teacher or light", lambda v: v in ("teacher", "light"))
_QUALITY = Param(int, 50, "an integer 1-100", lambda v: 1 <= v <= 100)
_FLAG = Param(int, 0, "0 or 1", lambda v: v in (0, 1))


class ImageOffload(Pipeline):
    """Encode the input image with an image codec on the device; decode and classify on the edge."""

    strategy = "offload"
    HEADER = "the image file's own container and headers (sent in full, as a plain deployment does)"
    FORMAT = "?"

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        super().__init__(name, variant, params)
        self.published = self.published_point(name, params)
        self.classifier = load_classifier(name, params)
        self.model = self.classifier.module

    @classmethod
    def published_point(cls, name: str, params: dict[str, Any]) -> PublishedPoint | None:
        """Card point for ``weights=none`` (method: the codec's name, e.g. jpeg)."""
        return card_point(name, params, cls.FORMAT)

    def codec_options(self) -> dict[str, Any]:
        """Keyword arguments for Pillow's ``save`` (quality and the like)."""
        return {}

    def mobile_compute(self, image: np.ndarray) -> np.ndarray:
        """The image itself (no model runs on the device); a bundled classifier's images must be grey 28x28,
        the only input the edge will accept (ConfigError naming the datasets that fit)."""
        if self.classifier.pixel_mode == "L" and np.shape(image) != self._grey_size():
            raise ConfigError(f"pipeline {self.name!r}: image of shape {np.shape(image)} — its bundled classifier "
                              "takes grey 28x28 images: use dataset fashion-mnist or imagefolder:PATH?size=28&color=grey "
                              "(224x224 RGB images: &model=ARCH&weights=PATH)")
        return image

    def _grey_size(self) -> tuple[int, int]:
        h, w = self.classifier.input_shape[-2:]
        return (h, w)

    def encode(self, x: np.ndarray) -> bytes:
        return encode_image(x, self.FORMAT, **self.codec_options())

    def decode(self, payload: bytes) -> np.ndarray:
        """The decoded image; PayloadError unless the payload is one well-formed file of this pipeline's format
        (and, for a bundled classifier, of its 28x28 input size; torchvision classifiers take
        any size), see :func:`sc2sim.pipelines.image_codecs.decode_image`."""
        size = self._grey_size()[::-1] if self.classifier.pixel_mode == "L" else None
        return decode_image(payload, self.classifier.pixel_mode, self.FORMAT, size, self.name)

    def decode_batch(self, payloads: list[bytes]) -> np.ndarray:
        """Decoded images ``(B, H, W)`` uint8 of a batch of payloads."""
        return np.stack([self.decode(p) for p in payloads])

    def edge_batch(self, payloads: list[bytes]) -> np.ndarray:
        with torch.no_grad():
            return predict_batch(self.model, self.decode_batch(payloads))

    def payload_only(self, payload: bytes) -> int:
        return payload_only_bytes(payload, self.FORMAT)

    def edge_compute(self, z: np.ndarray) -> int:
        with torch.no_grad():
            return argmax1(self.model(image_tensor(z)))

    def fingerprint(self) -> str:
        import PIL

        return f"{self.name}|{self.classifier.tag}|pillow-{PIL.__version__}"

    def models(self) -> dict[str, list[Any]]:
        return {"mobile": [], "edge": [self.model]}


@register_pipeline("offload", "png")
class PngOffload(ImageOffload):
    """Lossless PNG (zlib level 9): the accuracy of the raw image at the largest input payload."""

    FORMAT = "png"
    PARAMS = {**EDGE_MODEL_PARAMS}
    DOC = __doc__

    def codec_options(self) -> dict[str, Any]:
        return {"optimize": True}


@register_pipeline("offload", "jpeg")
class JpegOffload(ImageOffload):
    """Baseline JPEG at ``quality``; ``optimize=1`` computes optimal Huffman tables (smaller files)."""

    FORMAT = "jpeg"
    PARAMS = {"quality": _QUALITY, "optimize": _FLAG, **EDGE_MODEL_PARAMS}
    DOC = __doc__

    def codec_options(self) -> dict[str, Any]:
        return {"quality": self.params["quality"], "optimize": bool(self.params["optimize"])}


@register_pipeline("offload", "webp")
class WebpOffload(ImageOffload):
    """Lossy WebP (VP8) at ``quality``; ``lossless=1`` for VP8L."""

    FORMAT = "webp"
    PARAMS = {"quality": _QUALITY, "lossless": _FLAG, **EDGE_MODEL_PARAMS}
    DOC = __doc__

    def codec_options(self) -> dict[str, Any]:
        return {"quality": self.params["quality"], "lossless": bool(self.params["lossless"]), "method": 6}


@register_pipeline("offload", "avif")
class AvifOffload(ImageOffload):
    """AVIF (AV1 intra) at ``quality``, encoded with Pillow's built-in libavif."""

    FORMAT = "avif"
    PARAMS = {"quality": _QUALITY, **EDGE_MODEL_PARAMS}
    DOC = __doc__

    def codec_options(self) -> dict[str, Any]:
        return {"quality": self.params["quality"]}
