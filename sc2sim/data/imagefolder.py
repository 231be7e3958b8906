"""A user's own images laid out as ``root/<class>/<image>`` (torchvision's ImageFolder convention).

Images may be RGB or grey, of any size and any format Pillow reads. They are converted to grey,
resized so the short side is ``size`` and centre-cropped to ``size x size`` so the bundled 28x28
models can consume them. Classes are the sorted sub-folder names; samples are in sorted path order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from sc2sim.data.base import ImageSet
from sc2sim.errors import DatasetMissingError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".avif"}


def _to_square_grey(img: Image.Image, size: int) -> np.ndarray:
    img = img.convert("L")
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BILINEAR)
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)), dtype=np.uint8)


def load_imagefolder(root: str | Path, size: int = 28) -> ImageSet:
    """Load every image under ``root/<class>/`` as grey ``size x size`` uint8, labels by sorted class name."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetMissingError(f"imagefolder: {root} is not a folder (expected root/<class>/<image files>)")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    images, labels = [], []
    for label, cls in enumerate(classes):
        for path in sorted((root / cls).rglob("*")):
            if path.suffix.lower() in EXTENSIONS and path.is_file():
                with Image.open(path) as img:
                    images.append(_to_square_grey(img, size))
                labels.append(label)
    if not images:
        raise DatasetMissingError(f"imagefolder: no images found under {root}/<class>/ (extensions {sorted(EXTENSIONS)})")
    return ImageSet(np.stack(images), np.asarray(labels, dtype=np.int64), tuple(classes), f"imagefolder:{root}", str(root))
