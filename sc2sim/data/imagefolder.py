"""A user's own images laid out as ``root/<class>/<image>`` (torchvision's ImageFolder convention).

Images may be RGB or grey, of any size and any format Pillow reads. Classes are the sorted sub-folder
names (label = index), samples are in sorted path order: for ImageNet's validation set arranged as
``val/<wnid>/<image>.JPEG`` this gives torchvision's class indices.

Two preprocessings, chosen in the dataset name (:func:`parse_imagefolder_spec`):

* ``imagefolder:PATH`` (default): torchvision's ImageNet evaluation transform without its last
  step: RGB, the short side resized to 256 pixels (bilinear), a centre crop of 224 x 224, kept as
  uint8 ``(224, 224, 3)``. The 224 x 224 pipelines (``local:torchvision``, ``split:sc2bench``,
  offload with ``model=<torchvision arch>``) divide by 255 and normalise with ImageNet's mean
  (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) inside their models.
* ``imagefolder:PATH?size=28&color=grey``: the bundled Fashion-MNIST models' input: grey, the short
  side resized to 28 and a centre crop of 28 x 28. ``size``, ``resize`` (short side before the crop;
  default 256 for size 224, else ``size``) and ``color`` (``rgb`` or ``grey``) can be combined freely.

Images are decoded lazily, one at a time when a pipeline asks for them (:class:`FolderImages`), so
ImageNet's 50,000 validation images never sit in memory at once. The dataset fingerprint (profile
cache key) hashes every file's relative path, size and modification time plus the preprocessing.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
from PIL import Image

from sc2sim.data.base import ImageSet
from sc2sim.errors import ConfigError, DatasetError, DatasetMissingError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".avif"}


@dataclass(frozen=True)
class Preprocess:
    """How a file becomes a sample: short side resized to ``resize`` px, centre crop ``size`` x ``size``."""

    size: int = 224
    resize: int = 256
    color: str = "rgb"  # rgb: uint8 (size, size, 3); grey: uint8 (size, size)

    def apply(self, img: Image.Image) -> np.ndarray:
        """The uint8 array of one image after conversion, resize and centre crop."""
        img = img.convert("RGB" if self.color == "rgb" else "L")
        w, h = img.size
        scale = self.resize / min(w, h)
        img = img.resize((max(self.resize, round(w * scale)), max(self.resize, round(h * scale))),
                         Image.Resampling.BILINEAR)
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        return np.asarray(img.crop((left, top, left + self.size, top + self.size)), dtype=np.uint8)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return (self.size, self.size, 3) if self.color == "rgb" else (self.size, self.size)


def parse_imagefolder_spec(spec: str, data_dir: str | None = None) -> tuple[Path, Preprocess]:
    """Root folder and preprocessing of ``imagefolder[:PATH][?size=S&resize=R&color=rgb|grey]``.

    Without a path the folder is ``data_dir`` (CLI ``--data-dir``) or ``$SC2SIM_DATA``.
    """
    import os

    body = spec[len("imagefolder"):]
    body = body[1:] if body.startswith(":") else body
    path, _, query = body.partition("?")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(opts) - {"size", "resize", "color"})
    if unknown:
        raise ConfigError(f"dataset {spec!r}: unknown option {unknown[0]!r} — allowed: size, resize, color")
    try:
        size = int(opts.get("size", 224))
        resize = int(opts.get("resize", 256 if size == 224 else size))
    except ValueError:
        raise ConfigError(f"dataset {spec!r}: size and resize must be whole numbers of pixels") from None
    color = opts.get("color", "rgb")
    if not 0 < size <= 4096 or not size <= resize <= 8192 or color not in ("rgb", "grey"):
        raise ConfigError(f"dataset {spec!r}: size={size}, resize={resize}, color={color} — allowed: 0 < size <= 4096, "
                          "size <= resize <= 8192 (pixels), color rgb or grey")
    root = path or data_dir or os.environ.get("SC2SIM_DATA")
    if not root:
        raise DatasetMissingError(f"dataset {spec!r}: no folder — give imagefolder:/path/to/root, or --data-dir / SC2SIM_DATA")
    return Path(root).expanduser(), Preprocess(size, resize, color)


class FolderImages:
    """Array-like view of image files, decoded and preprocessed on access.

    Supports ``len``, ``shape``, ``dtype``, integer indexing (one uint8 sample), slicing (another
    view), iteration and ``np.asarray`` (decodes everything: use on small sets only).
    """

    dtype = np.dtype(np.uint8)

    def __init__(self, paths: list[Path], prep: Preprocess, root: Path | None = None) -> None:
        self.paths = list(paths)
        self.prep = prep
        self.root = root

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.paths), *self.prep.shape)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int | slice) -> np.ndarray | "FolderImages":
        if isinstance(index, slice):
            return FolderImages(self.paths[index], self.prep, self.root)
        return _decode(str(self.paths[index]), self.prep)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.stack([self[i] for i in range(len(self))]) if self.paths else np.zeros((0, *self.prep.shape), np.uint8)
        return out.astype(dtype) if dtype is not None else out

    def fingerprint(self) -> bytes:
        """Digest of the files (relative path, size, modification time) and the preprocessing."""
        h = hashlib.sha256(repr(self.prep).encode())
        for p in self.paths:
            st = p.stat()
            rel = p.relative_to(self.root) if self.root else p.name
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return h.digest()


@lru_cache(maxsize=256)
def _decode(path: str, prep: Preprocess) -> np.ndarray:
    try:
        with Image.open(path) as img:
            arr = prep.apply(img)
    # what Pillow raises on a broken file: UnidentifiedImageError and "image file is truncated" are
    # OSErrors; some decoders raise SyntaxError, ValueError, EOFError, RuntimeError (AVIF), struct.error or zlib.error
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error, zlib.error,
            Image.DecompressionBombError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise DatasetError(f"{path}: not a readable image ({reason[:160]}) — replace or remove the file "
                           "(every file under root/<class>/ with an image extension is a sample)") from None
    arr.setflags(write=False)  # cached: shared between callers
    return arr


def image_files(root: Path) -> tuple[list[str], list[Path], list[int]]:
    """(classes, files, labels) of ``root/<class>/...`` in sorted order."""
    if not root.is_dir():
        raise DatasetMissingError(f"imagefolder: {root}: not a folder — expected root/<class>/<image files>")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    files, labels = [], []
    for label, cls in enumerate(classes):
        for path in sorted((root / cls).rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                files.append(path)
                labels.append(label)
    if not files:
        raise DatasetMissingError(f"imagefolder: {root}: no images found under {root}/<class>/ — expected image files "
                                  f"with one of the extensions {' '.join(sorted(EXTENSIONS))}")
    return classes, files, labels


def load_imagefolder(root: str | Path, size: int = 224, resize: int | None = None, color: str = "rgb") -> ImageSet:
    """Every image under ``root/<class>/`` (lazily decoded, see module docstring), labels by sorted class name.

    Args:
        root: the ImageFolder root.
        size: side of the square centre crop, in pixels.
        resize: the short side before cropping, in pixels (default 256 for size 224, else ``size``).
        color: ``rgb`` (uint8 ``(N, size, size, 3)``) or ``grey`` (uint8 ``(N, size, size)``).
    """
    root = Path(root)
    prep = Preprocess(size, resize if resize is not None else (256 if size == 224 else size), color)
    classes, files, labels = image_files(root)
    return ImageSet(FolderImages(files, prep, root), np.asarray(labels, dtype=np.int64), tuple(classes),
                    f"imagefolder:{root}", str(root))
