"""The adaptive policy: each request picks its pipeline from an EWMA estimate of the uplink bandwidth.

``policy: adaptive`` (or ``{kind: adaptive, ewma_alpha: 0.3, initial_mbps: 5}``) adds a pipeline
named ``adaptive`` to every sweep point, next to the static pipelines, so the two compare like with
like (same arrivals, same samples, same jitter and loss draws: the candidates' plans are the static
plans of the point). For each request, at its arrival, on its device:

1. **predicted latency** of every candidate pipeline ``k`` =
   ``mobile_k + pre_k + wire_bytes_k * 8 / estimate + post_k + edge_k + down_k``, with each term the
   pipeline's *mean* cost over the point's requests (device compute, handshake/slow-start stalls,
   bytes on the wire incl. headers, one-way delay incl. jitter/loss waits, edge compute incl. the
   per-call overhead, result downlink). A local pipeline is ``mobile_k`` alone;
2. **choice**: the highest profile accuracy (mean ``correct`` of the pipeline's profiled samples)
   among the candidates predicted to meet the deadline (ties: the lower predicted latency); when none
   is predicted to meet it, the lowest predicted latency;
3. **estimate**: after each of the device's transfers arrives at the edge, the device takes one
   throughput sample ``wire_bytes * 8 / t`` with ``t`` the time the bytes spent in the bottleneck
   (from when the transfer reached the head of the device's own queue until its last byte left), and
   updates ``estimate = alpha * sample + (1 - alpha) * estimate``. The estimate starts at
   ``initial_mbps`` or, if not given, at the uplink's long-run mean rate. Each device has its own.

**Engine**: the choice needs sequential state (the estimate depends on earlier transfers, and which
pipeline runs changes later transfers), so the adaptive pipeline always runs in the SimPy engine, as
a policy object (:class:`AdaptivePolicy`) that the engine's one request life
(:func:`sc2sim.sim.des.run_des`) asks at each arrival and tells about each transfer: it handles every
scenario the static pipelines handle (shared cells, several GPUs, batching). Its records say
``engine = simpy``.

**Limitation**: a device that has switched to a local pipeline sends nothing, so its estimate stays
where it was until an offload is chosen again (no probing): after a bandwidth drop the policy may
stay local after the link has recovered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sc2sim.devices import DeviceProfile
from sc2sim.naming import is_local as is_local_name
from sc2sim.points import Point
from sc2sim.sim.des import batch_extra_s, batch_overhead_s, run_des
from sc2sim.sim.energy import radio_energy_j
from sc2sim.sim.exact import Times
from sc2sim.sim.metrics import records_columns
from sc2sim.sim.plan import Plan

ADAPTIVE = "adaptive"
"""The name of the adaptive policy's pipeline in records and summaries."""

_PER_REQUEST = ("sample", "correct", "payload_bytes", "wire_bytes", "down_wire_bytes", "mobile_s", "up_pre_s",
                "up_work", "up_post_s", "edge_s", "down_s")


class Ewma:
    """Exponentially weighted moving average: ``value = alpha * x + (1 - alpha) * value``."""

    def __init__(self, alpha: float, initial: float) -> None:
        if not 0 < alpha <= 1:
            raise ValueError("alpha must be in (0, 1]")
        self.alpha, self.value = float(alpha), float(initial)

    def update(self, x: float) -> float:
        """Fold in one sample; returns the new value."""
        self.value = self.alpha * float(x) + (1.0 - self.alpha) * self.value
        return self.value


@dataclass
class Candidate:
    """Mean costs of one pipeline, for the latency prediction (seconds, bytes)."""

    name: str
    local: bool
    accuracy: float
    fixed_s: float  # every term but the bandwidth one
    wire_bytes: float

    def predict_s(self, mbps: float) -> float:
        """Predicted latency (s) at an uplink estimate of ``mbps`` Mbit/s."""
        if self.local:
            return self.fixed_s
        return self.fixed_s + self.wire_bytes * 8.0 / (max(mbps, 1e-9) * 1e6)


def candidate(plan: Plan, accuracy: float) -> Candidate:
    """A plan's mean costs as a :class:`Candidate`."""
    if plan.local:
        return Candidate(plan.pipeline, True, accuracy, float(np.mean(plan.mobile_s)), 0.0)
    fixed = (np.mean(plan.mobile_s) + np.mean(plan.up_pre_s) + np.mean(plan.up_post_s) + np.mean(plan.edge_s)
             + plan.edge_fixed_s + np.mean(plan.down_s))
    return Candidate(plan.pipeline, False, accuracy, float(fixed), float(np.mean(plan.wire_bytes)))


def choose(cands: list[Candidate], mbps: float, deadline_s: float) -> int:
    """Index of the pipeline to use: the most accurate predicted to meet ``deadline_s`` (ties: faster);
    none: the fastest predicted."""
    pred = [c.predict_s(mbps) for c in cands]
    ok = [k for k in range(len(cands)) if pred[k] <= deadline_s]
    if ok:
        return min(ok, key=lambda k: (-cands[k].accuracy, pred[k], k))
    return min(range(len(cands)), key=lambda k: (pred[k], k))


