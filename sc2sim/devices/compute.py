"""Compute model: map a stage's host-measured time and FLOPs onto a modelled device.

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

from sc2sim.devices.profile import DeviceProfile

REFERENCE_CORE = "one vCPU of the AMD EPYC (Zen 3, 2.45 GHz, KVM) host on which sc2sim's host.yaml was first calibrated"
"""What ``scalar_speed == 1.0`` means."""


def stage_cost_s(total_ms: np.ndarray, codec_ms: np.ndarray, flops: np.ndarray,
                 host: DeviceProfile, dev: DeviceProfile) -> tuple[np.ndarray, float]:
    """Per-sample time (s, array) and per-call/per-batch fixed time (s) of a stage on ``dev``."""
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
                  host: DeviceProfile, dev: DeviceProfile) -> np.ndarray:
    """Time (s) of one call of the stage on ``dev`` at batch size 1: fixed + per-sample."""
    per_sample, fixed = stage_cost_s(total_ms, codec_ms, flops, host, dev)
    return per_sample + fixed
