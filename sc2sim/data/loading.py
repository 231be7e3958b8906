"""Datasets by their scenario name: the one place that knows every loader.

(Kept apart from :mod:`sc2sim.data.base`, which the loaders themselves import, so that the
dependencies point one way.)
"""

from __future__ import annotations

from sc2sim.data.base import ImageSet
from sc2sim.data.fashion_mnist import load_fashion_mnist
from sc2sim.data.imagefolder import load_imagefolder, parse_imagefolder_spec
from sc2sim.data.photos import load_sample_photos
from sc2sim.errors import ConfigError

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
    if spec == "fashion-mnist":
        return load_fashion_mnist(split, data_dir)
    if spec == "sample-photos":
        return load_sample_photos()
    if spec == "imagefolder" or spec.startswith(("imagefolder:", "imagefolder?")):
        root, prep = parse_imagefolder_spec(spec, data_dir)
        return load_imagefolder(root, prep.size, prep.resize, prep.color)
    raise ConfigError(f"dataset: {spec!r} — allowed: {', '.join(DATASETS)}")
