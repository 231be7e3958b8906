"""``sample-photos``: the photographs that ship inside installed Python packages, as a tiny RGB 224x224 set.

Nothing may be downloaded here, and ImageNet is not installable, yet architecture-only profiling
(``--weights none``) needs real 224x224 photos to time image codecs and models on. This dataset is the
sample images of packages that are installed anyway: matplotlib's ``mpl-data/sample_data``
(``grace_hopper.jpg``, ``Minduka_Present_Blue_Pack.png``, ``logo2.png``) and, when scikit-image is
installed, its photos in ``skimage/data`` (astronaut, chelsea, coffee, rocket, motorcycle, ...).

Each photo is its own class (labels are placeholders, not ImageNet classes): **never read accuracy
from this set**. It exists to time pipelines; bytes and accuracy of architecture-only pipelines come
from a rate-accuracy card (:mod:`sc2sim.cards`). Preprocessing is the ImageFolder default (short side
256, centre crop 224, RGB; see :mod:`sc2sim.data.imagefolder`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from sc2sim.data.base import ImageSet
from sc2sim.data.imagefolder import FolderImages, Preprocess
from sc2sim.errors import DatasetMissingError

MATPLOTLIB_PHOTOS = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
SKIMAGE_PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png", "horse.png",
                  "hubble_deep_field.jpg", "retina.jpg")


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sample_photo_paths() -> list[Path]:
    """Paths of the shipped photos that exist on this installation (matplotlib's first)."""
    found: list[Path] = []
    mpl = _package_dir("matplotlib")
    if mpl is not None:
        found += [mpl / "mpl-data" / "sample_data" / f for f in MATPLOTLIB_PHOTOS]
    sk = _package_dir("skimage")  # located without importing scikit-image
    if sk is not None:
        found += [sk / "data" / f for f in SKIMAGE_PHOTOS]
    return [p for p in found if p.is_file()]


def load_sample_photos(prep: Preprocess = Preprocess()) -> ImageSet:
    """The shipped photos as an :class:`ImageSet` (one placeholder class per photo)."""
    paths = sample_photo_paths()
    if not paths:
        raise DatasetMissingError("sample-photos: no sample photos found (matplotlib's mpl-data/sample_data is missing); "
                                  "use imagefolder:/path/to/images instead")
    classes = tuple(p.stem for p in paths)
    return ImageSet(FolderImages(paths, prep, None), np.arange(len(paths), dtype=np.int64), classes,
                    "sample-photos", ", ".join(str(p.parent) for p in dict.fromkeys(p.parent for p in paths)))
