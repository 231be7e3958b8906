"""Issue 14 ablation: the latent's shape (7x7 vs 14x14, channels) under the bundled recipes.

Trains one Entropic Student with the gdn encoder ending in a LATENT x SIZE x SIZE latent: the SC2
recipe (stage 1, 5 epochs of feature matching + STAGE1_BETA x bpp; stage 2, 5 epochs of KD of
decoder + tail) and then E2E_EPOCHS end-to-end epochs at rate weight BETA (the ``arch=e2e`` recipe's
third stage: KD + CE + BETA x bpp, every part trainable, STE rounding, cosine LR). One torch thread.
Both points are scored on all 10,000 test images with real rANS bytes of every image and written
with their cards to OUTDIR (``student-shape<SIZE>x<LATENT>-sc2-beta<STAGE1_BETA>`` and
``student-shape<SIZE>x<LATENT>-e2e-beta<BETA>``); nothing goes into the bundled weights.

The bundled ``arch=e2e`` students are the same recipe at SIZE 7, LATENT 16 (784 symbols): 12 epochs
gave 92.30 % at 60.8 B, 18 gave 92.78 % at 59.9 B (BENCHMARKS.md section 2). SIZE 14 keeps the
teacher's stage-1 resolution (the decoder has no upsampling) with a 3x3 second convolution, so
LATENT 4 has the same 784 symbols in another layout.

``--target-stage 2`` rebuilds the teacher's stage-2 features (64 x 7 x 7) instead of stage 1's (7 x 7
latents only): the target-layer lever; its bundles get ``-t2`` in their names.

Run: ``.venv/bin/python benchmarks/ablate_latent_shape.py SIZE LATENT STAGE1_BETA BETA E2E_EPOCHS OUTDIR``
(2026-11-28: results in BENCHMARKS.md section 2, ablation). With ``--times BUNDLE=FOLDER ...`` it
instead times the device side at batch 1 (encoder, then rANS) of those students, the bundled
``split:sc2?arch=e2e&beta=0.05`` and the learned codec's encoder (``mobile_compute`` + ``encode``),
interleaved image by image over the first 300 test images x 3, one thread, thread CPU time, median
(``bench_rate_accuracy.interleaved_device_ms``, which ``encoder_host_times`` there uses too).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch


def device_times(students: list[str], images: int = 300, passes: int = 3) -> dict[str, tuple[float, float, float]]:
    """Median batch-1 (encoder, rANS, sum) ms of ``students`` (``NAME=FOLDER``, bundled when no folder),
    the bundled ``split:sc2?arch=e2e&beta=0.05`` and the learned codec, with
    :func:`bench_rate_accuracy.interleaved_device_ms` (see the module docstring)."""
    from bench_rate_accuracy import interleaved_device_ms

    from sc2sim.data import load_fashion_mnist
    from sc2sim.models import load_bundled
    from sc2sim.models.entropy import compress_latent, prepare_for_coding
    from sc2sim.pipelines import build_pipeline
    from sc2sim.pipelines.torch_util import image_tensor

    stages = {n: (p.mobile_compute, p.encode) for n in ("split:sc2?arch=e2e&beta=0.05", "offload:learned?lmbda=0.0067")
              for p in [build_pipeline(n)]}
    for spec in students:  # not registry pipelines: the same two steps as split:sc2's mobile_compute and encode
        name, _, folder = spec.partition("=")
        m = load_bundled(name, Path(folder) if folder else None).eval()
        prepare_for_coding(m.entropy_bottleneck)
        stages[name] = (lambda img, m=m: m.encode_latent(image_tensor(img)), lambda y, m=m: compress_latent(m.entropy_bottleneck, y))
    return interleaved_device_ms(stages, load_fashion_mnist("test").images[:images], passes)


def main() -> None:
    if "--times" in sys.argv:
        torch.set_num_threads(1)
        for k, (enc, code, total) in device_times([a for a in sys.argv[1:] if a != "--times"]).items():
            print(f"{k:40s} encoder {enc:.3f} ms  rANS {code:.3f} ms  device {total:.3f} ms")
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("size", type=int, choices=(7, 14))
    ap.add_argument("latent", type=int)
    ap.add_argument("stage1_beta", type=float)
    ap.add_argument("beta", type=float)
    ap.add_argument("e2e_epochs", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("--max-steps", type=int, default=None, help="per stage (a smoke test)")
    ap.add_argument("--target-stage", type=int, choices=(1, 2), default=1,
                    help="the teacher stage whose features the decoder rebuilds: 1 (32x14x14, bundled) or 2 (64x7x7)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from sc2sim.data import load_fashion_mnist
    from sc2sim.models import load_bundled
    from sc2sim.train.common import seed_everything, to_tensors
    from sc2sim.train.student import StudentRecipe, bundle_student, train_stage2, train_student

    train, teacher = load_fashion_mnist("train"), load_bundled("teacher")
    tag = f"shape{args.size}x{args.latent}" + ("" if args.target_stage == 1 else f"-t{args.target_stage}")
    sc2 = StudentRecipe(beta=args.stage1_beta, max_steps=args.max_steps)
    student, log = train_student(args.stage1_beta, train, teacher, sc2, progress=False, size=args.size, latent=args.latent,
                                 target_stage=args.target_stage)
    args.out.mkdir(parents=True, exist_ok=True)
    bundle_student(student, sc2, f"{tag}-sc2", log["train_seconds"], out=args.out, coded_samples=10_000)

    e2e = StudentRecipe(beta=args.beta, stage2="e2e", stage1_epochs=0, stage2_epochs=args.e2e_epochs,
                        max_steps=args.max_steps)
    student = copy.deepcopy(student)
    gen = seed_everything(e2e.seed)
    x, y = to_tensors(train)
    t0 = time.perf_counter()
    train_stage2(student, teacher, x, y, e2e, gen, progress=False)
    bundle_student(student, e2e, f"{tag}-e2e", log["train_seconds"] + time.perf_counter() - t0, out=args.out,
                   coded_samples=10_000)


if __name__ == "__main__":
    main()
