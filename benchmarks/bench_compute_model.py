"""Validation of the device cost model (sc2sim/devices/cost_model.py) -> benchmarks/compute_model.json.

Run: ``.venv/bin/python benchmarks/bench_compute_model.py [--skip-repro] [--out benchmarks/compute_model.json]``
(about 5-10 minutes on 2 shared cores). Four parts:

1. **Host hold-out.** Micro-benchmarks start the host's constants; ``dispatch_us``, achieved GFLOPS and
   ``output_macs`` are fitted as ``sc2sim calibrate`` fits them (``CPU_KEYS``; memory bandwidth from
   the copy micro-benchmark) on the calibrate reference set only (the bundled 28x28 teacher, light
   model, Entropic Student device and edge sides; torchvision resnet18, mobilenet_v2, squeezenet1_1
   at 224), then the other stages (10 torchvision architectures at 224, the learned codec's two 28x28
   transforms) are predicted at batch 1 and 8 and compared with their measured time (thread CPU
   time checked against wall time, one thread; all calls timed together in ``--passes`` interleaved
   passes, each keeping its fastest). The same measurements are also fitted with the model before
   the output term (``dispatch_us``, GFLOPS and an anchored ``mem_gbps``; ``previous_form``).
2. **Published measurements** (``benchmarks/published_latency.yaml``): every row predicted with the
   shipped device profile; each profile's constants were fitted on its ``fit`` rows only (refitted
   here to show they agree), ``held-out`` rows are the test, ``context`` rows are shown, not counted.
3. **H200** (GPU, no GPU needed here): the measured edge stages of ``gpu_edge_h200.json`` (the
   machine ``h200.yaml`` was fitted on) and DESIGN.md's seven architectures measured on *another*
   H200 in another session (kernel counts and batch-1 times): per-kernel cost leave-one-out within
   that machine, and h200.yaml's prediction across machines.
4. **Reproducibility.** Two cold profiles (empty caches) of the default scenario's pipelines, back to
   back, its ``timing_samples`` timed in each: per-stage median difference.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sc2sim.devices import StageWork, load_device, terms  # noqa: E402
from sc2sim.profiling.calibrate import CPU_KEYS, OUTPUT_MACS_START, fit_constants, initial_compute, modelled_ms  # noqa: E402
from sc2sim.profiling.microbench import (REFERENCE, REFERENCE_ARCHS, RefStage, arch_case, bundled_cases,  # noqa: E402
                                         micro, time_cases, zlib_s)

HOLDOUT_ARCHS = ("resnet50", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "shufflenet_v2_x1_0",
                 "regnet_y_400mf", "mnasnet0_5", "googlenet", "densenet121", "alexnet")
FIT_KEYS = {"rpi4": ("dispatch_us", "efficiency"), "jetson-nano": ("launch_us", "efficiency"),
            "t4": ("launch_us", "efficiency"), "a100": ("launch_us", "mem_gbps")}
DESIGN_H200 = {"resnet18": (112, 3.8), "resnet50": (230, 7.7), "mobilenet_v3_large": (209, 8.1),
               "efficientnet_b0": (287, 10.2), "convnext_tiny": (202, 5.2), "vit_b_16": (165, 4.3),
               "regnet_y_400mf": (324, 8.1)}
"""DESIGN.md section 6: (kernels launched, ms at batch 1) on an H200, another session and machine."""


def stats(errors: list[float]) -> dict[str, float]:
    """Median and worst absolute relative error, and the count."""
    a = np.abs(np.asarray(errors, dtype=np.float64))
    return {"n": int(a.size), "median_abs_err": round(float(np.median(a)), 4) if a.size else None,
            "worst_abs_err": round(float(a.max()), 4) if a.size else None}


def holdout_cases() -> tuple[list, list]:
    """(fitted, held-out) cases of part 1: calibrate's reference set, and the other stages."""
    bundled = bundled_cases("cpu")
    return ([c for c in bundled if c[0] in REFERENCE] + [arch_case(a) for a in REFERENCE_ARCHS],
            [c for c in bundled if c[0] not in REFERENCE] + [arch_case(a) for a in HOLDOUT_ARCHS])


