"""The in-memory image set shared by every loader, and dataset lookup by scenario name."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from sc2sim.errors import ConfigError, DatasetError


@dataclass(frozen=True)
class ImageSet:
    """A split of a dataset held in memory.

    Attributes:
        images: uint8 array ``(N, H, W)`` (grey) or ``(N, H, W, 3)`` (RGB), 0-255, in the split's published
            order; an ImageFolder holds an array-like that decodes files on access
            (:class:`sc2sim.data.imagefolder.FolderImages`).
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
        """The first ``n`` samples (all when ``n`` is None), keeping the published order; asking for more
        samples than the split holds is an error (DatasetError), not a silent clip."""
        if n is None or n == len(self):
            return self
        if n <= 0:
            raise ConfigError(f"samples: {n} — must be a positive number of test samples")
        if n > len(self):
            raise DatasetError(f"{self.source or self.name}: samples: {n} — {self.name} holds only {len(self)} samples; "
                               f"ask for at most {len(self)} (or all)")
        return ImageSet(self.images[:n], self.labels[:n], self.classes, self.name, self.source)

    def fingerprint(self) -> str:
        """sha256 of the pixels (or, for lazily decoded files, of the files and their preprocessing, see
        :class:`sc2sim.data.imagefolder.FolderImages`) and labels (hex, 16 chars): identifies the exact data in caches."""
        h = hashlib.sha256()
        lazy = getattr(self.images, "fingerprint", None)
        h.update(lazy() if lazy is not None else np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels).astype(np.int64).tobytes())
        return h.hexdigest()[:16]
