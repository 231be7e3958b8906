"""Naive split computing (Neurosurgeon-style): cut the teacher at a stage boundary and send the tensor.

``split:naive?stage=K&bits=B&codec=C``: the device runs the bundled teacher's stages ``0..K``
(``teacher.forward_to(x, K)``), the edge runs the rest (``teacher.forward_from(h, K)``). Boundaries of
the default teacher: 0 = stem (16x28x28), 1 = stage1 (32x14x14), 2 = stage2 (64x7x7), 3 = stage3
(128x4x4); the head (pooling + linear) is never a cut point. ``&model=ARCH&weights=PATH|none`` cuts a
torchvision ResNet instead, on 224x224 RGB images (see :mod:`sc2sim.pipelines.imagenet`): 0 = stem
(conv1 .. maxpool, 64x56x56), 1-4 = layer1-layer4 (for ResNet-50: 256x56x56, 512x28x28, 1024x14x14,
2048x7x7).

The feature tensor is sent in C order, without its shape (fixed by the model and its input size):

* ``bits=32``: the raw float32 values, little-endian, no header (``4 * numel`` bytes);
* ``bits=B`` with B in 2, 4, 8, 16: uniform min-max quantisation,
  ``scale = (max - min) / (2**B - 1)`` and ``q = round((h - min) / scale)`` clipped to ``[0, 2**B - 1]``;
  an 8-byte header holds ``scale`` and ``offset = min`` as two float32 (little-endian), followed by the
  codes: one uint8 each for B=8, uint16 little-endian for B=16, and for B<8 the low B bits of every code,
  most significant bit first, packed with ``np.packbits`` (the last byte zero-padded). The edge
  dequantises as ``q * scale + offset`` in float32. A constant tensor gets ``scale = 1``.

``codec=zlib`` (level 9, zlib container) or ``codec=lzma`` (xz container, LZMA2 preset 9 with the
dictionary sized to the payload: a power of two >= its length, at least 4 KiB, which compresses exactly
as well as preset 9's 64 MiB but without allocating ~700 MB per call) then compresses the *whole*
payload above, header included; ``codec=none`` sends it as is.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from typing import Any

import numpy as np
import torch

from sc2sim.errors import ConfigError
from sc2sim.cards import PublishedPoint
from sc2sim.pipelines.base import Param, Pipeline, register_pipeline
from sc2sim.pipelines.imagenet import EDGE_MODEL_PARAMS, card_point, load_classifier
from sc2sim.pipelines.payload import refuse
from sc2sim.pipelines.torch_util import argmax1, argmax_batch, image_tensor, images_tensor

BITS = (2, 4, 8, 16, 32)
CODECS = ("none", "zlib", "lzma")
HEADER_FMT = "<ff"  # scale, offset
HEADER_BYTES = struct.calcsize(HEADER_FMT)  # 8


def quantize(h: np.ndarray, bits: int) -> tuple[np.ndarray, np.float32, np.float32]:
    """Uniform min-max quantisation of a float32 array to ``bits`` bits: ``(codes, scale, offset)``."""
    h = np.asarray(h, dtype=np.float32)
    lo, hi = np.float32(h.min()), np.float32(h.max())
    levels = (1 << bits) - 1
    scale = np.float32((hi - lo) / np.float32(levels)) if hi > lo else np.float32(1.0)
    q = np.rint((h - lo) / scale)
    codes = np.clip(q, 0, levels).astype(np.uint16 if bits > 8 else np.uint8)
    return codes, scale, lo


def dequantize(codes: np.ndarray, scale: np.float32, offset: np.float32) -> np.ndarray:
    """``codes * scale + offset`` in float32 (what the edge computes)."""
    return codes.astype(np.float32) * np.float32(scale) + np.float32(offset)


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """The codes' bytes: uint8 (B=8), uint16 LE (B=16) or the low B bits of each, MSB first (B<8)."""
    flat = codes.reshape(-1)
    if bits == 16:
        return flat.astype("<u2").tobytes()
    if bits == 8:
        return flat.astype(np.uint8).tobytes()
    bitplanes = np.unpackbits(flat.astype(np.uint8)[:, None], axis=1)[:, 8 - bits :]
    return np.packbits(bitplanes.reshape(-1)).tobytes()


