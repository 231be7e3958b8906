"""Scenario YAML: the pydantic schema and sweep expansion (YAML loading and error lines: sc2sim.config).

A scenario says what to simulate (DESIGN section 4). Any field marked *sweepable* takes either one
value or a list; lists make a sweep over the cross product of all lists, expanded by
:func:`expand` into concrete :class:`Point` objects with short labels such as ``bw=10Mbps``.

Units: bandwidths in Mbit/s (10^6 bit/s), delays and jitter in ms, loss as a probability per packet,
arrival rates in requests/s per device, deadlines in ms from the request's arrival.

Every error names the file, the field path, the bad value and what is allowed, e.g.
``s.yaml: network.uplink.bandwidth_mbps: -3 — must be greater than 0``.
"""

from __future__ import annotations

import difflib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from sc2sim.config import load_yaml, validate_mapping
from sc2sim.errors import ConfigError
from sc2sim.naming import canonical_name

# ---------------------------------------------------------------------------------------- helpers


def _listify(v: Any) -> Any:
    return v if isinstance(v, list) else [v]


PosF = Annotated[float, Field(gt=0)]
NonNegF = Annotated[float, Field(ge=0)]
SweepPos = Annotated[list[PosF], BeforeValidator(_listify), Field(min_length=1)]
SweepNonNeg = Annotated[list[NonNegF], BeforeValidator(_listify), Field(min_length=1)]
SweepLoss = Annotated[list[Annotated[float, Field(ge=0, lt=1)]], BeforeValidator(_listify), Field(min_length=1)]
SweepPosInt = Annotated[list[Annotated[int, Field(gt=0)]], BeforeValidator(_listify), Field(min_length=1)]
SweepName = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_listify), Field(min_length=1)]

PIPELINE_RE = re.compile(r"^(local|offload|split):[A-Za-z0-9_\-]+(\?[A-Za-z0-9_.\-]+=[^&=\s]+(&[A-Za-z0-9_.\-]+=[^&=\s]+)*)?$")


def _pipeline_name(v: str) -> str:
    if not PIPELINE_RE.match(v):
        raise ValueError("must be a registry name STRATEGY:NAME[?key=value&...] with STRATEGY local, offload or split")
    return canonical_name(v)  # the spelling the profile table uses (parameters sorted)


