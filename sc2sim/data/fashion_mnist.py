"""Fashion-MNIST (Xiao et al. 2017, MIT licence) read from Debian's ``dataset-fashion-mnist`` package.

The files are the published IDX files (``train-images-idx3-ubyte.gz`` ...). Look-up order for their
folder: the ``data_dir`` argument (CLI ``--data-dir``), the ``SC2SIM_DATA`` environment variable,
then ``/usr/share/datasets/fashion-mnist`` where the Debian package puts them.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from sc2sim.data.base import ImageSet
from sc2sim.errors import DatasetError, DatasetMissingError

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
INSTALL_HINT = "sudo apt-get install -y dataset-fashion-mnist"
CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MAX_IDX_BYTES = 64 << 20
"""Most bytes read from one decompressed IDX file (the 60,000 training images are 47,040,016)."""
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def fashion_mnist_dir(data_dir: str | None = None) -> Path:
    """The folder holding the IDX files, by the look-up order of this module's docstring."""
    return Path(data_dir or os.environ.get("SC2SIM_DATA") or DEBIAN_DIR)


def _read_idx(path: Path) -> np.ndarray:
    """The uint8 array of a gzip-compressed IDX file; DatasetError naming the file if it is not one
    (not gzip, truncated, a wrong magic number, fewer values than its header promises)."""
    fix = f"reinstall the dataset (`{INSTALL_HINT}`) or fix --data-dir / SC2SIM_DATA"
    try:
        with gzip.open(path, "rb") as f:
            data = f.read(MAX_IDX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as err:  # BadGzipFile is an OSError; a cut-off stream an EOFError
        raise DatasetError(f"{path}: not a readable gzip file ({err or type(err).__name__}) — {fix}") from None
    if len(data) > MAX_IDX_BYTES:
        raise DatasetError(f"{path}: decompresses to more than {MAX_IDX_BYTES} bytes — larger than any Fashion-MNIST "
                           f"file (the training images are 47 MB); {fix}")
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes after decompression — not an IDX file; {fix}")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08 or not 1 <= ndim <= 3 or len(data) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: magic {data[:4].hex()} — not an IDX uint8 file of 1-3 dimensions; {fix}")
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    need = int(np.prod(dims, dtype=np.int64))
    have = len(data) - (4 + 4 * ndim)
    if have != need:
        raise DatasetError(f"{path}: header {'x'.join(map(str, dims))} needs {need} values, the file holds {have} "
                           f"({'truncated' if have < need else 'trailing bytes'}) — {fix}")
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
            f"{missing[0]}: Fashion-MNIST not found — install it with `{INSTALL_HINT}`, "
            f"or point --data-dir / SC2SIM_DATA at a folder holding {img_name} and {lab_name}"
        )
    images = _read_idx(img_path)
    labels = _read_idx(lab_path).astype(np.int64)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{img_path}: shape {images.shape} — Fashion-MNIST images are N x 28 x 28")
    if labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{lab_path}: {labels.shape[0]} labels for {images.shape[0]} images in {img_path.name} — "
                           "the two files must hold the same number of samples")
    bad = np.flatnonzero(labels >= len(CLASSES))
    if bad.size:
        raise DatasetError(f"{lab_path}: label {labels[bad[0]]} at sample {bad[0]} — Fashion-MNIST labels are "
                           f"0-{len(CLASSES) - 1} ({bad.size} out of range)")
    return ImageSet(images, labels, CLASSES, f"fashion-mnist/{split}", str(root))


def load_fashion_mnist(split: str = "test", data_dir: str | None = None) -> ImageSet:
    """Load the ``train`` (60k) or ``test`` (10k) split in published order as uint8 ``(N, 28, 28)``."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    return _load(split, str(fashion_mnist_dir(data_dir)))
