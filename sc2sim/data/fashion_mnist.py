"""Fashion-MNIST (Xiao et al. 2017, MIT licence) read from Debian's ``dataset-fashion-mnist`` package.

The files are the published IDX files (``train-images-idx3-ubyte.gz`` ...). Look-up order for their
folder: the ``data_dir`` argument (CLI ``--data-dir``), the ``SC2SIM_DATA`` environment variable,
then ``/usr/share/datasets/fashion-mnist`` where the Debian package puts them.
"""

from __future__ import annotations

import gzip
import os
import struct
from functools import lru_cache
from pathlib import Path

import numpy as np

from sc2sim.data.base import ImageSet
from sc2sim.errors import DatasetMissingError

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = "sudo apt-get install -y dataset-fashion-mnist"
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def fashion_mnist_dir(data_dir: str | None = None) -> Path:
    """The folder holding the IDX files, by the look-up order of this module's docstring."""
    return Path(data_dir or os.environ.get("SC2SIM_DATA") or DEBIAN_DIR)


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise DatasetMissingError(f"{path}: not an IDX uint8 file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims).copy()  # writable: torch.from_numpy warns on read-only buffers


@lru_cache(maxsize=4)
def _load(split: str, folder: str) -> ImageSet:
    root = Path(folder)
    img_name, lab_name = _FILES[split]
    img_path, lab_path = root / img_name, root / lab_name
    missing = [p for p in (img_path, lab_path) if not p.is_file()]
    if missing:
        raise DatasetMissingError(
            f"Fashion-MNIST not found: {missing[0]} is missing. Install it with `{INSTALL_HINT}`, "
            f"or point --data-dir / SC2SIM_DATA at a folder holding {img_name} and {lab_name}."
        )
    images = _read_idx(img_path)
    labels = _read_idx(lab_path).astype(np.int64)
    if images.shape[0] != labels.shape[0]:
        raise DatasetMissingError(f"{root}: {images.shape[0]} images but {labels.shape[0]} labels")
    return ImageSet(images, labels, CLASSES, f"fashion-mnist/{split}", str(root))


def load_fashion_mnist(split: str = "test", data_dir: str | None = None) -> ImageSet:
    """Load the ``train`` (60k) or ``test`` (10k) split in published order as uint8 ``(N, 28, 28)``."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return _load(split, str(fashion_mnist_dir(data_dir)))
