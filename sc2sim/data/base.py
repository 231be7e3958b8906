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
        """The first ``n`` samples (all when ``n`` is None), keeping the published order."""
        if n is None or n >= len(self):
            return self
        if n <= 0:
            raise ConfigError(f"samples: {n} — must be a positive number of test samples")
        return ImageSet(self.images[:n], self.labels[:n], self.classes, self.name, self.source)

    def fingerprint(self) -> str:
        """sha256 of the pixels (or, for lazily decoded files, of the files and their preprocessing, see
        :class:`sc2sim.data.imagefolder.FolderImages`) and labels (hex, 16 chars): identifies the exact data in caches."""
        h = hashlib.sha256()
        lazy = getattr(self.images, "fingerprint", None)
        h.update(lazy() if lazy is not None else np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels).astype(np.int64).tobytes())
        return h.hexdigest()[:16]


DATASETS = ("fashion-mnist", "imagefolder:/path/to/root", "imagefolder (with --data-dir)", "sample-photos")


def load_dataset(spec: str, split: str = "test", data_dir: str | None = None) -> ImageSet:
    """Load a dataset by its scenario name.

    Args:
        spec: ``fashion-mnist`` (default embedded dataset, grey 28x28);
            ``imagefolder:/path/to/root[?size=S&resize=R&color=rgb|grey]`` (your images, by default
            RGB 224x224 as ImageNet models expect, see :mod:`sc2sim.data.imagefolder`); ``imagefolder``
            alone takes the folder from ``data_dir`` / ``$SC2SIM_DATA``; ``sample-photos`` (the photos
            that ship inside installed packages, RGB 224x224, for architecture-only timing, see
            :mod:`sc2sim.data.photos`).
        split: ``train`` or ``test`` (an ImageFolder has only the one split found at its path).
        data_dir: Fashion-MNIST's folder of ``*-ubyte.gz`` files, or the ImageFolder root for ``imagefolder``.
    """
    from sc2sim.data.fashion_mnist import load_fashion_mnist
    from sc2sim.data.imagefolder import load_imagefolder, parse_imagefolder_spec
    from sc2sim.data.photos import load_sample_photos

    if spec == "fashion-mnist":
        return load_fashion_mnist(split, data_dir)
    if spec == "sample-photos":
        return load_sample_photos()
    if spec == "imagefolder" or spec.startswith(("imagefolder:", "imagefolder?")):
        root, prep = parse_imagefolder_spec(spec, data_dir)
        return load_imagefolder(root, prep.size, prep.resize, prep.color)
    raise ConfigError(f"dataset: {spec!r} — allowed: {', '.join(DATASETS)}")
