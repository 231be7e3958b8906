"""Entropic Student: real rANS bytes that decode back exactly, sizes near the model's estimate, training works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2sim.data import ImageSet
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.models.entropy import (
    compress_latent,
    expected_bytes,
    prepare_for_coding,
    quantized_latent,
)
from sc2sim.pipelines import build_pipeline
from sc2sim.pipelines.torch_util import image_tensor
from sc2sim.train.student import StudentRecipe, train_student


@pytest.fixture(scope="module")
def tiny(fmnist_test, tmp_path_factory):
    """A tiny teacher and a student trained for a few steps, bundled in a temporary weights folder."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    teacher = build_model("teacher", widths=[4, 8, 8, 16]).eval()
    save_bundle("teacher", teacher, {}, folder)
    data = ImageSet(fmnist_test.images[:1024], fmnist_test.labels[:1024], fmnist_test.classes, "subset")
    recipe = StudentRecipe(beta=0.05, batch_size=64, max_steps=12)
    student, log = train_student(0.05, data, teacher, recipe, progress=False, latent=8, hidden=8)
    save_bundle("student-beta0.05", student, {}, folder)
    return folder, student, log


@pytest.fixture()
def weights(tiny, monkeypatch):
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(tiny[0]))
    _load_cached.cache_clear()
    yield tiny[0]
    _load_cached.cache_clear()


def test_training_lowers_both_stage_losses(tiny):
    log = tiny[2]
    for key in ("stage1_losses", "stage2_losses"):
        losses = log[key]
        assert len(losses) == 12 and np.mean(losses[-3:]) < np.mean(losses[:3]), key


def test_decode_of_encode_is_the_quantised_latent_exactly(weights, fmnist_test):
    pipe = build_pipeline("split:sc2?beta=0.05")
    eb = pipe.model.entropy_bottleneck
    for i in range(10):
        y = pipe.mobile_compute(fmnist_test.images[i])
        payload = pipe.encode(y)
        assert payload == eb.compress(y)[0]  # header: none, exactly compress()'s bytes
        assert torch.equal(pipe.decode(payload), quantized_latent(eb, y))


def test_rans_bytes_within_3_percent_of_the_entropy_models_estimate(weights, fmnist_test):
    pipe = build_pipeline("split:sc2?beta=0.05")
    model = pipe.model
    real, estimate = 0, 0.0
    with torch.no_grad():
        for i in range(60):
            y = model.encode_latent(image_tensor(fmnist_test.images[i]))
            real += len(compress_latent(model.entropy_bottleneck, y))
            estimate += expected_bytes(model.entropy_bottleneck(y)[1])
    assert abs(real - estimate) <= 0.03 * estimate + 2 * 60, (real, estimate)
    assert real <= 1.03 * estimate + 2 * 60


def test_edge_prediction_matches_the_model_on_rounded_latents(weights, fmnist_test):
    pipe = build_pipeline("split:sc2?beta=0.05")
    x = torch.from_numpy(fmnist_test.images[:20].astype(np.float32) / 255)[:, None]
    with torch.no_grad():
        expected = pipe.model(x)["logits"].argmax(1).tolist()
    got = [pipe.edge(pipe.mobile(fmnist_test.images[i])) for i in range(20)]
    assert got == expected


def test_unbundled_beta_is_a_clear_error(weights):
    with pytest.raises(ConfigError, match=r"bundled: 0.05; train it with `sc2sim train student --beta 0.3`"):
        build_pipeline("split:sc2?beta=0.3")


def test_prepare_for_coding_is_idempotent(tiny):
    eb = tiny[1].entropy_bottleneck
    prepare_for_coding(eb)
    before = eb._quantized_cdf.clone()
    prepare_for_coding(eb)
    assert torch.equal(before, eb._quantized_cdf)
