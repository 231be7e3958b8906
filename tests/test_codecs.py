"""Input codecs: round trips, and payloads identical to what Pillow itself writes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from sc2sim.models import load_bundled
from sc2sim.pipelines import build_pipeline
from sc2sim.pipelines.image_codecs import decode_image, encode_image, payload_only_bytes

CASES = [
    ("offload:png", "PNG", {"optimize": True}),
    ("offload:jpeg?quality=50", "JPEG", {"quality": 50, "optimize": False}),
    ("offload:jpeg?quality=90&optimize=1", "JPEG", {"quality": 90, "optimize": True}),
    ("offload:webp?quality=50", "WEBP", {"quality": 50, "lossless": False, "method": 6}),
    ("offload:avif?quality=50", "AVIF", {"quality": 50}),
]


@pytest.mark.parametrize("name,fmt,opts", CASES)
def test_payload_is_exactly_pillows_file_and_round_trips(fmnist_test, name, fmt, opts):
    pipe = build_pipeline(name)
    teacher = load_bundled("teacher")
    for i in range(5):
        img = fmnist_test.images[i]
        buf = io.BytesIO()
        Image.fromarray(img, "L").save(buf, format=fmt, **opts)
        payload = pipe.mobile(img)
        assert payload == buf.getvalue()
        decoded = decode_image(payload)
        assert decoded.shape == img.shape
        if fmt == "PNG":
            assert np.array_equal(decoded, img)
        else:
            assert np.abs(decoded.astype(int) - img).mean() < 12
        with torch.no_grad():
            expected = int(teacher(torch.from_numpy(decoded).float().div(255)[None, None]).argmax())
        assert pipe.edge(payload) == expected


def test_lossless_webp_round_trips_exactly(fmnist_test):
    img = fmnist_test.images[7]
    assert np.array_equal(decode_image(encode_image(img, "webp", quality=100, lossless=True)), img)


@pytest.mark.parametrize("fmt,q", [("png", None), ("jpeg", 50), ("webp", 50), ("avif", 50)])
def test_payload_only_bytes_is_the_coded_data_inside_the_file(fmnist_test, fmt, q):
    data = encode_image(fmnist_test.images[0], fmt, q)
    inner = payload_only_bytes(data, fmt)
    assert 0 < inner < len(data)
    if fmt == "webp":
        assert len(data) - inner == 20  # RIFF(12) + chunk header(8) for a simple lossy file
