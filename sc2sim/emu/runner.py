"""``sc2sim emulate``: a scenario's requests, with their real payloads, over an emulated link.

For every sweep point the runner builds the same :class:`~sc2sim.sim.plan.Plan` as the simulator
(arrivals, the sample each request uses, the mobile device's modelled compute time), computes each
device's compute queue as the simulator does, and then, in real time:

* makes a :class:`~sc2sim.emu.netns.Testbed` with two hosts and the point's link (backend
  ``userspace`` or ``mininet``, see :mod:`sc2sim.emu.backends`);
* starts the edge server (:mod:`sc2sim.emu.edge_server`) in the edge host, which decodes and
  classifies every payload for real on this machine's CPU;
* runs the mobile client (:mod:`sc2sim.emu.mobile_client`) in the mobile host once per pipeline
  (pipelines one after another, as the simulator runs each on an otherwise idle system), sending
  the real bytes ``pipeline.mobile(image)`` produced for the request's sample at ``t_mobile_end``.

Measured times (``time.monotonic``, one clock for every namespace) become request records in the
format of ``sc2sim run`` (``engine`` = ``emu-<backend>``), so ``sc2sim report`` reads both. What stays
modelled: the mobile compute time (the device profile's), ``wire_bytes`` (the transport model's count
of headers; the forwarder only keeps per-direction packet totals) and the energy (the simulator's
radio and compute models on the measured times). The edge is this host: compare with a simulation whose
``edge`` is ``host``. Local-only pipelines send nothing and are not emulated.

Each finished point is written atomically to ``OUT/points/`` (as ``sc2sim sweep`` does) and a rerun
skips points whose file exists with the same key, so an interrupted emulation resumes.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sc2sim.devices import load_device
from sc2sim.emu.backends import Hosts, link_for_point, wait_ready
from sc2sim.emu.netns import Testbed
from sc2sim.errors import ConfigError
from sc2sim.naming import is_local
from sc2sim.points import Point, expand
from sc2sim.scenario import Scenario
from sc2sim.sim.exact import Times, lindley
from sc2sim.sim.metrics import assemble, records_columns, summarize
from sc2sim.sim.plan import Plan, build_plan, link_capacity, split_profile
from sc2sim.runs import PointResult, assemble_points, file_sha, pending_points, point_key, profile_identity, write_point
from sc2sim.runs.points import POINTS_DIR

PORT = 5555
BACKENDS = ("userspace", "mininet")


@dataclass
class EmuOptions:
    """How to emulate: backend, TCP congestion control, torch threads on the edge, start margin (s)."""

    backend: str = "userspace"
    congestion: str | None = "cubic"
    edge_threads: int = 1
    margin_s: float = 0.5


def mobile_times(plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (s) of each request's modelled compute on its device (one FIFO core per device)."""
    start, end = np.empty(plan.n), np.empty(plan.n)
    for d in np.unique(plan.device):
        m = plan.device == d
        start[m], end[m] = lindley(plan.t_arrival[m], plan.mobile_s[m])
    return start, end


def _payloads(pipe: Any, images: np.ndarray, samples: np.ndarray) -> dict[int, bytes]:
    """The real payload of every distinct sample a plan uses."""
    return {int(s): pipe.mobile(images[int(s)]) for s in np.unique(samples)}


