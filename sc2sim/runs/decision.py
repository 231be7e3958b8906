"""The one decision rule: which pipeline is best at a sweep point.

Every place that names a winner (the summary's ``best`` table, the report's winner map and winner
table, the what-if heatmaps and verdicts) asks :func:`pick` (or, for a whole summary,
:func:`best_per_point`, which runs the same core on arrays), so there is one meaning of "best".

Accuracy is the pipeline's accuracy on the whole profiled test set (``test_accuracy``), not the
mean over the simulated requests, so that sampling noise cannot flip a winner.

The default objective (``maximize: accuracy``): **the most accurate pipeline whose latency at the
chosen statistic (p95 by default) meets the deadline; ties in accuracy go to the lower latency.** If
none meets the deadline, the one with the lowest latency (the cell is marked as missing it). Without
a deadline every pipeline "meets" it, so the most accurate one wins.

A scenario may choose another objective (``objective:`` in the YAML, see
:class:`sc2sim.scenario.ObjectiveSpec`):

* ``minimize: latency`` — the lowest latency among pipelines with accuracy >= ``min_accuracy``
  (and meeting the deadline when there is one; ties: higher accuracy);
* ``minimize: energy`` — the lowest mean device energy among pipelines that meet the deadline and
  reach ``min_accuracy`` (ties: higher accuracy).

For both, when no pipeline satisfies the constraints, the pick falls back to the default rule's
fallback (lowest latency) and is marked as not meeting them. Final ties go to the order in which the
scenario lists its pipelines.

**Close calls.** Stage times are measured on a shared host and mapped onto other devices by a model,
so a few per cent to tens of per cent of uncertainty comes with them (BENCHMARKS.md section 9).
:func:`close_calls` asks, per point, whether the winner survives the worst case of a ``margin``: its
own stage times ``1 + margin`` times as long and every other pipeline's ``1 - margin`` times, from two
extra simulations with every stage time scaled (queueing included), so latency, deadline hits and
energy all move as they would. A summary that carries the answer has a ``close_call`` column (the
point's value on each of its rows), and :func:`best_per_point` passes it on as ``close``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sc2sim.errors import ConfigError
from sc2sim.naming import PipelineSpec
from sc2sim.runs.columns import LATENCY_METRICS, POINT_COLUMNS

EPS_MS = 1e-9
CLOSE_MARGIN = 0.3
"""The margin suggested for ``sc2sim run --close-margin`` (module docstring, close calls; the check is
off by default, since its two simulations add 0.4-1.3 s to the default study's warm run): the winner's stage
times 1.3 x and the others' 0.7 x, a 1.86 x swing between two pipelines. Stage times measured here
moved by up to 2 x by kind of work between cold profiles, and the cost model's held-out errors reach
35-60 % (BENCHMARKS.md section 9). Chosen on 7 cold profiles of the default study, where it marked
one point (ESP32, 0.1 Mbit/s, WebP offload against the 100-ms deadline) in 6. On 5 more it marked that
point in all 5. It never marked another, even at 0.5. That point is the one whose winner changed
between cold runs (``benchmarks/bench_profile_noise.py --winners``)."""


@dataclass(frozen=True)
class Objective:
    """What "best" means: ``kind`` (accuracy | latency | energy), the latency statistic, an accuracy
    floor, and ``accuracy_tolerance``: accuracies within it of the best count as equal (a fraction;
    0.001 = 0.1 point = 10 images of a 10,000-image test set), so that a difference no test set can
    resolve does not pick the winner; the tie then goes to the lower latency."""

    kind: str = "accuracy"
    latency: str = "p95"
    min_accuracy: float | None = None
    accuracy_tolerance: float = 0.001

    def __post_init__(self) -> None:
        if self.kind not in ("accuracy", "latency", "energy"):
            raise ValueError(f"objective kind {self.kind!r} — allowed: accuracy, latency, energy")
        if self.latency not in LATENCY_METRICS:
            raise ValueError(f"objective latency {self.latency!r} — allowed: {', '.join(LATENCY_METRICS)}")
        if not 0 <= self.accuracy_tolerance < 1:
            raise ValueError(f"objective accuracy_tolerance {self.accuracy_tolerance!r} — allowed: [0, 1)")

    @property
    def column(self) -> str:
        """The summary column of the latency statistic."""
        return LATENCY_METRICS[self.latency]

    def describe(self, deadline_ms: float | None = None) -> str:
        """The rule in one sentence (printed in reports and what-if pages)."""
        dl = f"{self.latency} latency <= the deadline ({deadline_ms:g} ms)" if deadline_ms else "no deadline set"
        floor = f", accuracy >= {100 * self.min_accuracy:.1f} %" if self.min_accuracy is not None else ""
        tie = (f"accuracies within {100 * self.accuracy_tolerance:.2g} point of the best tie, and ties go to the lower "
               f"{self.latency} latency" if self.accuracy_tolerance > 0 else f"ties: lower {self.latency} latency")
        if self.kind == "accuracy":
            rule = (f"best = the most accurate pipeline with {dl}{floor} ({tie})"
                    if deadline_ms else f"best = the most accurate pipeline{floor} (no deadline set; {tie})")
        elif self.kind == "latency":
            rule = f"best = the lowest {self.latency} latency among pipelines with {dl}{floor} (ties: higher accuracy)"
        else:
            rule = f"best = the lowest mean device energy among pipelines with {dl}{floor} (ties: higher accuracy)"
        return rule + f"; if none qualifies: the lowest {self.latency} latency, marked"


DEFAULT_OBJECTIVE = Objective()


@dataclass(frozen=True)
class Pick:
    """The winner of one point: its summary row, whether it satisfies the objective's constraints,
    and how many pipelines did."""

    row: pd.Series
    qualifies: bool
    qualifying: int


def accuracy_of(rows: pd.DataFrame) -> np.ndarray:
    """The accuracy the rule ranks by: the test-set accuracy (``test_accuracy``: every profiled sample,
    no request-sampling noise) where the summary has it, else the simulated requests' ``accuracy``."""
    acc = rows["accuracy"].to_numpy(dtype=float)
    if "test_accuracy" in rows:
        test = rows["test_accuracy"].to_numpy(dtype=float)
        acc = np.where(np.isfinite(test), test, acc)
    return acc


def pick(rows: pd.DataFrame, objective: Objective = DEFAULT_OBJECTIVE, deadline_ms: float | None = None,
         order: dict[str, int] | None = None) -> Pick | None:
    """The best of ``rows`` (one point's summary rows) by ``objective``; None when no row has a finite latency.

    Sorting keys in numpy (``np.lexsort``, stable like a stable multi-key sort; NaN sorts last): a
    report applies this to every point of a sweep, twice (winner and runner-up)."""
    order = order or {p: k for k, p in enumerate(dict.fromkeys(rows["pipeline"]))}
    o = np.array([order.get(p, len(order)) for p in rows["pipeline"]], dtype=float)
    got = _pick_index(rows[objective.column].to_numpy(dtype=float), accuracy_of(rows),
                      rows["mean_energy_j"].to_numpy(dtype=float), o, objective, deadline_ms)
    return None if got is None else Pick(rows.iloc[got[0]], got[1], got[2])


def _pick_index(lat: np.ndarray, acc: np.ndarray, energy: np.ndarray, o: np.ndarray, objective: Objective,
                deadline_ms: float | None) -> tuple[int, bool, int] | None:
    """:func:`pick` on arrays (latency at the objective's statistic, rule accuracy, energy, scenario
    order): ``(position of the best, whether it qualifies, how many qualify)``, None if no latency is finite."""
    fin = np.isfinite(lat)
    if not fin.any():
        return None
    ok = fin.copy()
    if deadline_ms is not None and np.isfinite(deadline_ms):
        ok &= lat <= deadline_ms + EPS_MS
    if objective.min_accuracy is not None:
        ok &= acc >= objective.min_accuracy - 1e-12
    if ok.any():
        qualifying = int(ok.sum())
        if objective.kind == "accuracy" and objective.accuracy_tolerance > 0:  # near-equal accuracy: a tie
            top = np.nanmax(np.where(ok, acc, -np.inf))
            idx = np.flatnonzero(ok & (acc >= top - objective.accuracy_tolerance - 1e-12))
            return int(idx[np.lexsort((o[idx], -acc[idx], lat[idx]))[0]]), True, qualifying  # last key primary
        keys = {"accuracy": (-acc, lat, o), "latency": (lat, -acc, o), "energy": (energy, -acc, lat, o)}[objective.kind]
        idx = np.flatnonzero(ok)
        return int(idx[np.lexsort(tuple(k[idx] for k in reversed(keys)))[0]]), True, qualifying
    idx = np.flatnonzero(fin)
    return int(idx[np.lexsort((o[idx], lat[idx]))[0]]), False, 0


def _point_deadline(dl: np.ndarray | None, idx: np.ndarray) -> float | None:
    """The deadline (ms) of one point's rows ``idx`` in a summary's ``deadline_ms`` column ``dl`` (None: no deadline)."""
    given = dl[idx][~np.isnan(dl[idx])] if dl is not None else np.zeros(0)
    return float(given[0]) if given.size else None


def close_calls(base: pd.DataFrame, up: pd.DataFrame, down: pd.DataFrame,
                objective: Objective = DEFAULT_OBJECTIVE) -> dict[str, bool]:
    """Per point of ``base``: True when its winner changes once the winner's rows come from ``up`` (every
    stage time longer by the margin) and every other pipeline's from ``down`` (shorter by it); the three
    summaries come from the same scenario in the same order (module docstring)."""
    keys = ["point", "pipeline"]
    if not (base[keys].reset_index(drop=True).equals(up[keys].reset_index(drop=True))
            and base[keys].reset_index(drop=True).equals(down[keys].reset_index(drop=True))):
        raise ValueError("close_calls: the three summaries must list the same (point, pipeline) rows in the same order")
    order = {p: k for k, p in enumerate(dict.fromkeys(base["pipeline"]))}
    o = np.array([order[p] for p in base["pipeline"]], dtype=float)
    acc = accuracy_of(base)
    cols = {name: tuple(s[c].to_numpy(dtype=float) for c in (objective.column, "mean_energy_j"))
            for name, s in (("base", base), ("up", up), ("down", down))}
    dl = base["deadline_ms"].to_numpy(dtype=float) if "deadline_ms" in base else None
    codes, points = pd.factorize(base["point"], sort=False)
    out = {}
    for k, point in enumerate(points):
        idx = np.flatnonzero(codes == k)
        deadline = _point_deadline(dl, idx)
        lat, energy = (a[idx] for a in cols["base"])
        first = _pick_index(lat, energy=energy, acc=acc[idx], o=o[idx], objective=objective, deadline_ms=deadline)
        if first is None:
            continue
        w = first[0]
        lat2, energy2 = (a[idx].copy() for a in cols["down"])
        lat2[w], energy2[w] = cols["up"][0][idx][w], cols["up"][1][idx][w]
        moved = _pick_index(lat2, acc[idx], energy2, o[idx], objective, deadline)
        out[point] = moved is not None and moved[0] != w
    return out


def _rule_accuracy(row: dict | pd.Series) -> float:
    """:func:`accuracy_of` for one summary row."""
    test = _num(row.get("test_accuracy"))
    return test if math.isfinite(test) else _num(row["accuracy"])


def _num(v: object) -> float:
    """``float(v)``, NaN for None (a summary read back from JSON holds None where it had NaN)."""
    return math.nan if v is None else float(v)  # type: ignore[arg-type]


def _strategy(pipeline: str) -> str:
    try:
        return PipelineSpec.parse(pipeline).strategy
    except ConfigError:  # the adaptive policy's row is not a registry name
        return str(pipeline)


def best_per_point(summary: pd.DataFrame, objective: Objective = DEFAULT_OBJECTIVE) -> pd.DataFrame:
    """One row per sweep point, in sweep order: the point's parameters (the summary's point columns),
    ``best`` (pipeline) and its strategy, accuracy (the rule's, see :func:`accuracy_of`; and its
    ``accuracy_source``), latency statistics, deadline-hit rate, energy and bytes; ``latency_ms`` = the
    objective's statistic; ``qualifies`` (the winner meets the rule's constraints), ``qualifying`` (how
    many pipelines do), ``runner_up`` and ``deadline_ms``. (:func:`pick` per point, on arrays taken once.)"""
    order = {p: k for k, p in enumerate(dict.fromkeys(summary["pipeline"]))}
    keep = [c for c in POINT_COLUMNS if c in summary.columns and c != "deadline_ms"]
    s = summary.sort_values("point_index", kind="stable") if "point_index" in summary else summary
    recs = s.to_dict("records")
    pipes = s["pipeline"].to_numpy()
    o = np.array([order.get(p, len(order)) for p in pipes], dtype=float)
    lat, acc = s[objective.column].to_numpy(dtype=float), accuracy_of(s)
    energy = s["mean_energy_j"].to_numpy(dtype=float)
    dl = s["deadline_ms"].to_numpy(dtype=float) if "deadline_ms" in s else None
    codes, points = pd.factorize(s["point"], sort=False)
    out = []
    for k, point in enumerate(points):
        idx = np.flatnonzero(codes == k)
        deadline = _point_deadline(dl, idx)
        first = _pick_index(lat[idx], acc[idx], energy[idx], o[idx], objective, deadline)
        if first is None:
            continue
        b = recs[idx[first[0]]]
        rest = idx[pipes[idx] != b["pipeline"]]
        second = _pick_index(lat[rest], acc[rest], energy[rest], o[rest], objective, deadline) if rest.size else None
        row = {"point": point, "point_index": int(b.get("point_index", len(out)))}
        row.update({c: b[c] for c in keep})
        row.update({
            "best": b["pipeline"], "strategy": str(b.get("strategy") or _strategy(b["pipeline"])),
            "accuracy": _rule_accuracy(b), "accuracy_source": str(b.get("accuracy_source", "measured")),
            **{c: float(b[c]) for c in LATENCY_METRICS.values() if c in b}, "latency_ms": float(b[objective.column]),
            "deadline_hit_rate": _num(b.get("deadline_hit_rate")),
            "mean_energy_j": float(b["mean_energy_j"]), "mean_bytes": float(b["mean_bytes"]),
            "qualifies": bool(first[1]), "qualifying": int(first[2]),
            "runner_up": "" if second is None else recs[rest[second[0]]]["pipeline"],
            "deadline_ms": math.nan if deadline is None else float(deadline),
        })
        if "close_call" in b:
            row["close"] = bool(b["close_call"])
        out.append(row)
    return pd.DataFrame(out)


def objective_doc(sc: object) -> dict:
    """The run metadata's ``objective``: ``{"kind", "latency", "min_accuracy", "accuracy_tolerance", "rule"}`` of scenario ``sc``
    (``rule`` in words with the scenario's first deadline)."""
    obj = sc.objective.to_objective()  # type: ignore[attr-defined]
    dl = sc.workload.deadline_ms  # type: ignore[attr-defined]
    return {"kind": obj.kind, "latency": obj.latency, "min_accuracy": obj.min_accuracy,
            "accuracy_tolerance": obj.accuracy_tolerance,
            "rule": obj.describe(dl[0] if dl else None)}


def objective_from_doc(doc: object) -> Objective:
    """The objective recorded in a run's metadata (the default one for runs that recorded none)."""
    if not isinstance(doc, dict):
        return DEFAULT_OBJECTIVE
    try:
        return Objective(str(doc.get("kind", "accuracy")), str(doc.get("latency", "p95")), doc.get("min_accuracy"),
                         float(doc.get("accuracy_tolerance", DEFAULT_OBJECTIVE.accuracy_tolerance)))
    except ValueError:
        return DEFAULT_OBJECTIVE