def holdout_fit(m: dict, fit: list[RefStage], held: list[RefStage]) -> dict:
    """Fit the host's constants on ``fit`` as ``sc2sim calibrate`` does (micro-benchmarks ``m`` start
    them) and predict ``held``; also the model before the output term on the same measurements."""
    start = initial_compute(m, 1, "cpu", max(m["gemm_gflops"], 1.0) * 2, 2)
    compute = fit_constants(dict(start, output_macs=OUTPUT_MACS_START), fit, CPU_KEYS)
    previous = fit_constants(start, fit, ("dispatch_us", "efficiency", "mem_gbps"))  # same data, no output term
    prev_err = [float(p / s.ms - 1) for s, p in zip(held, modelled_ms(previous, held))]
    rows = []
    for part, stages in (("fit", fit), ("held-out", held)):
        for s, pred in zip(stages, modelled_ms(compute, stages)):
            rows.append({"stage": s.name, "batch": s.batch, "part": part, "ops": s.work.ops, "flops": s.work.flops,
                         "bytes": s.work.bytes, "conv_outputs": s.work.conv_outputs, "measured_ms": round(s.ms, 4),
                         "predicted_ms": round(float(pred), 4), "error": round(float(pred / s.ms - 1), 4)})
    held_err = [r["error"] for r in rows if r["part"] == "held-out"]
    return {"micro": {k: round(float(v), 4) for k, v in m.items()},
            "fitted": {k: round(float(compute[k]), 4) for k in ("dispatch_us", "efficiency", "output_macs", "mem_gbps", "peak_gflops")},
            "achieved_gflops": round(compute["efficiency"] * compute["peak_gflops"] / compute["cores"], 2),
            "rows": rows, "held_out": stats(held_err),
            "held_out_b1": stats([r["error"] for r in rows if r["part"] == "held-out" and r["batch"] == 1]),
            "held_out_b8": stats([r["error"] for r in rows if r["part"] == "held-out" and r["batch"] == 8]),
            "fit": stats([r["error"] for r in rows if r["part"] == "fit"]),
            "previous_form": {"fitted": {k: round(float(previous[k]), 4) for k in ("dispatch_us", "efficiency", "mem_gbps")},
                              "held_out": stats(prev_err)}}


def host_holdout(repeats: int = 3, passes: int = 4) -> dict:
    """Part 1 (module docstring); all calls, fitted and held out, timed together in ``passes``
    interleaved passes (:func:`~sc2sim.profiling.microbench.time_cases`)."""
    from sc2sim.profiling.timing import host_load

    load = [host_load()]
    m = micro("cpu", 5)
    m["zlib_s"] = zlib_s(3)
    fit_cases, held_cases = holdout_cases()
    batches = (1, 8)
    timed = time_cases(fit_cases + held_cases, "cpu", batches, repeats, passes)
    fit, held = timed[:len(batches) * len(fit_cases)], timed[len(batches) * len(fit_cases):]
    load.append(host_load())
    return {**holdout_fit(m, fit, held), "load": load, "passes": passes}


def refit(path: Path) -> list[dict]:
    """Part 1 again on stored measurements (``measured_ms`` per ``stage@batch`` and ``micro`` of each run
    in ``path``, e.g. ``benchmarks/host_holdout_runs.json``), counted afresh and fitted with today's model:
    no timing, so model forms are compared on the very same measurements."""
    import torch

    from sc2sim.profiling.counting import count_work

    fit_cases, held_cases = holdout_cases()
    counts = {}
    with torch.no_grad():
        for name, fn, mods, shape in fit_cases + held_cases:
            one = torch.rand(1, *shape)
            counts[name] = count_work(lambda: fn(one), mods)
    out = []
    for run in json.loads(path.read_text())["runs"]:
        ms = run["measured_ms"]
        fit, held = ([RefStage(c[0], b, counts[c[0]], ms[f"{c[0]}@{b}"]) for c in cases for b in (1, 8)]
                     for cases in (fit_cases, held_cases))
        out.append({"utc": run["utc"], **holdout_fit(run["micro"], fit, held)})
    return out


