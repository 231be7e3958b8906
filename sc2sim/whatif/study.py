"""The what-if study: the best pipeline for every mobile device x edge device x uplink bandwidth.

A study is an ordinary scenario whose ``mobile``, ``edge`` and ``network.uplink.bandwidth_mbps`` are
lists (their cross product is the grid); it is simulated with :func:`sc2sim.sim.simulate_scenario`
and each grid cell is reduced to one winner by the one decision rule of sc2sim
(:func:`sc2sim.runs.decision.pick`, applied per cell by :func:`sc2sim.report.winners.decide`), with
the scenario's ``objective`` (default: the most accurate pipeline whose p95 latency meets the deadline,
ties to the lower p95; none meets it: the lowest p95, marked).

Architecture-only pipelines (``weights=none``) carry a rate-accuracy card's published top-1 and
bytes (:func:`sc2sim.cards.with_published`); the rule uses those exact values and every output marks
them ``published``.

The verdict per (mobile, edge) walks the bandwidth axis and names where the best pipeline changes
(:func:`sc2sim.report.winners.verdicts`, the same verdicts as the report's). No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sc2sim.cards import published_meta, with_published
from sc2sim.errors import ConfigError
from sc2sim.report.winners import Verdict, Winners, decide
from sc2sim.scenario import Scenario, parse_scenario

DEFAULT_PIPELINES = ["local:teacher", "local:light", "offload:webp?quality=50", "offload:learned?lmbda=0.0067",
                     "split:sc2?beta=0.003"]
DEFAULT_MOBILE = ["rpi4", "jetson-nano", "phone-flagship"]
DEFAULT_EDGE = ["t4", "a100"]
DEFAULT_UPLINK = [1.0, 5.0, 20.0, 100.0]
DEFAULT_DEADLINE_MS = 100.0
# the network and workload of a study asked for on the command line (like scenarios/default.yaml)
BASE_DOC: dict[str, Any] = {
    "name": "whatif", "seed": 7, "dataset": "fashion-mnist", "samples": 1000,
    "network": {"uplink": {"bandwidth_mbps": DEFAULT_UPLINK, "one_way_delay_ms": 20, "jitter_ms": 2},
                "downlink": {"bandwidth_mbps": 50, "one_way_delay_ms": 20}, "transport": "tcp", "radio": "wifi"},
    "workload": {"devices": 1, "arrival": {"kind": "periodic", "rate_hz": 10}, "requests": 1000,
                 "deadline_ms": DEFAULT_DEADLINE_MS},
}


def _csv(v: str | list | None, kind=str, option: str = "") -> list | None:
    """A comma-separated option value as a list of ``kind``; ConfigError naming ``option`` if an item is not one."""
    if v is None:
        return None
    items = v if isinstance(v, list) else [x.strip() for x in str(v).split(",") if x.strip()]
    out = []
    for k, x in enumerate(items):
        try:
            out.append(kind(x))
        except ValueError:
            raise ConfigError(f"{option}[{k}]: {x!r} — must be a number (comma-separated values)") from None
    return out


OPTION_FIELDS = {"mobile": "mobile", "edge": "edge", "pipelines": "pipelines", "uplink": "network.uplink.bandwidth_mbps",
                 "deadline_ms": "workload.deadline_ms", "requests": "workload.requests", "samples": "samples"}
"""The scenario field each command-line option of a what-if study supplies (errors name the option)."""


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
    given = {"mobile": mobile, "edge": edge, "pipelines": pipelines, "uplink": uplink, "deadline_ms": deadline_ms,
             "requests": requests, "samples": samples}
    options = {OPTION_FIELDS[k]: f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None}
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
        up["bandwidth_mbps"] = _csv(uplink, float, "--uplink")
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
    sc = parse_scenario(doc, source, options)
    if sc.network.uplink.bandwidth_mbps is None:
        raise ConfigError(f"{source}: network.uplink: a trace — a what-if study needs bandwidth_mbps (a list of "
                          "Mbit/s values, or --uplink)")
    dl = sc.workload.deadline_ms
    if dl is not None and len(dl) > 1:
        raise ConfigError(f"{source}: workload.deadline_ms: {dl} — a what-if study uses one deadline")
    others = {"delay": sc.network.uplink.one_way_delay_ms, "jitter": sc.network.uplink.jitter_ms,
              "loss": sc.network.uplink.loss, "devices": sc.workload.devices,
              "rate_hz": sc.workload.arrival.rate_hz, "gpus": sc.edge_server.gpus, "radio": sc.network.radio}
    swept = [k for k, v in others.items() if len(v) > 1]
    if swept:
        raise ConfigError(f"{source}: {', '.join(swept)}: swept — a what-if grid is mobile x edge x bandwidth; "
                          "give one value for the others")
    return sc


BEST_COLUMNS = ["mobile", "edge", "bandwidth_mbps", "best", "strategy", "accuracy", "accuracy_source",
                "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "deadline_hit_rate",
                "mean_energy_j", "mean_bytes", "qualifies", "qualifying", "runner_up", "deadline_ms"]
"""Columns of ``best.csv``: one row per grid cell (``qualifies``: the winner satisfies the rule;
``qualifying``: how many pipelines do)."""


@dataclass
class Study:
    """A finished study: the full summary, the rule's decisions (best table, maps, verdicts) and the settings."""

    scenario: Scenario
    summary: pd.DataFrame
    winners: Winners
    deadline_ms: float
    profile_meta: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    @property
    def best(self) -> pd.DataFrame:
        """One row per grid cell (:data:`BEST_COLUMNS`)."""
        b = self.winners.best
        return b[[c for c in BEST_COLUMNS if c in b.columns]]

    @property
    def verdicts(self) -> list[Verdict]:
        return self.winners.verdicts

    @property
    def rule(self) -> str:
        """The rule in one sentence (with the study's deadline)."""
        return self.winners.rule

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
    """Simulate the grid of ``sc`` and reduce it to the best pipeline per cell by the scenario's objective
    (no records kept)."""
    from sc2sim.sim import simulate_scenario

    res = simulate_scenario(sc, profile, engine=engine, keep_records=False, profile_source=profile_source,
                            on_step=on_step)
    meta = dict(profile.attrs.get("sc2sim", {}))
    summary = with_published(res.summary, published_meta(meta))  # card values, not the simulated pattern's mean
    deadline = float(sc.workload.deadline_ms[0])
    return Study(sc, summary, decide(summary, sc.objective.to_objective()), deadline, meta, res.info)
