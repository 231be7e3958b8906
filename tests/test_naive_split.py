"""Naive split (split:naive): exact payload formats, exact round trips, edge = teacher tail."""

from __future__ import annotations

import lzma
import struct
import zlib

import numpy as np
import pytest
import torch

from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.pipelines import build_pipeline
from sc2sim.pipelines.split_naive import dequantize, pack_codes, quantize, unpack_codes


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    """A small randomly initialised teacher (same stage layout as the bundled one) in its own folder."""
    folder = tmp_path_factory.mktemp("naive-weights")
    torch.manual_seed(0)
    model = build_model("teacher", widths=[4, 8, 8, 16])
    model.eval()
    save_bundle("teacher", model, {"test_accuracy": 0.1}, folder)
    return folder


@pytest.fixture()
def weights(teacher_dir, monkeypatch):
    """Point the bundle loader at the small teacher; one torch thread (tiny convs, shared cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(teacher_dir))
    _load_cached.cache_clear()
    yield teacher_dir
    _load_cached.cache_clear()
    torch.set_num_threads(threads)


def _expected_raw(h: np.ndarray, bits: int) -> tuple[bytes, np.ndarray]:
    """The payload before the codec and the tensor the edge must reconstruct, written out independently."""
    h = h.astype(np.float32)
    if bits == 32:
        return h.astype("<f4").tobytes(), h
    lo, hi = np.float32(h.min()), np.float32(h.max())
    scale = np.float32((hi - lo) / np.float32(2**bits - 1))
    q = np.clip(np.rint((h - lo) / scale), 0, 2**bits - 1).astype(np.int64).reshape(-1)
    if bits == 16:
        body = q.astype("<u2").tobytes()
    elif bits == 8:
        body = q.astype(np.uint8).tobytes()
    else:  # MSB-first bit string of every code, zero-padded to whole bytes
        s = "".join(format(int(v), f"0{bits}b") for v in q)
        s += "0" * (-len(s) % 8)
        body = bytes(int(s[i : i + 8], 2) for i in range(0, len(s), 8))
    deq = (q.astype(np.float32) * scale + lo).astype(np.float32).reshape(h.shape)
    return struct.pack("<ff", scale, lo) + body, deq


@pytest.mark.parametrize("codec", ["none", "zlib", "lzma"])
@pytest.mark.parametrize("bits", [8, 4, 2, 32, 16])
def test_round_trip_is_exact_and_payload_is_the_documented_format(weights, fmnist_test, codec, bits):
    stage = 1
    pipe = build_pipeline(f"split:naive?stage={stage}&bits={bits}&codec={codec}")
    teacher = pipe.teacher
    for i in range(3):
        img = fmnist_test.images[i]
        h = pipe.mobile_compute(img)
        with torch.no_grad():
            assert np.array_equal(h, teacher.forward_to(torch.from_numpy(img).float().div(255)[None, None], stage)[0].numpy())
        raw, deq = _expected_raw(h, bits)
        payload = pipe.encode(h)
        if codec == "none":
            n = h.size
            assert len(payload) == (4 * n if bits == 32 else 8 + (n * bits + 7) // 8)
            assert payload == raw
        elif codec == "zlib":
            assert zlib.decompress(payload) == raw
        else:
            assert lzma.decompress(payload) == raw
        z = pipe.decode(payload)
        assert z.dtype == torch.float32 and tuple(z.shape) == (1, *h.shape)
        if bits == 32:
            assert z.numpy().tobytes() == h.astype(np.float32).tobytes()  # bitwise equal
        else:
            assert np.array_equal(z.numpy()[0], deq)
            assert np.abs(z.numpy()[0] - h).max() <= (h.max() - h.min()) / (2**bits - 1) / 2 + 1e-6 * np.abs(h).max()
        with torch.no_grad():
            expected = int(teacher.forward_from(torch.from_numpy(deq)[None], stage).argmax(1))
        assert pipe.edge_compute(z) == expected
        assert pipe.edge(pipe.mobile(img)) == expected


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_every_stage_boundary_works_and_splits_the_models(weights, fmnist_test, stage):
    pipe = build_pipeline(f"split:naive?stage={stage}&bits=8&codec=none")
    h = pipe.mobile_compute(fmnist_test.images[0])
    assert h.shape == pipe.shape
    assert len(pipe.mobile(fmnist_test.images[0])) == 8 + h.size
    mods = pipe.models()
    assert len(mods["mobile"]) == stage + 1 and len(mods["mobile"]) + len(mods["edge"]) == 5
    assert "teacher@" in pipe.fingerprint()


@pytest.mark.parametrize("bad,needle", [
    ("split:naive?stage=4", "allowed: 0 \\(stem\\), 1 \\(stage1\\), 2 \\(stage2\\), 3 \\(stage3\\)"),
    ("split:naive?stage=-1", "stage"),
    ("split:naive?bits=3", "2, 4, 8, 16 or 32"),
    ("split:naive?codec=gzip", "none, zlib or lzma"),
])
def test_bad_parameters_raise_config_errors(weights, bad, needle):
    with pytest.raises(ConfigError, match=needle):
        build_pipeline(bad)


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
def test_pack_unpack_codes_and_quantiser_edges(bits):
    rng = np.random.default_rng(bits)
    codes = rng.integers(0, 2**bits, size=1001).astype(np.uint16 if bits > 8 else np.uint8)
    data = pack_codes(codes, bits)
    assert len(data) == (1001 * bits + 7) // 8
    assert np.array_equal(unpack_codes(data, bits, 1001), codes)
    with pytest.raises(ValueError):
        unpack_codes(data + b"\0", bits, 1001)
    h = rng.normal(size=(4, 5, 5)).astype(np.float32)
    q, scale, offset = quantize(h, bits)
    assert q.min() == 0 and q.max() == 2**bits - 1  # min and max map to the end codes
    assert np.abs(dequantize(q, scale, offset) - h).max() <= scale / 2 + 1e-6 * np.abs(h).max()  # + float32 rounding
    flat, s, o = quantize(np.full((3, 3), 2.5, np.float32), bits)  # a constant tensor decodes exactly
    assert np.array_equal(dequantize(flat, s, o), np.full((3, 3), 2.5, np.float32))
