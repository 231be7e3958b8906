"""The compute cost model: what one call of a stage costs on a device, term by term.

A stage is described by what it asks of the machine, counted on the host while profiling
(:mod:`sc2sim.profiling.counting`, per call at batch size 1): ``ops`` aten operators, ``kernels``
data-touching operators, ``flops`` FLOPs, ``bytes`` of memory traffic of which ``weight_bytes`` are
weights, ``io_bytes`` of input, ``conv_outputs`` output elements of its dense convolutions
with kernels larger than 1x1;
plus ``codec_ms``, the time of its scalar code (image and entropy coding) measured on the host.
A device profile gives, per device and runtime, the constants below (symbols in brackets).

Derivation. Eager PyTorch executes a stage as a sequence of operators issued one by one by one host
thread. Each operator costs the thread a fixed amount of dispatch work (argument parsing, the
dispatcher, allocation, a library primitive's set-up) before any arithmetic, so a stage's host-side
cost is ``ops x d`` [d = ``dispatch_us``]. Its arithmetic runs at the device's achieved throughput G [``peak_gflops x efficiency``, per core on a
CPU] unless the operator is limited by memory traffic at the achieved bandwidth BW [``mem_gbps``]:
the roofline ``max(FLOPs / G, bytes / BW)`` (Williams, Waterman & Patterson, "Roofline", CACM 2009),
applied separately to the low-intensity operators (counted as ``low_*``: element-wise, pooling,
depthwise, under 4 FLOP/byte) and to the rest, and summed: ``R(b) = roof(low) + roof(rest)``.
Weights are read once per call, activations once per sample, so at batch b a group's traffic is
``W + b (bytes - W)``. On a CPU each output element of a dense convolution with a kernel larger
than 1x1 also costs as much as o multiply-adds at that rate [``output_macs``]: work per output
(the patches such a convolution gathers, the accumulators, the store) that a reduction of depth K
spreads over its K multiply-adds, so such an operator runs at ``K / (K + o)`` of the achieved rate.
The 28x28 models' 3x3 convolutions (K = 144-576) lose about a third of their rate to it where
ResNet-50's (K up to 4,608) lose a few per cent; 1x1 convolutions and matrix products, plain GEMMs
over the activations, are not charged. Without the term one rate could not fit both ends (BENCHMARKS.md,
compute model, session 10). It joins the arithmetic of the non-low-intensity group: ``F_rest + 2 o
conv_outputs`` FLOPs. Scalar code runs at the device's single-thread speed s [``scalar_speed``]:
``codec x s_host / s_dev``. Every call also pays a fixed cost f [``overhead_ms``]. On a CPU the
terms add (the one thread does all of them in turn)::

    cpu(b) = f + ops d + R(b) + b codec s_h/s_d,   R(b) = sum over both groups of max(b F / (G n), (W + b A) / BW)

(n threads; the simulator runs stages single-threaded, n = 1; F of the rest group includes the
output term). On a GPU the host thread only issues
kernels (``kernels x k`` of them, each costing the host [``launch_us``]; k = ``kernels_per_op``:
cuDNN may launch several per operator), while the device executes them asynchronously: the call
takes the larger of the issue time and the execution time, plus the copies of the input at the
copy bandwidth C [``copy_gbps``] and the fixed synchronisation cost f::

    gpu(b) = f + max(kernels k launch, R(b)) + b io / C + b codec s_h/s_d

so small batches are launch-bound (flat in b) and large batches compute-bound (linear in b), the
shape measured on an H200 (``benchmarks/gpu_edge_h200.md``) and in NVIDIA's published T4 and A100
batch sweeps (BENCHMARKS.md, compute model). ``precision`` fp16 halves the bytes (FP32 tensors are
counted). A CPU device without ``dispatch_us`` takes the host's, scaled by the scalar-speed ratio
(dispatch is scalar code); a missing ``mem_gbps`` drops the memory term. Every constant's value
and source is in its device profile: measured by ``sc2sim calibrate``, fitted to published
latencies (``benchmarks/published_latency.yaml``) or taken from data sheets.

Sources: the per-operator and per-kernel terms follow the measurements in DESIGN.md section 6
(25-39 us per kernel launched on an H200, dozens to hundreds of kernels per forward) and this
host's own fits; the aggregate roofline keeps one number per term (a per-operator roofline fitted
this host no better: BENCHMARKS.md, compute model).

Host measurements are warm calls with the process's freed memory kept
(:mod:`sc2sim.profiling.allocator`), as a serving process runs: the page faults of memory handed
back to the kernel and touched again (up to a third of a 224x224 model's time at batch 8 under
plain glibc) are not a term here.

On the host itself the measured time is kept: the modelled batch-1 time is replaced by the
measured one and only the batch increments are modelled (so the host maps to itself). Stages
without counts (profile tables written before the counts existed) keep the older mapping of
:mod:`sc2sim.devices.compute`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from sc2sim.devices.profile import DeviceProfile

WORK_FIELDS = ("ops", "kernels", "flops", "bytes", "weight_bytes", "io_bytes", "low_flops", "low_bytes", "low_weight_bytes",
               "conv_outputs")
"""Per-call counts of a stage (see :mod:`sc2sim.profiling.counting`), in this order."""
OPTIONAL_WORK = ("conv_outputs",)
"""Counts added after profile tables were first written: a table without them counts 0 for them."""


@dataclass(frozen=True)
class StageWork:
    """Counts of one stage per call at batch size 1 (scalars or arrays over samples)."""

    ops: float | np.ndarray = 0.0
    kernels: float | np.ndarray = 0.0
    flops: float | np.ndarray = 0.0
    bytes: float | np.ndarray = 0.0
    weight_bytes: float | np.ndarray = 0.0
    io_bytes: float | np.ndarray = 0.0
    low_flops: float | np.ndarray = 0.0
    low_bytes: float | np.ndarray = 0.0
    low_weight_bytes: float | np.ndarray = 0.0
    conv_outputs: float | np.ndarray = 0.0

    @classmethod
    def from_columns(cls, table: Any, side: str) -> "StageWork | None":
        """The ``side`` stage's counts (arrays over rows) from a profile table's ``{side}_ops`` ... columns;
        None when a required count is missing or blank (a table older than the counts)."""
        cols = {k: f"{side}_{k}" for k in WORK_FIELDS}
        required = [c for k, c in cols.items() if k not in OPTIONAL_WORK]
        if not set(required) <= set(table.columns) or table[required].isna().to_numpy().any():
            return None
        n = len(table)
        return cls(**{k: table[c].to_numpy(np.float64) if c in table.columns else np.zeros(n) for k, c in cols.items()})

    def first(self) -> "StageWork":
        """The counts of the first sample (the counts do not depend on the sample)."""
        return StageWork(**{f.name: float(np.ravel(getattr(self, f.name))[0]) for f in fields(self)})


@dataclass(frozen=True)
class Terms:
    """Modelled time (ms) of one call of a stage at batch ``batch`` on one device, by term.

    ``arithmetic`` is the time of the operators bound by arithmetic, ``memory`` of those bound by
    memory traffic (see :func:`terms`); on a GPU ``launch`` overlaps both (the larger of launch and
    their sum counts).
    """

    device: str
    batch: int
    fixed: float
    dispatch: float
    launch: float
    arithmetic: float
    memory: float
    codec: float
    copy: float
    gpu: bool

    @property
    def compute(self) -> float:
        """The roofline time of the operators (ms): arithmetic-bound plus memory-bound."""
        return self.arithmetic + self.memory

    @property
    def total(self) -> float:
        """Modelled time of the call (ms)."""
        if self.gpu:
            return self.fixed + max(self.launch, self.compute) + self.copy + self.codec
        return self.fixed + self.dispatch + self.compute + self.codec

    @property
    def dominant(self) -> str:
        """Name of the term that contributes most to :attr:`total`."""
        parts = {"fixed": self.fixed, "dispatch": self.dispatch, "codec": self.codec, "copy": self.copy}
        if self.gpu and self.launch >= self.compute:
            parts["launch"] = self.launch
        else:
            parts.update(arithmetic=self.arithmetic, memory=self.memory)
        return max(parts, key=parts.get)

    def as_dict(self) -> dict:
        """The terms, total and dominant term as a plain dict (ms)."""
        return {"device": self.device, "batch": self.batch, "fixed_ms": self.fixed, "dispatch_ms": self.dispatch,
                "launch_ms": self.launch, "arithmetic_ms": self.arithmetic, "memory_ms": self.memory,
                "codec_ms": self.codec, "copy_ms": self.copy, "total_ms": self.total, "dominant": self.dominant}


def model_applies(host: DeviceProfile, dev: DeviceProfile) -> bool:
    """True when the two profiles carry this model's constants: the host its ``dispatch_us`` (from
    ``sc2sim calibrate``), a GPU its ``launch_us`` (a CPU device without ``dispatch_us`` derives it)."""
    if host.compute.dispatch_us is None:
        return False
    return dev.compute.type == "cpu" or dev.compute.launch_us is not None


def dispatch_us(host: DeviceProfile, dev: DeviceProfile) -> float:
    """Dispatch cost of one operator (µs) on ``dev``'s CPU thread: its own ``dispatch_us``, else the
    host's scaled by the scalar-speed ratio (dispatch is scalar code)."""
    c, h = dev.compute, host.compute
    return c.dispatch_us if c.dispatch_us is not None else (h.dispatch_us or 0.0) * h.scalar_speed / c.scalar_speed