class AdaptivePolicy:
    """The adaptive policy as the SimPy engine's :class:`~sc2sim.sim.des.Policy`: at each arrival it picks
    the candidate :func:`choose` selects at the device's current estimate (and records that estimate);
    after each transfer it folds the throughput sample ``wire_bytes * 8 / (t_left - t_head)`` into the
    device's EWMA."""

    observes = True

    def __init__(self, plans: list[Plan], accuracy: list[float], deadline_s: float, alpha: float = 0.3,
                 initial_mbps: float | None = None) -> None:
        p0 = plans[0]
        self.cands = [candidate(p, a) for p, a in zip(plans, accuracy)]
        self.deadline_s = deadline_s
        prior = float(initial_mbps if initial_mbps is not None else p0.capacity.mean_rate_mbps)
        self.est = [Ewma(alpha, prior) for _ in range(p0.devices)]
        self.estimate_mbps = np.zeros(p0.n)  # the estimate each request's choice used (Mbit/s)
        self.wire_bytes = [p.wire_bytes.tolist() for p in plans]

    def choose(self, i: int, device: int) -> int:
        """The candidate for request ``i`` at its device's current estimate."""
        mbps = self.est[device].value
        self.estimate_mbps[i] = mbps
        return choose(self.cands, mbps, self.deadline_s)

    def observe(self, i: int, device: int, k: int, t_head: float, t_left: float) -> None:
        """One throughput sample from request ``i``'s transfer (plan ``k``), its time in the bottleneck
        running from when it reached the head of its device's queue (``t_head``) to its last byte (``t_left``)."""
        busy = t_left - t_head
        if busy > 0:
            self.est[device].update(self.wire_bytes[k][i] * 8.0 / busy / 1e6)


@dataclass
class AdaptiveRun:
    """The adaptive pipeline's requests: a combined plan (each request's arrays from its chosen
    pipeline's plan), the event times, the chosen pipeline index and the estimate (Mbit/s) each
    decision used."""

    plan: Plan
    times: Times
    chosen: np.ndarray
    estimate_mbps: np.ndarray
    names: list[str]


def simulate_adaptive(plans: list[Plan], accuracy: list[float], deadline_s: float, alpha: float = 0.3,
                      initial_mbps: float | None = None) -> AdaptiveRun:
    """Run the adaptive policy over the static ``plans`` of one point (same arrivals and draws)."""
    policy = AdaptivePolicy(plans, accuracy, deadline_s, alpha, initial_mbps)
    run = run_des(plans, policy)
    p0, chosen = plans[0], run.chosen
    idx = np.arange(p0.n)
    combined = {f: np.stack([getattr(p, f) for p in plans])[chosen, idx] for f in _PER_REQUEST}
    plan = Plan(**{**p0.__dict__, **combined, "pipeline": ADAPTIVE, "local": False,
                   "edge_fixed_s": batch_overhead_s(plans), "edge_batch_extra_s": batch_extra_s(plans)})
    return AdaptiveRun(plan, run.times, chosen, policy.estimate_mbps, [p.pipeline for p in plans])


def adaptive_records(point: Point, run: AdaptiveRun, mobile: DeviceProfile) -> dict:
    """Request records of the adaptive pipeline (see :mod:`sc2sim.sim.metrics`) plus ``chosen`` (the
    pipeline each request used) and ``bw_estimate_mbps`` (the estimate its choice used). Radio energy
    is charged to the offloaded requests only (a local request never wakes the radio)."""
    p, t = run.plan, run.times
    rec = records_columns(point, p, t, mobile, ADAPTIVE, "simpy")
    is_local = np.array([is_local_name(name) for name in run.names])[run.chosen]
    act, tail = np.zeros(p.n), np.zeros(p.n)
    m = ~is_local
    if m.any():
        a, tl = radio_energy_j(p.device[m], t.t_tx_start[m], t.t_done[m], p.wire_bytes[m], p.down_wire_bytes[m],
                               mobile.radio_model(point.network.radio))
        act[m], tail[m] = a, tl
    o = np.argsort(p.t_arrival, kind="stable")
    rec["energy_radio_j"], rec["energy_tail_j"] = act[o], tail[o]
    rec["energy_j"] = rec["energy_compute_j"] + act[o] + tail[o]
    rec["chosen"] = np.asarray(run.names, dtype=object)[run.chosen][o]
    rec["bw_estimate_mbps"] = run.estimate_mbps[o]
    return rec


def choice_mix(names: list[str], chosen: np.ndarray) -> str:
    """``name share%`` of each pipeline the policy used, most used first."""
    counts = np.bincount(chosen, minlength=len(names))
    order = np.argsort(-counts, kind="stable")
    return ", ".join(f"{names[k]} {100 * counts[k] / max(1, chosen.size):.0f}%" for k in order if counts[k])
