"""Sweep points: a scenario with every list resolved to one value, nested like the scenario itself.

A scenario field that takes a list makes a sweep over the cross product of all lists (DESIGN
section 4). :func:`expand` turns a :class:`~sc2sim.scenario.Scenario` into concrete :class:`Point`
objects, in a stable order, each with a short label such as ``bw=10Mbps`` built from the swept
fields only (``single`` when nothing is swept).

A point mirrors the scenario: ``point.network.uplink.bandwidth_mbps`` is the value of the
scenario's ``network.uplink.bandwidth_mbps`` at this point. The sweepable fields are declared once,
in :data:`SWEEP_FIELDS` (scenario path and label format); their values are read from the scenario by
path and written into the point by the same path, so adding a sweepable field means: give it a
list type in the schema (:mod:`sc2sim.scenario`), list its path here, and read it where it is used.

Units as in the scenario: Mbit/s, ms, probability per packet, requests/s per device.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sc2sim.scenario import BatchingSpec, Scenario, TransportSpec

DEFAULT_DOWNLINK_MBPS = 50.0
"""Downlink rate (Mbit/s) when a scenario gives none; its one-way delay is then the uplink's at that point."""

SWEEP_FIELDS: list[tuple[tuple[str, ...], str]] = [
    (("mobile",), "mobile={}"),
    (("edge",), "edge={}"),
    (("network", "uplink", "bandwidth_mbps"), "bw={:g}Mbps"),
    (("network", "uplink", "one_way_delay_ms"), "delay={:g}ms"),
    (("network", "uplink", "jitter_ms"), "jitter={:g}ms"),
    (("network", "uplink", "loss"), "loss={:g}"),
    (("network", "uplink", "scale"), "scale={:g}"),
    (("workload", "devices"), "dev={}"),
    (("workload", "arrival", "rate_hz"), "rate={:g}Hz"),
    (("edge_server", "gpus"), "gpus={}"),
    (("workload", "deadline_ms"), "deadline={:g}ms"),
    (("network", "radio"), "radio={}"),
]
"""Every sweepable scenario field: (path in the scenario, label format). Order = sweep order."""


@dataclass(frozen=True)
class LinkPoint:
    """One concrete link direction: rate (Mbit/s) or trace path, delay and jitter (ms), loss, and a
    trace's scale and byte accounting."""

    bandwidth_mbps: float | None
    one_way_delay_ms: float
    jitter_ms: float = 0.0
    loss: float = 0.0
    trace: Path | None = None
    scale: float = 1.0
    accounting: str = "ip"


@dataclass(frozen=True)
class NetworkPoint:
    """The network at one point (see :class:`sc2sim.scenario.NetworkSpec`)."""

    uplink: LinkPoint
    downlink: LinkPoint
    transport: TransportSpec
    sharing: str
    radio: str
    result_bytes: int


@dataclass(frozen=True)
class ArrivalPoint:
    """Arrivals at one point: ``kind`` (periodic | poisson), ``rate_hz`` per device, ``phase``."""

    kind: str
    rate_hz: float
    phase: str


@dataclass(frozen=True)
class WorkloadPoint:
    """The workload at one point: devices, arrivals, requests (total), deadline (ms from arrival)."""

    devices: int
    arrival: ArrivalPoint
    requests: int
    deadline_ms: float | None

    @property
    def deadline_s(self) -> float | None:
        """The deadline in seconds (None: no deadline)."""
        return None if self.deadline_ms is None else self.deadline_ms / 1e3


@dataclass(frozen=True)
class EdgeServerPoint:
    """The edge server at one point: ``gpus`` workers, dynamic ``batching``, ``sharing`` across devices."""

    gpus: int
    batching: BatchingSpec
    sharing: str


@dataclass(frozen=True)
class Point:
    """One concrete sweep point: every sweepable field holds a single value.

    ``params`` maps the swept fields (only those with more than one value; key: the field's last
    path element, e.g. ``bandwidth_mbps``) to this point's value; ``label`` is their short text form.
    """

    index: int
    label: str
    params: dict[str, Any]
    seed: int
    mobile: str
    edge: str
    network: NetworkPoint
    workload: WorkloadPoint
    edge_server: EdgeServerPoint


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = getattr(obj, key)
    return obj


def sweep_values(sc: Scenario) -> list[list[Any]]:
    """The values each of :data:`SWEEP_FIELDS` takes in ``sc`` (a one-element list when not swept)."""
    out = []
    for path, _ in SWEEP_FIELDS:
        v = _get(sc, path)
        out.append(v if isinstance(v, list) else [v])
    return out


def _link(spec: Any, at: dict[tuple[str, ...], Any], prefix: tuple[str, ...], base: Path) -> LinkPoint:
    def one(name: str) -> Any:
        key = (*prefix, name)
        if key in at:
            return at[key]
        v = getattr(spec, name)
        return v[0] if isinstance(v, list) else v

    return LinkPoint(one("bandwidth_mbps"), one("one_way_delay_ms"), one("jitter_ms"), one("loss"),
                     (base / spec.trace) if spec.trace else None, one("scale"), spec.accounting)


def make_point(sc: Scenario, index: int, at: dict[tuple[str, ...], Any], swept: list[int]) -> Point:
    """The point of ``sc`` where each sweepable path in ``at`` takes its given value."""
    net, wl, es = sc.network, sc.workload, sc.edge_server
    up = _link(net.uplink, at, ("network", "uplink"), Path(sc._source_dir))
    if net.downlink is None:
        down = LinkPoint(DEFAULT_DOWNLINK_MBPS, up.one_way_delay_ms)
    else:
        down = _link(net.downlink, {}, ("network", "downlink"), Path(sc._source_dir))
    combo = [at[SWEEP_FIELDS[i][0]] for i in swept]
    params = {SWEEP_FIELDS[i][0][-1]: v for i, v in zip(swept, combo)}
    label = ",".join(SWEEP_FIELDS[i][1].format(v) for i, v in zip(swept, combo)) or "single"
    return Point(
        index=index, label=label, params=params, seed=sc.seed, mobile=at[("mobile",)], edge=at[("edge",)],
        network=NetworkPoint(up, down, net.transport, net.sharing, at[("network", "radio")], net.result_bytes),
        workload=WorkloadPoint(at[("workload", "devices")],
                               ArrivalPoint(wl.arrival.kind, at[("workload", "arrival", "rate_hz")], wl.arrival.phase),
                               wl.requests, at[("workload", "deadline_ms")]),
        edge_server=EdgeServerPoint(at[("edge_server", "gpus")], es.batching, es.sharing),
    )


def expand(sc: Scenario) -> list[Point]:
    """All sweep points of a scenario (cross product of every list), in a stable order."""
    values = sweep_values(sc)
    swept = [i for i, v in enumerate(values) if len(v) > 1]
    paths = [path for path, _ in SWEEP_FIELDS]
    return [make_point(sc, idx, dict(zip(paths, combo)), swept)
            for idx, combo in enumerate(itertools.product(*values))]


def point_doc(point: Point) -> dict[str, Any]:
    """The point as a plain nested dict (for keys and metadata)."""
    return dataclasses.asdict(point)
