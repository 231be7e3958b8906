"""What every figure and table must say: the scenario, the devices and network, and which numbers are
measured on this host and which are modelled."""

from __future__ import annotations

from typing import Any

import numpy as np

from sc2sim.report.data import RunData

MEASURED = "measured"
MODELLED = "modelled"

# figure key -> provenance line
PROVENANCE = {
    "winner_map": "accuracy: measured (real predictions on the profiled test samples); latency and energy: modelled "
                  "(host-measured stage times mapped onto the device profiles, link model, queueing simulated)",
    "pareto": "accuracy: measured (real predictions on the profiled test samples); "
              "latency: modelled (host-measured stage times mapped onto the device profiles, link model, queueing simulated)",
    "latency_vs_bandwidth": "latency: modelled (device times from host-measured stage times, link and transport model, queueing simulated)",
    "cdf": "latency: modelled (device times from host-measured stage times, link and transport model, queueing simulated)",
    "breakdown": "compute parts: modelled from host-measured stage times; transfer and result: modelled link; "
                 "queues: simulated",
    "resources": "bytes: measured (exact payload lengths of real bitstreams); energy: modelled (device power and radio model); "
                 "deadline-hit rate: modelled (from simulated latency)",
}


_EMU_LATENCY = ("latency: measured over real TCP through an emulated link on this host (edge decode and inference "
                "measured on this host's CPU; mobile compute time modelled from the device profile)")
EMULATED_PROVENANCE = {
    "winner_map": "accuracy: measured (the edge's predictions on the real payloads); " + _EMU_LATENCY,
    "pareto": "accuracy: measured (the edge's predictions on the real payloads); " + _EMU_LATENCY,
    "latency_vs_bandwidth": _EMU_LATENCY,
    "cdf": _EMU_LATENCY,
    "breakdown": "transfer, edge queue and compute, result: measured (emulated link, this host's CPU); "
                 "mobile compute: modelled",
    "resources": "bytes: measured (the payloads sent); energy: modelled (device power and radio model on measured times); "
                 "deadline-hit rate: measured",
}


def provenance(run: RunData) -> dict[str, str]:
    """The provenance lines of a run: emulated (``sc2sim emulate``) or simulated (``sc2sim run``)."""
    return EMULATED_PROVENANCE if str(run.meta.get("engine", "")).startswith("emu-") else PROVENANCE


def _span(values: Any, unit: str) -> str:
    v = sorted({float(x) for x in values if x == x})
    if not v:
        return "?"
    if len(v) == 1:
        return f"{v[0]:g} {unit}"
    if len(v) <= 3:
        return "/".join(f"{x:g}" for x in v) + f" {unit}"
    return f"{v[0]:g}-{v[-1]:g} {unit} ({len(v)} values)"


def _names(values: Any) -> str:
    return "/".join(dict.fromkeys(str(x) for x in values))


def devices_line(run: RunData) -> str:
    """Mobile, edge and network in one line, e.g. ``mobile rpi4 -> edge t4 | uplink 1-50 Mbit/s ...``."""
    s = run.summary
    net = run.network
    up = []
    traces = [t for t in s.get("trace", []) if isinstance(t, str) and t]
    if traces:
        up.append(f"trace {_names(traces)} x{_span(s['trace_scale'], '').strip()}")
    if "bandwidth_mbps" in s and np.isfinite(s["bandwidth_mbps"].astype(float)).any():
        up.append(_span(s["bandwidth_mbps"], "Mbit/s"))
    if "delay_ms" in s:
        up.append(f"{_span(s['delay_ms'], 'ms')} one-way")
    if "loss" in s and (s["loss"].astype(float) > 0).any():
        up.append(f"loss {_span(s['loss'], '')}".strip())
    parts = [f"mobile {_names(s.get('mobile', ['?']))} -> edge {_names(s.get('edge', ['?']))}",
             "uplink " + ", ".join(up)]
    if net.get("downlink_mbps") is not None:
        parts.append(f"downlink {net['downlink_mbps']:g} Mbit/s")
    extra = []
    if "transport" in s:
        extra.append(_names(s["transport"]).upper() + (" (persistent connection)" if net.get("persistent") else ""))
    if isinstance(net.get("radio"), str):
        extra.append(f"{net['radio']} radio")
    if net.get("sharing") == "shared":
        extra.append("shared cell")
    if "devices" in s:
        extra.append(f"{_span(s['devices'], 'device(s)')}")
    if "rate_hz" in s:
        extra.append(f"{_span(s['rate_hz'], 'req/s')} each")
    return " | ".join(parts + [", ".join(extra)] if extra else parts)


def header_line(run: RunData) -> str:
    """``scenario NAME | devices line`` (plus a warning for synthetic profiles)."""
    line = f"scenario {run.scenario} | {devices_line(run)}"
    if run.synthetic:
        line += " | SYNTHETIC profile: made-up numbers, for testing only"
    return line


def caption(run: RunData, key: str) -> str:
    """The footer of a figure: scenario and devices, then what is measured and modelled (and what is published)."""
    text = f"{header_line(run)}\n{provenance(run)[key]}"
    if run.published:
        text += ("\nPUBLISHED, not measured: accuracy and bytes of " + ", ".join(run.published)
                 + " (rate-accuracy card; times measured with untrained weights)")
    return text