def unpack_codes(data: bytes, bits: int, n: int) -> np.ndarray:
    """Inverse of :func:`pack_codes` for ``n`` codes; ValueError if ``data`` has the wrong length."""
    need = packed_len(n, bits)
    if len(data) != need:
        raise ValueError(f"expected {need} code bytes for {n} values at {bits} bits, got {len(data)}")
    if bits == 16:
        return np.frombuffer(data, dtype="<u2", count=n).astype(np.uint16)
    if bits == 8:
        return np.frombuffer(data, dtype=np.uint8, count=n).copy()
    bitplanes = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[: n * bits].reshape(n, bits)
    full = np.zeros((n, 8), np.uint8)
    full[:, 8 - bits :] = bitplanes
    return np.packbits(full, axis=1).reshape(n)


def packed_len(n: int, bits: int) -> int:
    """Bytes that :func:`pack_codes` writes for ``n`` codes of ``bits`` bits."""
    return (n * bits + 7) // 8


def raw_payload_len(n: int, bits: int) -> int:
    """Payload length before ``zlib``/``lzma``: ``4 n`` for float32, else 8-byte header + packed codes."""
    return 4 * n if bits == 32 else HEADER_BYTES + packed_len(n, bits)


def _split_stages(teacher: Any) -> list[str]:
    """Stage names that can end the device's part (every stage but the last, the head)."""
    return teacher.stage_names[:-1]


