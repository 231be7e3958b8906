"""Column names of the run files, declared once.

Request records (one row per simulated or emulated request; times in seconds of simulated time,
bytes in bytes, energy in joules). The first 17 are DESIGN.md's record columns, the rest extras:
``payload_bytes`` is what the request put on the uplink (0 for local pipelines, which send nothing),
``wire_bytes`` adds headers and retransmissions; ``deadline_met`` is NA when the scenario sets no
deadline.

Summary rows (one per sweep point x pipeline): accuracy of the simulated requests and of the whole
profiled test set (``test_accuracy``, NaN for the adaptive policy), latency statistics (ms), throughput (req/s),
deadline-hit rate, mean payload and wire bytes, mean device energy (J), then the point's parameters
(:data:`POINT_COLUMNS`, swept or not) and which cost-model term dominates the device and edge stages
(:data:`TERM_COLUMNS`; simulated runs only), and, where the run checked it (``sc2sim run
--close-margin``), ``close_call``: whether the point's winner loses with every stage time that
margin against it (:func:`sc2sim.runs.decision.close_calls`; the same on each row of a point).
"""

from __future__ import annotations

RECORD_COLUMNS: tuple[str, ...] = (
    "point", "pipeline", "device", "request", "t_arrival", "t_mobile_start", "t_mobile_end", "t_tx_start",
    "t_tx_end", "t_edge_start", "t_edge_end", "t_done", "latency_s", "payload_bytes", "correct", "deadline_met",
    "energy_j",
    # extras
    "point_index", "strategy", "sample", "mobile", "edge", "wire_bytes", "batch", "energy_compute_j",
    "energy_radio_j", "energy_tail_j", "engine",
)
"""Columns of ``requests.parquet``, in order (the adaptive policy adds ``chosen`` and ``bw_estimate_mbps``)."""

STRING_COLUMNS: tuple[str, ...] = ("point", "pipeline", "strategy", "mobile", "edge", "engine")
"""Record columns stored as categoricals (categories in order of first appearance)."""

POINT_COLUMNS: tuple[str, ...] = (
    "mobile", "edge", "bandwidth_mbps", "trace", "trace_scale", "delay_ms", "jitter_ms", "loss", "transport",
    "devices", "rate_hz", "arrival", "gpus", "max_batch", "deadline_ms",
)
"""Summary columns that describe a sweep point (its concrete parameters)."""

TERM_COLUMNS: tuple[str, ...] = ("mobile_stage_ms", "mobile_dominant", "mobile_dominant_share",
                                  "edge_stage_ms", "edge_dominant", "edge_dominant_share")
"""Summary columns saying which cost-model term dominates each stage (:mod:`sc2sim.sim.terms`)."""

SUMMARY_COLUMNS: tuple[str, ...] = (
    "point", "point_index", "pipeline", "strategy", "engine", "requests", "accuracy", "test_accuracy", "latency_mean_ms",
    "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "throughput_rps", "deadline_hit_rate", "mean_bytes",
    "mean_wire_bytes", "mean_energy_j", *POINT_COLUMNS, *TERM_COLUMNS,
)
"""Columns of ``summary.csv``, in order (the adaptive policy adds ``chosen_mix``; architecture-only
pipelines add ``accuracy_source``/``bytes_source``)."""

LATENCY_METRICS: dict[str, str] = {"mean": "latency_mean_ms", "p50": "latency_p50_ms", "p95": "latency_p95_ms",
                                   "p99": "latency_p99_ms"}
"""Latency statistic name -> its summary column."""
