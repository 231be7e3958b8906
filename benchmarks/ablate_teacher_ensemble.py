"""Issue 14 ablation: continue the bundled Entropic Student with KD from a teacher ensemble.

Continues ``student-e2e-beta0.05`` end to end for EPOCHS epochs at rate weight BETA, distilling from
the mean logits of the bundled teacher and the teachers in FOLDERs (each trained by
``sc2sim train teacher --seed S --out FOLDER``; :mod:`sc2sim.train.ensemble`), one torch thread.
The student is scored on all 10,000 test images with real rANS bytes and written with its card
(which lists the ensemble's members) to OUTDIR; nothing goes into the bundled weights.

Run: ``.venv/bin/python benchmarks/ablate_teacher_ensemble.py BETA EPOCHS OUTDIR FOLDER [FOLDER ...]``
(2026-11-28: one extra teacher, seed 1, 34.7 min on one thread; 6 epochs 18-23 min; results in
BENCHMARKS.md section 2, ablation).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("beta", type=float)
    ap.add_argument("epochs", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("folders", nargs="+", help="folders holding teacher.pt + teacher.json of other seeds")
    args = ap.parse_args()
    torch.set_num_threads(1)
    from sc2sim.data import load_fashion_mnist
    from sc2sim.models import read_card
    from sc2sim.train.ensemble import load_teacher_ensemble
    from sc2sim.train.student import StudentRecipe, bundle_student, train_student

    folders: list[Path | None] = [None, *args.folders]
    ens = load_teacher_ensemble(folders)
    members = []
    for f in folders:
        card = read_card("teacher", None if f is None else Path(f))
        members.append({"folder": str(f or "bundled"), "seed": card["recipe"]["seed"],
                        "test_accuracy": card["test_accuracy"], "weights_sha256": card["weights_sha256"]})
    recipe = StudentRecipe(beta=args.beta, init="student-e2e-beta0.05", stage2="e2e", stage1_epochs=0,
                           stage2_epochs=args.epochs)
    student, log = train_student(args.beta, load_fashion_mnist("train"), ens, recipe, progress=False)
    args.out.mkdir(parents=True, exist_ok=True)
    bundle_student(student, recipe, "e2e", log["train_seconds"], out=args.out, coded_samples=10_000,
                   teacher_card={"ensemble": "mean of logits (sc2sim.train.ensemble.TeacherEnsemble)", "members": members})


if __name__ == "__main__":
    main()
