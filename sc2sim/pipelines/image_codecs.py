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
import zlib

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


def decode_image(data: bytes, mode: str = "L", fmt: str | None = None, size: tuple[int, int] | None = None,
                 who: str = "image") -> np.ndarray:
    """Decode image-file bytes to uint8: grey ``(H, W)`` (``mode="L"``) or RGB ``(H, W, 3)`` (``mode="RGB"``).

    With ``fmt`` the bytes must be exactly one well-formed file of that format (:func:`container_problem`)
    and with ``size`` (width, height) of that size; anything Pillow cannot decode, or that breaks those
    rules, raises :class:`~sc2sim.errors.PayloadError` naming ``who``. Without them, any format Pillow reads.
    """
    from sc2sim.pipelines.payload import refuse

    problem = container_problem(data, fmt) if fmt else None
    if problem:
        raise refuse(who, data, f"not a well-formed {fmt.upper()} file ({problem})")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if fmt and img.format != FORMATS[fmt]:
                raise refuse(who, data, f"a {img.format} image, expected {FORMATS[fmt]}")
            if size and img.size != tuple(size):
                raise refuse(who, data, f"a {img.size[0]}x{img.size[1]} image, expected {size[0]}x{size[1]}")
            return np.array(img.convert(mode), dtype=np.uint8)  # a writable copy
    # what Pillow raises on broken data: UnidentifiedImageError / "image file is truncated" (OSError),
    # SyntaxError, ValueError, EOFError, struct.error, zlib.error, DecompressionBombError; AVIF: RuntimeError
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error, zlib.error,
            Image.DecompressionBombError) as err:
        reason = " ".join(str(err).split())[:120] or type(err).__name__
        raise refuse(who, data, f"Pillow cannot decode it ({reason})") from None


def container_problem(data: bytes, fmt: str) -> str | None:
    """What is wrong with the file structure of ``data`` as a ``fmt`` file, or None if it is well formed.

    Checks what each format carries anyway: PNG's signature, chunk lengths and CRC-32s and that the file
    ends with IEND; JPEG's SOI/EOI markers and header segments; WebP's RIFF length and chunk sizes;
    AVIF's box sizes. A payload with bytes cut off or appended fails these.
    """
    try:
        return {"png": _png_problem, "jpeg": _jpeg_problem, "webp": _webp_problem, "avif": _avif_problem}[fmt](data)
    except struct.error:
        return "a length field runs past the end"


def _png_problem(data: bytes) -> str | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "no PNG signature"
    i = 8
    while i + 12 <= len(data):
        length, ctype = struct.unpack(">I4s", data[i : i + 8])
        end = i + 12 + length
        if end > len(data):
            return f"chunk {ctype!r} runs past the end"
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(data[i + 4 : end - 4]) != crc:
            return f"chunk {ctype!r} fails its CRC-32"
        if ctype == b"IEND":
            return None if end == len(data) else f"{len(data) - end} bytes after IEND"
        i = end
    return "no IEND chunk"


def _jpeg_problem(data: bytes) -> str | None:
    if not data.startswith(b"\xff\xd8"):
        return "no SOI marker"
    if not data.endswith(b"\xff\xd9"):
        return "does not end with an EOI marker"
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return f"no marker at offset {i}"
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if length < 2 or i + 2 + length > len(data):
            return f"segment at offset {i} runs past the end"
        if data[i + 1] == 0xDA:  # SOS: entropy-coded data follows, up to the EOI checked above
            return None
        i += 2 + length
    return "no image data (SOS)"


def _webp_problem(data: bytes) -> str | None:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return "no RIFF/WEBP header"
    if struct.unpack("<I", data[4:8])[0] + 8 != len(data):
        return "RIFF length does not match the file"
    i = 12
    while i + 8 <= len(data):
        length = struct.unpack("<I", data[i + 4 : i + 8])[0]
        i += 8 + length + (length & 1)
    return None if i == len(data) else "chunk sizes do not add up to the file"


def _avif_problem(data: bytes) -> str | None:
    if data[4:8] != b"ftyp":
        return "no ftyp box"
    i = 0
    while i + 8 <= len(data):
        size, _ = struct.unpack(">I4s", data[i : i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
        elif size == 0:
            size = len(data) - i
        if size < 8:
            return f"box at offset {i} has size {size}"
        i += size
    return None if i == len(data) else "box sizes do not add up to the file"


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
