"""Fidelity of the simulator against the emulator: the same scenario simulated and emulated.

Run (root): ``.venv/bin/python benchmarks/bench_emulation_fidelity.py [--requests 12] [--out DIR]``.
On a machine that others are using, run it under ``chrt -f 10`` (real-time scheduling; profiles then
timed the same way, e.g. a fresh ``SC2SIM_CACHE``): the user-space forwarder, the edge and the client
are timing-sensitive, and a loaded CPU delays their wake-ups by milliseconds (BENCHMARKS.md,
"Simulator vs emulation on scenarios nobody tuned").

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

``--random N`` runs N scenarios nobody tuned instead of the grid (:func:`draw_scenarios`, drawn once
from ``--draw-seed`` and written to ``random_scenarios.json``): uplink a constant 1-100 Mbit/s
(log-uniform) or the bundled LTE trace at scale 0.5-3, one-way delay 2-60 ms (both directions),
downlink 10-100 Mbit/s, three pipelines of the pool :data:`POOL` (payloads 34 B to 50 KB), the mobile
``host`` or a modelled device, the edge ``host`` or a modelled one, fresh connections or a persistent
one, a scenario seed; periodic arrivals at 1 Hz. Per (scenario, pipeline) cell it reports the median
transfer and end-to-end errors; for a modelled edge the emulated end-to-end time gets the modelled
edge compute in place of this host's measured one (the emulated edge always computes on this host),
so that both sides model the same edge. Outputs: ``random_fidelity.md``, ``random_fidelity.png``,
``random_requests.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from sc2sim.emu.runner import EmuOptions, emulate_scenario
from sc2sim.profiling import ensure_profile
from sc2sim.scenario import parse_scenario
from sc2sim.sim import simulate_scenario

PIPELINES = ["split:sc2?beta=0.01", "offload:webp?quality=50", "split:naive?stage=2&bits=8&codec=none",
             "split:naive?stage=1&bits=32&codec=none", "split:naive?stage=0&bits=32&codec=none"]
BANDWIDTHS = [1, 5, 20, 100]
DELAYS = [5, 40]
ROOT = Path(__file__).resolve().parent.parent
POOL = ["split:sc2?beta=0.01", "split:sc2?beta=0.0003", "offload:webp?quality=50", "offload:jpeg?quality=50",
        "offload:png", "offload:learned?lmbda=0.0067", "split:naive?bits=2&stage=3",
        "split:naive?stage=2&bits=8&codec=none", "split:naive?stage=1&bits=32&codec=none",
        "split:naive?stage=0&bits=32&codec=none"]
"""Pipelines the random scenarios draw from: real Fashion-MNIST pipelines, payloads from 34 B to 50 KB."""
MOBILES = ["host", "rpi4", "jetson-nano", "jetson-orin-nano", "phone-flagship", "laptop-cpu"]
EDGES = ["host", "t4", "a100", "cpu-server", "h200"]
TRACE = "traces/lte-uplink.up"


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
    m["e2e_emu_edge_sim"] = m.latency_s_emu - m.edge_emu + m.edge_sim  # emulated network, modelled edge
    m["err_tx"] = (m.tx_sim - m.tx_emu).abs() / m.tx_emu
    m["err_e2e"] = (m.latency_s_sim - m.latency_s_emu).abs() / m.latency_s_emu
    m["err_replay"] = (m.e2e_replay - m.latency_s_emu).abs() / m.latency_s_emu
    m["err_e2e_edge_sim"] = (m.latency_s_sim - m.e2e_emu_edge_sim).abs() / m.e2e_emu_edge_sim
    return m


def run_cells(sc, out: Path, congestion: str) -> pd.DataFrame:
    """Profile, simulate and emulate one scenario (emulated points resume from ``out``); the merged requests."""
    profile = ensure_profile(sc.pipelines, sc.samples, timed=sc.timing_samples, idle_gap_ms=sc.timing_idle_gap_ms)
    sim = simulate_scenario(sc, profile).records
    emu, _ = emulate_scenario(sc, profile, out, EmuOptions(congestion=congestion),
                              on_step=lambda s: print("emulated", s, file=sys.stderr, flush=True))
    return compare(sim, emu.records)


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


def plot(m: pd.DataFrame, path: Path,
         suptitle: str = "sc2sim: simulator vs user-space emulation, per request (1-100 Mbit/s, 5/40 ms one-way)",
         e2e_emu: str = "latency_s_emu") -> None:
    """Simulated vs emulated transfer and end-to-end times, one dot per request (``e2e_emu``: the emulated column)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (e, s, title) in zip(axes, [("tx_emu", "tx_sim", "transfer time"),
                                        (e2e_emu, "latency_s_sim", "end-to-end latency (from the profile)")]):
        ax.loglog(m[e] * 1e3, m[s] * 1e3, ".", alpha=0.5)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
            axis.set_minor_formatter(NullFormatter())
        lo, hi = float(min(m[e].min(), m[s].min()) * 1e3 * 0.8), float(max(m[e].max(), m[s].max()) * 1e3 * 1.2)
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8, label="sim = emu")
        ax.fill_between([lo, hi], [lo * 0.95, hi * 0.95], [lo * 1.05, hi * 1.05], color="0.85", label="±5 %")
        ax.set(xlabel="emulated (ms, measured)", ylabel="simulated (ms, modelled)", title=title)
        ax.legend()
    fig.suptitle(suptitle)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def machine_line(congestion: str, load_start: tuple[float, float, float]) -> str:
    """Where and how the emulation ran: host, cores, kernel, date, backend, scheduling, load averages."""
    names = {os.SCHED_OTHER: "normal", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
    policy = names.get(os.sched_getscheduler(0), "other")
    prio = os.sched_getparam(0).sched_priority
    return (f"Machine: {platform.node()}, {os.cpu_count()} cores, kernel {os.uname().release}; "
            f"{datetime.now(timezone.utc):%Y-%m-%d}; backend userspace (TUN forwarder), TCP {congestion}; "
            f"scheduling {policy}{f' {prio}' if prio else ''}; 1-min load average {load_start[0]:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end")


def draw_scenarios(n: int, seed: int, requests: int) -> list[dict]:
    """``n`` scenario documents drawn at random from ``seed`` (see the module docstring); trace paths are
    relative to the repository."""
    rng = np.random.default_rng(seed)

    def log_uniform(lo: float, hi: float, digits: int) -> float:
        return round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), digits)

    docs = []
    for i in range(n):
        delay = round(float(rng.uniform(2.0, 60.0)), 1)
        if rng.random() < 0.25:
            uplink = {"trace": TRACE, "scale": round(float(rng.uniform(0.5, 3.0)), 2), "one_way_delay_ms": delay}
        else:
            uplink = {"bandwidth_mbps": log_uniform(1.0, 100.0, 2), "one_way_delay_ms": delay}
        docs.append({
            "name": f"random-{i:02d}", "seed": int(rng.integers(0, 2**31 - 1)), "samples": 2000, "timing_samples": 50,
            "timing_idle_gap_ms": 200.0, "pipelines": [str(x) for x in rng.choice(POOL, 3, replace=False)],
            "mobile": str(rng.choice(MOBILES)), "edge": str(rng.choice(EDGES)),
            "network": {"uplink": uplink,
                        "downlink": {"bandwidth_mbps": log_uniform(10.0, 100.0, 1), "one_way_delay_ms": delay},
                        "transport": {"kind": "tcp", "persistent": bool(rng.random() < 0.3)}},
            "workload": {"arrival": {"kind": "periodic", "rate_hz": 1.0}, "requests": requests}})
    return docs


