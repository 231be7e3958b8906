"""GPU hold-out of the device cost model: calibrate on the GPU, then predict architectures it never saw.

Run on a machine with CUDA (one short script, a few minutes)::

    python benchmarks/bench_gpu_holdout.py --out DIR            # calibrate + 7 architectures x batch 1/4/16/64

1. ``sc2sim calibrate --device cuda`` (micro-benchmarks, then ``launch_us``, achieved GFLOPS and
   bandwidth fitted on its reference stages: the bundled 28x28 models and resnet18, mobilenet_v2,
   squeezenet1_1 at batch 1 and 32) writes ``DIR/gpu-measured.yaml``.
2. Seven other torchvision architectures at 224x224 (:data:`HOLDOUT`) are counted and timed on the
   GPU at batch 1, 4, 16 and 64, one call = pinned copy in, forward, argmax, copy back, synchronise
   (best of 5 after warm-up), in the same run, and predicted with that profile.
3. ``DIR/gpu_holdout.json`` and ``DIR/gpu_holdout.md``: every (architecture, batch) measured vs
   predicted, the median and worst |error| overall and per batch size (target: median <= 20 %).

``--device cpu`` runs the same flow on the CPU (the tests use it with ``--quick``, which calibrates
quickly and times two small architectures at batch 1 and 4).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HOLDOUT = ("resnet50", "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny", "vit_b_16", "regnet_y_400mf",
           "densenet121")
"""Architectures not among calibrate's reference stages (sc2sim.profiling.microbench.REFERENCE_ARCHS)."""
BATCHES = (1, 4, 16, 64)


def run(out: Path, device: str = "cuda", quick: bool = False, archs: tuple[str, ...] = HOLDOUT,
        batches: tuple[int, ...] = BATCHES, repeats: int = 5, profile: Path | None = None) -> dict:
    """Calibrate (unless ``profile`` gives a calibrated one), measure and predict (module docstring);
    returns the result document."""
    import torch

    from sc2sim.devices import StageWork, load_device_file, terms
    from sc2sim.profiling.calibrate import calibrate
    from sc2sim.profiling.microbench import arch_case, time_cases

    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    prof_path = profile or out / ("gpu-measured.yaml" if device != "cpu" else "cpu-measured.yaml")
    if profile is None:
        calibrate(prof_path, device=device, quick=quick, repeats=3 if quick else 5)
    prof = load_device_file(prof_path)
    stages = time_cases([arch_case(a, device) for a in archs], device, batches, repeats)
    rows = []
    for s in stages:
        work = StageWork(**{k: float(getattr(s.work, k)) for k in StageWork.__dataclass_fields__})
        t = terms(work, 0.0, prof, prof, s.batch)
        rows.append({"arch": s.name, "batch": s.batch, "kernels": s.work.kernels, "gflop_per_image": s.work.flops / 1e9,
                     "measured_ms": round(s.ms, 4), "predicted_ms": round(t.total, 4), "dominant": t.dominant,
                     "error": round(t.total / s.ms - 1, 4)})

    def stats(errs: list[float]) -> dict:
        a = np.abs(errs)
        return {"n": int(a.size), "median_abs_err": round(float(np.median(a)), 4), "worst_abs_err": round(float(a.max()), 4)}

    doc = {"device": device, "profile": prof.model_dump(mode="json", exclude_none=True), "rows": rows,
           "overall": stats([r["error"] for r in rows]),
           "by_batch": {b: stats([r["error"] for r in rows if r["batch"] == b]) for b in batches}}
    (out / "gpu_holdout.json").write_text(json.dumps(doc, indent=1, default=str))
    lines = [f"{prof.description}; {prof.compute.runtime}; calibrated {prof.calibration['date']}", "",
             "| architecture | batch | kernels | measured ms | predicted ms | error | dominant |", "|---|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['arch']} | {r['batch']} | {r['kernels']} | {r['measured_ms']:.3f} | {r['predicted_ms']:.3f} | "
              f"{r['error'] * 100:+.1f} % | {r['dominant']} |" for r in rows]
    o = doc["overall"]
    lines += ["", f"median |error| {o['median_abs_err'] * 100:.1f} %, worst {o['worst_abs_err'] * 100:.1f} % over {o['n']} calls"]
    (out / "gpu_holdout.md").write_text("\n".join(lines) + "\n")
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("results/gpu_holdout"))
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu (to test the flow)")
    ap.add_argument("--quick", action="store_true", help="quick calibration, two small architectures, batch 1 and 4")
    args = ap.parse_args()
    if args.device != "cpu":
        import torch

        if not torch.cuda.is_available():
            print("no CUDA device: run with --device cpu to test the flow", file=sys.stderr)
            return 2
    archs, batches = (("mobilenet_v3_small", "squeezenet1_0"), (1, 4)) if args.quick else (HOLDOUT, BATCHES)
    doc = run(args.out, args.device, args.quick, archs, batches)
    print((args.out / "gpu_holdout.md").read_text(), end="")
    return 0 if doc["overall"]["n"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
