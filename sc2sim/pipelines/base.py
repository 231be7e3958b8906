"""The one small interface every strategy shares, and the pipeline registry.

A :class:`Pipeline` is what runs on the mobile device, what crosses the link, and what runs on the
edge server::

    image (uint8 HxW) --mobile_compute--> x --encode--> payload bytes   (on the device)
    payload bytes --decode--> z --edge_compute--> predicted class       (on the edge)

``payload`` is exactly what would go on the wire (headers included) and ``decode`` consumes exactly
those bytes. A local-only pipeline computes its prediction on the device and its payload is just
the 1-byte result. Families register with :func:`register_pipeline` and are built by registry name
with :func:`build_pipeline`.
"""

from __future__ import annotations

import difflib
import math

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from sc2sim.naming import PipelineNameError, PipelineSpec


@dataclass(frozen=True)
class Param:
    """A pipeline parameter: its type, default and what values are allowed (for errors and ``--help``)."""

    kind: type
    default: Any
    allowed: str
    check: Callable[[Any], bool] = lambda v: True
    names: Callable[[], Sequence[str]] | None = None  # the valid values, when they are names: errors suggest close ones

    def parse(self, pipeline: str, key: str, raw: str) -> Any:
        """Convert ``raw`` to ``kind`` and check it; PipelineNameError naming the pipeline and key if bad.

        A number must be written in ASCII, an integer without a sign or leading zeros, a float finite:
        the name is the cache key, so ``quality=050`` or a full-width ``５０`` would profile ``quality=50``
        again under another name."""
        try:
            value = self.kind(raw)
        except ValueError:
            raise PipelineNameError(pipeline, f"{key}={raw!r} — allowed: {self.allowed}") from None
        if self.kind is float and not math.isfinite(value):
            raise PipelineNameError(pipeline, f"{key}={raw!r} — allowed: {self.allowed}, a finite number")
        if not raw.isascii() or (self.kind is int and raw != str(value)):
            raise PipelineNameError(pipeline, f"{key}={raw!r} — allowed: {self.allowed}, written as a plain ASCII "
                                    "number" + (f" ({value})" if raw.isascii() else ""))
        if not self.check(value):
            close = difflib.get_close_matches(raw.strip().lower(), self.names(), 3, 0.6) if self.names else []
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise PipelineNameError(pipeline, f"{key}={raw!r} — allowed: {self.allowed}{hint}")
        return value


