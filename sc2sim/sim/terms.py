"""Which term of the compute cost model dominates each stage of a pipeline on its devices.

For the summary rows (and the report's table of them): the device stage of a pipeline on the point's
mobile device and its edge stage on the point's edge device, each at batch size 1, for the median
timed sample's codec time, decomposed by :func:`sc2sim.devices.cost_model.terms` (dispatch or
launch, arithmetic, memory traffic, codec, copy, fixed). The columns are::

    mobile_stage_ms  mobile_dominant  mobile_dominant_share
    edge_stage_ms    edge_dominant    edge_dominant_share

``*_stage_ms`` is the modelled time of the stage (ms), ``*_dominant`` the term that contributes most
and ``*_dominant_share`` its fraction of the stage's time. A local pipeline has no edge stage; a
profile table without operator counts (older tables) or a device profile without the model's
constants has no decomposition: those columns are empty ("" and NaN). On the host device itself the
simulator keeps the measured times; the decomposition there is the model's reading of them.
"""

from __future__ import annotations

import numpy as np

from sc2sim.devices import DeviceProfile, StageWork, terms, uses_cost_model
from sc2sim.runs.columns import TERM_COLUMNS
from sc2sim.sim.plan import PipelineRows


def _side(work: StageWork | None, codec_ms: np.ndarray, host: DeviceProfile, dev: DeviceProfile) -> tuple:
    if not uses_cost_model(work, host, dev):
        return np.nan, "", np.nan
    codec = np.asarray(codec_ms, dtype=np.float64)
    codec = codec[np.isfinite(codec)]
    t = terms(work.first(), float(np.median(codec)) if codec.size else 0.0, host, dev, 1)
    parts = t.as_dict()
    total = t.total
    return total, t.dominant, parts[f"{t.dominant}_ms"] / total if total > 0 else np.nan


def stage_terms(rows: PipelineRows, host: DeviceProfile, mobile: DeviceProfile, edge: DeviceProfile) -> dict:
    """The :data:`TERM_COLUMNS` of one pipeline on one (mobile, edge) pair (module docstring)."""
    m = _side(rows.mobile_work, rows.mobile_encode_ms, host, mobile)
    e = (np.nan, "", np.nan) if rows.strategy == "local" else _side(rows.edge_work, rows.edge_decode_ms, host, edge)
    return dict(zip(TERM_COLUMNS, (*m, *e)))