PipelineName = Annotated[str, AfterValidator(_pipeline_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# ---------------------------------------------------------------------------------------- schema


class LinkSpec(_Strict):
    """One direction of the network: constant rate (``bandwidth_mbps``) or a Mahimahi ``trace``.

    ``one_way_delay_ms`` is the propagation delay, ``jitter_ms`` the standard deviation of a normal
    per-request addition to it (clipped at 0 total), ``loss`` the probability that a packet is lost.
    A trace path is relative to the scenario file; ``scale`` multiplies the bytes per opportunity.
    """

    bandwidth_mbps: SweepPos | None = None
    one_way_delay_ms: SweepNonNeg = [0.0]
    jitter_ms: SweepNonNeg = [0.0]
    loss: SweepLoss = [0.0]
    trace: str | None = None
    scale: SweepPos = [1.0]

    @model_validator(mode="after")
    def _one_kind(self) -> "LinkSpec":
        if (self.bandwidth_mbps is None) == (self.trace is None):
            raise ValueError("give exactly one of bandwidth_mbps (constant link) or trace (Mahimahi file)")
        return self


class TransportSpec(_Strict):
    """Transport model (see :mod:`sc2sim.network.transport`): ``tcp`` or ``raw``."""

    kind: Literal["tcp", "raw"] = "tcp"
    persistent: bool = False
    mss: Annotated[int, Field(gt=0)] = 1448
    header_bytes: Annotated[int, Field(ge=0)] = 52
    init_cwnd: Annotated[int, Field(gt=0)] = 10
    rto_ms: PosF = 200.0


class NetworkSpec(_Strict):
    """Uplink (device to edge), downlink (results), transport, and how the uplink is shared.

    ``sharing: shared`` is one cell whose capacity is fair-shared among the devices that are sending
    (processor sharing; each device's own transfers go one after another); ``per_device`` gives each
    device its own copy of the link. The downlink carries only the small result (``result_bytes``)
    and is modelled as a delay without contention; if omitted it is 50 Mbit/s with the uplink's
    one-way delay. ``radio`` picks the device's radio power model (wifi, lte, 3g).
    """

    uplink: LinkSpec
    downlink: LinkSpec | None = None
    transport: Annotated[TransportSpec, BeforeValidator(lambda v: {"kind": v} if isinstance(v, str) else v)] = TransportSpec()
    sharing: Literal["shared", "per_device"] = "shared"
    radio: Literal["wifi", "lte", "3g"] = "wifi"
    result_bytes: Annotated[int, Field(gt=0)] = 1

    @field_validator("downlink")
    @classmethod
    def _downlink_plain(cls, v: LinkSpec | None) -> LinkSpec | None:
        if v is None:
            return v
        if v.trace is not None:
            raise ValueError("a trace is only supported on the uplink; give bandwidth_mbps here")
        for name in ("bandwidth_mbps", "one_way_delay_ms", "jitter_ms", "loss"):
            if len(getattr(v, name) or [0]) > 1:
                raise ValueError(f"{name}: the downlink is not swept; give one value")
        return v


class ArrivalSpec(_Strict):
    """Request arrivals per device: ``periodic`` or ``poisson`` at ``rate_hz`` requests/s.

    ``phase: random`` starts each device's periodic clock at a random offset within one period
    (seeded); ``zero`` starts them all at t=0. Poisson arrivals start at t=0.
    """

    kind: Literal["periodic", "poisson"] = "periodic"
    rate_hz: SweepPos = [10.0]
    phase: Literal["random", "zero"] = "random"


class WorkloadSpec(_Strict):
    """``devices`` mobile devices; ``requests`` in total per sweep point and pipeline (split evenly)."""

    devices: SweepPosInt = [1]
    arrival: ArrivalSpec = ArrivalSpec()
    requests: Annotated[int, Field(gt=0)] = 1000
    deadline_ms: SweepPos | None = None


class BatchingSpec(_Strict):
    """Dynamic batching: a batch starts when ``max_batch`` requests wait or the oldest waited ``max_wait_ms``."""

    max_batch: Annotated[int, Field(gt=0)] = 1
    max_wait_ms: NonNegF = 0.0


class EdgeServerSpec(_Strict):
    """The edge server: ``gpus`` identical accelerators (or CPU workers) fed from one queue."""

    gpus: SweepPosInt = [1]
    batching: BatchingSpec = BatchingSpec()
    sharing: Literal["shared", "per_device"] = "shared"


class PolicySpec(_Strict):
    """How a request picks its pipeline: ``static`` (every pipeline is simulated on its own) or
    ``adaptive`` (also simulate pipeline ``adaptive``: per request, the most accurate pipeline whose
    latency, predicted from an EWMA of the observed uplink throughput, meets the deadline; see
    :mod:`sc2sim.sim.policy`). ``policy: adaptive`` is short for ``{kind: adaptive}``.

    ``ewma_alpha`` weighs the newest throughput sample; ``initial_mbps`` is the estimate before the
    first transfer (default: the uplink's long-run mean rate).
    """

    kind: Literal["static", "adaptive"] = "static"
    ewma_alpha: Annotated[float, Field(gt=0, le=1)] = 0.3
    initial_mbps: PosF | None = None


DEFAULT_TIMING_SAMPLES = 300
"""Samples whose stage times are measured at batch size 1 (bytes and accuracy use every profiled sample)."""


class Scenario(_Strict):
    """A whole scenario file (DESIGN section 4)."""

    name: Annotated[str, Field(min_length=1)]
    seed: int = 0
    dataset: str = "fashion-mnist"
    samples: Annotated[int, Field(gt=0)] | None = None
    timing_samples: Annotated[int, Field(gt=0)] | None = DEFAULT_TIMING_SAMPLES
    timing_idle_gap_ms: Annotated[float, Field(ge=0)] = 0.0
    pipelines: Annotated[list[PipelineName], Field(min_length=1)]
    mobile: SweepName = ["rpi4"]
    edge: SweepName = ["t4"]
    network: NetworkSpec
    workload: WorkloadSpec = WorkloadSpec()
    edge_server: EdgeServerSpec = EdgeServerSpec()
    policy: Annotated[PolicySpec, BeforeValidator(lambda v: {"kind": v} if isinstance(v, str) else v)] = PolicySpec()
    _source: str = PrivateAttr("<scenario>")
    _source_dir: str = PrivateAttr(".")

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, v: str) -> str:
        if v not in ("fashion-mnist", "sample-photos", "imagefolder") and not (
                v.startswith(("imagefolder:", "imagefolder?")) and len(v) > len("imagefolder:")):
            raise ValueError("must be fashion-mnist, imagefolder:/path/to/folder (or imagefolder with --data-dir) "
                             "or sample-photos")
        return v

    @field_validator("pipelines")
    @classmethod
    def _pipelines(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a pipeline is listed twice; list each once")
        return v


# ---------------------------------------------------------------------------------------- points


@dataclass(frozen=True)
class LinkPoint:
    """One concrete link direction: rate (Mbit/s) or trace path, delay and jitter (ms), loss, scale."""

    bandwidth_mbps: float | None
    one_way_delay_ms: float
    jitter_ms: float = 0.0
    loss: float = 0.0
    trace: Path | None = None
    scale: float = 1.0


@dataclass(frozen=True)
class Point:
    """One concrete sweep point: every sweepable field holds a single value.

    ``params`` maps the swept fields (only those with more than one value) to this point's value;
    ``label`` is their short text form (``single`` when nothing is swept).
    """

    index: int
    label: str
    params: dict[str, Any]
    mobile: str
    edge: str
    uplink: LinkPoint
    downlink: LinkPoint
    transport: TransportSpec
    up_sharing: str
    radio: str
    result_bytes: int
    devices: int
    arrival: str
    rate_hz: float
    phase: str
    requests: int
    deadline_ms: float | None
    gpus: int
    max_batch: int
    max_wait_ms: float
    edge_sharing: str
    seed: int


_DIMS = [  # (param name, label format, getter on Scenario)
    ("mobile", "mobile={}", lambda s: s.mobile),
    ("edge", "edge={}", lambda s: s.edge),
    ("bandwidth_mbps", "bw={:g}Mbps", lambda s: s.network.uplink.bandwidth_mbps or [None]),
    ("one_way_delay_ms", "delay={:g}ms", lambda s: s.network.uplink.one_way_delay_ms),
    ("jitter_ms", "jitter={:g}ms", lambda s: s.network.uplink.jitter_ms),
    ("loss", "loss={:g}", lambda s: s.network.uplink.loss),
    ("scale", "scale={:g}", lambda s: s.network.uplink.scale),
    ("devices", "dev={}", lambda s: s.workload.devices),
    ("rate_hz", "rate={:g}Hz", lambda s: s.workload.arrival.rate_hz),
    ("gpus", "gpus={}", lambda s: s.edge_server.gpus),
    ("deadline_ms", "deadline={:g}ms", lambda s: s.workload.deadline_ms or [None]),
]


def expand(sc: Scenario) -> list[Point]:
    """All sweep points of a scenario (cross product of every list), in a stable order."""
    values = [getter(sc) for _, _, getter in _DIMS]
    swept = [i for i, v in enumerate(values) if len(v) > 1]
    base = Path(sc._source_dir)
    up, down = sc.network.uplink, sc.network.downlink
    points = []
    for idx, combo in enumerate(itertools.product(*values)):
        v = {name: combo[i] for i, (name, _, _) in enumerate(_DIMS)}
        params = {_DIMS[i][0]: combo[i] for i in swept}
        label = ",".join(_DIMS[i][1].format(combo[i]) for i in swept) or "single"
        trace = (base / up.trace) if up.trace else None
        uplink = LinkPoint(v["bandwidth_mbps"], v["one_way_delay_ms"], v["jitter_ms"], v["loss"], trace, v["scale"])
        if down is None:
            downlink = LinkPoint(50.0, v["one_way_delay_ms"])
        else:
            downlink = LinkPoint(down.bandwidth_mbps[0], down.one_way_delay_ms[0], down.jitter_ms[0], down.loss[0])
        points.append(Point(
            index=idx, label=label, params=params, mobile=v["mobile"], edge=v["edge"], uplink=uplink,
            downlink=downlink, transport=sc.network.transport, up_sharing=sc.network.sharing,
            radio=sc.network.radio, result_bytes=sc.network.result_bytes, devices=v["devices"],
            arrival=sc.workload.arrival.kind, rate_hz=v["rate_hz"], phase=sc.workload.arrival.phase,
            requests=sc.workload.requests, deadline_ms=v["deadline_ms"], gpus=v["gpus"],
            max_batch=sc.edge_server.batching.max_batch, max_wait_ms=sc.edge_server.batching.max_wait_ms,
            edge_sharing=sc.edge_server.sharing, seed=sc.seed,
        ))
    return points


# ---------------------------------------------------------------------------------------- loading


def parse_scenario(raw: Any, source: str | Path = "<scenario>") -> Scenario:
    """Validate an already-parsed scenario mapping; ``source`` names the file in errors."""
    src = Path(source)
    sc = validate_mapping(raw, Scenario, src, "a mapping of scenario keys (name, pipelines, network, ...)")
    sc._source_dir = str(src.parent)
    sc._source = str(src)
    if sc.policy.kind == "adaptive" and sc.workload.deadline_ms is None:
        raise ConfigError(f"{src}: policy: 'adaptive' — needs workload.deadline_ms (it picks the most accurate "
                          "pipeline predicted to meet the deadline)")
    _check_references(sc, src)
    return sc


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file: schema, device names, trace files."""
    return parse_scenario(load_yaml(path), path)


def _check_references(sc: Scenario, src: Path) -> None:
    from sc2sim.devices import available_devices

    devices = available_devices()
    for role in ("mobile", "edge"):
        names = getattr(sc, role)
        allowed = sorted(n for n, roles in devices.items() if role in roles)
        for i, name in enumerate(names):
            if name not in allowed:
                where = f"{role}[{i}]" if len(names) > 1 else role
                hint = difflib.get_close_matches(name, allowed, n=1)
                raise ConfigError(f"{src}: {where}: {name!r} — allowed {role} devices: {', '.join(allowed)}"
                                  + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    up = sc.network.uplink
    if up.trace is not None:
        p = Path(sc._source_dir) / up.trace
        if not p.is_file():
            raise ConfigError(f"{src}: network.uplink.trace: {up.trace!r} — no such file (looked for {p})")
        from sc2sim.network import read_mahimahi

        read_mahimahi(p)
