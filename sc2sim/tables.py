"""Parquet tables with sc2sim metadata (profile tables, request records), torch-free.

The metadata dict is stored as JSON under the schema key ``sc2sim`` and comes back in
``DataFrame.attrs["sc2sim"]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.atomic import atomic_write

META_KEY = b"sc2sim"


def write_table(df: pd.DataFrame, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``df`` to ``path`` atomically with ``meta`` as JSON under the schema key ``sc2sim``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta, default=str).encode()})
    text = [f.name for f in table.schema if not (pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
                                                 or pa.types.is_boolean(f.type))]
    # dictionary-encode only the text columns: trying it on 10^5 distinct floats is most of the write time
    return atomic_write(path, lambda tmp: pq.write_table(table, tmp, use_dictionary=text, compression="zstd"))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a Parquet table; its ``sc2sim`` metadata dict is in ``df.attrs["sc2sim"]`` ({} if none)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    df = table.to_pandas()
    raw = (table.schema.metadata or {}).get(META_KEY)
    df.attrs["sc2sim"] = json.loads(raw) if raw else {}
    return df