def _run_pipeline(tb: Testbed, hosts: Hosts, k: int, plan: Plan, payloads: dict[int, bytes], log: Path,
                  opts: EmuOptions, workdir: Path, persistent: bool) -> tuple[Times, np.ndarray]:
    """Send one pipeline's requests through the testbed; the measured times (s, plan order) and the
    edge's predictions."""
    m_start, m_end = mobile_times(plan)
    t0 = time.monotonic() + opts.margin_s
    if hosts.set_epoch is not None:  # the link's clock (a trace's time 0) starts with the requests' clock
        hosts.set_epoch(t0)
    reqs = [{"id": i, "pipe": k, "device": int(plan.device[i]), "send_at": float(m_end[i]),
             "payload": base64.b64encode(payloads[int(plan.sample[i])]).decode()} for i in range(plan.n)]
    cfg_path, out_path = workdir / f"client-{k}.json", workdir / f"client-{k}.out.json"
    cfg_path.write_text(json.dumps({"edge": hosts.edge_ip, "port": PORT, "t0": t0, "persistent": persistent,
                                    "congestion": opts.congestion, "requests": reqs, "out": str(out_path)}))
    before = log.stat().st_size if log.exists() else 0
    proc = tb.start([*hosts.mobile_cmd, sys.executable, "-m", "sc2sim.emu.mobile_client", str(cfg_path)],
                    stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate()
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"the mobile client failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    client = {r["id"]: r for r in json.loads(out_path.read_text())}
    with open(log) as f:
        f.seek(before)
        edge = {r["request"]: r for r in map(json.loads, f.read().splitlines()) if r["pipe"] == k}
    t = Times.empty(plan.n)
    t.t_mobile_start[:], t.t_mobile_end[:] = m_start, m_end
    t.batch[:] = 1
    for i in range(plan.n):
        c, e = client[i], edge[i]
        t.t_tx_start[i], t.t_done[i] = c["t_tx_start"] - t0, c["t_done"] - t0
        t.t_tx_end[i], t.t_edge_start[i], t.t_edge_end[i] = e["t_rx_end"] - t0, e["t_edge_start"] - t0, e["t_edge_end"] - t0
        if c["pred"] != e["pred"] & 0xFF:
            raise RuntimeError(f"request {i}: the edge answered {e['pred']} but the mobile read {c['pred']}")
    return t, np.array([edge[i]["pred"] for i in range(plan.n)], dtype=np.int64)


def emulate_point(point: Point, sc: Scenario, rows: dict[str, Any], pipes: dict[str, Any], images: np.ndarray,
                  labels: np.ndarray, opts: EmuOptions, on_step: Callable[[str], None] | None = None) -> PointResult:
    """Emulate every networked pipeline of one point; its records and summary rows."""
    t_wall = time.perf_counter()
    host, mobile, edge = load_device("host"), load_device(point.mobile), load_device(point.edge)
    cap = link_capacity(point)
    plans = {name: build_plan(point, rows[name], k, host, mobile, edge, cap) for k, name in enumerate(sc.pipelines)}
    networked = [n for n in sc.pipelines if not plans[n].local]
    payloads = {n: _payloads(pipes[n], images, plans[n].sample) for n in networked}
    frames, summary = [], []
    engine = f"emu-{opts.backend}"
    with Testbed("sc2emu") as tb:
        workdir = Path(f"/tmp/{tb.prefix}")
        workdir.mkdir()
        tb.on_close(lambda: subprocess.run(["rm", "-rf", str(workdir)], check=False))
        hosts = link_for_point(tb, point, opts.backend, sc)
        log = workdir / "edge.jsonl"
        warm = [base64.b64encode(next(iter(payloads[n].values()))).decode() if n in payloads else "" for n in sc.pipelines]
        (workdir / "edge.json").write_text(json.dumps({"host": hosts.edge_ip, "port": PORT, "pipelines": sc.pipelines,
                                                       "warmup": warm, "log": str(log), "threads": opts.edge_threads,
                                                       "congestion": opts.congestion}))
        server = tb.start([*hosts.edge_cmd, sys.executable, "-m", "sc2sim.emu.edge_server", str(workdir / "edge.json")],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_ready(server, "the edge server")
        for k, name in enumerate(sc.pipelines):
            plan, r = plans[name], rows[name]
            if plan.local:
                continue
            times, preds = _run_pipeline(tb, hosts, k, plan, payloads[name], log, opts, workdir, point.network.transport.persistent)
            plan.correct = preds == labels[plan.sample]  # measured: what the edge predicted from the real bytes
            rec = records_columns(point, plan, times, mobile, r.strategy, engine)
            summary.append(summarize(point, name, r.strategy, engine, rec["latency_s"], rec["correct"], rec["t_arrival"],
                                     rec["t_done"], rec["payload_bytes"], rec["wire_bytes"], rec["energy_j"], plan.deadline_s, test_accuracy=float(np.mean(r.correct))))
            frames.append(rec)
            if on_step:
                on_step(f"{point.label} {name}")
    n = sum(len(f["request"]) for f in frames)
    return PointResult(point.index, point.label, assemble(frames), summary, {engine: len(frames)}, n,
                       time.perf_counter() - t_wall)


def emulate_scenario(sc: Scenario, profile: pd.DataFrame, out_dir: str | Path, opts: EmuOptions,
                     data_dir: str | None = None, on_step: Callable[[str], None] | None = None) -> tuple[Any, list[str]]:
    """Emulate every point of ``sc``; write ``OUT/points/*``; returns the assembled RunResult and the
    labels of points resumed from earlier files."""
    from sc2sim.data import load_dataset
    from sc2sim.pipelines import build_pipeline

    if opts.backend not in BACKENDS:
        raise ConfigError(f"--backend: {opts.backend!r} — allowed: {', '.join(BACKENDS)}")
    rows = split_profile(profile, sc.pipelines, sc.samples)
    data = load_dataset(sc.dataset, "test", data_dir)
    pipes = {n: build_pipeline(n) for n in sc.pipelines}
    points = expand(sc)
    devices = {name: load_device(name) for name in {"host", *(p.mobile for p in points), *(p.edge for p in points)}}
    profile_id = profile_identity(rows)
    engine = f"emu-{opts.backend}-{opts.congestion}-{opts.edge_threads}"
    todo, resumed, files = pending_points(points, Path(out_dir) / POINTS_DIR, lambda p: point_key(
        p, sc.pipelines, sc.samples, sc.dataset, profile_id, devices, engine, file_sha(p.network.uplink.trace)))
    for t in todo:
        t.path.parent.mkdir(parents=True, exist_ok=True)
        write_point(t.path, emulate_point(t.point, sc, rows, pipes, data.images, data.labels, opts, on_step), t.key)
    return assemble_points([files[p.label] for p in points]), resumed


def emulation_notes(sc: Scenario, points: list[Point]) -> list[str]:
    """What of the scenario the emulation does not reproduce (printed before it starts)."""
    notes = []
    if sc.policy.kind == "adaptive":
        notes.append("policy: adaptive is simulated only (`sc2sim run`); the emulation runs each pipeline on its own")
    if any(p.edge_server.gpus > 1 or p.edge_server.batching.max_batch > 1 for p in points):
        notes.append("edge_server: the emulated edge is one worker on this CPU without batching")
    if any(p.edge != "host" for p in points):
        notes.append("the edge computes on this host's CPU; compare with a simulation whose `edge` is `host`")
    if any(is_local(n) for n in sc.pipelines):
        notes.append("local pipelines send nothing and are not emulated (their records come from `sc2sim run`)")
    return notes


def emulation_meta(opts: EmuOptions) -> dict[str, Any]:
    """Metadata recorded with emulated results: backend, kernel, congestion control."""
    return {"backend": opts.backend, "kernel": os.uname().release, "congestion": opts.congestion or "system default",
            "edge_threads": opts.edge_threads, "edge": "this host's CPU (measured)",
            "modelled": "mobile compute time (device profile), wire_bytes (transport model), "
                        "energy (radio/compute models on measured times)"}
