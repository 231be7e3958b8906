"""Fuzzing (issue 11): generated scenarios through the loader, garbage payloads through every edge.

* 1,000 mutated scenario mappings through :func:`sc2sim.scenario.parse_scenario` and 150 mutated scenario
  files through :func:`sc2sim.scenario.load_scenario`: only ConfigError may escape (a valid mutation
  may also load);
* garbage payloads (random bytes, truncations, extensions, bit flips of real payloads) through the edge
  side of every pipeline family: a PayloadError or a class index in range, never another exception;
  an empty or truncated payload is always refused.

Examples are derandomised (the same on every run) and nothing is stored in a Hypothesis database.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sc2sim.errors import ConfigError, PayloadError
from sc2sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
FUZZ = settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))

VALID = [
    {"name": "a", "pipelines": ["local:teacher", "offload:webp?quality=50"], "mobile": "rpi4", "edge": "t4",
     "network": {"uplink": {"bandwidth_mbps": [1, 10], "one_way_delay_ms": 20, "jitter_ms": 2, "loss": 0.01}}},
    {"name": "b", "seed": 3, "samples": 100, "pipelines": ["split:sc2?beta=0.003"], "mobile": ["rpi4", "jetson-nano"],
     "edge": ["t4", "a100"], "network": {"uplink": {"bandwidth_mbps": 5}, "downlink": {"bandwidth_mbps": 50},
                                         "transport": {"kind": "tcp", "persistent": True, "mss": 1448}},
     "workload": {"devices": [1, 4], "arrival": {"kind": "poisson", "rate_hz": 2}, "requests": 500,
                  "deadline_ms": [50, 100]},
     "edge_server": {"gpus": 2, "batching": {"max_batch": 8, "max_wait_ms": 2}}, "policy": "adaptive"},
    yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text()),
]
for _v in VALID[:2]:
    parse_scenario(copy.deepcopy(_v), "valid.yaml")  # the seeds are valid

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0, -1, 1e-300, 1e300, 2**63, -0.0, 10**12]),
    st.text(max_size=30), st.sampled_from(["", "inf", "nan", "1e6", "local:teacher", "rpi4", "\x00", "é" * 5, "a\nb"]),
    st.binary(max_size=10),
)
GARBAGE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.one_of(st.text(max_size=8), st.integers()),
                                                                       inner, max_size=3)), max_leaves=6)


def _paths(d: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a nested mapping/list (the places a mutation can hit)."""
    out = [prefix] if prefix else []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def mutated(draw) -> Any:
    """A valid scenario with 1-4 mutations: a value replaced by garbage, a key deleted or added, a
    value wrapped in a list or a mapping, or the whole document replaced."""
    d = copy.deepcopy(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["set", "set", "delete", "add", "wrap", "whole"]))
        paths = _paths(d) if isinstance(d, (dict, list)) else []
        if op == "whole" or not paths:
            return draw(GARBAGE)
        path = draw(st.sampled_from(paths))
        parent = d
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        if op == "set":
            parent[key] = draw(GARBAGE)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.text(max_size=12), st.sampled_from(["seed", "trace", "scale", "gpus"])))] = draw(GARBAGE)
        elif op == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], [parent[key], parent[key]], {"value": parent[key]}]))
    return d


@settings(FUZZ, max_examples=1000)
@given(mutated())
def test_generated_scenarios_raise_only_config_errors(doc):
    try:
        parse_scenario(doc, "fuzz.yaml")
    except ConfigError as err:
        msg = str(err)
        assert msg and "\n" not in msg and len(msg) < 2000


@settings(FUZZ, max_examples=150)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10**6), st.text(max_size=6)), min_size=1, max_size=4),
       st.booleans())
def test_generated_scenario_files_raise_only_config_errors(tmp_path_factory, base, edits, as_bytes):
    text = yaml.safe_dump(base, sort_keys=False)
    for pos, ins in edits:  # insert text at random places: syntax, types, indentation, unicode
        pos %= len(text) + 1
        text = text[:pos] + ins + text[pos:]
    p = tmp_path_factory.mktemp("fuzz") / "s.yaml"
    p.write_bytes(text.encode("utf-8", "surrogatepass") if not as_bytes else text.encode("latin-1", "replace"))
    try:
        load_scenario(p)
    except ConfigError as err:
        assert "\n" not in str(err)


# ------------------------------------------------------------------------------------------ payloads

FAMILIES = ["local:teacher", "offload:png", "offload:jpeg?quality=50", "offload:webp?quality=50",
            "offload:avif?quality=50", "offload:learned?lmbda=0.0067", "split:sc2?beta=0.003",
            "split:naive?bits=32&codec=none&stage=3", "split:naive?bits=8&codec=zlib&stage=2",
            "split:naive?bits=2&codec=lzma&stage=3", "split:naive?bits=4&codec=none&stage=3"]


@pytest.fixture(scope="module")
def edges() -> dict[str, tuple[Any, list[bytes]]]:
    import torch

    from sc2sim.data import load_fashion_mnist
    from sc2sim.pipelines import build_pipeline

    torch.set_num_threads(1)
    images = load_fashion_mnist("test").images[:4]
    out = {}
    for name in FAMILIES:
        pipe = build_pipeline(name)
        out[name] = (pipe, pipe.mobile_batch(images))
    return out


@settings(FUZZ, max_examples=500)
@given(st.data())
def test_garbage_payloads_are_refused_or_classified_never_crash(edges, data):
    name = data.draw(st.sampled_from(FAMILIES), label="pipeline")
    pipe, real = edges[name]
    p = data.draw(st.sampled_from(real), label="real payload")
    kind = data.draw(st.sampled_from(["random", "empty", "truncate", "extend", "flip", "flips"]), label="kind")
    if kind == "random":
        bad = data.draw(st.binary(max_size=3 * len(p) + 16))
    elif kind == "empty":
        bad = b""
    elif kind == "truncate":
        bad = p[: data.draw(st.integers(0, len(p) - 1))]
    elif kind == "extend":
        bad = p + data.draw(st.binary(min_size=1, max_size=64))
    else:
        b = bytearray(p)
        for _ in range(1 if kind == "flip" else data.draw(st.integers(2, 16))):
            i = data.draw(st.integers(0, 8 * len(b) - 1))
            b[i // 8] ^= 1 << (i % 8)
        bad = bytes(b)
    if bad == p:
        return
    try:
        c = pipe.edge(bad)
    except PayloadError as err:
        assert str(err).startswith(f"{pipe.name}: payload: {len(bad)} bytes — ") and "\n" not in str(err)
        return
    assert kind not in ("empty", "truncate"), f"{name}: a {kind} payload of {len(bad)} bytes was classified"
    assert isinstance(c, int) and 0 <= c < 10 and not math.isnan(c)


def test_real_payloads_still_classify(edges, fmnist_test):
    """The checks refuse nothing the encoders write: 100 test images through every family, batch and single."""
    images = fmnist_test.images[:100]
    for name, (pipe, _) in edges.items():
        payloads = pipe.mobile_batch(images)
        preds = pipe.edge_batch(payloads)
        assert len(preds) == 100 and ((0 <= preds) & (preds < 10)).all()
        assert [pipe.edge(p) for p in payloads[:20]] == list(preds[:20]), name
        accuracy = float(np.mean(preds == fmnist_test.labels[:100]))
        assert accuracy > 0.8, (name, accuracy)