def _count(model: str, size: int, cache: dict, on_device: bool = False) -> StageWork:
    """Counts of torchvision ``model`` at ``size`` (cached); ``on_device``: no input copy (io_bytes 0)."""
    from dataclasses import replace

    from sc2sim.profiling.predict import arch_stage

    if (model, size) not in cache:
        cache[(model, size)] = arch_stage(model, size).work
    return replace(cache[(model, size)], io_bytes=0.0) if on_device else cache[(model, size)]


def _refstage(work: StageWork, batch: int, ms: float, threads: int = 1) -> RefStage:
    from sc2sim.profiling.counting import WorkCount

    return RefStage("row", batch, WorkCount(**{k: int(getattr(work, k)) for k in StageWork.__dataclass_fields__}),
                    ms, threads)


def published(counts: dict) -> dict:
    """Part 2 (module docstring)."""
    doc = yaml.safe_load((ROOT / "benchmarks" / "published_latency.yaml").read_text())
    host = load_device("host")
    out_rows, refit = [], {}
    for r in doc["rows"]:
        dev = load_device(r["device"])
        work = _count(r["model"], r.get("size", 224), counts, r["source"] in doc["input_on_device"])
        t = terms(work, 0.0, host, dev, r["batch"], r.get("threads", 1))
        out_rows.append({**{k: r[k] for k in ("device", "model", "batch", "ms", "use")}, "size": r.get("size", 224),
                         "threads": r.get("threads", 1), "runtime": dev.compute.runtime, "precision": dev.compute.precision,
                         "source": doc["sources"][r["source"]], "note": r.get("note", ""),
                         "predicted_ms": round(t.total, 3), "dominant": t.dominant, "error": round(t.total / r["ms"] - 1, 4)})
    for name, keys in FIT_KEYS.items():
        fit_rows = [r for r in doc["rows"] if r["device"] == name and r["use"] == "fit"]
        stages = [_refstage(_count(r["model"], r.get("size", 224), counts, r["source"] in doc["input_on_device"]),
                            r["batch"], r["ms"], r.get("threads", 1)) for r in fit_rows]
        c = load_device(name).compute.model_dump(exclude={"sources"})
        fitted = fit_constants(c, stages, keys)
        refit[name] = {k: {"profile": c[k], "refit": round(float(fitted[k]), 5)} for k in keys}
    by_dev = {}
    for dev in dict.fromkeys(r["device"] for r in out_rows):
        by_dev[dev] = stats([r["error"] for r in out_rows if r["device"] == dev and r["use"] == "held-out"])
    return {"rows": out_rows, "refit": refit, "held_out": stats([r["error"] for r in out_rows if r["use"] == "held-out"]),
            "fit": stats([r["error"] for r in out_rows if r["use"] == "fit"]), "held_out_by_device": by_dev}


