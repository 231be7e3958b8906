"""The request plan: every cost and every random draw of one (sweep point, pipeline), fixed up front.

Both engines consume the same :class:`Plan`, so they differ only in how they resolve queueing; that
is what lets the tests demand equal per-request times (to 1e-9 s) from the exact and SimPy engines.

Randomness (all from ``numpy.random.Generator`` seeded by the scenario seed, with common random
numbers across pipelines and sweep points so that curves compare like with like):

* arrivals: periodic (``k/rate`` plus a per-device phase) or Poisson (unit exponentials / rate);
* the sample each request uses: a uniform draw mapped onto the pipeline's profiled samples, so
  pipelines profiled on the same samples see the same sample for the same request; its bytes and
  correctness are that sample's. Its stage times are that sample's too when the sample was timed;
  when only the first K samples were timed (times NaN beyond, see
  :mod:`sc2sim.profiling.measure`), they are timed sample ``row mod K``'s;
* jitter: a standard normal per request and direction, scaled by ``jitter_ms``;
* losses: negative-binomial lost transmissions per transfer (see :func:`sc2sim.network.loss_penalty`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from sc2sim.devices import DeviceProfile, StageWork, batch_extra_s, stage_cost_s
from sc2sim.errors import ConfigError
from sc2sim.network import (
    Capacity,
    ConstantCapacity,
    TransportModel,
    loss_penalty,
    read_mahimahi,
    transfer_cost,
)
from sc2sim.points import Point

PROFILE_COLUMNS = ["pipeline", "strategy", "sample", "correct", "payload_bytes", "mobile_ms", "edge_ms",
                   "mobile_encode_ms", "edge_decode_ms", "mobile_flops", "edge_flops"]


@dataclass
class PipelineRows:
    """One pipeline's profiled samples as arrays, sorted by sample index.

    The five time and FLOP arrays hold the timed samples only (the first K rows, K <= samples).
    """

    name: str
    strategy: str
    sample: np.ndarray
    correct: np.ndarray
    payload_bytes: np.ndarray
    mobile_ms: np.ndarray
    edge_ms: np.ndarray
    mobile_encode_ms: np.ndarray
    edge_decode_ms: np.ndarray
    mobile_flops: np.ndarray
    edge_flops: np.ndarray
    mobile_work: StageWork | None = None  # stage counts (profile tables with ``mobile_ops`` etc.; None: older table)
    edge_work: StageWork | None = None




def split_profile(table: pd.DataFrame, pipelines: list[str], samples: int | None, source: str = "profile") -> dict[str, PipelineRows]:
    """Arrays per pipeline from a profile table; ConfigError if a column or pipeline is missing."""
    missing = [c for c in PROFILE_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{source}: columns {', '.join(missing)}: missing — a profile table needs {', '.join(PROFILE_COLUMNS)}")
    out = {}
    table = table.copy(deep=False)
    table.attrs = {}  # pandas deep-copies attrs on every operation: the metadata is not needed here
    groups = {name: g for name, g in table.groupby("pipeline", sort=False)}
    for name in pipelines:
        if name not in groups:
            have = ", ".join(sorted(map(str, groups))) or "(none)"
            raise ConfigError(f"{source}: pipeline {name!r}: not in the profile table — it holds {have}; "
                              "profile it with `sc2sim profile` or run without --profile")
        g = groups[name].sort_values("sample", kind="stable")
        if samples is not None:
            if len(g) < samples:
                raise ConfigError(f"{source}: pipeline {name!r}: samples: {samples} — the table holds {len(g)} samples "
                                  f"of it; ask for at most {len(g)} or profile more (`sc2sim profile --samples {samples}`)")
            g = g.iloc[:samples]
        strategy = str(g["strategy"].iloc[0])
        t = g[g["mobile_ms"].notna() & g["edge_ms"].notna()]
        if t.empty:
            raise ConfigError(f"{source}: pipeline {name!r}: no sample has measured stage times")
        if strategy not in ("local", "offload", "split"):
            raise ConfigError(f"{source}: pipeline {name!r}: strategy {strategy!r} — must be local, offload or split")
        out[name] = PipelineRows(
            name=name, strategy=strategy, sample=g["sample"].to_numpy(np.int64),
            correct=g["correct"].to_numpy(bool), payload_bytes=g["payload_bytes"].to_numpy(np.int64),
            mobile_ms=t["mobile_ms"].to_numpy(np.float64), edge_ms=t["edge_ms"].to_numpy(np.float64),
            mobile_encode_ms=t["mobile_encode_ms"].to_numpy(np.float64),
            edge_decode_ms=t["edge_decode_ms"].to_numpy(np.float64),
            mobile_flops=t["mobile_flops"].to_numpy(np.float64), edge_flops=t["edge_flops"].to_numpy(np.float64),
            mobile_work=StageWork.from_columns(t, "mobile"), edge_work=StageWork.from_columns(t, "edge"),
        )
    return out


@dataclass
class Plan:
    """Inputs of one engine run; per-request arrays are grouped by device, each in arrival order.

    Times in seconds; ``up_work`` in the capacity's work units (see :mod:`sc2sim.network.capacity`).
    """

    pipeline: str
    local: bool
    devices: int
    device: np.ndarray
    t_arrival: np.ndarray
    sample: np.ndarray
    correct: np.ndarray
    payload_bytes: np.ndarray
    wire_bytes: np.ndarray
    down_wire_bytes: np.ndarray
    mobile_s: np.ndarray
    up_pre_s: np.ndarray
    up_work: np.ndarray
    up_post_s: np.ndarray
    edge_s: np.ndarray
    edge_fixed_s: float
    down_s: np.ndarray
    capacity: Capacity
    up_sharing: str
    gpus: int
    max_batch: int
    max_wait_s: float
    edge_sharing: str
    deadline_s: float | None
    edge_batch_extra_s: np.ndarray | None = None  # what a batch of b adds (index b); None: affine in b

    @property
    def n(self) -> int:
        """Number of requests."""
        return int(self.t_arrival.size)

    def device_slices(self) -> list[slice]:
        """Slice of the request arrays that belongs to each device."""
        bounds = np.searchsorted(self.device, np.arange(self.devices + 1))
        return [slice(int(bounds[d]), int(bounds[d + 1])) for d in range(self.devices)]

    @property
    def exact_ok(self) -> bool:
        """True when no two requests interact beyond FIFO order, so the exact vectorised engine applies:
        local pipelines (each device only uses its own CPU), or one device (or per-device links and
        edges) without batching."""
        if self.local:
            return True
        decoupled = self.devices == 1 or (self.up_sharing == "per_device" and self.edge_sharing == "per_device")
        return decoupled and self.max_batch == 1


STREAMS = {"arrivals": 1, "sample": 2, "jitter_up": 3, "loss_up": 4, "loss_down": 5, "jitter_down": 6}
"""The named random streams of a plan and their numbers (part of the seed sequence: never renumber)."""


def stream(seed: int, name: str, *sub: int) -> np.random.Generator:
    """The random stream ``name`` of scenario seed ``seed`` (``sub`` splits it further, e.g. per pipeline).

    Streams are independent of each other and common across pipelines and sweep points (unless
    ``sub`` says otherwise), so that curves compare like with like.
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, STREAMS[name], *sub]))


