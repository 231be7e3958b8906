"""Summaries of a profile table: one row per pipeline, printed as a rich table (with card sources)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from sc2sim.cards import published_meta
from sc2sim.ui import console as ui_console


def summarize_profile(table: pd.DataFrame) -> pd.DataFrame:
    """One row per pipeline: accuracy, mean/p95 bytes, mean stage times (ms), FLOPs."""
    g = table.groupby("pipeline", sort=False)
    return pd.DataFrame({
        "samples": g.size(),
        "timed_samples": g["mobile_ms"].count(),
        "accuracy": g["correct"].mean(),
        "mean_bytes": g["payload_bytes"].mean(),
        "p95_bytes": g["payload_bytes"].quantile(0.95),
        "mean_payload_only_bytes": g["payload_only_bytes"].mean(),
        "mobile_ms": g["mobile_ms"].mean(),
        "edge_ms": g["edge_ms"].mean(),
        "mobile_encode_ms": g["mobile_encode_ms"].mean(),
        "edge_decode_ms": g["edge_decode_ms"].mean(),
        "mobile_mflops": g["mobile_flops"].first() / 1e6,
        "edge_mflops": g["edge_flops"].first() / 1e6,
    })


def print_profile_summary(table: pd.DataFrame, console: Console | None = None) -> None:
    """Print the per-pipeline summary as a rich table (with how times were measured)."""
    summary = summarize_profile(table)
    meta: dict[str, Any] = table.attrs.get("sc2sim", {})
    t = Table(title=f"profile: {meta.get('dataset', '?')}, {int(summary['samples'].max())} samples, "
                    f"{int(summary['timed_samples'].max())} timed, "
                    f"host {meta.get('host', '?')}, {meta.get('threads', '?')} thread(s), median of {meta.get('repeats', '?')}")
    for col in ("pipeline", "accuracy %", "mean B", "payload-only B", "p95 B", "mobile ms", "edge ms", "mobile MFLOPs", "edge MFLOPs"):
        t.add_column(col, justify="left" if col == "pipeline" else "right")
    for name, r in summary.iterrows():
        t.add_row(str(name), f"{r.accuracy * 100:.2f}", f"{r.mean_bytes:.1f}", f"{r.mean_payload_only_bytes:.1f}", f"{r.p95_bytes:.0f}", f"{r.mobile_ms:.3f}",
                  f"{r.edge_ms:.3f}", f"{r.mobile_mflops:.2f}", f"{r.edge_mflops:.2f}")
    (console or ui_console()).print(t)


def print_summary_with_sources(table: pd.DataFrame, console: Console | None = None) -> None:
    """Per-pipeline summary where card numbers replace measured ones and say so (``published``)."""
    summary = summarize_profile(table)
    meta: dict[str, Any] = table.attrs.get("sc2sim", {})
    pub = published_meta(meta)
    t = Table(title=f"profile: {meta.get('dataset', '?')}, {int(summary['samples'].max())} samples, host "
                    f"{meta.get('host', '?')}, {meta.get('threads', '?')} thread(s), median of {meta.get('repeats', '?')}; "
                    "times and FLOPs measured")
    for col in ("pipeline", "accuracy %", "mean B", "bytes, accuracy from", "mobile ms", "edge ms", "mobile GFLOPs",
                "edge GFLOPs"):
        t.add_column(col, justify="left" if col in ("pipeline", "bytes, accuracy from") else "right")
    for name, r in summary.iterrows():
        p = pub.get(str(name))
        acc = f"{p['top1']:.1f}" if p else f"{r.accuracy * 100:.2f}"
        nbytes = f"{p['bytes']}" if p and p.get("bytes") is not None else f"{r.mean_bytes:.1f}"
        src = f"{p['kind']}: {p['method']} point {p['index']} of {p['card']}" if p else "measured"
        t.add_row(str(name), acc, nbytes, src, f"{r.mobile_ms:.2f}", f"{r.edge_ms:.2f}",
                  f"{r.mobile_mflops / 1e3:.3f}", f"{r.edge_mflops / 1e3:.3f}")
    con = console or ui_console()
    con.print(t)
    for src in dict.fromkeys(p["source"] for p in pub.values()):
        con.print(f"published (not measured) bytes and accuracy: {src}")
