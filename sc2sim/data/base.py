"""The in-memory image set shared by every loader, and dataset lookup by scenario name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from sc2sim.errors import ConfigError


@dataclass(frozen=True)
class ImageSet:
    """A split of a dataset held in memory.

    Attributes:
        images: uint8 array ``(N, H, W)``, grey levels 0-255, in the split's published order.
        labels: int64 array ``(N,)`` of class indices.
        classes: class names, index = label.
        name: a short identifier (``fashion-mnist/test``), recorded in profiles and model cards.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    name: str
    source: str = field(default="")

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def head(self, n: int | None) -> "ImageSet":
        """The first ``n`` samples (all when ``n`` is None), keeping the published order."""
        if n is None or n >= len(self):
            return self
        if n <= 0:
            raise ConfigError(f"samples: {n} — must be a positive number of test samples")
        return ImageSet(self.images[:n], self.labels[:n], self.classes, self.name, self.source)

    def fingerprint(self) -> str:
        """sha256 of the pixels and labels (hex, 16 chars): identifies the exact data in caches."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels).astype(np.int64).tobytes())
        return h.hexdigest()[:16]


def load_dataset(spec: str, split: str = "test", data_dir: str | None = None, size: int = 28) -> ImageSet:
    """Load a dataset by its scenario name.

    Args:
        spec: ``fashion-mnist`` (default embedded dataset) or ``imagefolder:/path/to/root``.
        split: ``train`` or ``test`` (ImageFolder has only the one split found at its path).
        data_dir: overrides where Fashion-MNIST's ``*-ubyte.gz`` files are looked for.
        size: square side in pixels that ImageFolder images are resized/cropped to.
    """
    from sc2sim.data.fashion_mnist import load_fashion_mnist
    from sc2sim.data.imagefolder import load_imagefolder

    if spec == "fashion-mnist":
        return load_fashion_mnist(split, data_dir)
    if spec.startswith("imagefolder:"):
        return load_imagefolder(spec.split(":", 1)[1], size=size)
    raise ConfigError(f"dataset: {spec!r} — allowed: 'fashion-mnist' or 'imagefolder:/path/to/root'")
