"""The what-if study: the best pipeline for every mobile device x edge device x uplink bandwidth.

A study is an ordinary scenario whose ``mobile``, ``edge`` and ``network.uplink.bandwidth_mbps`` are
lists (their cross product is the grid); it is simulated with :func:`sc2sim.sim.simulate_scenario`
and each grid cell's summary rows are reduced to one winner by :data:`RULE`:

* **best** = the highest accuracy among the pipelines whose **p95 latency <= the deadline**;
  ties in accuracy -> the lower p95 latency;
* when **no** pipeline meets the deadline -> the lowest p95 latency (the cell is marked).

Architecture-only pipelines (``weights=none``) carry a rate-accuracy card's published top-1 and
bytes (:func:`sc2sim.cards.with_published`); the rule uses those exact values and every output marks
them ``published``.

The verdict per (mobile, edge) walks the bandwidth axis and names where the best pipeline changes.
The switch bandwidth is estimated where the cause of the change crosses: where the new winner's p95
curve crosses the deadline (it starts to meet it), or else where the two p95 curves cross
(:func:`sc2sim.report.data.crossovers`, linear in log bandwidth), or else the geometric midpoint.
No torch here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sc2sim.cards import published_meta, with_published
from sc2sim.errors import ConfigError
from sc2sim.report.data import crossovers
from sc2sim.scenario import Scenario, parse_scenario

DEFAULT_PIPELINES = ["local:teacher", "local:light", "offload:webp?quality=50", "offload:learned?lmbda=0.0067",
                     "split:sc2?beta=0.003"]
DEFAULT_MOBILE = ["rpi4", "jetson-nano", "phone-flagship"]
DEFAULT_EDGE = ["t4", "a100"]
DEFAULT_UPLINK = [1.0, 5.0, 20.0, 100.0]
DEFAULT_DEADLINE_MS = 100.0
RULE = ("best = highest accuracy among pipelines with p95 latency <= deadline (ties: lower p95); "
        "if none meets the deadline: lowest p95 latency (cell marked x)")

# the network and workload of a study asked for on the command line (like scenarios/default.yaml)
BASE_DOC: dict[str, Any] = {
    "name": "whatif", "seed": 7, "dataset": "fashion-mnist", "samples": 1000,
    "network": {"uplink": {"bandwidth_mbps": DEFAULT_UPLINK, "one_way_delay_ms": 20, "jitter_ms": 2},
                "downlink": {"bandwidth_mbps": 50, "one_way_delay_ms": 20}, "transport": "tcp", "radio": "wifi"},
    "workload": {"devices": 1, "arrival": {"kind": "periodic", "rate_hz": 10}, "requests": 1000,
                 "deadline_ms": DEFAULT_DEADLINE_MS},
}


def _csv(v: str | list | None, kind=str) -> list | None:
    if v is None:
        return None
    items = v if isinstance(v, list) else [x.strip() for x in str(v).split(",") if x.strip()]
    out = []
    for x in items:
        try:
            out.append(kind(x))
        except ValueError:
            raise ConfigError(f"{x!r} — not a number") from None
    return out


def study_scenario(base: dict | None = None, source: str = "<whatif>", *, mobile=None, edge=None, uplink=None,
                   pipelines=None, deadline_ms: float | None = None, requests: int | None = None,
                   samples: int | None = None) -> Scenario:
    """The study's scenario: ``base`` (a scenario mapping, default :data:`BASE_DOC`) with the given
    grid and settings replacing the base's. Validated like any scenario (one-line errors)."""
    import copy

    doc = copy.deepcopy(base if base is not None else BASE_DOC)
    if base is None:
        doc.setdefault("pipelines", DEFAULT_PIPELINES)
        doc.setdefault("mobile", DEFAULT_MOBILE)
        doc.setdefault("edge", DEFAULT_EDGE)
    if mobile is not None:
        doc["mobile"] = _csv(mobile)
    if edge is not None:
        doc["edge"] = _csv(edge)
    if pipelines is not None:
        doc["pipelines"] = _csv(pipelines)
    doc.setdefault("pipelines", DEFAULT_PIPELINES)
    net = doc.setdefault("network", {})
    up = net.setdefault("uplink", {}) if isinstance(net, dict) else {}
    if uplink is not None and isinstance(up, dict):
        up.pop("trace", None)
        up.pop("scale", None)
        up["bandwidth_mbps"] = _csv(uplink, float)
    wl = doc.setdefault("workload", {})
    if isinstance(wl, dict):
        if deadline_ms is not None:
            wl["deadline_ms"] = deadline_ms
        wl.setdefault("deadline_ms", DEFAULT_DEADLINE_MS)
        if requests is not None:
            wl["requests"] = requests
    if samples is not None:
        doc["samples"] = samples
    doc["policy"] = "static"  # the study compares static pipelines
    sc = parse_scenario(doc, source)
    if sc.network.uplink.bandwidth_mbps is None:
        raise ConfigError(f"{source}: network.uplink: a trace — a what-if study needs bandwidth_mbps (a list of "
                          "Mbit/s values, or --uplink)")
    dl = sc.workload.deadline_ms
    if dl is not None and len(dl) > 1:
        raise ConfigError(f"{source}: workload.deadline_ms: {dl} — a what-if study uses one deadline")
    others = {"delay": sc.network.uplink.one_way_delay_ms, "jitter": sc.network.uplink.jitter_ms,
              "loss": sc.network.uplink.loss, "devices": sc.workload.devices,
              "rate_hz": sc.workload.arrival.rate_hz, "gpus": sc.edge_server.gpus}
    swept = [k for k, v in others.items() if len(v) > 1]
    if swept:
        raise ConfigError(f"{source}: {', '.join(swept)}: swept — a what-if grid is mobile x edge x bandwidth; "
                          "give one value for the others")
    return sc


