"""Fidelity of the simulator against the emulator: the same scenario simulated and emulated.

Run (root): ``.venv/bin/python benchmarks/bench_emulation_fidelity.py [--requests 12] [--out DIR]``.

Grid: uplink bandwidth {1, 5, 20, 100} Mbit/s x one-way delay {5, 40} ms (both directions; the
downlink at 100 Mbit/s) x pipelines whose payloads span about 40 B to about 50 KB. Periodic arrivals
at 1 Hz, so requests never overlap (each transfer sees an idle link). The edge is this host
(``edge: host``) in both; the mobile compute time is the simulator's model in both. For every
(bandwidth, delay, pipeline) cell it reports the median over requests of the relative error
``|sim - emu| / emu`` of

* the transfer time (``t_tx_end - t_tx_start``: connect to the last payload byte read by the edge);
* the end-to-end latency as simulated from the profile (``e2e``). The profile times its first 50
  samples with 200 ms of idling before each repeat (``timing_idle_gap_ms``), because the emulated
  edge computes one isolated request per second and, on this VM, a stage run after idling takes
  about 1 ms longer than back to back (``--idle-gap-ms 0`` shows the difference);
* the end-to-end latency with the emulated requests' own edge compute times put into the simulated
  ones (``e2e | edge replayed``): what remains is the network, transport and queueing model.

It writes ``fidelity.md`` (the table), ``fidelity.png`` (simulated vs emulated, per request) and
``fidelity_requests.csv``, and prints the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from sc2sim.emu.runner import EmuOptions, emulate_scenario
from sc2sim.profiling import ensure_profile
from sc2sim.scenario import parse_scenario
from sc2sim.sim import simulate_scenario

PIPELINES = ["split:sc2?beta=0.01", "offload:webp?quality=50", "split:naive?stage=2&bits=8&codec=none",
             "split:naive?stage=1&bits=32&codec=none", "split:naive?stage=0&bits=32&codec=none"]
BANDWIDTHS = [1, 5, 20, 100]
DELAYS = [5, 40]


def scenario(requests: int, bandwidths: list[float], delay: float, pipelines: list[str], out: Path,
             timing: int = 50, idle_gap_ms: float = 200.0):
    """The scenario of one delay (the downlink's delay is not sweepable, so one scenario per delay)."""
    doc = {"name": f"fidelity-{delay:g}ms", "seed": 3, "samples": 2000, "timing_samples": timing, "pipelines": pipelines,
           "timing_idle_gap_ms": idle_gap_ms,
           "mobile": "rpi4", "edge": "host",
           "network": {"uplink": {"bandwidth_mbps": bandwidths, "one_way_delay_ms": delay},
                       "downlink": {"bandwidth_mbps": 100, "one_way_delay_ms": delay}, "transport": "tcp"},
           "workload": {"arrival": {"kind": "periodic", "rate_hz": 1.0}, "requests": requests}}
    return parse_scenario(doc, out / "fidelity.yaml")


def compare(sim: pd.DataFrame, emu: pd.DataFrame) -> pd.DataFrame:
    """Per-request sim and emu transfer and end-to-end times, merged on (point, pipeline, request)."""
    key = ["point", "pipeline", "request"]
    cols = key + ["t_tx_start", "t_tx_end", "t_edge_start", "t_edge_end", "latency_s", "payload_bytes"]
    m = emu[cols].merge(sim[cols], on=key, suffixes=("_emu", "_sim"))
    m["point"] = m["point"].astype(str)
    for side in ("emu", "sim"):
        m[f"tx_{side}"] = m[f"t_tx_end_{side}"] - m[f"t_tx_start_{side}"]
        m[f"edge_{side}"] = m[f"t_edge_end_{side}"] - m[f"t_edge_start_{side}"]
    m["e2e_replay"] = m.latency_s_sim - m.edge_sim + m.edge_emu
    m["err_tx"] = (m.tx_sim - m.tx_emu).abs() / m.tx_emu
    m["err_e2e"] = (m.latency_s_sim - m.latency_s_emu).abs() / m.latency_s_emu
    m["err_replay"] = (m.e2e_replay - m.latency_s_emu).abs() / m.latency_s_emu
    return m


def table(m: pd.DataFrame) -> pd.DataFrame:
    g = m.groupby(["point", "pipeline"], observed=True, sort=False)
    return pd.DataFrame({
        "bytes": g["payload_bytes_emu"].median(), "tx_emu_ms": g["tx_emu"].median() * 1e3,
        "tx_sim_ms": g["tx_sim"].median() * 1e3, "err_tx_%": g["err_tx"].median() * 100,
        "e2e_emu_ms": g["latency_s_emu"].median() * 1e3, "e2e_sim_ms": g["latency_s_sim"].median() * 1e3,
        "err_e2e_%": g["err_e2e"].median() * 100, "edge_emu_ms": g["edge_emu"].median() * 1e3,
        "edge_sim_ms": g["edge_sim"].median() * 1e3, "err_e2e_replayed_%": g["err_replay"].median() * 100,
    }).reset_index()


def to_markdown(df: pd.DataFrame) -> str:
    """A pipe table (floats with 2 decimals)."""
    cells = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in row] for row in df.itertuples(index=False)]
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])


