"""Rate-accuracy benchmark: accuracy vs mean payload bytes and host stage times for every pipeline.

Runs ``ensure_profile`` (cached) on the Fashion-MNIST test set and prints a Markdown table for
BENCHMARKS.md, plus two figures: accuracy vs mean bytes, and the SC2 paper's second view, the mobile
encoder's size (parameters) against the data size.

    .venv/bin/python benchmarks/bench_rate_accuracy.py                 # full test set, all families
    .venv/bin/python benchmarks/bench_rate_accuracy.py --samples 1000 --set foundation
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
from pathlib import Path

import torch

from sc2sim.pipelines.bundled import bundled_values
from sc2sim.pipelines.student_archs import STUDENT_ARCHS, student_prefix
from sc2sim.profiling import ensure_profile, summarize_profile
from sc2sim.profiling.table import host_id

QUALITIES = (10, 30, 50, 70, 90)


def pipeline_set(which: str) -> list[str]:
    """Registry names of a benchmark set: ``foundation`` (issue 2) or ``all``."""
    names = ["local:teacher", "local:light", "offload:png"]
    names += [f"offload:jpeg?quality={q}" for q in QUALITIES]
    names += [f"offload:webp?quality={q}" for q in QUALITIES]
    names += [f"offload:avif?quality={q}" for q in QUALITIES]
    if which == "foundation":
        return names
    names += [f"offload:jpeg?optimize=1&quality={q}" for q in QUALITIES]
    names += [f"offload:learned?lmbda={v:g}" for v in bundled_values("codec-lmbda")]
    names += [f"split:naive?bits={b}&codec=zlib&stage={k}" for k in range(4) for b in (8, 2)]
    names += ["split:naive?bits=32&codec=none&stage=1"]
    names += [f"split:sc2?beta={v:g}" for v in bundled_values("student-beta")]
    names += [f"split:sc2?arch={a}&beta={v:g}" for a in STUDENT_ARCHS[1:] for v in bundled_values(student_prefix(a))]
    return names


def markdown(summary, title: str) -> str:
    """The summary as a Markdown table."""
    lines = [f"### {title}", "", "| pipeline | accuracy % | mean B | payload-only B | p95 B | mobile ms | edge ms | mobile MFLOPs | edge MFLOPs |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in summary.iterrows():
        lines.append(f"| `{name}` | {r.accuracy * 100:.2f} | {r.mean_bytes:.1f} | {r.mean_payload_only_bytes:.1f} | {r.p95_bytes:.0f} | "
                     f"{r.mobile_ms:.3f} | {r.edge_ms:.3f} | {r.mobile_mflops:.2f} | {r.edge_mflops:.2f} |")
    return "\n".join(lines)


def headline(summary) -> str:
    """The SC2 headline check: each student's accuracy gap to the teacher, and its bytes against the
    smallest input-codec payload (any codec, any quality) that reaches the same accuracy."""
    teacher = summary.loc["local:teacher", "accuracy"] if "local:teacher" in summary.index else float("nan")
    codecs = summary[[n.startswith("offload:") for n in summary.index]]
    students = summary[[n.startswith("split:sc2") for n in summary.index]]
    lines = ["### SC2 headline: Entropic Student vs the smallest input codec at the same accuracy", "",
             f"Teacher (local): {teacher * 100:.2f} %. Target: within 1.0 point of it at <= 1/4 of the bytes of the smallest "
             "input-codec payload that reaches the same accuracy.", "",
             "| student | accuracy % | gap to teacher (points) | mean B | smallest codec at >= that accuracy | its mean B | ratio | encoder MFLOPs (% of teacher) |",
             "|---|---:|---:|---:|---|---:|---:|---:|"]
    teacher_flops = summary.loc["local:teacher", "mobile_mflops"] if "local:teacher" in summary.index else float("nan")
    for name, r in students.sort_values("mean_bytes").iterrows():
        ok = codecs[codecs.accuracy >= r.accuracy]
        if len(ok):
            best = ok.mean_bytes.idxmin()
            ref, ratio = f"`{best}`", f"{r.mean_bytes / ok.mean_bytes.min():.2f}"
            ref_b = f"{ok.mean_bytes.min():.1f}"
        else:
            ref, ref_b, ratio = "none reaches it", "-", "-"
        lines.append(f"| `{name}` | {r.accuracy * 100:.2f} | {(teacher - r.accuracy) * 100:.2f} | {r.mean_bytes:.1f} | {ref} | {ref_b} | "
                     f"{ratio} | {r.mobile_mflops:.2f} ({100 * r.mobile_mflops / teacher_flops:.0f} %) |")
    learned = summary[[n.startswith("offload:learned") for n in summary.index]]
    if len(learned):
        lines += ["", f"Learned input codec encoder: {learned.mobile_mflops.iloc[0]:.2f} MFLOPs on the device."]
    lines += ["", *frontier(summary)]
    return "\n".join(lines)


def frontier(summary, lo: float = 20.0, hi: float = 300.0) -> list[str]:
    """Where the students' curve (best student accuracy at <= B bytes) is below another pipeline's point
    with ``lo <= B <= hi`` bytes: one line per such point (the issue's "at or above every other pipeline")."""
    students = summary[[n.startswith("split:sc2") for n in summary.index]]
    others = summary[[not n.startswith(("split:sc2", "local:")) for n in summary.index]]
    out = []
    for name, r in others[(others.mean_bytes >= lo) & (others.mean_bytes <= hi)].sort_values("mean_bytes").iterrows():
        ok = students[students.mean_bytes <= r.mean_bytes]
        best = ok.accuracy.max() if len(ok) else float("nan")
        if not len(ok) or best < r.accuracy:
            have = f"best student at <= its bytes {best * 100:.2f} %" if len(ok) else "no student that small"
            out.append(f"- below `{name}` ({r.accuracy * 100:.2f} % at {r.mean_bytes:.1f} B): {have}")
    head = f"Students' curve vs every other pipeline from {lo:g} B to {hi:g} B: "
    return [head + ("at or above all of them." if not out else f"below {len(out)} point(s):"), *out]


def interleaved_device_ms(stages: dict, images, repeats: int = 5) -> dict[str, tuple[float, float, float]]:
    """Median (encoder, entropy coding, sum) ms at batch 1 of each ``name -> (mobile_compute, encode)``
    pair on ``images`` (uint8), ``repeats`` passes, interleaved image by image (the same load for every
    stage), 1 torch thread, this thread's CPU time (other processes' slices excluded, as in the profiler)."""
    import time

    import numpy as np

    torch.set_num_threads(1)
    times: dict[str, list[tuple[float, float]]] = {n: [] for n in stages}
    with torch.no_grad():
        for _ in range(repeats):
            for img in images:
                for n, (compute, encode) in stages.items():
                    t0 = time.thread_time()
                    x = compute(img)
                    t1 = time.thread_time()
                    encode(x)
                    times[n].append((t1 - t0, time.thread_time() - t1))
    out = {}
    for n, v in times.items():
        a = np.array(v) * 1e3
        out[n] = (float(np.median(a[:, 0])), float(np.median(a[:, 1])), float(np.median(a.sum(1))))
    return out


def encoder_host_times(names: list[str], samples: int = 300, repeats: int = 5) -> str:
    """Device-side host time at batch 1 (mobile compute + entropy coding, 1 torch thread, thread CPU time)
    of each student and of the learned codec's encoder, measured interleaved in this one run: medians and the ratio."""
    from sc2sim.data import load_fashion_mnist
    from sc2sim.pipelines import build_pipeline

    ref = next((n for n in names if n.startswith("offload:learned")), None)
    studs = [n for n in names if n.startswith("split:sc2")]
    if ref is None or not studs:
        return ""
    pipes = {n: build_pipeline(n) for n in [ref, *studs]}
    ms = interleaved_device_ms({n: (p.mobile_compute, p.encode) for n, p in pipes.items()},
                               load_fashion_mnist("test").images[:samples], repeats)
    lines = [f"### Device-side host time at batch 1 vs the learned codec's encoder (same run, interleaved, {samples} images x {repeats})",
             "", "| pipeline | encoder ms | rANS ms | mobile ms (median of the sum) | ratio to the codec |", "|---|---:|---:|---:|---:|"]
    for n in [ref, *studs]:
        enc, code, tot = ms[n]
        lines.append(f"| `{n}` | {enc:.3f} | {code:.3f} | {tot:.3f} | {tot / ms[ref][2]:.2f} |")
    return "\n".join(lines)


def plot(table, summary, out: Path) -> None:
    """accuracy-vs-bytes and encoder-size-vs-bytes figures (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def family(n: str) -> str:
        head = n.split("?")[0]
        if head == "split:naive":  # one curve per cut point
            return head + " " + next(p for p in n.split("?")[1].split("&") if p.startswith("stage="))
        return head + (" (optimized)" if "optimize=1" in n else "")

    params = table.groupby("pipeline", sort=False)["mobile_params"].first()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for ax in axes:
        ax.set_prop_cycle(color=plt.cm.tab20.colors)  # 13 families: no repeated colours
    for fam in dict.fromkeys(family(n) for n in summary.index):
        rows = summary[[family(n) == fam for n in summary.index]].sort_values("mean_bytes")
        if fam.startswith("local"):
            axes[0].axhline(rows.accuracy.iloc[0] * 100, ls=":", lw=1, label=f"{fam} (no uplink bytes)")
            continue
        bold = fam.startswith("split:sc2")
        axes[0].plot(rows.mean_bytes, rows.accuracy * 100, "s-" if bold else "o-", ms=5 if bold else 4, lw=2.5 if bold else 1.2,
                     label=fam)
        axes[1].scatter(rows.mean_bytes, params[rows.index].clip(lower=1), label=fam, s=18)
    axes[0].set(xscale="log", xlabel="mean payload bytes per image (wire, headers included)", ylabel="top-1 accuracy %",
                title="Fashion-MNIST test set: accuracy vs data size")
    axes[0].set_ylim(80, 94)  # naive 2-bit at stage 0 (38.9 %) is off this scale; see the table
    axes[1].set(xscale="log", yscale="log", xlabel="mean payload bytes per image", ylabel="mobile-side parameters (1 = none)",
                title="encoder size vs data size")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["foundation", "all"], default="all")
    ap.add_argument("--samples", type=int, default=None, help="first N test samples (default: all 10k)")
    ap.add_argument("--repeats", type=int, default=1, help="timing repeats per sample (bytes/accuracy do not depend on it)")
    ap.add_argument("--figure", type=Path, default=Path("benchmarks/rate_accuracy.png"))
    args = ap.parse_args()
    table = ensure_profile(pipeline_set(args.set), args.samples, repeats=args.repeats, threads=1)
    summary = summarize_profile(table)
    print(f"machine: {host_id()}, {platform.python_version()}, torch {torch.__version__}, 1 torch thread, "
          f"cores {os.cpu_count()}, date {dt.date.today()}, samples {int(summary.samples.max())}, timing repeats {args.repeats}\n")
    print(markdown(summary, "accuracy vs bytes and host stage times"))
    if any(n.startswith("split:sc2") for n in summary.index):
        print()
        print(headline(summary))
        print()
        print(encoder_host_times(list(summary.index)))
    plot(table, summary, args.figure)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