def pick_best(rows: pd.DataFrame, deadline_ms: float, order: dict[str, int] | None = None) -> tuple[pd.Series, bool]:
    """The best row of one grid cell by :data:`RULE`, and whether it meets the deadline."""
    order = order or {p: k for k, p in enumerate(rows["pipeline"])}
    r = rows.assign(_o=rows["pipeline"].map(order), _p95=rows["latency_p95_ms"].astype(float))
    ok = r[r["_p95"] <= deadline_ms + 1e-9]
    if len(ok):
        best = ok.sort_values(["accuracy", "_p95", "_o"], ascending=[False, True, True]).iloc[0]
        return best.drop(["_o", "_p95"]), True
    best = r.sort_values(["_p95", "_o"]).iloc[0]
    return best.drop(["_o", "_p95"]), False


def best_table(summary: pd.DataFrame, deadline_ms: float) -> pd.DataFrame:
    """One row per (mobile, edge, bandwidth): the best pipeline, its accuracy, p95/mean latency,
    energy and bytes, whether it meets the deadline, and the runner-up by the same rule."""
    order = {p: k for k, p in enumerate(dict.fromkeys(summary["pipeline"]))}
    out = []
    for (m, e, bw), g in summary.groupby(["mobile", "edge", "bandwidth_mbps"], sort=False):
        best, meets = pick_best(g, deadline_ms, order)
        rest = g[g["pipeline"] != best["pipeline"]]
        runner = pick_best(rest, deadline_ms, order)[0]["pipeline"] if len(rest) else ""
        out.append({"mobile": m, "edge": e, "bandwidth_mbps": float(bw), "best": best["pipeline"],
                    "strategy": best["strategy"], "accuracy": float(best["accuracy"]),
                    "latency_p95_ms": float(best["latency_p95_ms"]), "latency_mean_ms": float(best["latency_mean_ms"]),
                    "deadline_hit_rate": float(best["deadline_hit_rate"]), "mean_energy_j": float(best["mean_energy_j"]),
                    "mean_bytes": float(best["mean_bytes"]), "meets_deadline": bool(meets),
                    "meeting": int((g["latency_p95_ms"].astype(float) <= deadline_ms + 1e-9).sum()),
                    "runner_up": runner, "deadline_ms": float(deadline_ms),
                    "accuracy_source": str(best.get("accuracy_source", "measured"))})
    return pd.DataFrame(out)


def _bw(v: float) -> str:
    return f"{v:g} Mbit/s"


def _switch_at(summary: pd.DataFrame, lo: float, hi: float, before: str, after: str, deadline_ms: float) -> float:
    """Where the winner changes from ``before`` (at ``lo``) to ``after`` (at ``hi``), see the module doc."""
    def p95(p: str, bw: float) -> float:
        v = summary[(summary["pipeline"] == p) & (summary["bandwidth_mbps"] == bw)]["latency_p95_ms"]
        return float(v.iloc[0]) if len(v) else math.nan

    a_lo, a_hi = p95(after, lo), p95(after, hi)
    x0, x1 = math.log10(lo), math.log10(hi)
    for (y0, y1) in ((a_lo, a_hi), (p95(before, lo), p95(before, hi))):
        if y0 > deadline_ms >= y1 or y0 <= deadline_ms < y1:  # this curve crosses the deadline
            t = (y0 - deadline_ms) / (y0 - y1)
            return float(10 ** (x0 + t * (x1 - x0)))
    cs = crossovers([lo, hi], {before: [p95(before, lo), p95(before, hi)], after: [p95(after, lo), p95(after, hi)]})
    if cs:
        return cs[0].at
    return float(10 ** ((x0 + x1) / 2))


