"""The scenario schema (pydantic): every field, its unit, its range and the checks within one file.

A scenario says what to simulate (DESIGN section 4). Any field marked *sweepable* takes either one
value or a list; lists make a sweep over the cross product of all lists, expanded by
:func:`sc2sim.points.expand` into concrete points with short labels such as ``bw=10Mbps``.

Units: bandwidths in Mbit/s (10^6 bit/s), delays and jitter in ms, loss as a probability per packet,
arrival rates in requests/s per device, deadlines in ms from the request's arrival.

Every error names the file, the field path, the bad value and what is allowed, e.g.
``s.yaml: network.uplink.bandwidth_mbps: -3 — must be a number in [0.001, 10^5] Mbit/s``.
Every number is strictly numeric (``true`` is not 1, ``"10"`` is not 10), finite, and within a range
that names its unit; the whole sweep is bounded too (:data:`MAX_POINTS`, :data:`MAX_REQUESTS`).
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from sc2sim.config import fmt_bound, number, show_value
from sc2sim.devices.profile import RADIOS
from sc2sim.naming import PipelineNameError, PipelineSpec
from sc2sim.network.transport import HEADER_BYTES, INIT_CWND, MSS_BYTES, RTO_MIN_MS
from sc2sim.runs.decision import Objective

# ---------------------------------------------------------------------------------------- helpers


def _listify(v: Any) -> Any:
    return v if isinstance(v, list) else [v]


MAX_SWEEP_VALUES = 10_000
"""Most values one sweepable field may list."""
MAX_POINTS = 10_000
"""Most sweep points (the product of every list's length) a scenario may expand to."""
MAX_REQUESTS = 10**8
"""Most simulated requests of a whole scenario (points x pipelines x ``workload.requests``)."""


def Sweep(item: Any) -> Any:  # noqa: N802 - a type factory
    """A sweepable field: one ``item`` or a list of 1 to :data:`MAX_SWEEP_VALUES` distinct ones."""
    return Annotated[list[item], BeforeValidator(_listify), Field(min_length=1, max_length=MAX_SWEEP_VALUES),
                     AfterValidator(_distinct)]


def _plain_text(v: str) -> str:
    if "\x00" in v or len(v) > 4096:
        raise ValueError("must be text of at most 4096 characters without NUL bytes")
    return v


def _one_line(v: str) -> str:
    if any(unicodedata.category(c) == "Cc" for c in v):
        raise ValueError("must be one line of text without control characters (tabs, line breaks, NUL)")
    return v


def _distinct(v: list) -> list:
    seen: set = set()
    for x in v:
        if x in seen:
            raise ValueError(f"must list each value once: {show_value(x)} is listed twice (each value is a sweep point)")
        seen.add(x)
    return v


Text = Annotated[str, Field(min_length=1), AfterValidator(_plain_text)]
Mbps = number(1e-3, 1e5, "Mbit/s", high_hint="did you give kbit/s or bit/s?")
DelayMs = number(0, 1e5, "ms", high_hint="did you give µs?")
LossP = number(0, 0.999, "(a probability per packet)", high_hint="a probability, not a percentage")
TraceScale = number(1e-3, 1e3, "x the trace's bytes per delivery opportunity")
RateHz = number(1e-6, 1e6, "requests/s per device")
DeadlineMs = number(0, 1e6, "ms", lo_open=True, high_hint="did you give µs?")
Devices = number(1, 1e5, "devices", integer=True)
Gpus = number(1, 1024, "accelerators", integer=True)
Samples = number(1, 1e7, "samples", integer=True)
SweepName = Sweep(Annotated[str, Field(min_length=1, max_length=200)])
SweepMbps = Sweep(Mbps)
SweepDelayMs = Sweep(DelayMs)
SweepLoss = Sweep(LossP)
SweepScale = Sweep(TraceScale)
SweepRateHz = Sweep(RateHz)
SweepDevices = Sweep(Devices)
SweepDeadlineMs = Sweep(DeadlineMs)
SweepGpus = Sweep(Gpus)
MssBytes = number(64, 65535, "bytes", integer=True)
HeaderBytes = number(0, 1000, "bytes", integer=True)
CwndSegments = number(1, 1e4, "segments", integer=True)
RtoMs = number(1, 1e5, "ms")
ResultBytes = number(1, 1e7, "bytes", integer=True)
Requests = number(1, 1e7, "requests per sweep point and pipeline", integer=True)
BatchSize = number(1, 4096, "requests", integer=True)
EwmaAlpha = number(0, 1, "(weight of the newest sample)", lo_open=True)
Seed = number(0, 1e18, "", integer=True)
IdleGapMs = number(0, 1e4, "ms", high_hint="did you give µs?")

def _pipeline_name(v: str) -> str:
    if len(v) > 1000:
        raise ValueError("must be a registry name of at most 1000 characters")
    try:
        return PipelineSpec.parse(v).name  # the spelling the profile table uses (parameters sorted)
    except PipelineNameError as err:
        raise ValueError(err.what) from None


PipelineName = Annotated[str, AfterValidator(_pipeline_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


# ---------------------------------------------------------------------------------------- schema


class LinkSpec(_Strict):
    """One direction of the network: constant rate (``bandwidth_mbps``) or a Mahimahi ``trace``.

    ``one_way_delay_ms`` is the propagation delay, ``jitter_ms`` the standard deviation of a normal
    per-request addition to it (clipped at 0 total), ``loss`` the probability that a packet is lost.
    A trace path is relative to the scenario file; ``scale`` multiplies the bytes per opportunity;
    ``accounting`` counts a trace's bytes as Mahimahi documents them (``ip``: 1500 IP bytes per
    opportunity) or as Mahimahi is compiled (``tun``: 1504 bytes per opportunity, 4 more per packet;
    see :class:`sc2sim.network.capacity.TraceCapacity`).
    """

    bandwidth_mbps: SweepMbps | None = None
    one_way_delay_ms: SweepDelayMs = [0.0]
    jitter_ms: SweepDelayMs = [0.0]
    loss: SweepLoss = [0.0]
    trace: Text | None = None
    scale: SweepScale = [1.0]
    accounting: Literal["ip", "tun"] = "ip"

    @model_validator(mode="after")
    def _one_kind(self) -> "LinkSpec":
        if (self.bandwidth_mbps is None) == (self.trace is None):
            raise ValueError("give exactly one of bandwidth_mbps (constant link) or trace (Mahimahi file)")
        if self.trace is None and self.accounting != "ip":
            raise ValueError("accounting: 'tun' — only with a trace (it is how a Mahimahi trace's bytes are counted)")
        if self.trace is None and self.scale != [1.0]:
            raise ValueError(f"scale: {show_value(self.scale)} — only with a trace (it scales a Mahimahi trace's bytes "
                             "per opportunity); sweep bandwidth_mbps instead")
        return self


class TransportSpec(_Strict):
    """Transport model (see :mod:`sc2sim.network.transport`): ``tcp`` or ``raw``."""

    kind: Literal["tcp", "raw"] = "tcp"
    persistent: bool = False
    mss: MssBytes = MSS_BYTES
    header_bytes: HeaderBytes = HEADER_BYTES
    init_cwnd: CwndSegments = INIT_CWND
    rto_ms: RtoMs = RTO_MIN_MS


class NetworkSpec(_Strict):
    """Uplink (device to edge), downlink (results), transport, and how the uplink is shared.

    ``sharing: shared`` is one cell whose capacity is fair-shared among the devices that are sending
    (processor sharing; each device's own transfers go one after another); ``per_device`` gives each
    device its own copy of the link. The downlink carries only the small result (``result_bytes``)
    and is modelled as a delay without contention; if omitted it is 50 Mbit/s with the uplink's
    one-way delay. ``radio`` picks the device's radio power model (wifi, lte, 3g; sweepable).
    """

    uplink: LinkSpec
    downlink: LinkSpec | None = None
    transport: Annotated[TransportSpec, BeforeValidator(lambda v: {"kind": v} if isinstance(v, str) else v)] = TransportSpec()
    sharing: Literal["shared", "per_device"] = "shared"
    radio: Sweep(Literal[RADIOS]) = ["wifi"]
    result_bytes: ResultBytes = 1

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
    rate_hz: SweepRateHz = [10.0]
    phase: Literal["random", "zero"] = "random"


class WorkloadSpec(_Strict):
    """``devices`` mobile devices; ``requests`` in total per sweep point and pipeline (split evenly)."""

    devices: SweepDevices = [1]
    arrival: ArrivalSpec = ArrivalSpec()
    requests: Requests = 1000
    deadline_ms: SweepDeadlineMs | None = None


class BatchingSpec(_Strict):
    """Dynamic batching: a batch starts when ``max_batch`` requests wait or the oldest waited ``max_wait_ms``."""

    max_batch: BatchSize = 1
    max_wait_ms: DelayMs = 0.0


class EdgeServerSpec(_Strict):
    """The edge server: ``gpus`` identical accelerators (or CPU workers) fed from one queue."""

    gpus: SweepGpus = [1]
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
    ewma_alpha: EwmaAlpha = 0.3
    initial_mbps: Mbps | None = None


class ObjectiveSpec(_Strict):
    """What "best" means in this scenario's reports (one rule everywhere: :mod:`sc2sim.runs.decision`).

    ``maximize: accuracy`` (default): the most accurate pipeline whose ``latency`` statistic meets the
    deadline (ties: lower latency). ``minimize: latency`` or ``minimize: energy``: the lowest latency or
    device energy among pipelines that meet the deadline and reach ``min_accuracy`` (a fraction, e.g.
    0.9). ``accuracy_tolerance`` (a fraction, default 0.001 = 0.1 point): accuracies this close to the
    best count as equal, and the tie goes to the lower latency. Give at most one of ``maximize`` and
    ``minimize``.
    """

    maximize: Literal["accuracy"] | None = None
    minimize: Literal["latency", "energy"] | None = None
    latency: Literal["mean", "p50", "p95", "p99"] = "p95"
    min_accuracy: number(0, 1, "(a fraction of the test set, e.g. 0.9)", high_hint="a fraction, not a percentage") | None = None
    accuracy_tolerance: number(0, 0.5, "(a fraction: 0.001 = 0.1 point)", high_hint="a fraction, not a percentage") = 0.001

    @model_validator(mode="after")
    def _one_goal(self) -> "ObjectiveSpec":
        if self.maximize is not None and self.minimize is not None:
            raise ValueError("give one of maximize (accuracy) or minimize (latency, energy), not both")
        return self

    def to_objective(self) -> Objective:
        """The rule object of :mod:`sc2sim.runs.decision`."""
        return Objective(self.minimize or "accuracy", self.latency, self.min_accuracy, self.accuracy_tolerance)


DEFAULT_TIMING_SAMPLES = 100
"""Samples whose stage times are measured at batch size 1 (bytes and accuracy use every profiled sample)."""


class Scenario(_Strict):
    """A whole scenario file (DESIGN section 4)."""

    name: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_one_line)]
    seed: Seed = 0
    dataset: Text = "fashion-mnist"
    samples: Samples | None = None
    timing_samples: Samples | None = DEFAULT_TIMING_SAMPLES
    timing_idle_gap_ms: IdleGapMs = 0.0
    pipelines: Annotated[list[PipelineName], Field(min_length=1, max_length=100)]
    mobile: SweepName = ["rpi4"]
    edge: SweepName = ["t4"]
    network: NetworkSpec
    workload: WorkloadSpec = WorkloadSpec()
    edge_server: EdgeServerSpec = EdgeServerSpec()
    policy: Annotated[PolicySpec, BeforeValidator(lambda v: {"kind": v} if isinstance(v, str) else v)] = PolicySpec()
    objective: ObjectiveSpec = ObjectiveSpec()
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

    @model_validator(mode="after")
    def _bounded_sweep(self) -> "Scenario":
        points = _sweep_points(self)
        if points > MAX_POINTS:
            raise ValueError(f"the sweep has {points} points (the product of every list's length) — at most "
                             f"{fmt_bound(MAX_POINTS)}; split it into several scenarios")
        total = points * len(self.pipelines) * self.workload.requests
        if total > MAX_REQUESTS:
            raise ValueError(f"{points} point(s) x {len(self.pipelines)} pipeline(s) x {self.workload.requests} requests "
                             f"= {total} simulated requests — at most {fmt_bound(MAX_REQUESTS)}; lower workload.requests")
        return self


def _sweep_points(model: BaseModel) -> int:
    """Product of the lengths of every list in ``model`` and its sub-models, except ``pipelines``."""
    n = 1
    for name in type(model).model_fields:
        v = getattr(model, name)
        if isinstance(v, BaseModel):
            n *= _sweep_points(v)
        elif isinstance(v, list) and name != "pipelines":
            n *= max(1, len(v))
    return n