def _roofline(flops: float, weight: float, act: float, b: int, gflops: float, gbps: float | None) -> tuple[float, float]:
    """(arithmetic ms, memory ms) of a group of operators at batch b; only the larger counts."""
    arith = b * flops / (gflops * 1e6)
    memory = (weight + b * act) / (gbps * 1e6) if gbps else 0.0
    return (arith, 0.0) if arith >= memory else (0.0, memory)


def terms(work: StageWork, codec_ms: float, host: DeviceProfile, dev: DeviceProfile, batch: int = 1,
          threads: int = 1) -> Terms:
    """The modelled terms (ms) of one call of a stage on ``dev`` at batch ``batch`` (module docstring).

    ``work`` holds scalars (one stage); ``codec_ms`` is the host-measured codec time of one sample;
    ``threads`` is the CPU threads the stage may use (throughput scales per core, up to ``cores``).
    The roofline is applied to the low-intensity operators and to the rest separately; ``arithmetic``
    is the time of the group(s) bound by arithmetic, ``memory`` of the group(s) bound by traffic."""
    c = dev.compute
    b = max(int(batch), 1)
    scale = 0.5 if c.precision == "fp16" else 1.0
    if c.type == "gpu":
        gflops = c.peak_gflops * c.efficiency
    else:
        gflops = c.achieved_gflops_per_core * max(1, min(int(threads), c.cores))
    low_w = work.low_weight_bytes * scale
    low_act = max(work.low_bytes * scale - low_w, 0.0)
    high_w = max(work.weight_bytes * scale - low_w, 0.0)
    high_act = max((work.bytes - work.low_bytes) * scale - high_w, 0.0)
    overhead = 2.0 * (c.output_macs or 0.0) * work.conv_outputs if c.type == "cpu" else 0.0
    a1, m1 = _roofline(work.low_flops, low_w, low_act, b, gflops, c.mem_gbps)
    a2, m2 = _roofline(max(work.flops - work.low_flops, 0.0) + overhead, high_w, high_act, b, gflops, c.mem_gbps)
    codec = b * codec_ms * host.compute.scalar_speed / c.scalar_speed
    if c.type == "gpu":
        launch = work.kernels * (c.kernels_per_op or 1.0) * (c.launch_us or 0.0) / 1e3
        copy = b * work.io_bytes * scale / (c.copy_gbps * 1e6) if c.copy_gbps else 0.0
        return Terms(dev.name, b, c.overhead_ms, 0.0, launch, a1 + a2, m1 + m2, codec, copy, True)
    dispatch = work.ops * dispatch_us(host, dev) / 1e3
    return Terms(dev.name, b, c.overhead_ms, dispatch, 0.0, a1 + a2, m1 + m2, codec, 0.0, False)


