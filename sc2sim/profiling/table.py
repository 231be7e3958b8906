"""The profile table: building it with a content-addressed cache, writing it, summarising it.

Cache: one Parquet file per (pipeline fingerprint incl. weights hashes, dataset fingerprint, repeats,
threads, host, sc2sim version) under ``$SC2SIM_CACHE`` (default ``~/.cache/sc2sim/profiles``). A cached
run over M samples serves any request for N <= M samples.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.tables import read_table, write_table

VERSION = 5  # 4: stage counts (ops, bytes, ...) and the timing protocol; 5: interleaved rounds (sc2sim.profiling.timing)


def cache_dir() -> Path:
    """Folder of cached per-pipeline profiles (``$SC2SIM_CACHE`` or ``~/.cache/sc2sim/profiles``)."""
    return Path(os.environ.get("SC2SIM_CACHE") or Path.home() / ".cache" / "sc2sim" / "profiles")


def host_id() -> str:
    """A short description of this host: machine, CPU and core count (timings are only valid on it)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu} x{os.cpu_count()}"


def cache_key(fingerprint: str, data_fp: str, repeats: int, threads: int) -> str:
    """Hex key of a cached profile."""
    blob = json.dumps([VERSION, fingerprint, data_fp, repeats, threads, host_id()]).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def read_profile(path: Path) -> pd.DataFrame:
    """Read a profile table; its metadata dict is in ``df.attrs["sc2sim"]``."""
    return read_table(path)


def write_profile(df: pd.DataFrame, path: Path) -> Path:
    """Write a profile table built by :func:`ensure_profile` (metadata from ``df.attrs``)."""
    return write_table(df, path, df.attrs.get("sc2sim", {}))


def base_meta(dataset: str, repeats: int, threads: int) -> dict[str, Any]:
    """Metadata recorded with every profile: how and where the times were measured."""
    import torch

    return {"dataset": dataset, "repeats": repeats, "threads": threads, "host": host_id(),
            "torch": torch.__version__, "batch_size": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "time_unit": "ms (per-sample minimum over timing rounds)", "sc2sim_profile_version": VERSION}