def h200(counts: dict) -> dict:
    """Part 3 (module docstring)."""
    import torch

    from sc2sim.models import load_bundled
    from sc2sim.models.student224 import EntropicStudent224
    from sc2sim.profiling.counting import count_work

    meas = json.loads((ROOT / "benchmarks" / "gpu_edge_h200.json").read_text())["results"]
    teacher, student, s224 = load_bundled("teacher").eval(), load_bundled("student-beta0.003").eval(), EntropicStudent224().eval()
    r50 = __import__("torchvision").models.resnet50(weights=None).eval()
    fns = {"teacher-28": (lambda x: teacher(x).argmax(1), (1, 28, 28), [teacher]),
           "sc2-edge-28": (lambda z: student.tail(student.decode_features(z)).argmax(1), (16, 7, 7), [student]),
           "resnet50-224": (lambda x: r50(x).argmax(1), (3, 224, 224), [r50]),
           "sc2-edge-224": (lambda z: s224.tail(s224.bottleneck_layer.decoder(z)).argmax(1), (24, 28, 28), [s224])}
    host, dev = load_device("host"), load_device("h200")
    same = []
    for case, (fn, shape, mods) in fns.items():
        x = torch.rand(1, *shape)
        w = count_work(lambda: fn(x), mods)
        work = StageWork(**{k: float(getattr(w, k)) for k in StageWork.__dataclass_fields__})
        for b, ms in meas[case]["ms_by_batch"].items():
            t = terms(work, 0.0, host, dev, int(b))
            same.append({"stage": case, "kernels": w.kernels, "batch": int(b), "measured_ms": round(ms, 4),
                         "predicted_ms": round(t.total, 4), "error": round(t.total / ms - 1, 4), "dominant": t.dominant})
    other = []
    ks = {m: _count(m, 224, counts).kernels for m in DESIGN_H200}
    for m, (kernels, ms) in DESIGN_H200.items():
        t = terms(_count(m, 224, counts), 0.0, host, dev, 1)
        per = [DESIGN_H200[o][1] / ks[o] for o in DESIGN_H200 if o != m]
        loo_ms = float(np.median(per)) * ks[m]
        other.append({"model": m, "published_kernels": kernels, "counted_kernels": ks[m], "published_ms": ms,
                      "h200_yaml_ms": round(t.total, 3), "error": round(t.total / ms - 1, 4),
                      "loo_ms": round(loo_ms, 3), "loo_error": round(loo_ms / ms - 1, 4)})
    return {"same_machine": same, "same_machine_stats": stats([r["error"] for r in same]),
            "other_machine": other, "other_machine_stats": stats([r["error"] for r in other]),
            "other_machine_loo_stats": stats([r["loo_error"] for r in other])}


def reproducibility(samples: int | None = None) -> dict:
    """Part 4 (module docstring): the default scenario's pipelines, its ``timing_samples`` (or
    ``samples``) timed; only the timed samples are profiled (accuracy is not compared here)."""
    from sc2sim.profiling import ensure_profile
    from sc2sim.profiling.timing import host_load

    doc = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    names, samples = doc["pipelines"], int(samples or doc["timing_samples"])
    runs = []
    for _ in range(2):
        with tempfile.TemporaryDirectory() as cache:
            os.environ["SC2SIM_CACHE"] = cache
            before = host_load()
            t = ensure_profile(names, samples, timed=samples, progress=False)
            shared = next(iter(t.attrs["sc2sim"]["timing"].values()))  # one record, the same for every pipeline
            runs.append((t.groupby("pipeline", sort=False)[["mobile_ms", "edge_ms"]].median(), before, host_load(), shared))
    rows = []
    for p in runs[0][0].index:
        for col in ("mobile_ms", "edge_ms"):
            a, b = float(runs[0][0].loc[p, col]), float(runs[1][0].loc[p, col])
            rows.append({"pipeline": p, "stage": col, "first_ms": round(a, 4), "second_ms": round(b, 4),
                         "rel_diff": round(abs(b - a) / max(min(a, b), 1e-9), 4)})
    diffs = [r["rel_diff"] for r in rows]
    return {"samples": samples, "rows": rows, "max_rel_diff": max(diffs), "median_rel_diff": float(np.median(diffs)),
            "within_5pct": sum(d <= 0.05 for d in diffs), "stages": len(diffs),
            "load": [{"before": r[1], "after": r[2]} for r in runs], "timing": [r[3] for r in runs]}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:+.0f} %"