@register_pipeline("split", "naive")
class NaiveSplit(Pipeline):
    """Teacher cut at stage boundary ``stage``; the feature tensor is sent raw (bits=32) or min-max
    quantised to ``bits`` bits, optionally zlib/lzma-compressed (Neurosurgeon-style naive split)."""

    strategy = "split"
    PARAMS = {
        "stage": Param(int, 1, "a stage boundary of the model: teacher 0 (stem), 1 (stage1), 2 (stage2), 3 (stage3); "
                       "a torchvision ResNet 0 (stem), 1-4 (layer1-layer4)", lambda v: v >= 0),
        "bits": Param(int, 8, "2, 4, 8, 16 or 32 (raw float32)", lambda v: v in BITS),
        "codec": Param(str, "zlib", "none, zlib or lzma", lambda v: v in CODECS),
        **EDGE_MODEL_PARAMS,
    }
    HEADER = ("bits=32: none (raw float32 LE, shape fixed by the model); bits<32: 8 bytes, scale and offset as "
              "two float32 LE, then the bit-packed codes; zlib/lzma compress the whole payload, header included")
    DOC = __doc__

    def __init__(self, name: str, variant: str, params: dict[str, Any]) -> None:
        super().__init__(name, variant, params)
        self.published = self.published_point(name, params)
        self.classifier = load_classifier(name, params)
        self.teacher = self.classifier.module
        names = _split_stages(self.teacher)
        if not names:
            raise ConfigError(f"pipeline {name!r}: model={params['model']} has no stage boundaries to cut at; "
                              "split:naive cuts the bundled teacher or a torchvision ResNet (resnet18, resnet50, ...)")
        self.stage = int(params["stage"])
        if not 0 <= self.stage < len(names):
            allowed = ", ".join(f"{i} ({n})" for i, n in enumerate(names))
            raise ConfigError(f"pipeline {name!r}: stage={self.stage} — allowed: {allowed}")
        self.bits = int(params["bits"])
        self.codec = params["codec"]
        with torch.no_grad():
            self.shape = tuple(self.teacher.forward_to(torch.zeros(self.classifier.input_shape), self.stage).shape[1:])
        self.numel = int(np.prod(self.shape))

    # --- mobile ------------------------------------------------------------------------------
    def mobile_compute(self, image: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.teacher.forward_to(image_tensor(image), self.stage)[0].numpy()

    def serialize(self, h: np.ndarray) -> bytes:
        """The payload before ``codec``: raw float32, or header + packed codes."""
        h = np.ascontiguousarray(h, dtype=np.float32)
        if self.bits == 32:
            return h.astype("<f4").tobytes()
        codes, scale, offset = quantize(h, self.bits)
        return struct.pack(HEADER_FMT, scale, offset) + pack_codes(codes, self.bits)

    def encode(self, x: np.ndarray) -> bytes:
        raw = self.serialize(x)
        if self.codec == "zlib":
            return zlib.compress(raw, 9)
        if self.codec == "lzma":
            dict_size = max(4096, 1 << (len(raw) - 1).bit_length())
            return lzma.compress(raw, format=lzma.FORMAT_XZ, filters=[{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": dict_size}])
        return raw

    # --- edge --------------------------------------------------------------------------------
    def decode(self, payload: bytes) -> torch.Tensor:
        """The feature tensor ``(1, *shape)``; PayloadError when the payload cannot be what :meth:`encode`
        wrote: a broken or incomplete zlib/xz stream or bytes after it, a wrong length for the tensor,
        non-finite values, a bad scale, codes that do not span ``0 .. 2**bits - 1`` as min-max
        quantisation always does, or non-zero padding bits."""
        need = raw_payload_len(self.numel, self.bits)
        raw = self._decompress(payload, need)
        if len(raw) != need:
            raise refuse(self.name, payload, f"{len(raw)} bytes of tensor data, expected {need} "
                         f"({'x'.join(map(str, self.shape))} values at {self.bits} bits)")
        if self.bits == 32:
            h = np.frombuffer(raw, dtype="<f4").astype(np.float32)
            if not np.isfinite(h).all():
                raise refuse(self.name, payload, "holds NaN or infinite feature values")
        else:
            scale, offset = struct.unpack(HEADER_FMT, raw[:HEADER_BYTES])
            if not (np.isfinite(scale) and np.isfinite(offset) and scale > 0):
                raise refuse(self.name, payload, f"header scale {scale:g}, offset {offset:g} — the scale must be finite "
                             "and positive, the offset finite")
            codes = unpack_codes(raw[HEADER_BYTES:], self.bits, self.numel)
            levels = (1 << self.bits) - 1
            lo, hi = int(codes.min()), int(codes.max())
            if lo != 0 or not (hi == levels or (hi == 0 and scale == 1.0)):
                raise refuse(self.name, payload, f"codes span {lo}..{hi} — min-max quantisation always spans 0..{levels} "
                             "(all 0 with scale 1 for a constant tensor)")
            spare = packed_len(self.numel, self.bits) * 8 - self.numel * self.bits
            if spare and raw[-1] & ((1 << spare) - 1):
                raise refuse(self.name, payload, f"the last {spare} padding bits are not zero")
            h = dequantize(codes, np.float32(scale), np.float32(offset))
        return torch.from_numpy(h.reshape(1, *self.shape))

    def _decompress(self, payload: bytes, need: int) -> bytes:
        """The payload after ``codec`` is undone, at most ``need + 1`` bytes of it (no decompression bombs);
        PayloadError for a stream that is broken, incomplete, or followed by other bytes."""
        if self.codec == "none":
            return payload
        try:
            if self.codec == "zlib":
                d = zlib.decompressobj()
                raw = d.decompress(payload, need + 1)
                done, rest = d.eof, d.unused_data or d.unconsumed_tail
            else:
                x = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
                raw = x.decompress(payload, need + 1)
                done, rest = x.eof, x.unused_data
        except (zlib.error, lzma.LZMAError) as err:
            raise refuse(self.name, payload, f"not a {self.codec} stream ({err})") from None
        if len(raw) > need:
            raise refuse(self.name, payload, f"decompresses to more than the {need} bytes of the tensor")
        if not done:
            raise refuse(self.name, payload, f"an incomplete {self.codec} stream (cut off)")
        if rest:
            raise refuse(self.name, payload, f"{len(rest)} bytes after the end of the {self.codec} stream")
        return raw

    def edge_compute(self, z: torch.Tensor) -> int:
        with torch.no_grad():
            return argmax1(self.teacher.forward_from(z, self.stage))

    def mobile_batch(self, images: np.ndarray) -> list[bytes]:
        with torch.no_grad():
            feats = self.teacher.forward_to(images_tensor(images), self.stage).numpy()
        return [self.encode(h) for h in feats]

    def edge_batch(self, payloads: list[bytes]) -> np.ndarray:
        with torch.no_grad():
            return argmax_batch(self.teacher.forward_from(torch.cat([self.decode(p) for p in payloads]), self.stage))

    def fingerprint(self) -> str:
        return f"{self.name}|{self.classifier.tag}"

    @classmethod
    def published_point(cls, name: str, params: dict[str, Any]) -> PublishedPoint | None:
        """Card point for ``weights=none`` (method ``naive`` unless ``&method=`` names another)."""
        return card_point(name, params, "naive")

    def models(self) -> dict[str, list[Any]]:
        stages = list(self.teacher.stages.values())
        return {"mobile": stages[: self.stage + 1], "edge": stages[self.stage + 1 :]}
