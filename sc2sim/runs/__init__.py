"""The run folder: what a run writes, how its points are keyed and resumed, and how it is read back.

One owner for the files every producer (``sc2sim run``, ``sweep``, ``emulate``) writes and every
consumer (``sc2sim report``, ``whatif``) reads. Torch-free and simulator-free: it knows columns,
keys, files and metadata, not how the numbers were made. Layout of a run folder ``DIR``::

    DIR/requests.parquet     one row per request (columns: :data:`columns.RECORD_COLUMNS`);
                             run metadata (:func:`folder.run_meta`) under the schema key ``sc2sim``
    DIR/summary.csv          one row per (sweep point, pipeline) (:data:`columns.SUMMARY_COLUMNS`)
    DIR/summary.json         {"meta": run metadata, "info": engines/timing, "summary": rows}
    DIR/points/*.parquet     one file per finished sweep point (sweep, emulate): the done-markers
                             that make an interrupted run resumable (:mod:`sc2sim.runs.points`)
    DIR/report.html, DIR/figures/   written by :mod:`sc2sim.report` from the files above

Every file is written atomically (temp file + rename, :mod:`sc2sim.atomic`).
"""

from sc2sim.runs.columns import (
    LATENCY_METRICS,
    POINT_COLUMNS,
    RECORD_COLUMNS,
    STRING_COLUMNS,
    SUMMARY_COLUMNS,
    TERM_COLUMNS,
)
from sc2sim.runs.folder import RunResult, read_records, read_summary, run_meta, saved_summary, write_results
from sc2sim.runs.keys import file_sha, point_filename, point_key, profile_identity
from sc2sim.runs.points import PointResult, PointTodo, assemble_points, pending_points, read_point_meta, write_point

__all__ = [
    "LATENCY_METRICS", "POINT_COLUMNS", "RECORD_COLUMNS", "STRING_COLUMNS", "SUMMARY_COLUMNS", "TERM_COLUMNS",
    "RunResult", "read_records", "read_summary", "run_meta", "saved_summary", "write_results",
    "file_sha", "point_filename", "point_key", "profile_identity",
    "PointResult", "PointTodo", "assemble_points", "pending_points", "read_point_meta", "write_point",
]
