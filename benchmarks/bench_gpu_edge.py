"""Edge stages on a real GPU: measured batch times, fitted to sc2sim's GPU compute model.

Run on a machine with CUDA (the lent H100/H200 here): ``python benchmarks/bench_gpu_edge.py --out DIR``.

sc2sim models an edge GPU batch of ``b`` requests as ``overhead + b * flops / (peak * efficiency)``
(:mod:`sc2sim.devices.compute`). This script measures that for the edge stages the scenarios use, in
eager PyTorch, FP32 weights, with PyTorch's default math settings (cuDNN may use TF32 for
convolutions; both flags are recorded):

* ``teacher-28``: the bundled teacher on 28x28 grey images (the edge model of every ``offload:*``
  pipeline on Fashion-MNIST);
* ``sc2-edge-28``: the bundled Entropic Student's edge side (decoder + teacher tail) from its
  16x7x7 latent (``split:sc2``);
* ``resnet50-224``: torchvision ResNet-50 on 224x224 RGB (random weights: times only);
* ``sc2-edge-224``: the ResNet-50 Entropic Student's edge side (decoder + layers 2-4 + head) from its
  24x28x28 latent.

One call = copy the batch from pinned host memory to the GPU, forward, argmax, copy the classes back
and synchronise (what an edge server does per batch). ``time(b)`` is the median of 50 calls after 10
warm-ups, for b in 1, 2, 4, 8, 16, 32, and the median of 3 such rounds (after one warm-up round of
every case). A least-squares line over b gives the overhead (intercept, ms)
and the per-sample time (slope, ms); efficiency = FLOPs per sample / (slope x peak), the peak being
the TF32 tensor-core one when cuDNN may use TF32 (PyTorch's default), else FP32. FLOPs come from
torch's FlopCounterMode. Writes ``gpu_edge.json`` and ``gpu_edge.md`` into ``--out``;
``--render gpu_edge.json`` prints the table of an earlier run (no GPU needed).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sc2sim.models import load_bundled  # noqa: E402
from sc2sim.models.student224 import EntropicStudent224  # noqa: E402


def count_flops(fn) -> int:
    """FLOPs of ``fn()`` by torch's FlopCounterMode (as sc2sim.profiling.flops, without its package's imports)."""
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())

BATCHES = (1, 2, 4, 8, 16, 32)
ROUNDS = 3  # every case is measured this many times, one after the other; the median round is kept


def cases() -> tuple[dict[str, tuple], tuple[torch.nn.Module, ...]]:
    """``{name: (callable on a batch, per-sample input shape)}`` and the modules to move to the GPU."""
    from torchvision import models

    teacher = load_bundled("teacher").eval()
    student = load_bundled("student-beta0.003").eval()
    s224 = EntropicStudent224().eval()
    r50 = models.resnet50(weights=None).eval()
    return {
        "teacher-28": (teacher, (1, 28, 28)),
        "sc2-edge-28": (lambda z: student.tail(student.decode_features(z)), (16, 7, 7)),
        "resnet50-224": (r50, (3, 224, 224)),
        "sc2-edge-224": (lambda z: s224.tail(s224.bottleneck_layer.decoder(z)), (24, 28, 28)),
    }, (teacher, student, s224, r50)


def measure(fn, shape: tuple[int, ...], dev: torch.device, iters: int = 50, warm: int = 10) -> dict[int, float]:
    out = {}
    for b in BATCHES:
        x = torch.rand(b, *shape).pin_memory()
        times = []
        with torch.inference_mode():
            for i in range(warm + iters):
                t0 = time.perf_counter()
                y = fn(x.to(dev, non_blocking=True)).argmax(1).cpu()
                torch.cuda.synchronize()
                if i >= warm:
                    times.append((time.perf_counter() - t0) * 1e3)
        assert y.shape == (b,)
        out[b] = float(np.median(times))
    return out


def render(meta: dict, results: dict) -> str:
    """The Markdown table of a run (efficiency against ``meta['peak_gflops']``)."""
    peak = meta["peak_gflops"]
    lines = [f"GPU {meta['gpu']}, torch {meta['torch']} (CUDA {meta['cuda']}), cuDNN TF32 {meta['cudnn_allow_tf32']}; "
             f"efficiency against {meta['peak_kind']} peak {peak:g} GFLOPS; {meta['date']}; median of 3 rounds of the "
             "median of 50 calls per batch size.", "",
             "| stage | GFLOP/sample | b=1 ms | b=8 ms | b=32 ms | overhead ms | per-sample ms | efficiency |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for case, r in results.items():
        t = {int(k): v for k, v in r["ms_by_batch"].items()}
        slope = r["per_sample_ms"]
        eff = f"{r['flops_per_sample'] / (slope * 1e-3 * peak * 1e9) * 100:.1f} %" if slope > 1e-3 else "(slope < 1 us: n/a)"
        lines.append(f"| {case} | {r['flops_per_sample'] / 1e9:.4f} | {t[1]:.3f} | {t[8]:.3f} | {t[32]:.3f} | "
                     f"{r['overhead_ms']:.3f} | {slope:.4f} | {eff} |")
    return "\n".join(lines) + "\n"


def peak_of(name: str, tf32: bool) -> tuple[float, str]:
    """Dense peak (GFLOPS) from NVIDIA's data sheets: TF32 tensor cores when cuDNN may use them, else FP32."""
    pcie = "PCIe" in name
    if tf32:
        return (378_000.0 if pcie else 494_700.0), "TF32 tensor-core (dense)"
    return (51_200.0 if pcie else 66_900.0), "FP32"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/gpu"))
    ap.add_argument("--peak-gflops", type=float, default=None, help="peak of the GPU (default: H100/H200 data sheet)")
    ap.add_argument("--render", type=Path, default=None, help="only re-render the table of this gpu_edge.json")
    args = ap.parse_args()
    if args.render:
        doc = json.loads(args.render.read_text())
        if "peak_kind" not in doc["meta"]:
            doc["meta"]["peak_gflops"], doc["meta"]["peak_kind"] = peak_of(doc["meta"]["gpu"], doc["meta"]["cudnn_allow_tf32"])
        print(render(doc["meta"], doc["results"]), end="")
        return 0
    if not torch.cuda.is_available():
        print("no CUDA device: this benchmark needs a GPU", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    peak, kind = peak_of(name, torch.backends.cudnn.allow_tf32)
    peak = args.peak_gflops or peak
    fns, modules = cases()
    for m in modules:
        m.to(dev)
    results = {}
    for fn, shape in fns.values():  # warm-up round: clocks up, cuDNN heuristics and allocator settled
        measure(fn, shape, dev, iters=5, warm=5)
    rounds = {case: [measure(fn, shape, dev) for _ in range(ROUNDS)] for case, (fn, shape) in fns.items()}
    for case, (fn, shape) in fns.items():
        flops = count_flops(lambda: fn(torch.rand(1, *shape, device=dev)))
        t = {b: float(np.median([r[b] for r in rounds[case]])) for b in BATCHES}
        slope, intercept = np.polyfit(np.array(BATCHES, float), np.array([t[k] for k in BATCHES]), 1)
        results[case] = {"flops_per_sample": flops, "ms_by_batch": t, "overhead_ms": float(intercept),
                         "per_sample_ms": float(slope)}
    meta = {"gpu": name, "peak_gflops": peak, "peak_kind": kind, "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32, "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "host": platform.node(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d")}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_edge.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    md = render(meta, results)
    (args.out / "gpu_edge.md").write_text(md)
    print(md, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
