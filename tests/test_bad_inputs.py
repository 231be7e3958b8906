"""The bad-input matrix (issue 11): every input surface, each bad input refused with one line.

Each CLI case runs the command in-process and asserts: exit status 2, exactly one line on stderr of the
form ``sc2sim: error: WHERE: ... — what is allowed`` that names the bad field or value, no traceback,
under 10 s, and that an earlier run's output folder is byte for byte unchanged. Each payload case feeds
a broken payload to a pipeline's edge side and asserts a one-line PayloadError, never a class.

Cases fail at validation, before any profiling, wherever the command allows it; the few that must get
further run on a tiny synthetic profile table or a handful of samples.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import io
import json
import lzma
import os
import pickle
import re
import shutil
import struct
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
import yaml
from conftest import cli
from PIL import Image

from sc2sim.sim.synthetic import synthetic_profile, write_profile_parquet

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^sc2sim: error: \S[^\n]*: [^\n]* — \S[^\n]*$")
PIPES = ["local:teacher", "offload:webp?quality=50"]
BASE = {
    "name": "bad-input", "pipelines": PIPES, "mobile": "rpi4", "edge": "t4",
    "network": {"uplink": {"bandwidth_mbps": 10, "one_way_delay_ms": 10}},
    "workload": {"devices": 1, "arrival": {"kind": "periodic", "rate_hz": 5}, "requests": 40, "deadline_ms": 100},
}


@dataclass
class Workspace:
    """Files shared by every case: a tiny profile table and the output folder of an earlier good run."""

    root: Path
    prof: Path
    results: Path


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    import matplotlib.pyplot  # noqa: F401  (imported once here, not inside a timed case)
    import torch
    import torchvision.models  # noqa: F401

    from sc2sim.pipelines import build_pipeline

    torch.set_num_threads(1)
    build_pipeline("local:light")
    root = tmp_path_factory.mktemp("bad-inputs")
    table = synthetic_profile(PIPES, samples=60)
    table.attrs["sc2sim"] = {"host": "synthetic", "dataset": "synthetic"}  # no thread count: no warning line
    prof = write_profile_parquet(table, root / "profile.parquet")
    results = root / "results"
    sc = root / "good.yaml"
    sc.write_text(yaml.safe_dump(BASE))
    assert cli("run", str(sc), "--out", str(results), "--profile", str(prof), "--no-progress", "--quiet",
               "--no-report") == 0
    return Workspace(root, prof, results)


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative path -> hex)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------------ builders


def doc(**over: Any) -> dict:
    """BASE with dotted-path overrides, e.g. ``doc(**{"network.uplink.loss": 2})``; value DROP deletes."""
    d = json.loads(json.dumps(BASE))
    for path, value in over.items():
        cur = d
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur.setdefault(k, {})
        if value is DROP:
            cur.pop(keys[-1], None)
        else:
            cur[keys[-1]] = value
    return d


DROP = object()


def write(tmp: Path, content: Any, name: str = "s.yaml") -> Path:
    p = tmp / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    elif isinstance(content, str):
        p.write_text(content)
    else:
        p.write_text(yaml.safe_dump(content, sort_keys=False))
    return p


def run_args(scenario: Path, ws: Workspace, *extra: str) -> list[str]:
    return ["run", str(scenario), "--out", str(ws.results), "--profile", str(ws.prof), "--no-progress",
            "--quiet", "--no-report", *extra]


def run_doc(content: Any, *extra: str) -> Callable[[Path, Workspace], list[str]]:
    """``sc2sim run`` of a scenario written from ``content`` (a dict, YAML text or raw bytes)."""
    return lambda tmp, ws: run_args(write(tmp, content), ws, *extra)


def run_text(text: str) -> Callable[[Path, Workspace], list[str]]:
    return run_doc(text)


def yaml_text(d: dict) -> str:
    return yaml.safe_dump(d, sort_keys=False)


def with_trace(lines: bytes | str | None, **over: Any) -> Callable[[Path, Workspace], list[str]]:
    """A scenario whose uplink is the trace file ``lines`` (None: a folder instead of a file)."""
    def build(tmp: Path, ws: Workspace) -> list[str]:
        t = tmp / "link.up"
        if lines is None:
            t.mkdir()
        elif isinstance(lines, bytes):
            t.write_bytes(lines)
        else:
            t.write_text(lines)
        d = doc(**{"network.uplink": {"trace": "link.up", **over}})
        return run_args(write(tmp, d), ws)
    return build


# device profiles: a changed copy of rpi4.yaml in a folder searched first ($SC2SIM_DEVICE_PROFILES)
RPI4 = yaml.safe_load((ROOT / "device_profiles" / "rpi4.yaml").read_text())


def device(path: str, value: Any, name: str = "rpi4") -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        d = json.loads(json.dumps(RPI4))
        cur = d
        keys = path.split(".")
        for k in keys[:-1]:
            cur = cur[k]
        if value is DROP:
            del cur[keys[-1]]
        else:
            cur[keys[-1]] = value
        (tmp / "profiles").mkdir()
        write(tmp / "profiles", d, f"{name}.yaml")
        return run_args(write(tmp, BASE), ws)
    return build


def device_raw(content: bytes | str) -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        (tmp / "profiles").mkdir()
        write(tmp / "profiles", content, "rpi4.yaml")
        return run_args(write(tmp, BASE), ws)
    return build


PROFILE_ENV = {"SC2SIM_DEVICE_PROFILES": "{tmp}/profiles"}


# datasets: Fashion-MNIST files written into a folder given as --data-dir
def idx_bytes(arr: np.ndarray) -> bytes:
    return struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.astype(np.uint8).tobytes()


def fmnist(images: bytes | None = None, labels: bytes | None = None, n: int = 20,
           samples: str = "5") -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        d = tmp / "fm"
        d.mkdir()
        rng = np.random.default_rng(0)
        good_i = gzip.compress(idx_bytes(rng.integers(0, 256, (n, 28, 28))))
        good_l = gzip.compress(idx_bytes(rng.integers(0, 10, n)))
        (d / "t10k-images-idx3-ubyte.gz").write_bytes(good_i if images is None else images)
        (d / "t10k-labels-idx1-ubyte.gz").write_bytes(good_l if labels is None else labels)
        return profile_args(tmp, ws, "--data-dir", str(d), "--samples", samples)
    return build


def profile_args(tmp: Path, ws: Workspace, *extra: str, pipelines: str = "local:light") -> list[str]:
    return ["profile", "--pipelines", pipelines, "--out", str(ws.results), "--repeats", "1", "--timing-samples", "2",
            *extra]


# image folders: class folders of small PNGs plus one bad file
def png_bytes(size: int = 32, mode: str = "L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((size, size) if mode == "L" else (size, size, 3), 120, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def jpeg_bytes(size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (size, size), dtype=np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def folder(bad_name: str | None, bad: bytes = b"", spec: str = "?size=28&color=grey") -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        root = tmp / "images"
        for cls in ("cat", "dog"):
            (root / cls).mkdir(parents=True)
            for i in range(2):
                (root / cls / f"{i}.png").write_bytes(png_bytes())
        if bad_name:
            (root / "dog" / bad_name).write_bytes(bad)
        return profile_args(tmp, ws, "--dataset", f"imagefolder:{root}{spec}", "--samples", "5")
    return build


# checkpoints: bundled (a copy of the weights folder, $SC2SIM_WEIGHTS) and user state_dict files
WEIGHTS = ROOT / "sc2sim" / "weights"


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def bundled(pt: bytes | None = None, card: Any = None, fix_sha: bool = True) -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        w = tmp / "weights"
        w.mkdir()
        for f in ("teacher.json", "teacher.pt", "light.json", "light.pt"):
            shutil.copy(WEIGHTS / f, w / f)
        if pt is not None:
            (w / "light.pt").write_bytes(pt)
        c = json.loads((w / "light.json").read_text())
        if fix_sha:
            c["weights_sha256"] = hashlib.sha256((w / "light.pt").read_bytes()).hexdigest()
        if isinstance(card, bytes):
            (w / "light.json").write_bytes(card)
        else:
            (w / "light.json").write_text(json.dumps(card(c) if callable(card) else c))
        return profile_args(tmp, ws, "--samples", "3")
    return build


WEIGHTS_ENV = {"SC2SIM_WEIGHTS": "{tmp}/weights"}


def torch_bytes(obj: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def truncated_light() -> bytes:
    return (WEIGHTS / "light.pt").read_bytes()[:5000]


def user_ckpt(content: bytes | None) -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        p = tmp / "ckpt.pt"
        if content is None:
            p.mkdir()
        else:
            p.write_bytes(content)
        return profile_args(tmp, ws, pipelines=f"offload:png?model=resnet18&weights={p}")
    return build


# rate-accuracy cards
GOOD_CARD = {"name": "c", "kind": "published", "source": "a test", "unit": "KB",
             "methods": {"jpeg": {"points": [[1.0, 50.0], [2.0, 60.0]]}}}


def card(content: Any, suffix: str = "yaml", point: int = 0, method: str = "") -> Callable[[Path, Workspace], list[str]]:
    def build(tmp: Path, ws: Workspace) -> list[str]:
        p = tmp / f"card.{suffix}"
        if isinstance(content, (bytes, str)):
            write(tmp, content, p.name)
        elif suffix == "json":
            p.write_text(json.dumps(content))
        else:
            write(tmp, content, p.name)
        name = f"offload:jpeg?model=resnet18&weights=none&card={p}&point={point}" + (f"&method={method}" if method else "")
        return profile_args(tmp, ws, "--dataset", "sample-photos", "--samples", "1", pipelines=name)
    return build


def card_with(**over: Any) -> dict:
    c = json.loads(json.dumps(GOOD_CARD))
    for k, v in over.items():
        if v is DROP:
            c.pop(k)
        else:
            c[k] = v
    return c


def plain(*args: str) -> Callable[[Path, Workspace], list[str]]:
    """A command line with ``{tmp}``, ``{out}``, ``{prof}`` and ``{good}`` filled in."""
    def build(tmp: Path, ws: Workspace) -> list[str]:
        good = write(tmp, BASE, "good.yaml")
        return [a.format(tmp=tmp, out=ws.results, prof=ws.prof, good=good) for a in args]
    return build


def whatif(*extra: str) -> Callable[[Path, Workspace], list[str]]:
    return plain("whatif", "--out", "{out}", "--profile", "{prof}", "--pipelines", ",".join(PIPES), "--mobile", "rpi4",
                 "--edge", "t4", "--uplink", "10", "--requests", "20", "--samples", "60", "--no-progress", *extra)


def a_file(tmp: Path) -> Path:
    f = tmp / "plain-file"
    f.write_text("not a folder\n")
    return f


def out_is(kind: str, command: str = "run") -> Callable[[Path, Workspace], list[str]]:
    """A command whose --out is a file, under a file, or longer than the OS allows."""
    def build(tmp: Path, ws: Workspace) -> list[str]:
        f = a_file(tmp)
        out = {"file": f, "under": f / "sub", "long": tmp / ("x" * 300)}[kind]
        good = write(tmp, BASE, "good.yaml")
        if command == "run":
            return ["run", str(good), "--out", str(out), "--profile", str(ws.prof), "--no-progress", "--quiet", "--no-report"]
        if command == "whatif":
            return ["whatif", "--out", str(out), "--profile", str(ws.prof), "--pipelines", ",".join(PIPES), "--mobile",
                    "rpi4", "--edge", "t4", "--uplink", "10", "--requests", "20", "--samples", "60", "--no-progress"]
        if command == "train":
            return ["train", "student", "--beta", "0.003", "--out", str(out)]
        raise AssertionError(command)
    return build


def in_scratch_cwd(mp: pytest.MonkeyPatch) -> None:
    """Run the case in an empty working folder (an empty --out that slipped through would write there)."""
    mp.chdir(tempfile.mkdtemp(prefix="sc2sim-cwd-"))


def oserror_on_commit(code: int) -> Callable[[pytest.MonkeyPatch], None]:
    """Make every atomic write fail with ``code`` (a full disk, a read-only file system) when it commits."""
    def patch(mp: pytest.MonkeyPatch) -> None:
        import sc2sim.atomic as atomic

        def fail(src: Any, dst: Any) -> None:
            raise OSError(code, os.strerror(code), str(dst))
        mp.setattr(atomic.os, "replace", fail)
    return patch


def oserror_on_create(code: int) -> Callable[[pytest.MonkeyPatch], None]:
    """Make creating any output file fail with ``code`` (permission denied, read-only)."""
    def patch(mp: pytest.MonkeyPatch) -> None:
        import sc2sim.atomic as atomic

        def fail(*a: Any, dir: Any = None, **k: Any) -> Any:
            raise OSError(code, os.strerror(code), str(dir))
        mp.setattr(atomic.tempfile, "mkstemp", fail)
    return patch


# ------------------------------------------------------------------------------------------ cases


@dataclass
class Case:
    id: str
    build: Callable[[Path, Workspace], list[str]]
    expect: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def C(id: str, build: Callable, *expect: str, env: dict | None = None, patch: Callable | None = None) -> Case:
    return Case(id, build, expect, env or {}, patch)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)) + "name: *i\n"

SCENARIO_FILES = [
    C("scenario-latin1", run_doc(yaml_text(BASE).replace("bad-input", "caf\xe9").encode("latin-1")), "not UTF-8", "0xe9"),
    C("scenario-utf16", run_doc(yaml_text(BASE).encode("utf-16")), "not UTF-8"),
    C("scenario-binary", run_doc(bytes(range(256)) * 4), "not UTF-8"),
    C("scenario-alias-bomb", run_text(BOMB), "expands to more than 100000"),
    C("scenario-recursive-alias", run_text("name: &a [*a]\n"), "refers to the node that contains it"),
    C("scenario-duplicate-key", run_text(yaml_text(BASE) + "name: again\n"), "name: given twice"),
    C("scenario-duplicate-nested-key", run_text(yaml_text(BASE).replace("  uplink:\n", "  uplink:\n    loss: 0.1\n    loss: 0.2\n")),
      "loss: given twice"),
    C("scenario-syntax", run_text("name: t\npipelines: [local:teacher\n"), "YAML syntax error at line"),
    C("scenario-empty", run_text(""), "(top level)"),
    C("scenario-list", run_text("- a\n- b\n"), "(top level)"),
    C("scenario-scalar", run_text("42\n"), "(top level): 42"),
    C("scenario-deep", run_text("name: " + "[" * 600 + "]" * 600 + "\n"), "nested too deeply"),
    C("scenario-is-folder", lambda tmp, ws: run_args(tmp, ws), "not a regular file"),
    C("scenario-missing", lambda tmp, ws: run_args(tmp / "absent.yaml", ws), "cannot read"),
    C("scenario-too-big", run_text(yaml_text(BASE) + "#" * (1 << 20) + "\n"), "at most 1048576 bytes"),
    C("scenario-nul-byte", run_doc(yaml_text(BASE).encode() + b"\x00\n"), "YAML syntax error", "control characters"),
    C("scenario-tab", run_text("name: t\n\tpipelines: []\n"), "YAML syntax error"),
    C("scenario-python-tag", run_text(yaml_text(BASE) + "seed: !!python/object/apply:os.system ['true']\n"),
      "YAML syntax error"),
    C("scenario-unknown-key", run_doc(doc(workloads={})), "workloads: unknown key", "did you mean 'workload'"),
    C("scenario-huge-integer", run_text(yaml_text(BASE) + "seed: " + "9" * 5000 + "\n"), "a whole number of 5000 digits"),
    C("scenario-huge-float", run_text(yaml_text(BASE).replace("rate_hz: 5", "rate_hz: 1e999")), "rate_hz: inf"),
    C("scenario-adaptive-without-deadline", run_doc(doc(**{"policy": "adaptive", "workload.deadline_ms": DROP})),
      "policy: 'adaptive' — needs workload.deadline_ms"),
    C("scenario-hex-without-digits", run_text(yaml_text(BASE) + "seed: 0x_\n"), "'0x_' — not a whole number"),
    C("scenario-octal-without-digits", run_text(yaml_text(BASE) + "seed: 0o_\n"), "'0o_' — not a whole number"),
    C("scenario-binary-tag", run_text(yaml_text(BASE).replace("name: bad-input", "name: !!binary aGVsbG8=")),
      "the tag !!binary is not allowed", "no !!tags"),
    C("scenario-timestamp-tag", run_text(yaml_text(BASE).replace("name: bad-input", "name: !!timestamp 2001-12-14")),
      "the tag !!timestamp is not allowed"),
    C("scenario-unhashable-key", run_text(yaml_text(BASE) + "? [a, b]\n: x\n"), "unhashable key", "keys are plain text"),
    C("scenario-merge-scalar", run_text(yaml_text(BASE).replace("workload:\n", "workload:\n  <<: 5\n")),
      "for merging", "'<<' merges a mapping"),
    C("scenario-int-key", run_text(yaml_text(BASE) + "1: x\n"), "(top level): key 1 — keys must be text",
      "allowed keys: dataset, edge"),
    C("scenario-float-key-nested", run_text(yaml_text(BASE).replace("  uplink:\n", "  uplink:\n    1.5: 3\n")),
      "network.uplink: key 1.5 — keys must be text", "allowed keys: accounting, bandwidth_mbps"),
]

FIELDS = [  # (dotted path, bad value, expected text)
    ("network.uplink.bandwidth_mbps", float("inf"), "inf — must be a number in [0.001, 10^5] Mbit/s"),
    ("network.uplink.bandwidth_mbps", float("nan"), "nan — must be a number"),
    ("network.uplink.bandwidth_mbps", -3, "-3 — must be a number in [0.001, 10^5] Mbit/s"),
    ("network.uplink.bandwidth_mbps", 0, "0 — must be"),
    ("network.uplink.bandwidth_mbps", 1e9, "did you give kbit/s or bit/s?"),
    ("network.uplink.bandwidth_mbps", 1e-300, "Mbit/s"),
    ("network.uplink.bandwidth_mbps", True, "True — must be a number"),
    ("network.uplink.bandwidth_mbps", "10", "'10' — must be a number"),
    ("network.uplink.bandwidth_mbps", [], "must have at least 1 item"),
    ("network.uplink.bandwidth_mbps", [1, 5, 1.0], "[1, 5, 1.0] — must list each value once: 1.0 is listed twice"),
    ("network.uplink.loss", [0, 0.0], "must list each value once"),
    ("mobile", ["rpi4", "esp32", "rpi4"], "mobile: [\"rpi4\", \"esp32\", \"rpi4\"] — must list each value once: 'rpi4'"),
    ("network.uplink", {"bandwidth_mbps": 5, "scale": [1, 2]}, "scale: [1.0, 2.0] — only with a trace"),
    ("network.downlink", {"bandwidth_mbps": 5, "scale": 2}, "network.downlink", "scale: [2.0] — only with a trace"),
    ("name", "two\nlines", "name: 'two\\nlines' — must be one line of text without control characters"),
    ("name", "nul\x00byte", "name: 'nul\\x00byte' — must be one line"),
    ("network", None, "network: None — must be a mapping with keys from: downlink, radio, result_bytes"),
    ("objective", "accuracy", "objective: 'accuracy' — must be a mapping with keys from: accuracy_tolerance"),
    ("network.transport", ["tcp"], "must be a mapping with keys from: header_bytes, init_cwnd, kind"),
    ("network.uplink.bandwidth_mbps", [1, "x"], "bandwidth_mbps[1]: 'x'"),
    ("network.uplink.bandwidth_mbps", {"a": 1}, "must be a number"),
    ("network.uplink.one_way_delay_ms", float("inf"), "inf — must be a number in [0, 10^5] ms"),
    ("network.uplink.one_way_delay_ms", -1, "-1 — must be a number in [0, 10^5] ms"),
    ("network.uplink.one_way_delay_ms", 1e9, "did you give µs?"),
    ("network.uplink.one_way_delay_ms", False, "false is not a number"),
    ("network.uplink.jitter_ms", float("nan"), "jitter_ms: nan"),
    ("network.uplink.jitter_ms", -1, "jitter_ms: -1"),
    ("network.uplink.loss", 1.0, "loss: 1.0 — must be a number in [0, 0.999]"),
    ("network.uplink.loss", -0.1, "loss: -0.1"),
    ("network.uplink.loss", 50, "a probability, not a percentage"),
    ("network.uplink.loss", float("inf"), "loss: inf"),
    ("network.downlink", {"bandwidth_mbps": float("inf")}, "downlink.bandwidth_mbps: inf"),
    ("network.downlink", {"bandwidth_mbps": [1, 2]}, "the downlink is not swept"),
    ("network.downlink", {"trace": "x.up"}, "only supported on the uplink"),
    ("network.uplink", {"bandwidth_mbps": 5, "trace": "x.up"}, "give exactly one of bandwidth_mbps"),
    ("network.uplink", {"one_way_delay_ms": 5}, "give exactly one of bandwidth_mbps"),
    ("network.transport", "quic", "'quic' — must be 'tcp' or 'raw'"),
    ("network.transport", {"kind": "tcp", "mss": 0}, "mss: 0 — must be a whole number in [64, 65535] bytes"),
    ("network.transport", {"kind": "tcp", "mss": True}, "mss: True"),
    ("network.transport", {"kind": "tcp", "init_cwnd": 0}, "init_cwnd: 0"),
    ("network.transport", {"kind": "tcp", "rto_ms": float("inf")}, "rto_ms: inf"),
    ("network.transport", {"kind": "tcp", "header_bytes": -1}, "header_bytes: -1"),
    ("network.transport", {"kind": "tcp", "persistent": "maybe"}, "persistent: 'maybe'"),
    ("network.result_bytes", 0, "result_bytes: 0"),
    ("network.result_bytes", 1e12, "result_bytes: 1000000000000.0 — must be a whole number in [1, 10^7] bytes"),
    ("network.sharing", "fair", "sharing: 'fair'"),
    ("network.radio", "5g", "radio: '5g'"),
    ("workload.arrival.rate_hz", 1e-300, "rate_hz: 1e-300 — must be a number in [10^-6, 10^6] requests/s per device"),
    ("workload.arrival.rate_hz", float("inf"), "rate_hz: inf"),
    ("workload.arrival.rate_hz", 0, "rate_hz: 0"),
    ("workload.arrival.rate_hz", 1e9, "rate_hz: 1000000000.0"),
    ("workload.arrival.rate_hz", True, "rate_hz: True"),
    ("workload.arrival.kind", "bursty", "'bursty' — must be 'periodic' or 'poisson'"),
    ("workload.arrival.phase", "late", "phase: 'late'"),
    ("workload.requests", True, "requests: True — must be a whole number in [1, 10^7]"),
    ("workload.requests", 10**12, "requests: 1000000000000"),
    ("workload.requests", 0, "requests: 0"),
    ("workload.requests", 2.5, "requests: 2.5"),
    ("workload.requests", "100", "requests: '100'"),
    ("workload.requests", -5, "requests: -5"),
    ("workload.devices", 0, "devices: 0 — must be a whole number in [1, 10^5] devices"),
    ("workload.devices", 1.5, "devices: 1.5"),
    ("workload.devices", 10**9, "devices: 1000000000"),
    ("workload.devices", False, "devices: False"),
    ("workload.deadline_ms", float("inf"), "deadline_ms: inf — must be a number in (0, 10^6] ms"),
    ("workload.deadline_ms", 0, "deadline_ms: 0"),
    ("workload.deadline_ms", -1, "deadline_ms: -1"),
    ("edge_server.gpus", 0, "gpus: 0 — must be a whole number in [1, 1024] accelerators"),
    ("edge_server.gpus", 2000, "gpus: 2000"),
    ("edge_server.batching.max_batch", 0, "max_batch: 0"),
    ("edge_server.batching.max_batch", True, "max_batch: True"),
    ("edge_server.batching.max_wait_ms", -1, "max_wait_ms: -1"),
    ("edge_server.batching.max_wait_ms", float("inf"), "max_wait_ms: inf"),
    ("edge_server.sharing", "fifo", "sharing: 'fifo'"),
    ("seed", -1, "seed: -1"),
    ("seed", 1.5, "seed: 1.5"),
    ("seed", True, "seed: True"),
    ("samples", 0, "samples: 0 — must be a whole number in [1, 10^7] samples"),
    ("samples", True, "samples: True"),
    ("timing_samples", -1, "timing_samples: -1"),
    ("timing_idle_gap_ms", float("inf"), "timing_idle_gap_ms: inf"),
    ("policy", "magic", "policy.kind: 'magic'"),
    ("policy", {"kind": "adaptive", "ewma_alpha": 0}, "ewma_alpha: 0"),
    ("policy", {"kind": "adaptive", "ewma_alpha": 2}, "ewma_alpha: 2"),
    ("policy", {"kind": "adaptive", "initial_mbps": float("inf")}, "initial_mbps: inf"),
    ("name", "", "name: '' — "),
    ("name", 123, "name: 123"),
    ("name", None, "name: None"),
    ("name", DROP, "name: (missing) — required"),
    ("dataset", "cifar10", "dataset: 'cifar10'"),
    ("dataset", "imagefolder:/x\x00y", "without NUL bytes"),
    ("pipelines", [], "pipelines: [] — "),
    ("pipelines", "local:teacher", "pipelines: 'local:teacher' — must be a valid list"),
    ("pipelines", ["local:teacher", "local:teacher"], "listed twice"),
    ("pipelines", ["gpu:resnet"], "pipelines[0]: 'gpu:resnet'"),
    ("pipelines", [5], "pipelines[0]: 5"),
    ("pipelines", ["offload:jpeg?quality=5&quality=6"], "given twice"),
    ("mobile", "rpi5", "mobile: 'rpi5' — allowed mobile devices", "did you mean 'rpi4'"),
    ("mobile", "t4", "mobile: 't4' — allowed mobile devices"),
    ("edge", ["t4", "v100"], "edge[1]: 'v100'"),
    ("network.uplink.bandwidth_mbps", list(range(1, 101)), None),  # filled below: with devices, > 10^4 points
    ("workload.requests", 10**7, "at most 10^8"),
]


def _field_case(i: int, path: str, value: Any, *expect: str | None) -> Case:
    over = {path: value}
    if expect == (None,):  # a sweep of 100 x 101 points
        over["workload.devices"] = list(range(1, 102))
        expect = ("the sweep has 10100 points",)
    if path == "workload.requests" and value == 10**7:
        over["network.uplink.bandwidth_mbps"] = list(range(1, 21))  # 20 points x 2 pipelines x 10^7
    shown = path.rsplit(".", 1)[-1]
    named = () if len(over) > 1 else (shown,) if value is not DROP else ("name",)
    return C(f"field-{i:02d}-{shown}", run_doc(doc(**over)), *named, *expect)


SCENARIO_FIELDS = [_field_case(i, *f) for i, f in enumerate(FIELDS)]

TRACES = [
    C("trace-latin1", with_trace(b"10\n20\n\xe9\n"), "link.up", "plain text"),
    C("trace-text", with_trace("10\nabc\n"), "line 2: 'abc'"),
    C("trace-negative", with_trace("10\n-5\n"), "link.up"),
    C("trace-decreasing", with_trace("10\n20\n15\n"), "link.up"),
    C("trace-empty", with_trace(""), "link.up"),
    C("trace-zero", with_trace("0\n0\n"), "link.up"),
    C("trace-folder", with_trace(None), "link.up: not a regular file — give a Mahimahi trace"),
    C("trace-fifo", lambda tmp, ws: os.mkfifo(tmp / "link.up") or run_args(
        write(tmp, doc(**{"network.uplink": {"trace": "link.up"}})), ws), "link.up: not a regular file"),
    C("trace-name-too-long", lambda tmp, ws: run_args(write(tmp, doc(**{"network.uplink": {"trace": "x" * 300}})), ws),
      "cannot read (File name too long) — give a readable Mahimahi trace"),
    C("trace-missing", lambda tmp, ws: run_args(write(tmp, doc(**{"network.uplink": {"trace": "nope.up"}})), ws),
      "trace: 'nope.up' — no such file"),
    C("trace-huge-timestamp", with_trace("10\n" + "9" * 30 + "\n"), "link.up"),
    C("trace-scale-zero", with_trace("1\n2\n", scale=0), "scale: 0"),
    C("trace-scale-inf", with_trace("1\n2\n", scale=float("inf")), "scale: inf"),
]

DEVICES = [
    C("device-peak-in-flops", device("compute.peak_gflops", 48e9), "peak_gflops: 48000000000.0",
      "[0.01, 10^6] GFLOP/s (did you give FLOP/s or MFLOP/s?)", env=PROFILE_ENV),
    C("device-peak-inf", device("compute.peak_gflops", float("inf")), "peak_gflops: inf", env=PROFILE_ENV),
    C("device-power-in-mw", device("power.active_w", 6400), "active_w: 6400", "(did you give mW?)", env=PROFILE_ENV),
    C("device-idle-above-active", device("power.idle_w", 10.0), "must not exceed active_w", env=PROFILE_ENV),
    C("device-tail-in-ms", device("radio.lte.tail_s", 11600), "tail_s: 11600", "(did you give ms?)", env=PROFILE_ENV),
    C("device-beta-in-w", device("radio.wifi.beta_mw", 0.13), "beta_mw: 0.13", "(did you give W?)", env=PROFILE_ENV),
    C("device-efficiency-percent", device("compute.efficiency", 35), "efficiency: 35", "not a percentage", env=PROFILE_ENV),
    C("device-cores-zero", device("compute.cores", 0), "cores: 0", env=PROFILE_ENV),
    C("device-cores-fraction", device("compute.cores", 2.5), "cores: 2.5", env=PROFILE_ENV),
    C("device-cores-bool", device("compute.cores", True), "cores: True", env=PROFILE_ENV),
    C("device-overhead-in-us", device("compute.overhead_ms", 150000), "overhead_ms: 150000", env=PROFILE_ENV),
    C("device-scalar-zero", device("compute.scalar_speed", 0), "scalar_speed: 0", env=PROFILE_ENV),
    C("device-unsourced", device("compute.sources.efficiency", DROP), "efficiency has no entry in sources", env=PROFILE_ENV),
    C("device-name-mismatch", device("name", "rpi5"), "must equal the file name", env=PROFILE_ENV),
    C("device-unknown-key", device("compute.turbo", 1), "turbo: unknown key", env=PROFILE_ENV),
    C("device-radio-unknown-key", device("radio.5g", {}), "radio.5g: unknown key — allowed keys: 3g, lte, sources, wifi",
      env=PROFILE_ENV),
    C("device-radio-list", device("radio", [1]), "radio: [1] — must be a mapping with keys from: 3g, lte", env=PROFILE_ENV),
    C("device-lacks-scenario-radio", device("radio.wifi", None), "s.yaml: network.radio: 'wifi' — mobile device 'rpi4'",
      "profiles/rpi4.yaml) has radio models for lte, 3g", env=PROFILE_ENV),
    C("device-no-radio", device("radio", DROP), "needs a radio block", env=PROFILE_ENV),
    C("device-roles-empty", device("roles", []), "roles", env=PROFILE_ENV),
    C("device-latin1", device_raw(yaml_text(RPI4).replace("Raspberry", "Rasp\xe9").encode("latin-1")), "rpi4.yaml",
      "not UTF-8", env=PROFILE_ENV),
    C("device-duplicate-key", device_raw(yaml_text(RPI4) + "name: rpi4\n"), "name: given twice", env=PROFILE_ENV),
    C("device-alias-bomb", device_raw(BOMB), "expands to more than", env=PROFILE_ENV),
]


def _gz_of(raw: bytes) -> bytes:
    return gzip.compress(raw)


_IMG20 = idx_bytes(np.random.default_rng(1).integers(0, 256, (20, 28, 28)))
DATASETS = [
    C("dataset-not-gzip", fmnist(images=b"plain bytes, not gzip"), "t10k-images-idx3-ubyte.gz", "not a readable gzip file"),
    C("dataset-truncated-gzip", fmnist(images=_gz_of(_IMG20)[:200]), "t10k-images-idx3-ubyte.gz", "not a readable gzip file"),
    C("dataset-fewer-images-than-header", fmnist(images=_gz_of(_IMG20[: 16 + 28 * 28 * 7])), "needs 15680 values",
      "truncated"),
    C("dataset-label-out-of-range", fmnist(labels=_gz_of(idx_bytes(np.full(20, 12, np.uint8)))), "label 12 at sample 0",
      "labels are 0-9"),
    C("dataset-count-mismatch", fmnist(labels=_gz_of(idx_bytes(np.zeros(19, np.uint8)))), "19 labels for 20 images"),
    C("dataset-wrong-magic", fmnist(images=_gz_of(b"\x00\x00\x0d\x03" + _IMG20[4:])), "not an IDX uint8 file"),
    C("dataset-empty-gzip", fmnist(labels=_gz_of(b"")), "0 bytes after decompression"),
    C("dataset-wrong-shape", fmnist(images=_gz_of(idx_bytes(np.zeros((20, 14, 14), np.uint8)))), "N x 28 x 28"),
    C("dataset-more-samples-than-held", fmnist(samples="50"), "samples: 50", "holds only 20 samples"),
    C("dataset-missing", plain("profile", "--pipelines", "local:light", "--data-dir", "{tmp}/nowhere", "--out", "{out}"),
      "nowhere/t10k-images-idx3-ubyte.gz: Fashion-MNIST not found", "dataset-fashion-mnist"),
]

IMAGE_FOLDERS = [
    C("images-corrupt-jpeg", folder("bad.jpg", b"\xff\xd8\xff\xe0" + bytes(200)), "dog/bad.jpg", "not a readable image"),
    C("images-truncated-jpeg", folder("cut.jpg", jpeg_bytes()[:300]), "dog/cut.jpg", "not a readable image"),
    C("images-truncated-png", folder("cut.png", png_bytes(64)[:60]), "dog/cut.png", "not a readable image"),
    C("images-text-as-png", folder("note.png", b"hello, I am text\n"), "dog/note.png", "not a readable image"),
    C("images-empty-file", folder("empty.webp", b""), "dog/empty.webp", "not a readable image"),
    C("images-no-folder", plain("profile", "--pipelines", "local:light", "--dataset", "imagefolder:{tmp}/none?size=28&color=grey",
                                "--out", "{out}"), "none: not a folder"),
    C("images-no-images", lambda tmp, ws: (tmp / "empty" / "cls").mkdir(parents=True) or profile_args(
        tmp, ws, "--dataset", f"imagefolder:{tmp}/empty?size=28&color=grey"), "no images found"),
    C("images-size-zero", folder(None, spec="?size=0&color=grey"), "size=0", "0 < size <= 4096"),
    C("images-size-huge", folder(None, spec="?size=100000&color=grey"), "size=100000"),
    C("images-bad-colour", folder(None, spec="?size=28&color=blue"), "color=blue"),
    C("images-resize-below-size", folder(None, spec="?size=28&resize=10"), "resize=10"),
    C("images-unknown-option", folder(None, spec="?size=28&colour=grey"), "unknown option 'colour'"),
]

CHECKPOINTS = [
    C("bundled-truncated", bundled(truncated_light(), fix_sha=False), "light.pt", "does not match its model card",
      env=WEIGHTS_ENV),
    C("bundled-garbage-matching-card", bundled(b"\x00garbage" * 100), "light.pt", "weights_only=True", env=WEIGHTS_ENV),
    C("bundled-refused-pickle", bundled(pickle.dumps(_Evil())), "light.pt", "weights_only=True", env=WEIGHTS_ENV),
    C("bundled-wrong-state-dict", bundled(b"", card=None), "light.pt", env=WEIGHTS_ENV),
    C("bundled-card-not-json", bundled(card=b"{not json"), "light.json", "JSON syntax error", env=WEIGHTS_ENV),
    C("bundled-card-latin1", bundled(card='{"arch": "l\xe9ger"}'.encode("latin-1")), "light.json", "not UTF-8",
      env=WEIGHTS_ENV),
    C("bundled-card-missing-arch", bundled(card=lambda c: {k: v for k, v in c.items() if k != "arch"}), "light.json",
      "arch: missing", env=WEIGHTS_ENV),
    C("bundled-card-bad-hparams", bundled(card=lambda c: {**c, "hparams": {"c1": -4}}), "light.json", "cannot be built",
      env=WEIGHTS_ENV),
    C("user-ckpt-garbage", user_ckpt(b"garbage" * 50), "ckpt.pt", "weights_only=True"),
    C("user-ckpt-empty", user_ckpt(b""), "ckpt.pt"),
    C("user-ckpt-refused-pickle", user_ckpt(pickle.dumps(_Evil())), "ckpt.pt", "weights_only=True"),
    C("user-ckpt-folder", user_ckpt(None), "ckpt.pt"),
    C("user-ckpt-missing", plain("profile", "--pipelines", "offload:png?model=resnet18&weights={tmp}/absent.pt",
                                 "--out", "{out}"), "absent.pt", "no such file"),
]

CARDS = [
    C("card-latin1", card(yaml_text(GOOD_CARD).replace("a test", "caf\xe9").encode("latin-1")), "card.yaml", "not UTF-8"),
    C("card-syntax", card("source: [unclosed\n"), "card.yaml", "YAML syntax error"),
    C("card-no-source", card(card_with(source=DROP)), "source: (missing)"),
    C("card-top1-above-100", card(card_with(methods={"jpeg": {"points": [[1.0, 150.0]]}})), "150.0", "% top-1"),
    C("card-size-inf", card(card_with(methods={"jpeg": {"points": [[float("inf"), 50.0]]}})), "inf"),
    C("card-size-negative", card(card_with(methods={"jpeg": {"points": [[-1.0, 50.0]]}})), "-1.0"),
    C("card-top1-bool", card(card_with(methods={"jpeg": {"points": [[1.0, True]]}})), "True"),
    C("card-json-nan", card('{"source": "x", "methods": {"jpeg": {"points": [[1.0, NaN]]}}}', suffix="json"), "NaN",
      "not a finite number"),
    C("card-json-duplicate", card('{"source": "x", "source": "y", "methods": {}}', suffix="json"), "duplicate key 'source'"),
    C("card-point-out-of-range", card(GOOD_CARD, point=7), "point=7", "allowed"),
    C("card-unknown-method", card(GOOD_CARD, method="webp"), "method='webp'"),
    C("card-unit-mb", card(card_with(unit="MB")), "unit: 'MB'"),
    C("card-alias-bomb", card(BOMB), "expands to more than"),
    C("card-missing", plain("profile", "--weights", "none", "--pipelines", "offload:jpeg?model=resnet18&card={tmp}/no.yaml&point=0",
                            "--out", "{out}"), "no such card"),
]

PIPELINE_NAMES = [
    C(f"pipeline-{i:02d}", plain("profile", "--pipelines", name, "--out", "{out}"), *expect)
    for i, (name, *expect) in enumerate([
        ("nosuch", "not a registry name"),
        ("offload:gif", "unknown — known:"),
        ("offload:jpeg?quality=0", "quality='0' — allowed: an integer 1-100"),
        ("offload:jpeg?quality=abc", "quality='abc'"),
        ("offload:jpeg?quality=5&quality=6", "given twice"),
        ("offload:jpeg?colour=1", "unknown parameter 'colour'"),
        ("split:naive?bits=3", "bits='3'"),
        ("split:naive?stage=9", "stage=9 — allowed"),
        ("split:sc2?beta=0.5", "beta=0.5 is not bundled"),
        ("offload:learned?lmbda=-1", "lmbda='-1'"),
        ("local:torchvision?model=resnet18", "weights — required"),
        ("split:sc2?arch=nope", "arch='nope'"),
        ("offload:jpeg?model=vgg99", "model='vgg99'"),
        ("local:teacher?x", "must look like key=value"),
    ])
]

CLI_OPTIONS = [
    C("run-engine", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--engine", "warp"), "--engine: 'warp'"),
    C("run-samples-zero", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--samples", "0"), "--samples: '0'"),
    C("run-samples-text", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--samples", "lots"), "--samples: 'lots'"),
    C("run-samples-above-table", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--samples", "500",
                                       "--no-progress", "--quiet", "--no-report"), "samples: 500", "table holds 60 samples"),
    C("run-timing-samples", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--timing-samples", "-3"),
      "--timing-samples: '-3'"),
    C("run-repeats-text", plain("run", "{good}", "--out", "{out}", "--repeats", "abc"), "--repeats: 'abc'"),
    C("run-missing-scenario", plain("run", "--out", "{out}"), "Missing argument"),
    C("run-profile-missing", plain("run", "{good}", "--out", "{out}", "--profile", "{tmp}/none.parquet"), "--profile",
      "no such file"),
    C("run-profile-not-parquet", lambda tmp, ws: run_args(write(tmp, BASE), ws)[:5] + [str(write(tmp, "x,y\n", "p.parquet")),
                                                                                     "--no-progress"], "not a readable Parquet"),
    C("unknown-command", plain("simulate", "{good}"), "No such command 'simulate'"),
    C("unknown-option", plain("run", "{good}", "--out", "{out}", "--bogus"), "No such option: --bogus"),
    C("profile-weights", plain("profile", "--weights", "some", "--out", "{out}"), "--weights: 'some'"),
    C("profile-timing-samples", plain("profile", "--timing-samples", "0", "--out", "{out}"), "--timing-samples: '0'"),
    C("profile-idle-gap", plain("profile", "--idle-gap-ms", "-1", "--out", "{out}"), "--idle-gap-ms: '-1'"),
    C("profile-samples-text", plain("profile", "--samples", "many", "--out", "{out}"), "--samples: 'many'"),
    C("whatif-deadline", whatif("--deadline-ms", "-5"), "--deadline-ms: -5"),
    C("whatif-requests", whatif("--requests", "0"), "--requests: 0"),
    C("whatif-uplink-inf", whatif("--uplink", "inf"), "inf"),
    C("whatif-mobile", whatif("--mobile", "nokia"), "--mobile: 'nokia'"),
    C("train-beta-negative", plain("train", "student", "--beta", "-1"), "--beta: -1", "(0, 10]"),
    C("train-beta-nan", plain("train", "student", "--beta", "nan"), "--beta: nan"),
    C("train-lmbda-zero", plain("train", "codec", "--lmbda", "0"), "--lmbda: 0"),
    C("train-epochs-zero", plain("train", "light", "--epochs", "0"), "--epochs: 0"),
    C("train-threads-negative", plain("train", "light", "--threads", "-1"), "--threads: -1"),
    C("train-beta-for-teacher", plain("train", "teacher", "--beta", "0.1"), "--beta: 0.1", "only for"),
    C("train-arch-unknown", plain("train", "student", "--beta", "0.003", "--arch", "vit"), "--arch: 'vit'"),
    C("train-what", plain("train", "everything"), "'everything' — allowed: teacher, light, student, codec"),
    C("whatif-deadline-inf", whatif("--deadline-ms", "inf"), "--deadline-ms: inf", "(0, 10^6] ms"),
    C("sweep-workers-zero", plain("sweep", "{good}", "--out", "{out}", "--workers", "0", "--no-processes"), "--workers: 0"),
    C("sweep-connect-timeout", plain("sweep", "{good}", "--out", "{out}", "--connect-timeout", "-1", "--scheduler",
                                     "tcp://127.0.0.1:1"), "--connect-timeout: -1"),
    C("sweep-workers-huge", plain("sweep", "{good}", "--out", "{out}", "--workers", "100000", "--no-processes"),
      "--workers: 100000 — must be a whole number in [1, 256]"),
    C("sweep-connect-timeout-nan", plain("sweep", "{good}", "--out", "{out}", "--connect-timeout", "nan", "--scheduler",
                                         "tcp://127.0.0.1:1"), "--connect-timeout: nan — must be a number in (0, 3600] s"),
    C("sweep-connect-timeout-inf", plain("sweep", "{good}", "--out", "{out}", "--connect-timeout", "inf", "--scheduler",
                                         "tcp://127.0.0.1:1"), "--connect-timeout: inf"),
    C("run-threads-zero", plain("run", "{good}", "--out", "{out}", "--profile", "{prof}", "--threads", "0"), "--threads: '0'"),
    C("whatif-threads-negative", whatif("--threads", "-2"), "--threads: '-2'"),
    C("run-out-empty", plain("run", "{good}", "--out", "", "--profile", "{prof}"), "--out: '' — an empty path",
      patch=in_scratch_cwd),
    C("sweep-out-empty", plain("sweep", "{good}", "--out", "", "--profile", "{prof}"), "--out: '' — an empty path",
      patch=in_scratch_cwd),
    C("whatif-out-empty", plain("whatif", "--out", "  ", "--profile", "{prof}"), "--out: '  ' — an empty path",
      patch=in_scratch_cwd),
    C("emulate-out-empty", plain("emulate", "{good}", "--out", ""), "--out: '' — an empty path",
      patch=in_scratch_cwd),
    C("profile-out-empty", plain("profile", "--pipelines", "local:light", "--out", ""), "--out: '' — an empty path",
      patch=in_scratch_cwd),
    C("train-out-empty", plain("train", "light", "--out", ""), "--out: '' — an empty path",
      patch=in_scratch_cwd),
    C("whatif-radio-swept", lambda tmp, ws: whatif(str(write(tmp, doc(**{"network.radio": ["wifi", "lte"]}))))(tmp, ws),
      "s.yaml: radio: swept — a what-if grid is mobile x edge x bandwidth"),
    C("whatif-uplink-repeated", whatif("--uplink", "10,5,10"), "--uplink: [10.0, 5.0, 10.0] — must list each value once"),
    C("emulate-backend", plain("emulate", "{good}", "--out", "{out}", "--backend", "bogus"), "--backend: 'bogus'"),
    C("emulate-requests-zero", plain("emulate", "{good}", "--out", "{out}", "--requests", "0"), "--requests: '0'"),
    C("predict-device", plain("predict", "--device", "nosuch", "--arch", "resnet18"), "device 'nosuch'"),
    C("predict-batch", plain("predict", "--device", "rpi4", "--arch", "resnet18", "--batch", "0"), "--batch: '0'"),
    C("calibrate-repeats", plain("calibrate", "--repeats", "0", "--out", "{tmp}/host.yaml"), "--repeats: '0'"),
    C("report-no-summary", plain("report", "{tmp}"), "no summary.json"),
    C("report-latency", plain("report", "{out}", "--latency", "p42"), "p42"),
    C("report-missing-folder", plain("report", "{tmp}/nothing"), "nothing"),
]

OUTPUTS = [
    C("out-run-is-file", out_is("file"), "plain-file", "--out must be a folder"),
    C("out-run-under-file", out_is("under"), "plain-file", "--out must be a folder"),
    C("out-run-too-long", out_is("long"), "File name too long", "shorter --out"),
    C("out-whatif-is-file", out_is("file", "whatif"), "plain-file", "--out must be a folder"),
    C("out-train-is-file", out_is("file", "train"), "plain-file", "--out must be a folder"),
    C("out-train-too-long", out_is("long", "train"), "File name too long"),
    C("out-run-disk-full", lambda tmp, ws: run_args(write(tmp, BASE), ws), "No space left on device",
      patch=oserror_on_commit(errno.ENOSPC)),
    C("out-run-read-only", lambda tmp, ws: run_args(write(tmp, BASE), ws), "Read-only file system",
      patch=oserror_on_create(errno.EROFS)),
    C("out-run-permission", lambda tmp, ws: run_args(write(tmp, BASE), ws), "Permission denied",
      patch=oserror_on_create(errno.EACCES)),
    C("out-whatif-disk-full", whatif(), "No space left on device", patch=oserror_on_commit(errno.ENOSPC)),
]

CASES = (SCENARIO_FILES + SCENARIO_FIELDS + TRACES + DEVICES + DATASETS + IMAGE_FOLDERS + CHECKPOINTS + CARDS
         + PIPELINE_NAMES + CLI_OPTIONS + OUTPUTS)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case: Case, ws: Workspace, tmp_path: Path, capsys, monkeypatch):
    argv = case.build(tmp_path, ws)
    for k, v in case.env.items():
        monkeypatch.setenv(k, v.format(tmp=tmp_path))
    if case.patch:
        case.patch(monkeypatch)
    before = snapshot(ws.results)
    capsys.readouterr()
    t0 = time.perf_counter()
    rc = cli(*argv)
    elapsed = time.perf_counter() - t0
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, (rc, err)
    assert len(lines) == 1, err
    assert LINE.match(lines[0]), lines[0]
    assert "Traceback" not in out + err
    for text in case.expect:
        assert text in lines[0], (text, lines[0])
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert snapshot(ws.results) == before
    assert not list(ws.results.glob(".*.tmp")), "a temporary file was left behind"


def test_matrix_size():
    assert len(CASES) + len(PAYLOADS) >= 150


# ------------------------------------------------------------------------------------------ payloads


@pytest.fixture(scope="module")
def real_payloads() -> dict[str, tuple[Any, list[bytes]]]:
    """A pipeline of every edge format and three real payloads of each."""
    import torch

    from sc2sim.data import load_fashion_mnist
    from sc2sim.pipelines import build_pipeline

    torch.set_num_threads(1)
    images = load_fashion_mnist("test").images[:3]
    out = {}
    for name in PAYLOAD_PIPES:
        pipe = build_pipeline(name)
        out[name] = (pipe, pipe.mobile_batch(images))
    return out


PAYLOAD_PIPES = ["local:teacher", "offload:png", "offload:jpeg?quality=50", "offload:webp?quality=50",
                 "offload:avif?quality=50", "offload:learned?lmbda=0.0067", "split:sc2?beta=0.003",
                 "split:naive?bits=32&codec=none&stage=3", "split:naive?bits=8&codec=zlib&stage=3",
                 "split:naive?bits=2&codec=lzma&stage=3", "split:naive?bits=4&codec=none&stage=3"]


def _flip_crc(p: bytes) -> bytes:
    b = bytearray(p)
    b[40] ^= 0x10  # inside the IHDR/IDAT data of a small PNG
    return bytes(b)


def _naive_raw(pipe: Any, raw: bytes) -> bytes:
    return zlib.compress(raw, 9) if pipe.codec == "zlib" else lzma.compress(raw, format=lzma.FORMAT_XZ) if pipe.codec == "lzma" else raw


def _quantised(pipe: Any, codes: np.ndarray, scale: float = 0.1, pad_bits: bool = False) -> bytes:
    from sc2sim.pipelines.split_naive import HEADER_FMT, pack_codes

    body = bytearray(pack_codes(codes, pipe.bits))
    if pad_bits:
        body[-1] |= 1
    return _naive_raw(pipe, struct.pack(HEADER_FMT, scale, 0.0) + bytes(body))


PAYLOADS = [  # (id, pipeline, make(pipe, real payload) -> bad payload, expected text)
    ("local-empty", "local:teacher", lambda pipe, p: b"", "exactly 1 byte"),
    ("local-two-bytes", "local:teacher", lambda pipe, p: p + p, "exactly 1 byte"),
    ("local-class-out-of-range", "local:teacher", lambda pipe, p: bytes([10]), "class index 10"),
    ("local-class-255", "local:teacher", lambda pipe, p: b"\xff", "class index 255"),
    ("png-empty", "offload:png", lambda pipe, p: b"", "not a well-formed PNG"),
    ("png-truncated", "offload:png", lambda pipe, p: p[:-5], "not a well-formed PNG"),
    ("png-extended", "offload:png", lambda pipe, p: p + b"\0\0", "after IEND"),
    ("png-crc", "offload:png", lambda pipe, p: _flip_crc(p), "CRC-32"),
    ("png-wrong-size", "offload:png", lambda pipe, p: png_bytes(30), "30x30 image, expected 28x28"),
    ("png-given-jpeg", "offload:png", lambda pipe, p: jpeg_bytes(28), "no PNG signature"),
    ("jpeg-truncated", "offload:jpeg?quality=50", lambda pipe, p: p[:-10], "EOI"),
    ("jpeg-random", "offload:jpeg?quality=50", lambda pipe, p: os.urandom(200), "not a well-formed JPEG"),
    ("jpeg-header-cut", "offload:jpeg?quality=50", lambda pipe, p: p[:30] + b"\xff\xd9", "not a well-formed JPEG"),
    ("webp-truncated", "offload:webp?quality=50", lambda pipe, p: p[:-4], "RIFF length"),
    ("webp-empty", "offload:webp?quality=50", lambda pipe, p: b"", "not a well-formed WEBP"),
    ("avif-truncated", "offload:avif?quality=50", lambda pipe, p: p[: len(p) // 2], "not a well-formed AVIF"),
    ("avif-random", "offload:avif?quality=50", lambda pipe, p: b"\0\0\0\x10ftypavif" + os.urandom(50), "AVIF"),
    ("learned-empty", "offload:learned?lmbda=0.0067", lambda pipe, p: b"", "rANS"),
    ("learned-truncated", "offload:learned?lmbda=0.0067", lambda pipe, p: p[:-4], "rANS"),
    ("learned-random", "offload:learned?lmbda=0.0067", lambda pipe, p: os.urandom(64), "rANS"),
    ("sc2-empty", "split:sc2?beta=0.003", lambda pipe, p: b"", "rANS"),
    ("sc2-odd-length", "split:sc2?beta=0.003", lambda pipe, p: p[:-1], "whole 32-bit words"),
    ("sc2-truncated-word", "split:sc2?beta=0.003", lambda pipe, p: p[:-4], "re-encode"),
    ("sc2-extended", "split:sc2?beta=0.003", lambda pipe, p: p + bytes(4), "re-encode"),
    ("sc2-bit-flip", "split:sc2?beta=0.003", lambda pipe, p: bytes([p[0] ^ 0x80]) + p[1:], "rANS"),
    ("sc2-too-long", "split:sc2?beta=0.003", lambda pipe, p: bytes(8 * 784 + 16), "longer than any rANS stream"),
    ("naive32-empty", "split:naive?bits=32&codec=none&stage=3", lambda pipe, p: b"", "expected 8192"),
    ("naive32-short", "split:naive?bits=32&codec=none&stage=3", lambda pipe, p: p[:-4], "expected 8192"),
    ("naive32-nan", "split:naive?bits=32&codec=none&stage=3", lambda pipe, p: b"\x00\x00\xc0\x7f" + p[4:], "NaN"),
    ("naive8-zlib-garbage", "split:naive?bits=8&codec=zlib&stage=3", lambda pipe, p: b"garbage!", "not a zlib stream"),
    ("naive8-zlib-cut", "split:naive?bits=8&codec=zlib&stage=3", lambda pipe, p: p[:-6], "incomplete zlib"),
    ("naive8-zlib-trailing", "split:naive?bits=8&codec=zlib&stage=3", lambda pipe, p: p + b"x", "after the end"),
    ("naive8-zlib-bomb", "split:naive?bits=8&codec=zlib&stage=3", lambda pipe, p: zlib.compress(bytes(10**7)),
     "more than the 2056 bytes"),
    ("naive8-codes-not-spanning", "split:naive?bits=8&codec=zlib&stage=3",
     lambda pipe, p: _quantised(pipe, np.full(2048, 7, np.uint8)), "codes span 7..7"),
    ("naive8-scale-nan", "split:naive?bits=8&codec=zlib&stage=3",
     lambda pipe, p: _quantised(pipe, np.arange(2048) % 256, scale=float("nan")), "scale"),
    ("naive2-lzma-cut", "split:naive?bits=2&codec=lzma&stage=3", lambda pipe, p: p[:-8], "xz" if False else "lzma"),
    ("naive2-lzma-garbage", "split:naive?bits=2&codec=lzma&stage=3", lambda pipe, p: b"\xfd7zXZ\x00" + bytes(20), "lzma"),
    ("naive4-padding-bits", "split:naive?bits=4&codec=none&stage=3",
     lambda pipe, p: _quantised(pipe, np.arange(2047) % 16, pad_bits=True) if pipe.numel % 2 else
     _quantised(pipe, np.arange(pipe.numel) % 15), "codes span"),
]


@pytest.mark.parametrize("pid, name, make, expect", PAYLOADS, ids=[p[0] for p in PAYLOADS])
def test_broken_payload_is_refused_not_classified(pid, name, make, expect, real_payloads):
    from sc2sim.errors import PayloadError

    pipe, good = real_payloads[name]
    assert all(0 <= pipe.edge(p) < 10 for p in good)  # real payloads still classify
    bad = make(pipe, good[0])
    with pytest.raises(PayloadError) as info:
        pipe.edge(bad)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{pipe.name}: payload: {len(bad)} bytes — "), msg
    assert expect in msg, msg
    with pytest.raises(PayloadError):
        pipe.edge_batch([good[1], bad])