@lru_cache(maxsize=16)
def draws(seed: int, name: str, kind: str, n: int) -> np.ndarray:
    """``n`` draws (``random``: uniform [0, 1); ``normal``: standard normal) from the stream ``name``
    of ``seed``: read-only and cached, since every pipeline of every sweep point with that seed takes
    the same ones (a few ms per (point, pipeline) saved on a default-sized run)."""
    rng = stream(seed, name)
    out = rng.random(n) if kind == "random" else rng.standard_normal(n)
    out.flags.writeable = False
    return out


def arrivals(point: Point) -> tuple[np.ndarray, np.ndarray]:
    """(device index, arrival time s) of every request, grouped by device, each in time order
    (read-only arrays, shared by every pipeline of the points with the same seed and workload)."""
    wl = point.workload
    return _arrivals(point.seed, wl.requests, wl.devices, wl.arrival.kind, wl.arrival.rate_hz, wl.arrival.phase)


@lru_cache(maxsize=16)
def _arrivals(seed: int, requests: int, n_dev: int, kind: str, rate_hz: float, phase_kind: str
              ) -> tuple[np.ndarray, np.ndarray]:
    counts = np.full(n_dev, requests // n_dev, dtype=np.int64)
    counts[: requests % n_dev] += 1
    rng = stream(seed, "arrivals", n_dev)
    phase = rng.random(n_dev) if phase_kind == "random" else np.zeros(n_dev)
    dev = np.repeat(np.arange(n_dev), counts)
    times = []
    for d, c in enumerate(counts):
        if kind == "periodic":
            t = (phase[d] + np.arange(c)) / rate_hz
        else:
            t = np.cumsum(rng.standard_exponential(c)) / rate_hz
        times.append(t)
    t_arr = np.concatenate(times) if times else np.zeros(0)
    dev.flags.writeable = t_arr.flags.writeable = False
    return dev, t_arr


def capacity_key(point: Point) -> tuple:
    """What identifies a point's uplink bottleneck (points with equal keys share one capacity object)."""
    up = point.network.uplink
    return ("rate", float(up.bandwidth_mbps)) if up.trace is None else ("trace", str(up.trace), up.scale, up.accounting)


def link_capacity(point: Point, cache: dict | None = None) -> Capacity:
    """The uplink bottleneck of a point: a constant rate or its (scaled) Mahimahi trace; ``cache``
    (keyed by :func:`capacity_key`) reads each trace once."""
    key = capacity_key(point)
    if cache is not None and key in cache:
        return cache[key]
    up = point.network.uplink
    cap = (ConstantCapacity(float(up.bandwidth_mbps)) if up.trace is None
           else read_mahimahi(up.trace, scale=up.scale, accounting=up.accounting))
    if cache is not None:
        cache[key] = cap
    return cap


def local_rate_mbps(capacity: Capacity, t_start: np.ndarray, rtt_s: float) -> float | np.ndarray:
    """The uplink rate (Mbit/s) a transfer starting at ``t_start`` meets during its handshake and
    slow start: a constant link's rate, or a trace's mean rate over ``[t, t + 2 rtt + 50 ms]`` (at
    least 1 % of its long-run mean, so an outage does not read as zero). The transport model times
    the handshake packets and the slow-start stalls at this rate; the bytes themselves still go
    through the trace's opportunities."""
    if isinstance(capacity, ConstantCapacity):
        return capacity.rate_mbps
    t0 = np.asarray(t_start, dtype=np.float64)
    window = 2.0 * rtt_s + 0.05
    offered = np.asarray(capacity.before(t0 + window), dtype=np.float64) - np.asarray(capacity.before(t0), dtype=np.float64)
    return np.maximum(offered * 8.0 / (window * 1e6), 0.01 * capacity.mean_rate_mbps)


def transport_of(point: Point) -> TransportModel:
    """The point's transport parameters as a :class:`TransportModel`."""
    t = point.network.transport
    return TransportModel(kind=t.kind, persistent=t.persistent, mss=t.mss, header=t.header_bytes,
                          init_cwnd=t.init_cwnd, rto_ms=t.rto_ms)


def _queues(point: Point, capacity: Capacity) -> dict:
    """The Plan fields that describe the point's queues (shared by local and remote plans)."""
    es = point.edge_server
    return {"devices": point.workload.devices, "capacity": capacity, "up_sharing": point.network.sharing,
            "gpus": es.gpus, "max_batch": es.batching.max_batch, "max_wait_s": es.batching.max_wait_ms / 1e3,
            "edge_sharing": es.sharing, "deadline_s": point.workload.deadline_s}


@dataclass(frozen=True)
class StageCosts:
    """A pipeline's stage costs on one (mobile, edge) pair (s; :func:`sc2sim.devices.stage_cost_s`): they
    depend on the devices and the edge's batch limit, not on the network, so a run computes them once."""

    mobile_per_sample_s: np.ndarray
    mobile_fixed_s: float
    edge_per_sample_s: np.ndarray | None = None
    edge_fixed_s: float = 0.0
    edge_batch_extra_s: np.ndarray | None = None

    def scaled(self, factor: float) -> "StageCosts":
        """These costs with every stage time multiplied by ``factor`` (the close-call check of
        :func:`sc2sim.runs.decision.close_calls` simulates with stage times a margin up and down)."""
        f = float(factor)
        if f == 1.0:
            return self
        return StageCosts(self.mobile_per_sample_s * f, self.mobile_fixed_s * f,
                          None if self.edge_per_sample_s is None else self.edge_per_sample_s * f, self.edge_fixed_s * f,
                          None if self.edge_batch_extra_s is None else self.edge_batch_extra_s * f)


def stage_costs(rows: PipelineRows, host: DeviceProfile, mobile: DeviceProfile, edge: DeviceProfile,
                max_batch: int = 1) -> StageCosts:
    """The device-side and (unless the pipeline is local) edge-side costs of ``rows`` on ``mobile`` and ``edge``."""
    m_ps, m_fixed = stage_cost_s(rows.mobile_ms, rows.mobile_encode_ms, rows.mobile_flops, host, mobile, rows.mobile_work)
    if rows.strategy == "local":
        return StageCosts(m_ps, m_fixed)
    e_ps, e_fixed = stage_cost_s(rows.edge_ms, rows.edge_decode_ms, rows.edge_flops, host, edge, rows.edge_work, max_batch)
    e_extra = batch_extra_s(rows.edge_ms, rows.edge_decode_ms, rows.edge_work, host, edge, max_batch)
    return StageCosts(m_ps, m_fixed, e_ps, e_fixed, e_extra)


def build_plan(point: Point, rows: PipelineRows, pipe_index: int, host: DeviceProfile, mobile: DeviceProfile,
               edge: DeviceProfile, capacity: Capacity, costs: StageCosts | None = None) -> Plan:
    """Draw requests for one (point, pipeline) and attach their costs on the point's devices and links.

    ``costs``: :func:`stage_costs` of ``rows`` on these devices and the point's batch limit, when the
    caller keeps them across points (default: computed here)."""
    dev, t_arr = arrivals(point)
    n, n_req, seed = t_arr.size, point.workload.requests, point.seed
    u = draws(seed, "sample", "random", n_req)[:n]
    row = np.minimum((u * rows.sample.size).astype(np.int64), rows.sample.size - 1)
    trow = row % rows.mobile_ms.size  # the timed sample whose stage times this request takes
    max_batch = point.edge_server.batching.max_batch
    c = costs if costs is not None else stage_costs(rows, host, mobile, edge, max_batch)
    mobile_s = (c.mobile_per_sample_s + c.mobile_fixed_s)[trow]
    common = {"pipeline": rows.name, "device": dev, "t_arrival": t_arr, "sample": rows.sample[row],
              "correct": rows.correct[row], "mobile_s": mobile_s, **_queues(point, capacity)}
    if rows.strategy == "local":
        zeros = np.zeros(n)
        return Plan(local=True, payload_bytes=np.zeros(n, np.int64), wire_bytes=zeros, down_wire_bytes=zeros,
                    up_pre_s=zeros, up_work=zeros, up_post_s=zeros, edge_s=zeros, edge_fixed_s=0.0, down_s=zeros,
                    **common)

    tm = transport_of(point)
    up, down = point.network.uplink, point.network.downlink
    d_up, d_down = up.one_way_delay_ms / 1e3, down.one_way_delay_ms / 1e3
    rtt = d_up + d_down
    rate = local_rate_mbps(capacity, t_arr + mobile_s, rtt)
    if np.ndim(rate):  # a rate per request (trace link): cost per request
        cost = transfer_cost(rows.payload_bytes[row], rate, d_up, rtt, tm, back_rate_mbps=float(down.bandwidth_mbps))
        segs, base_wire, pre = cost.segments, cost.wire_bytes, cost.pre_s
    else:  # one rate: cost per profiled sample, then per request by lookup
        cost = transfer_cost(rows.payload_bytes, rate, d_up, rtt, tm, back_rate_mbps=float(down.bandwidth_mbps))
        segs, base_wire, pre = cost.segments[row], cost.wire_bytes[row], cost.pre_s[row]
    pkt = tm.packet_bytes
    extra_b, wait = loss_penalty(segs, up.loss, rtt, tm, stream(seed, "loss_up", pipe_index) if up.loss > 0 else None, pkt)
    wire = base_wire + extra_b
    handshake_ack = 1 if tm.kind == "tcp" and not tm.persistent else 0
    packets = np.asarray(segs, dtype=np.int64) + np.rint(extra_b / pkt).astype(np.int64) + handshake_ack
    post = np.maximum(0.0, d_up + up.jitter_ms / 1e3 * draws(seed, "jitter_up", "normal", n_req)[:n]) + wait

    res = np.full(1, point.network.result_bytes)
    dcost = transfer_cost(res, float(down.bandwidth_mbps), d_down, rtt, tm, handshake=False)
    dextra, dwait = loss_penalty(np.full(n, dcost.segments[0]), down.loss, rtt, tm,
                                 stream(seed, "loss_down", pipe_index) if down.loss > 0 else None, pkt)
    dwire = dcost.wire_bytes[0] + dextra
    djit = np.maximum(0.0, d_down + down.jitter_ms / 1e3 * draws(seed, "jitter_down", "normal", n_req)[:n])
    down_s = dcost.pre_s[0] + dwire * 8.0 / (float(down.bandwidth_mbps) * 1e6) + djit + dwait

    return Plan(local=False, payload_bytes=rows.payload_bytes[row], wire_bytes=wire, down_wire_bytes=dwire,
                up_pre_s=pre, up_work=np.asarray(capacity.work(wire, packets), dtype=np.float64), up_post_s=post,
                edge_s=c.edge_per_sample_s[trow], edge_fixed_s=c.edge_fixed_s, down_s=down_s,
                edge_batch_extra_s=c.edge_batch_extra_s, **common)


def manual_plan(t_arrival, mobile_s, *, device=None, devices: int = 1, local: bool = False, payload_bytes=None,
                wire_bytes=None, up_pre_s=0.0, up_post_s=0.0, edge_s=0.0, edge_fixed_s: float = 0.0, down_s=0.0,
                capacity: Capacity | None = None, up_sharing: str = "shared", gpus: int = 1, max_batch: int = 1,
                max_wait_s: float = 0.0, edge_sharing: str = "shared", deadline_s: float | None = None,
                correct=True) -> Plan:
    """A plan from explicit per-request values (scalars broadcast), for tests and what-if scripts.

    Requests must be grouped by ``device`` and in arrival order within a device. ``wire_bytes``
    defaults to ``payload_bytes`` (default 1000 bytes); the uplink defaults to 10 Mbit/s.
    """
    t = np.asarray(t_arrival, dtype=np.float64)
    n = t.size

    def arr(v, dtype=np.float64):
        return np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()

    cap = capacity or ConstantCapacity(10.0)
    payload = arr(1000 if payload_bytes is None else payload_bytes, np.int64)
    wire = arr(payload if wire_bytes is None else wire_bytes)
    return Plan(
        pipeline="manual", local=local, devices=devices, device=arr(0 if device is None else device, np.int64),
        t_arrival=t, sample=np.arange(n), correct=arr(correct, bool), payload_bytes=payload, wire_bytes=wire,
        down_wire_bytes=arr(53.0), mobile_s=arr(mobile_s), up_pre_s=arr(up_pre_s),
        up_work=np.asarray(cap.work(wire), dtype=np.float64), up_post_s=arr(up_post_s), edge_s=arr(edge_s),
        edge_fixed_s=edge_fixed_s, down_s=arr(down_s), capacity=cap, up_sharing=up_sharing, gpus=gpus,
        max_batch=max_batch, max_wait_s=max_wait_s, edge_sharing=edge_sharing, deadline_s=deadline_s,
    )
