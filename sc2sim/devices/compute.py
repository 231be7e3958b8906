"""Compute model entry points: a stage's per-sample and per-call cost on a device.

With the stage's counts (``work``: operators, kernels, bytes, from profile tables written since the
counts exist) and device profiles that carry the constants of the term-by-term model, costs come
from :mod:`sc2sim.devices.cost_model`. Otherwise (older tables or profiles) the older mapping
below applies, unchanged.

The older mapping:

A stage measured on the host takes ``total_ms``, of which ``codec_ms`` is image/entropy coding
(scalar code), and performs ``flops`` FLOPs of neural-network work. On the host its neural part runs
at the stage's own efficiency ``e = flops / (nn_host_s * host_peak)``; the model assumes the device
reaches the same fraction of *its* achieved dense-GEMM throughput, which reduces to scaling by the
ratio of achieved GEMM throughputs per core::

    nn_host  = max(total_ms - codec_ms - host.overhead_ms, 0)
    cpu:  per_sample = nn_host * host_gemm/dev_gemm          (flops > 0)
                     = nn_host * host_scalar/dev_scalar      (flops == 0: glue code)
          per_call   = dev.overhead_ms
    gpu:  per_sample = flops / (dev.peak * dev.efficiency)   (flops > 0; roofline, batch-linear)
          per_call   = dev.overhead_ms                       (per batch: launches, sync, copies)
    both: per_sample += codec_ms * host_scalar/dev_scalar

A batch of ``b`` requests costs ``per_call + sum(per_sample)`` (so for a GPU
``time(b) = fixed + per_sample*b``). On the host profile itself the mapping returns the measured
time exactly (when ``total_ms >= codec_ms + overhead_ms``). The CPU mapping assumes the device runs
the stage with the same thread count as the host profile (the table metadata's ``threads``) and
that throughput scales per core.
"""

from __future__ import annotations

import numpy as np

from sc2sim.devices.cost_model import StageWork, batch_cost, model_applies
from sc2sim.devices.profile import DeviceProfile

REFERENCE_CORE = "one vCPU of the AMD EPYC (Zen 3, 2.45 GHz, KVM) host on which sc2sim's host.yaml was first calibrated"
"""What ``scalar_speed == 1.0`` means."""


def uses_cost_model(work: StageWork | None, host: DeviceProfile, dev: DeviceProfile) -> bool:
    """True when the term-by-term model applies: counts known, both profiles carry its constants."""
    return work is not None and model_applies(host, dev)


def stage_cost_s(total_ms: np.ndarray, codec_ms: np.ndarray, flops: np.ndarray,
                 host: DeviceProfile, dev: DeviceProfile, work: StageWork | None = None,
                 max_batch: int = 1) -> tuple[np.ndarray, float]:
    """Per-sample time (s, array) and per-call/per-batch fixed time (s) of a stage on ``dev``.

    With ``work`` (and profiles carrying the model's constants) the term-by-term model; a batch of
    b then costs ``fixed + sum(per-sample) + batch_extra_s(...)[b]`` (see
    :class:`sc2sim.devices.cost_model.BatchCost`); without, the older affine mapping (module docstring)."""
    if uses_cost_model(work, host, dev):
        cost = batch_cost(total_ms, codec_ms, work, host, dev, max_batch)
        return cost.per_sample_s, cost.fixed_s
    return _legacy_cost_s(total_ms, codec_ms, flops, host, dev)


def batch_extra_s(total_ms: np.ndarray, codec_ms: np.ndarray, work: StageWork | None, host: DeviceProfile,
                  dev: DeviceProfile, max_batch: int) -> np.ndarray | None:
    """What a batch of b (index 0..max_batch) adds to ``fixed + sum(per-sample)`` (s), or None when the
    cost is affine in the batch size (older mapping, or no batching)."""
    if max_batch <= 1 or not uses_cost_model(work, host, dev):
        return None
    return batch_cost(total_ms, codec_ms, work, host, dev, max_batch).extra_s


def _legacy_cost_s(total_ms: np.ndarray, codec_ms: np.ndarray, flops: np.ndarray,
                   host: DeviceProfile, dev: DeviceProfile) -> tuple[np.ndarray, float]:
    """The older affine mapping (module docstring): per-sample (s) and per-call (s) time."""
    total = np.asarray(total_ms, dtype=np.float64)
    codec = np.minimum(np.asarray(codec_ms, dtype=np.float64), total)
    f = np.asarray(flops, dtype=np.float64)
    hc, dc = host.compute, dev.compute
    scalar_ratio = hc.scalar_speed / dc.scalar_speed
    nn_host = np.maximum(total - codec - hc.overhead_ms, 0.0)
    if dc.type == "gpu":
        nn = np.where(f > 0, f / (dc.peak_gflops * dc.efficiency * 1e9) * 1e3, nn_host * scalar_ratio)
    else:
        gemm_ratio = hc.achieved_gflops_per_core / dc.achieved_gflops_per_core
        nn = np.where(f > 0, nn_host * gemm_ratio, nn_host * scalar_ratio)
    per_sample_ms = nn + codec * scalar_ratio
    return per_sample_ms / 1e3, dc.overhead_ms / 1e3


def single_call_s(total_ms: np.ndarray, codec_ms: np.ndarray, flops: np.ndarray,
                  host: DeviceProfile, dev: DeviceProfile, work: StageWork | None = None) -> np.ndarray:
    """Time (s) of one call of the stage on ``dev`` at batch size 1: fixed + per-sample."""
    per_sample, fixed = stage_cost_s(total_ms, codec_ms, flops, host, dev, work)
    return per_sample + fixed