def call_ms(work: StageWork, host: DeviceProfile, dev: DeviceProfile, batch: int) -> float:
    """Modelled time (ms) of a call at batch ``batch`` without its codec part."""
    return terms(work, 0.0, host, dev, batch).total


@dataclass(frozen=True)
class BatchCost:
    """A stage's cost on a device in the engines' form (seconds).

    A batch of requests ``i`` takes ``fixed_s + sum(per_sample_s[i]) + extra_s[b]``: ``per_sample_s``
    is the secant slope of the modelled call time between batch 1 and ``max(2, max_batch)`` plus each
    sample's codec time; ``extra_s[b]`` (index 0..max_batch, zero at 1) is what the exact call time at
    batch b adds to that line (negative where a launch floor or a weight read is shared)."""

    per_sample_s: np.ndarray
    fixed_s: float
    extra_s: np.ndarray


def batch_cost(total_ms: np.ndarray, codec_ms: np.ndarray, work: StageWork, host: DeviceProfile,
               dev: DeviceProfile, max_batch: int = 1) -> BatchCost:
    """The stage's :class:`BatchCost` on ``dev`` for samples with host times ``total_ms``/``codec_ms``.

    On the host (``dev.name == host.name``) each sample keeps its measured time at batch 1 and its
    residual against the model travels with it as per-sample work."""
    total = np.asarray(total_ms, dtype=np.float64)
    codec = np.minimum(np.asarray(codec_ms, dtype=np.float64), total)
    one = work.first()
    top = max(2, int(max_batch))
    calls = np.array([call_ms(one, host, dev, b) for b in range(0, top + 1)])
    slope = (calls[top] - calls[1]) / (top - 1)
    fixed = calls[1] - slope
    extra = calls - fixed - slope * np.arange(top + 1)
    extra[:2] = 0.0  # exact at batch 1 by construction (rounding aside)
    ratio = host.compute.scalar_speed / dev.compute.scalar_speed
    per = slope + codec * ratio
    if dev.name == host.name:
        per = per + (total - codec - calls[1])
    return BatchCost(per / 1e3, fixed / 1e3, extra[: max(int(max_batch), 1) + 1] / 1e3)
