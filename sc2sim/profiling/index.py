"""The warm path: find a scenario's whole profile table without importing torch.

:func:`sc2sim.profiling.ensure.ensure_profile` keys each pipeline's cached profile by its
fingerprint (names plus weights hashes) and the dataset's fingerprint, which needs the models built,
i.e. torch. This index maps a cheap, torch-free key of everything that decides that answer to the
assembled table, so a rerun of an unchanged scenario reads one Parquet file and never loads a model:

    key = sha256(index format, profile-cache VERSION, host, canonical pipeline names, samples,
                 timed samples, idle gap, repeats, threads, dataset spec and folder,
                 the measuring code   (sha-256 of every .py under sc2sim/{data,models,pipelines,profiling}),
                 the bundled weights  (sha-256 of every file in sc2sim/weights/),
                 files a pipeline name points at (any parameter value that is an existing file: weights=,
                                      checkpoint=, config=, card=; sha-256 of its bytes),
                 the dataset's files  (path, size and modification time of each))

A hit returns the table exactly as ``ensure_profile`` returned it when the entry was stored
(``attrs["sc2sim"]`` included). Anything else misses and falls back to ``ensure_profile``, which still
reuses its per-pipeline cache and measures only what is missing. Entries live next to that cache
(``$SC2SIM_CACHE``, default ``~/.cache/sc2sim/profiles``) as ``index-<key>.parquet``.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.naming import PipelineSpec
from sc2sim.profiling.table import VERSION, cache_dir, host_id
from sc2sim.tables import read_table, write_table

INDEX_FORMAT = 1
_PKG = Path(__file__).resolve().parents[1]
_CODE_ROOMS = ("data", "models", "pipelines", "profiling")


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_identity() -> str:
    """Hash of the measuring code and the bundled weights (fixed for the life of the process)."""
    h = hashlib.sha256()
    files = [p for room in _CODE_ROOMS for p in sorted((_PKG / room).rglob("*.py"))]
    files += sorted(p for p in (_PKG / "weights").glob("*") if p.is_file())
    for p in files:
        h.update(str(p.relative_to(_PKG)).encode() + b"\0" + _sha(p).encode())
    return h.hexdigest()


def _named_files(pipelines: list[str]) -> list[list[str]]:
    out = []
    for name in pipelines:
        for key, value in PipelineSpec.parse(name).params:
            p = Path(value).expanduser()
            if len(value) < 4096 and p.is_file():
                out.append([name, key, _sha(p)])
    return out


def _data_files(dataset: str, data_dir: str | None) -> list[Any]:
    """Identity of the dataset's files (path, size, mtime); what decides which images are profiled."""
    if dataset == "fashion-mnist":
        from sc2sim.data.fashion_mnist import fashion_mnist_dir

        root = fashion_mnist_dir(data_dir)
    elif dataset.startswith("imagefolder"):
        from sc2sim.data.imagefolder import parse_imagefolder_spec

        root, _ = parse_imagefolder_spec(dataset, data_dir)
    else:
        return [dataset]
    out = []
    for base, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            st = os.stat(os.path.join(base, n))
            out.append([os.path.relpath(os.path.join(base, n), root), st.st_size, st.st_mtime_ns])
    return [str(Path(root).resolve()), out]


def index_key(pipelines: list[str], samples: int | None, *, dataset: str, data_dir: str | None, repeats: int,
              threads: int, timed: int | None, idle_gap_ms: float) -> str:
    """The torch-free key of one scenario profile (see the module docstring)."""
    names = [PipelineSpec.parse(n).name for n in dict.fromkeys(pipelines)]
    doc = [INDEX_FORMAT, VERSION, host_id(), names, samples, timed, idle_gap_ms, repeats, threads, dataset,
           data_dir or os.environ.get("SC2SIM_DATA"), code_identity(), _named_files(names), _data_files(dataset, data_dir)]
    return hashlib.sha256(json.dumps(doc, default=str).encode()).hexdigest()[:32]


def lookup(key: str) -> pd.DataFrame | None:
    """The stored table of ``key``, or None (missing or unreadable: then it is simply not a hit)."""
    path = cache_dir() / f"index-{key}.parquet"
    if not path.is_file():
        return None
    try:
        return read_table(path)
    except Exception:  # noqa: BLE001 - a damaged entry is a miss; ensure_profile rebuilds it
        return None


def store(key: str, table: pd.DataFrame) -> Path:
    """Store ``table`` (with its ``attrs["sc2sim"]``) under ``key`` (atomically)."""
    return write_table(table, cache_dir() / f"index-{key}.parquet", table.attrs.get("sc2sim", {}))