@dataclass
class Verdict:
    """The verdict of one (mobile, edge) row: ``text`` in words and the switches along bandwidth."""

    mobile: str
    edge: str
    text: str
    segments: list[tuple[float, float, str]] = field(default_factory=list)  # (from bw, to bw, best)
    switches: list[float] = field(default_factory=list)


def verdicts(best: pd.DataFrame, summary: pd.DataFrame) -> list[Verdict]:
    """One :class:`Verdict` per (mobile, edge), e.g. ``rpi4 -> t4: below ~3.2 Mbit/s local:light wins;
    above, offload:webp?quality=50``."""
    out = []
    for (m, e), g in best.groupby(["mobile", "edge"], sort=False):
        g = g.sort_values("bandwidth_mbps")
        s = summary[(summary["mobile"] == m) & (summary["edge"] == e)]
        bws, names = g["bandwidth_mbps"].tolist(), g["best"].tolist()
        dl = float(g["deadline_ms"].iloc[0])
        segs, switches = [], []
        start = 0
        for i in range(1, len(bws) + 1):
            if i == len(bws) or names[i] != names[start]:
                segs.append((bws[start], bws[i - 1], names[start]))
                if i < len(bws):
                    switches.append(_switch_at(s, bws[i - 1], bws[i], names[i - 1], names[i], dl))
                start = i
        if len(segs) == 1:
            body = f"{segs[0][2]} wins at every bandwidth ({_bw(bws[0])} to {_bw(bws[-1])})"
        else:
            parts = [f"below ~{switches[0]:.3g} Mbit/s {segs[0][2]} wins"]
            for k in range(1, len(segs) - 1):
                parts.append(f"from ~{switches[k - 1]:.3g} to ~{switches[k]:.3g} Mbit/s {segs[k][2]}")
            parts.append(f"above, {segs[-1][2]}")
            body = "; ".join(parts)
        miss = g[~g["meets_deadline"]]["bandwidth_mbps"].tolist()
        if miss:
            body += (f" (no pipeline meets the {dl:g} ms deadline at {', '.join(_bw(b) for b in miss)}: "
                     "the fastest is shown there)")
        out.append(Verdict(m, e, f"{m} -> {e}: {body}", segs, switches))
    return out


@dataclass
class Study:
    """A finished study: the full summary, the best table, the verdicts and the settings."""

    scenario: Scenario
    summary: pd.DataFrame
    best: pd.DataFrame
    verdicts: list[Verdict]
    deadline_ms: float
    profile_meta: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def pipelines(self) -> list[str]:
        return list(self.scenario.pipelines)

    @property
    def published(self) -> dict[str, dict]:
        """``{pipeline: card point}`` of the architecture-only pipelines (accuracy and bytes published, not measured)."""
        return published_meta(self.profile_meta)

    @property
    def synthetic(self) -> bool:
        return self.profile_meta.get("host") == "synthetic" or self.profile_meta.get("dataset") == "synthetic"


def run_study(sc: Scenario, profile: pd.DataFrame, engine: str = "auto", profile_source: str = "profile",
              on_step=None) -> Study:
    """Simulate the grid of ``sc`` and reduce it to the best pipeline per cell (no records kept)."""
    from sc2sim.sim import simulate_scenario

    res = simulate_scenario(sc, profile, engine=engine, keep_records=False, profile_source=profile_source,
                            on_step=on_step)
    meta = dict(profile.attrs.get("sc2sim", {}))
    summary = with_published(res.summary, published_meta(meta))  # card values, not the simulated pattern's mean
    deadline = float(sc.workload.deadline_ms[0])
    best = best_table(summary, deadline)
    return Study(sc, summary, best, verdicts(best, summary), deadline, meta, res.info)


def grid(study: Study, edge: str, column: str) -> tuple[list[str], list[float], np.ndarray]:
    """(mobiles, bandwidths, values[mobile, bandwidth]) of one edge device's best table."""
    b = study.best[study.best["edge"] == edge]
    mobiles = list(dict.fromkeys(study.scenario.mobile))
    bws = sorted(set(b["bandwidth_mbps"]))
    piv = b.pivot(index="mobile", columns="bandwidth_mbps", values=column).reindex(index=mobiles, columns=bws)
    return mobiles, bws, piv.to_numpy()
