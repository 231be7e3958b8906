"""Image codecs for input compression, all from Pillow: PNG, JPEG, WebP, AVIF.

``encode`` returns the whole file (what a plain deployment sends); ``decode`` reads it back to a uint8
grey (or, for the 224x224 RGB pipelines, RGB) array. :func:`payload_only_bytes` gives the size of the compressed image data alone (the file
minus container and headers: JPEG's entropy-coded segments, PNG's IDAT data, WebP's VP8/VP8L chunk
data, AVIF's ``mdat`` payload), which DESIGN asks to report beside the wire bytes because at 28x28
the headers dominate.
"""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF"}


def encode_image(image: np.ndarray, fmt: str, quality: int | None = None, **options: object) -> bytes:
    """Encode a uint8 grey ``(H, W)`` or RGB ``(H, W, 3)`` image to the bytes of a ``fmt`` file with Pillow."""
    arr = np.ascontiguousarray(image, dtype=np.uint8)
    img = Image.fromarray(arr, mode="L" if arr.ndim == 2 else "RGB")
    kwargs: dict[str, object] = dict(options)
    if quality is not None:
        kwargs["quality"] = quality
    buf = io.BytesIO()
    img.save(buf, format=FORMATS[fmt], **kwargs)
    return buf.getvalue()


def decode_image(data: bytes, mode: str = "L") -> np.ndarray:
    """Decode image-file bytes (any format Pillow reads) to uint8: grey ``(H, W)`` (``mode="L"``) or
    RGB ``(H, W, 3)`` (``mode="RGB"``)."""
    with Image.open(io.BytesIO(data)) as img:
        return np.array(img.convert(mode), dtype=np.uint8)  # a writable copy


def _jpeg_scan_bytes(data: bytes) -> int:
    """Bytes after the last SOS header up to EOI: the entropy-coded image data."""
    i, total = 2, 0
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("not a JPEG marker stream")
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker == 0xDA:  # SOS: scan data follows its header, up to the next non-RST marker
            j = i + 2 + length
            end = data.rfind(b"\xff\xd9")
            total += end - j
            return total
        i += 2 + length
    return total


def _png_idat_bytes(data: bytes) -> int:
    i, total = 8, 0
    while i + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[i : i + 8])
        if ctype == b"IDAT":
            total += length
        i += 12 + length
    return total


def _webp_chunk_bytes(data: bytes) -> int:
    i, total = 12, 0
    while i + 8 <= len(data):
        ctype, length = struct.unpack("<4sI", data[i : i + 8])
        if ctype in (b"VP8 ", b"VP8L"):
            total += length
        i += 8 + length + (length & 1)
    return total


def _isobmff_mdat_bytes(data: bytes) -> int:
    i, total = 0, 0
    while i + 8 <= len(data):
        size, btype = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[i + 8 : i + 16])[0], 16
        elif size == 0:
            size = len(data) - i
        if btype == b"mdat":
            total += size - header
        i += size
    return total


def payload_only_bytes(data: bytes, fmt: str) -> int:
    """Size in bytes of the compressed image data inside a ``fmt`` file, without container or headers."""
    return {"png": _png_idat_bytes, "jpeg": _jpeg_scan_bytes, "webp": _webp_chunk_bytes, "avif": _isobmff_mdat_bytes}[fmt](data)