def _probes(rp: dict) -> str:
    """The speed probes (``timing.probe_ms``, fastest-slowest) and the timing gate of both profiles."""
    spans, gates = [], []
    for t in rp.get("timing", []):  # one record per profile (older documents: one copy per pipeline)
        first = t if "probe_ms" in t else next(iter(t.values()), {})
        p, g = first.get("probe_ms"), first.get("gate")
        spans.append(f"{min(p):.3f}-{max(p):.3f} ms" if p else "not recorded")
        share = (g or {}).get("fast_share") or 0
        gates.append("no gate" if not g or not g.get("budget_s") else
                     f"{100 * share:.0f} % of kept runs in the fast state" +
                     (" (gate opened: " + ("too few fast runs for its budget" if g.get("gave_up") else "budget spent") + ")"
                      if share < 1 else ""))
    out = f"; speed probe (a fixed 256x256 matrix product per round): {' then '.join(spans)}" if spans else ""
    return out + (f"; timing gate: {' then '.join(gates)}" if gates else "")


def render(doc: dict) -> str:
    """The Markdown tables of a result document (what BENCHMARKS.md shows)."""
    out = []
    h = doc.get("host_holdout")
    if h:
        out += [f"Host hold-out (fit on {h['fit']['n']} reference calls, predict {h['held_out']['n']}): median |error| "
                f"{h['held_out']['median_abs_err'] * 100:.1f} %, worst {h['held_out']['worst_abs_err'] * 100:.1f} % "
                f"(batch 1: {h['held_out_b1']['median_abs_err'] * 100:.1f} % / {h['held_out_b1']['worst_abs_err'] * 100:.1f} %; "
                f"batch 8: {h['held_out_b8']['median_abs_err'] * 100:.1f} % / {h['held_out_b8']['worst_abs_err'] * 100:.1f} %); "
                f"fitted: {h['fitted']}; load {h['load']}", ""]
        if "previous_form" in h:
            u = h["previous_form"]
            out += [f"The same measurements fitted with the model before the output term (bandwidth fitted, anchored): "
                    f"held-out median |error| {u['held_out']['median_abs_err'] * 100:.1f} %, worst "
                    f"{u['held_out']['worst_abs_err'] * 100:.1f} %; fitted: {u['fitted']}", ""]
        out += ["| stage | batch | part | measured ms | predicted ms | error |", "|---|---:|---|---:|---:|---:|"]
        out += [f"| {r['stage']} | {r['batch']} | {r['part']} | {r['measured_ms']:.2f} | {r['predicted_ms']:.2f} | {_pct(r['error'])} |"
                for r in h["rows"]]
        out.append("")
    p = doc["published"]
    out += [f"Published rows: held-out median |error| {p['held_out']['median_abs_err'] * 100:.1f} %, worst "
            f"{p['held_out']['worst_abs_err'] * 100:.1f} % over {p['held_out']['n']} rows; fit rows "
            f"{p['fit']['median_abs_err'] * 100:.1f} % over {p['fit']['n']}; by device: "
            + ", ".join(f"{d} {s['median_abs_err'] * 100:.1f} % / {s['worst_abs_err'] * 100:.1f} % (n={s['n']})"
                        for d, s in p["held_out_by_device"].items() if s["n"]), "",
            "| device | model | batch | threads | use | published ms | predicted ms | error | dominant | note |",
            "|---|---|---:|---:|---|---:|---:|---:|---|---|"]
    out += [f"| {r['device']} | {r['model']}{'@' + str(r['size']) if r['size'] != 224 else ''} | {r['batch']} | {r['threads']} | "
            f"{r['use']} | {r['ms']:g} | {r['predicted_ms']:.2f} | {_pct(r['error'])} | {r['dominant']} | {r['note']} |"
            for r in p["rows"]]
    g = doc["h200"]
    out += ["", f"H200, same machine as h200.yaml (in-sample, 24 calls): median |error| "
            f"{g['same_machine_stats']['median_abs_err'] * 100:.1f} %, worst {g['same_machine_stats']['worst_abs_err'] * 100:.1f} %. "
            "Other H200 (DESIGN.md section 6, another session), batch 1:", "",
            "| model | kernels (measured there) | kernels (counted) | published ms | h200.yaml ms | error | leave-one-out ms | error |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {r['model']} | {r['published_kernels']} | {r['counted_kernels']} | {r['published_ms']} | {r['h200_yaml_ms']:.2f} | "
            f"{_pct(r['error'])} | {r['loo_ms']:.2f} | {_pct(r['loo_error'])} |" for r in g["other_machine"]]
    rp = doc.get("reproducibility")
    if rp:
        out += ["", f"Reproducibility: two cold profiles, {rp['samples']} timed samples: {rp['within_5pct']} of "
                f"{rp['stages']} stage medians within 5 %, median difference {rp['median_rel_diff'] * 100:.1f} %, "
                f"largest {rp['max_rel_diff'] * 100:.1f} %; load {rp['load']}{_probes(rp)}", "",
                "| pipeline | stage | first ms | second ms | difference |", "|---|---|---:|---:|---:|"]
        out += [f"| {r['pipeline']} | {r['stage']} | {r['first_ms']:.3f} | {r['second_ms']:.3f} | {r['rel_diff'] * 100:.1f} % |"
                for r in rp["rows"]]
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "compute_model.json")
    ap.add_argument("--skip-repro", action="store_true", help="skip part 4 (two cold profiles)")
    ap.add_argument("--skip-host", action="store_true", help="skip part 1 (timing torchvision models on this host)")
    ap.add_argument("--passes", type=int, default=4, help="interleaved timing passes in part 1 (each call keeps its fastest)")
    ap.add_argument("--render", action="store_true", help="only print the Markdown tables of --out")
    ap.add_argument("--repro-samples", type=int, default=None, help="timed samples in part 4 (default: the default scenario's)")
    ap.add_argument("--refit", type=Path, default=None, metavar="RUNS_JSON",
                    help="only refit part 1 on stored measurements (e.g. benchmarks/host_holdout_runs.json) and print both forms")
    args = ap.parse_args()
    if args.render:
        print(render(json.loads(args.out.read_text())), end="")
        return 0
    import torch

    if args.refit:
        torch.set_num_threads(1)
        for r in refit(args.refit):
            p = r["previous_form"]["held_out"]
            print(f"{r['utc']}: held-out median / worst |error| {100 * r['held_out']['median_abs_err']:.1f} / "
                  f"{100 * r['held_out']['worst_abs_err']:.1f} % (before the output term: {100 * p['median_abs_err']:.1f} / "
                  f"{100 * p['worst_abs_err']:.1f} %); fit {100 * r['fit']['median_abs_err']:.1f} / "
                  f"{100 * r['fit']['worst_abs_err']:.1f} %; fitted {r['fitted']}")
        return 0

    torch.set_num_threads(1)
    counts: dict = {}
    doc = json.loads(args.out.read_text()) if args.out.is_file() else {}
    doc["published"] = published(counts)
    doc["h200"] = h200(counts)
    if not args.skip_host:
        doc["host_holdout"] = host_holdout(passes=args.passes)
    if not args.skip_repro:
        doc["reproducibility"] = reproducibility(args.repro_samples)
    doc["meta"] = {"torch": str(torch.__version__), "host": load_device("host").description, "threads": 1}
    args.out.write_text(json.dumps(doc, indent=1, default=str))
    for part in ("host_holdout", "published", "h200", "reproducibility"):
        if part in doc:
            d = doc[part]
            print(part, json.dumps({k: v for k, v in d.items() if k not in ("rows", "same_machine", "other_machine",
                                                                            "timing", "load")}, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
