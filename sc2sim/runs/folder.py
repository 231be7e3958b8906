"""Writing and reading a run folder's main files (see :mod:`sc2sim.runs` for the layout).

The run metadata (:func:`run_meta`) holds everything a reader needs beyond the tables (scenario name
and file, engine, profile provenance, the network settings that the summary columns do not carry),
so the report never has to re-read the scenario YAML.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sc2sim.atomic import atomic_write
from sc2sim.errors import ConfigError
from sc2sim.runs.columns import LATENCY_METRICS
from sc2sim.runs.decision import objective_doc

RUN_HINT = "run `sc2sim run SCENARIO --out DIR` first"


@dataclass
class RunResult:
    """What a run produced: request records (None when not kept), summary rows, engines and timing."""

    records: pd.DataFrame | None
    summary: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


def run_meta(sc: Any, points: list[Any], *, scenario_file: str, engine: str, profile_source: str,
             profile_meta: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The metadata of a run of scenario ``sc`` over its expanded ``points``: scenario, engine, profile
    provenance, the network settings the summary lacks, the objective (:func:`objective_doc`);
    ``extra`` adds keys (e.g. ``sweep``, ``emulation``)."""
    network = {}
    if points:
        n0 = points[0].network
        network = {"downlink_mbps": n0.downlink.bandwidth_mbps, "downlink_delay_ms": n0.downlink.one_way_delay_ms,
                   "radio": "/".join(dict.fromkeys(p.network.radio for p in points)), "sharing": n0.sharing,
                   "transport": n0.transport.kind, "persistent": n0.transport.persistent}
    return {
        "scenario": sc.name, "scenario_file": str(scenario_file), "engine": engine, "profile": profile_source,
        "profile_meta": profile_meta, "points": len(points), "pipelines": list(sc.pipelines), "network": network,
        "objective": objective_doc(sc),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "host": platform.node(), **extra,
    }


def write_results(out_dir: str | Path, result: RunResult, meta: dict[str, Any]) -> list[Path]:
    """Write ``requests.parquet`` (if records were kept), ``summary.csv`` and ``summary.json`` atomically."""
    from sc2sim.tables import write_table

    out = Path(out_dir)
    written = []
    if result.records is not None:
        write_table(result.records, out / "requests.parquet", meta)
        written.append(out / "requests.parquet")
    atomic_write(out / "summary.csv", lambda tmp: result.summary.to_csv(tmp, index=False, float_format="%.6g"))
    written.append(out / "summary.csv")
    doc = {"meta": meta, "info": result.info, "summary": _summary_rows(result.summary)}
    atomic_write(out / "summary.json", lambda tmp: tmp.write_text(json.dumps(doc, indent=1, default=str)))
    written.append(out / "summary.json")
    return written


def _summary_rows(summary: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(summary.to_json(orient="records"))


def saved_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` as :func:`read_summary` reads it back from ``summary.json`` (same values and dtypes)."""
    return pd.DataFrame(_summary_rows(summary))


def _check_folder(folder: str | Path) -> Path:
    d = Path(folder)
    if not d.is_dir():
        raise ConfigError(f"{d}: no such folder — {RUN_HINT}")
    for name in ("summary.json", "requests.parquet"):
        if not (d / name).is_file():
            raise ConfigError(f"{d}: no {name} — {RUN_HINT}")
    return d


def read_summary(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The summary rows and run metadata of a run folder; ConfigError (one line) if absent or not ours."""
    sj = _check_folder(folder) / "summary.json"
    try:
        doc = json.loads(sj.read_text(encoding="utf-8"))
        summary = pd.DataFrame(doc["summary"])
        meta = doc.get("meta") or {}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ConfigError(f"{sj}: not a summary written by `sc2sim run` ({err.__class__.__name__}: {err})") from None
    need = ["point", "point_index", "pipeline", "accuracy", *LATENCY_METRICS.values(), "mean_bytes", "mean_energy_j"]
    missing = [c for c in need if c not in summary.columns]
    if summary.empty or missing:
        raise ConfigError(f"{sj}: summary rows lack {', '.join(missing) or 'rows'} — {RUN_HINT}")
    return summary, meta if isinstance(meta, dict) else {}


def read_records(folder: str | Path, columns: list[str], optional: tuple[str, ...] = ()) -> pd.DataFrame:
    """The request records of a run folder, only ``columns`` (those in ``optional`` may be absent);
    ConfigError (one line) when the file is unreadable or lacks a required column."""
    import pyarrow.parquet as pq

    rq = _check_folder(folder) / "requests.parquet"
    try:
        schema = pq.read_schema(rq)
        cols = [c for c in columns if c in schema.names]
        lacking = sorted(set(columns) - set(cols) - set(optional))
        if lacking:
            raise ConfigError(f"{rq}: columns {', '.join(lacking)} missing — {RUN_HINT}")
        return pq.read_table(rq, columns=cols).to_pandas()
    except ConfigError:
        raise
    except Exception as err:  # noqa: BLE001 - any pyarrow failure is a bad input file
        raise ConfigError(f"{rq}: not a readable Parquet file ({err})") from None