class Pipeline(ABC):
    """Base class of every strategy. Subclasses set :attr:`strategy`, :attr:`PARAMS` and the four stages."""

    strategy: ClassVar[str] = "?"
    PARAMS: ClassVar[dict[str, Param]] = {}
    HEADER: ClassVar[str] = ""  # what the payload's header holds (documented per family)
    DOC: ClassVar[str] = ""

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        self.name = name
        self.variant = variant
        self.params = params

    # --- mobile side -------------------------------------------------------------------------
    def mobile_compute(self, image: np.ndarray) -> Any:
        """Device computation before encoding (a model head, or nothing for input compression)."""
        return image

    @abstractmethod
    def encode(self, x: Any) -> bytes:
        """Turn the device's output into the payload bytes that go on the wire."""

    # --- edge side ---------------------------------------------------------------------------
    @abstractmethod
    def decode(self, payload: bytes) -> Any:
        """Parse exactly the payload bytes back (entropy decoding, image decoding).

        Raises :class:`~sc2sim.errors.PayloadError` for a payload the format shows to be broken, never
        classifying it (checks in :mod:`sc2sim.pipelines.payload`): a local result of the wrong length
        or a class index out of range; a naive-split tensor of the wrong length, a broken, cut or
        extended zlib/xz stream, non-finite values, or codes that min-max quantisation cannot give; an
        image file that is not one well-formed file of the pipeline's format and input size (PNG's
        CRC-32s, JPEG/WebP/AVIF structure, Pillow's decoder); a rANS stream that is not whole words or
        does not re-encode to itself.

        **Limitation.** No payload carries a checksum of its own (adding one would add bytes), so a
        corruption that leaves a valid payload of the same format is classified: any value change in
        raw float32 or quantised codes, a changed JPEG/WebP/AVIF scan, or a rANS stream that still
        decodes and re-encodes to itself (a flipped bit usually does not). Payloads lost or cut in
        transit are the transport's business: the emulator's wire framing carries each payload's length.
        """

    def edge_compute(self, z: Any) -> int:
        """Edge computation after decoding; returns the predicted class index."""
        return int(z)

    # --- conveniences ------------------------------------------------------------------------
    def mobile(self, image: np.ndarray) -> bytes:
        """Everything the device does for one image."""
        return self.encode(self.mobile_compute(image))

    def edge(self, payload: bytes) -> int:
        """Everything the edge server does for one payload."""
        return self.edge_compute(self.decode(payload))

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        """Payloads of a batch of images ``(B, H, W)``; the same bytes as :meth:`mobile` on each.

        Used for the accuracy-and-bytes pass over the whole test set. Families with torch stages
        override it to run the model on the whole batch (up to float rounding, see
        :func:`sc2sim.profiling.measure.measure_pipeline`, which counts any byte differences).
        """
        return [self.mobile(image) for image in images]

    def edge_batch(self, payloads: list[bytes]) -> np.ndarray:
        """Predicted classes of a batch of payloads (the same as :meth:`edge` on each)."""
        return np.array([self.edge(p) for p in payloads], dtype=np.int64)

    def payload_only(self, payload: bytes) -> int:
        """Bytes of coded data in ``payload`` without container or header (equal to ``len`` when there is none)."""
        return len(payload)

    def fingerprint(self) -> str:
        """Identifies the exact behaviour (name plus weights hashes) for profile caching."""
        return self.name

    def models(self) -> dict[str, list[Any]]:
        """torch modules used on each side: ``{"mobile": [...], "edge": [...]}`` (for params)."""
        return {"mobile": [], "edge": []}


PIPELINES: dict[str, type[Pipeline]] = {}


def register_pipeline(family: str, variant: str) -> Callable[[type[Pipeline]], type[Pipeline]]:
    """Class decorator: make ``family:variant`` buildable by :func:`build_pipeline`."""

    def deco(cls: type[Pipeline]) -> type[Pipeline]:
        PIPELINES[f"{family}:{variant}"] = cls
        return cls

    return deco


def resolve_spec(name: str | PipelineSpec) -> tuple[type[Pipeline], PipelineSpec]:
    """The class of a registry name and its parsed spec; PipelineNameError if the registry rejects it."""
    spec = name if isinstance(name, PipelineSpec) else PipelineSpec.parse(name)
    if spec.key not in PIPELINES:
        raise PipelineNameError(str(name), f"unknown — known: {', '.join(sorted(PIPELINES))} (see `sc2sim pipelines`)")
    cls = PIPELINES[spec.key]
    unknown = set(spec.raw) - set(cls.PARAMS)
    if unknown:
        allowed = ", ".join(sorted(cls.PARAMS)) or "none"
        raise PipelineNameError(str(name), f"unknown parameter {sorted(unknown)[0]!r} — allowed: {allowed}")
    return cls, spec


def resolve_params(name: str | PipelineSpec) -> tuple[type[Pipeline], str, str, dict[str, Any]]:
    """``(class, canonical name, variant, parameters with defaults)`` of a registry name, checking every
    parameter; builds nothing (no model is loaded)."""
    cls, spec = resolve_spec(name)
    params = {k: p.default for k, p in cls.PARAMS.items()}
    params.update({k: cls.PARAMS[k].parse(spec.name, k, v) for k, v in spec.params})
    return cls, spec.name, spec.variant, params


def build_pipeline(name: str) -> Pipeline:
    """Build a pipeline from its registry name, checking every parameter."""
    cls, canonical, variant, params = resolve_params(name)
    return cls(canonical, variant, params)
