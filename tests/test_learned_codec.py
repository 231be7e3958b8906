"""Learned input codec (offload:learned): exact rANS round trips, payload = the coder's bytes,
bytes close to the entropy model's estimate, training lowers the rate-distortion loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sc2sim.data import ImageSet
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, load_bundled, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.models.entropy import expected_bytes, prepare_for_coding, quantized_latent
from sc2sim.pipelines import build_pipeline
from sc2sim.pipelines.torch_util import image_tensor
from sc2sim.train.codec import CodecRecipe, train_codec, train_codec_command

LMBDA = 0.01


@pytest.fixture(scope="module")
def trained(tmp_path_factory, fmnist_test):
    """A tiny codec trained for 100 steps on 4096 test images, bundled beside a tiny random teacher."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("codec-weights")
    torch.manual_seed(0)
    teacher = build_model("teacher", widths=[4, 8, 8, 16])
    save_bundle("teacher", teacher.eval(), {"test_accuracy": 0.1}, folder)
    data = ImageSet(fmnist_test.images[:4096], fmnist_test.labels[:4096], fmnist_test.classes, "subset")
    recipe = CodecRecipe(lmbda=LMBDA, batch_size=32, lr=5e-3, aux_lr=5e-3, N=8, M=8, max_steps=100)
    torch.manual_seed(0)
    model = build_model("codec", N=8, M=8)
    log = train_codec(model, data, recipe, progress=False)
    prepare_for_coding(model.entropy_bottleneck)
    save_bundle(f"codec-lmbda{LMBDA:g}", model, {"recipe": {"lmbda": LMBDA}}, folder)
    torch.set_num_threads(threads)
    return {"folder": folder, "model": model, "log": log}


@pytest.fixture()
def weights(trained, monkeypatch):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(trained["folder"]))
    _load_cached.cache_clear()
    yield trained
    _load_cached.cache_clear()
    torch.set_num_threads(threads)


def test_a_few_steps_lower_the_loss(trained):
    log = trained["log"]
    assert log["steps"] == 100 and len(log["losses"]) == 100
    first, last = np.mean(log["losses"][:10]), np.mean(log["losses"][-10:])
    assert last < 0.5 * first, (first, last)
    assert np.mean(log["mse"][-10:]) < np.mean(log["mse"][:10])


def test_round_trip_is_exact_and_payload_is_the_rans_bytes(weights, fmnist_test):
    pipe = build_pipeline(f"offload:learned?lmbda={LMBDA}")
    codec = pipe.codec
    eb = codec.entropy_bottleneck
    teacher = load_bundled("teacher")
    for i in range(5):
        img = fmnist_test.images[i]
        y = pipe.mobile_compute(img)
        assert tuple(y.shape) == (1, 8, 7, 7)
        with torch.no_grad():
            assert torch.equal(y, codec.g_a(image_tensor(img)))
            strings = eb.compress(y)
        payload = pipe.encode(y)
        assert payload == strings[0] and len(payload) == len(strings[0])  # exactly the rANS bytes, no header
        assert torch.equal(pipe.decode_latent(payload), quantized_latent(eb, y))
        decoded = pipe.decode(payload)
        with torch.no_grad():
            x_hat = codec.g_s(quantized_latent(eb, y))
            expected_img = x_hat.clamp(0, 1).mul(255).round().to(torch.uint8)[0, 0].numpy()
            expected_pred = int(teacher(image_tensor(expected_img)).argmax(1))
        assert decoded.dtype == np.uint8 and decoded.shape == (28, 28)
        assert np.array_equal(decoded, expected_img)
        assert pipe.edge_compute(decoded) == expected_pred
        assert pipe.edge(pipe.mobile(img)) == expected_pred


def test_rans_bytes_are_close_to_the_entropy_model_estimate(weights, fmnist_test):
    pipe = build_pipeline(f"offload:learned?lmbda={LMBDA}")
    eb = pipe.codec.entropy_bottleneck
    eb.eval()
    real, est = [], []
    for img in fmnist_test.images[9000:9050]:
        y = pipe.mobile_compute(img)
        real.append(len(pipe.encode(y)))
        with torch.no_grad():
            _, likelihoods = eb(y)
        est.append(expected_bytes(likelihoods))
    real, est = np.asarray(real), np.asarray(est)
    assert len(set(real.tolist())) > 1  # sizes follow the content (in 4-byte rANS words), not a fixed length
    # rANS flushes a 32-bit state and writes 32-bit words: a few bytes per image above the estimate
    assert real.sum() <= 1.03 * est.sum() + 7 * len(real), (real.sum(), est.sum())
    assert real.sum() >= 0.97 * est.sum(), (real.sum(), est.sum())
    assert np.all(real <= 1.03 * est + 8)


def test_models_split_g_a_on_mobile_and_g_s_plus_teacher_on_edge(weights):
    pipe = build_pipeline(f"offload:learned?lmbda={LMBDA}")
    mods = pipe.models()
    assert mods["mobile"] == [pipe.codec.g_a, pipe.codec.entropy_bottleneck]
    assert mods["edge"] == [pipe.codec.g_s, pipe.model]
    assert pipe.strategy == "offload"
    assert f"codec-lmbda{LMBDA:g}@" in pipe.fingerprint() and "teacher@" in pipe.fingerprint()


def test_unknown_lambda_lists_the_bundled_values(weights):
    with pytest.raises(ConfigError, match=r"lmbda=0\.5 is not bundled — bundled: 0\.01"):
        build_pipeline("offload:learned?lmbda=0.5")
    with pytest.raises(ConfigError, match="lmbda"):
        build_pipeline("offload:learned?lmbda=-1")


def test_train_command_writes_a_complete_card(weights, tmp_path, fmnist_test):
    path = train_codec_command(0.02, epochs=1, seed=0, out=tmp_path, data_dir=None, max_steps=3, N=8, M=4,
                               test_samples=200, progress=False)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["name"] == "codec-lmbda0.02" and card["arch"] == "codec" and card["hparams"] == {"N": 8, "M": 4}
    for key in ("recipe", "data", "mean_bytes", "psnr_db", "teacher_accuracy_on_decoded", "encoder_flops",
                "decoder_flops", "params", "weights_sha256"):
        assert key in card, key
    assert card["recipe"]["lmbda"] == 0.02 and card["train_steps"] == 3 and card["data"]["test_samples"] == 200
    assert card["encoder_flops"] > 0 and card["decoder_flops"] > 0 and card["mean_bytes"] > 0
    # the saved bundle (with its rANS tables) loads back and codes the same bytes
    model = load_bundled("codec-lmbda0.02", tmp_path)
    prepare_for_coding(model.entropy_bottleneck)
    with torch.no_grad():
        x = image_tensor(fmnist_test.images[0])
        y = model.g_a(x)
        assert torch.equal(model.entropy_bottleneck.decompress(model.entropy_bottleneck.compress(y), (7, 7)),
                           quantized_latent(model.entropy_bottleneck, y))