def describe(doc: dict) -> str:
    """A short label of a drawn scenario's link, devices and transport."""
    up, net = doc["network"]["uplink"], doc["network"]
    link = f"trace x{up['scale']:g}" if "trace" in up else f"{up['bandwidth_mbps']:g} Mbit/s"
    conn = "persistent" if net["transport"]["persistent"] else "new conn."
    return (f"{link}, {up['one_way_delay_ms']:g} ms, down {net['downlink']['bandwidth_mbps']:g} Mbit/s, {conn}, "
            f"{doc['mobile']} -> {doc['edge']}")


def random_main(args: argparse.Namespace) -> int:
    """Run the randomly drawn scenarios (resumable: emulated points already in ``--out`` are kept)."""
    load = os.getloadavg()
    docs = draw_scenarios(args.random, args.draw_seed, args.requests)
    drawn = {"draw_seed": args.draw_seed, "scenarios": docs}
    (args.out / "random_scenarios.json").write_text(json.dumps(drawn, indent=1))
    parts = []
    for i, doc in enumerate(docs):
        sc = parse_scenario(doc, ROOT / f"{doc['name']}.yaml")  # trace paths resolve from the repository root
        part = run_cells(sc, args.out / doc["name"], args.congestion)
        part["scenario"], part["setup"], part["edge"] = doc["name"], describe(doc), doc["edge"]
        parts.append(part)
        print(f"done {doc['name']} ({i + 1}/{len(docs)})", file=sys.stderr, flush=True)
    m = pd.concat(parts, ignore_index=True)
    host_edge = m["edge"] == "host"
    m["e2e_emu_cmp"] = np.where(host_edge, m.latency_s_emu, m.e2e_emu_edge_sim)  # what the simulation is compared with
    m["err_e2e_cmp"] = np.where(host_edge, m.err_e2e, m.err_e2e_edge_sim)
    g = m.groupby(["scenario", "setup", "pipeline"], observed=True, sort=False)
    t = pd.DataFrame({
        "bytes": g["payload_bytes_emu"].median(), "tx_emu_ms": g["tx_emu"].median() * 1e3,
        "tx_sim_ms": g["tx_sim"].median() * 1e3, "err_tx_%": g["err_tx"].median() * 100,
        "e2e_emu_ms": g["e2e_emu_cmp"].median() * 1e3, "e2e_sim_ms": g["latency_s_sim"].median() * 1e3,
        "err_e2e_%": g["err_e2e_cmp"].median() * 100, "err_e2e_replayed_%": g["err_replay"].median() * 100,
    }).reset_index()
    plot(m, args.out / "random_fidelity.png",
         f"sc2sim: simulator vs emulation, {len(docs)} random scenarios, per request", e2e_emu="e2e_emu_cmp")
    miss = t[t["err_e2e_%"] > 5.0]
    head = (f"{machine_line(args.congestion, load)}; {len(docs)} scenarios drawn with seed {args.draw_seed} "
            f"(`random_scenarios.json`), {args.requests} requests per cell at 1 Hz. `e2e_emu_ms` for a modelled "
            "edge: the emulated end-to-end time with the modelled edge compute in place of this host's measured "
            "one.\n\n")
    md = head + to_markdown(t) + (
        f"\n\n{len(t)} cells. Median end-to-end error within 5 %: {len(t) - len(miss)} / {len(t)} cells "
        f"(worst {t['err_e2e_%'].max():.2f} %); transfer: worst {t['err_tx_%'].max():.2f} %, "
        f"{int((t['err_tx_%'] <= 5.0).sum())} / {len(t)} within 5 %.\n")
    (args.out / "random_fidelity.md").write_text(md)
    m.to_csv(args.out / "random_requests.csv", index=False)
    print(md)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=12)
    ap.add_argument("--out", type=Path, default=Path("results/fidelity"))
    ap.add_argument("--bandwidths", default=",".join(map(str, BANDWIDTHS)))
    ap.add_argument("--delays", default=",".join(map(str, DELAYS)))
    ap.add_argument("--pipelines", default=",".join(PIPELINES))
    ap.add_argument("--congestion", default="cubic")
    ap.add_argument("--idle-gap-ms", type=float, default=200.0, help="profile timing: idle before each repeat")
    ap.add_argument("--random", type=int, default=0, metavar="N",
                    help="run N randomly drawn scenarios instead of the grid")
    ap.add_argument("--draw-seed", type=int, default=20261128, help="seed the random scenarios are drawn from")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.random:
        return random_main(args)
    load = os.getloadavg()
    parts = []
    for delay in [float(d) for d in args.delays.split(",")]:
        sc = scenario(args.requests, [float(b) for b in args.bandwidths.split(",")], delay, args.pipelines.split(","), args.out,
                      idle_gap_ms=args.idle_gap_ms)
        part = run_cells(sc, args.out / f"emu-{delay:g}ms", args.congestion)
        part["point"] = part["point"] + f" delay={delay:g}ms"
        parts.append(part)
    m = pd.concat(parts, ignore_index=True)
    t = table(m)
    plot(m, args.out / "fidelity.png")
    head = (f"{machine_line(args.congestion, load)}; {args.requests} requests per cell at 1 Hz; profile timing idle "
            f"gap {args.idle_gap_ms:g} ms.\n\n")
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