def plot(m: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (e, s, title) in zip(axes, [("tx_emu", "tx_sim", "transfer time"),
                                        ("latency_s_emu", "latency_s_sim", "end-to-end latency (from the profile)")]):
        ax.loglog(m[e] * 1e3, m[s] * 1e3, ".", alpha=0.5)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        lo, hi = float(min(m[e].min(), m[s].min()) * 1e3 * 0.8), float(max(m[e].max(), m[s].max()) * 1e3 * 1.2)
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="sim = emu")
        ax.fill_between([lo, hi], [lo * 0.95, hi * 0.95], [lo * 1.05, hi * 1.05], color="0.85", label="±5 %")
        ax.set(xlabel="emulated (ms, measured)", ylabel="simulated (ms, modelled)", title=title)
        ax.legend()
    fig.suptitle("sc2sim: simulator vs user-space emulation, per request (1-100 Mbit/s, 5/40 ms one-way)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--out", type=Path, default=Path("results/fidelity"))
    ap.add_argument("--bandwidths", default=",".join(map(str, BANDWIDTHS)))
    ap.add_argument("--delays", default=",".join(map(str, DELAYS)))
    ap.add_argument("--pipelines", default=",".join(PIPELINES))
    ap.add_argument("--congestion", default="cubic")
    ap.add_argument("--idle-gap-ms", type=float, default=200.0, help="profile timing: idle before each repeat")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    parts = []
    for delay in [float(d) for d in args.delays.split(",")]:
        sc = scenario(args.requests, [float(b) for b in args.bandwidths.split(",")], delay, args.pipelines.split(","), args.out,
                      idle_gap_ms=args.idle_gap_ms)
        profile = ensure_profile(sc.pipelines, sc.samples, timed=sc.timing_samples, idle_gap_ms=sc.timing_idle_gap_ms)
        sim = simulate_scenario(sc, profile).records
        emu, _ = emulate_scenario(sc, profile, args.out / f"emu-{delay:g}ms", EmuOptions(congestion=args.congestion),
                                  on_step=lambda s: print("emulated", s, file=sys.stderr, flush=True))
        part = compare(sim, emu.records)
        part["point"] = part["point"] + f" delay={delay:g}ms"
        parts.append(part)
    m = pd.concat(parts, ignore_index=True)
    t = table(m)
    plot(m, args.out / "fidelity.png")
    head = (f"Machine: {platform.node()}, {os.cpu_count()} cores, kernel {os.uname().release}; "
            f"{datetime.now(timezone.utc):%Y-%m-%d}; backend userspace (TUN forwarder), TCP {args.congestion}; "
            f"{args.requests} requests per cell at 1 Hz; profile timing idle gap {args.idle_gap_ms:g} ms.\n\n")
    md = head + to_markdown(t) + (
        f"\n\nWorst cell (median relative error over requests): transfer {t['err_tx_%'].max():.2f} %, "
        f"end-to-end with the edge compute replayed {t['err_e2e_replayed_%'].max():.2f} %, end-to-end from the "
        f"profile {t['err_e2e_%'].max():.2f} %.\n")
    (args.out / "fidelity.md").write_text(md)
    m.to_csv(args.out / "fidelity_requests.csv", index=False)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
