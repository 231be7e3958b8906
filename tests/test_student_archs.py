"""Student architectures beyond the SC2 recipe: ``split:sc2?arch=res`` (residual encoder trained end to end)
and ``split:sc2?arch=franken`` (FrankenSplit: saliency-weighted feature matching, frozen teacher tail)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import cli

from sc2sim.data import ImageSet
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.models.entropy import prepare_for_coding, quantized_latent
from sc2sim.pipelines import build_pipeline
from sc2sim.train.student import StudentRecipe, _ste_rounded, train_student, xgradcam

ARCH = {"encoder": "res", "hidden": 8, "width": 8, "latent": 8}


@pytest.fixture(scope="module")
def trained(fmnist_test, tmp_path_factory):
    """A tiny teacher, a res student (e2e stage 2) and a franken student (no stage 2), a few steps each."""
    folder = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    teacher = build_model("teacher", widths=[4, 8, 8, 16]).eval()
    save_bundle("teacher", teacher, {}, folder)
    data = ImageSet(fmnist_test.images[:1024], fmnist_test.labels[:1024], fmnist_test.classes, "subset")
    res, res_log = train_student(0.05, data, teacher, StudentRecipe(beta=0.05, batch_size=64, max_steps=12, stage2="e2e",
                                                                    stage1_beta=0.01), progress=False, **ARCH)
    save_bundle("student-res-beta0.05", res, {}, folder)
    fr, fr_log = train_student(0.05, data, teacher, StudentRecipe(beta=0.05, batch_size=64, max_steps=12, stage2="none",
                                                                  saliency=True), progress=False, **ARCH)
    save_bundle("student-franken-beta0.05", fr, {}, folder)
    return folder, teacher, (res, res_log), (fr, fr_log)


@pytest.fixture()
def weights(trained, monkeypatch):
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(trained[0]))
    _load_cached.cache_clear()
    yield trained[0]
    _load_cached.cache_clear()


def test_end_to_end_stage_lowers_its_loss_and_moves_the_encoder(trained):
    res, log = trained[2]
    for key in ("stage1_losses", "stage2_losses"):
        assert len(log[key]) == 12 and np.mean(log[key][-3:]) < np.mean(log[key][:3]), key


def test_franken_keeps_the_teachers_tail_frozen(trained):
    teacher, (fr, log) = trained[1], trained[3]
    assert log["stage2_losses"] == [] and np.mean(log["stage1_losses"][-3:]) < np.mean(log["stage1_losses"][:3])
    for name in fr.stages:
        for k, v in fr.stages[name].state_dict().items():
            assert torch.equal(v, teacher.stages[name].state_dict()[k]), (name, k)


@pytest.mark.parametrize("arch", ["res", "franken"])
def test_decode_of_encode_is_exact_and_edge_matches_the_model(weights, fmnist_test, arch):
    pipe = build_pipeline(f"split:sc2?arch={arch}&beta=0.05")
    eb = pipe.model.entropy_bottleneck
    for i in range(8):
        y = pipe.mobile_compute(fmnist_test.images[i])
        payload = pipe.encode(y)
        assert payload == eb.compress(y)[0]
        assert torch.equal(pipe.decode(payload), quantized_latent(eb, y))
    x = torch.from_numpy(fmnist_test.images[:16].astype(np.float32) / 255)[:, None]
    with torch.no_grad():
        expected = pipe.model(x)["logits"].argmax(1).tolist()
    assert [pipe.edge(pipe.mobile(fmnist_test.images[i])) for i in range(16)] == expected
    assert pipe.edge_batch(pipe.mobile_batch(fmnist_test.images[:16])).tolist() == expected


def test_bad_or_unbundled_arch_is_a_clear_error(weights):
    with pytest.raises(ConfigError, match=r"arch='nope' — allowed: gdn .* res .* franken"):
        build_pipeline("split:sc2?arch=nope&beta=0.05")
    with pytest.raises(ConfigError, match=r"bundled: 0.05; train it with `sc2sim train student --arch res --beta 0.2`"):
        build_pipeline("split:sc2?arch=res&beta=0.2")


def test_straight_through_rounding_is_the_decoded_latent_with_identity_gradient(trained):
    res = trained[2][0]
    prepare_for_coding(res.entropy_bottleneck)
    y = (torch.randn(2, 8, 7, 7) * 3).requires_grad_(True)
    out = _ste_rounded(res, y)
    assert torch.allclose(out.detach(), quantized_latent(res.entropy_bottleneck, y.detach()), rtol=0, atol=1e-6)
    out.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))


def test_xgradcam_map_is_positive_normalised_and_follows_the_evidence(trained, fmnist_test):
    teacher = trained[1]
    x = torch.from_numpy(fmnist_test.images[:8].astype(np.float32) / 255)[:, None]
    labels = torch.from_numpy(fmnist_test.labels[:8].astype(np.int64))
    feats, cam = xgradcam(teacher, x, 1, labels)
    assert torch.allclose(feats, teacher.forward_to(x, 1))
    assert feats.shape == (8, 8, 14, 14) and cam.shape == (8, 1, 14, 14)
    assert torch.all(cam >= 1.0)
    nonflat = (cam - 1.0).flatten(1).amax(1) > 0
    assert nonflat.any()
    assert torch.allclose((cam - 1.0).mean((1, 2, 3))[nonflat], torch.ones(int(nonflat.sum())), atol=1e-3)
    # per image (a batch changes nothing) and per label (the map follows the class asked about)
    i = int(nonflat.nonzero()[0])
    _, alone = xgradcam(teacher, x[i : i + 1], 1, labels[i : i + 1])
    assert torch.allclose(alone, cam[i : i + 1], atol=1e-5)
    _, other = xgradcam(teacher, x[i : i + 1], 1, (labels[i : i + 1] + 1) % 10)
    assert not torch.allclose(other, cam[i : i + 1], atol=1e-3)


def test_train_student_with_an_unknown_arch_is_a_one_line_error(capsys):
    assert cli("train", "student", "--arch", "nope", "--beta", "0.1", "--max-steps", "1") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--arch" in err[0] and "'nope' — allowed: gdn, res, franken" in err[0]


def test_a_14x14_latent_keeps_the_teachers_stage1_resolution_and_codes_exactly(tmp_path, monkeypatch, fmnist_test):
    """``size=14`` (gdn encoder): the latent is latent x 14 x 14, the decoder needs no upsampling, the
    rANS bytes decode to the rounded latent, and a saved bundle rebuilds with the same shape; other
    encoders or a stage-2 target refuse a 14x14 latent."""
    from sc2sim.models.bundle import load_bundled
    from sc2sim.profiling.flops import count_flops

    torch.manual_seed(0)
    student = build_model("student", size=14, latent=4).eval()
    x = torch.rand(2, 1, 28, 28)
    y = student.encode_latent(x)
    assert y.shape == (2, 4, 14, 14) and student(x)["features"].shape == (2, 32, 14, 14)
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in student.decoder.modules())
    assert count_flops(lambda: student.encode_latent(x[:1])) < 0.2 * 18.8e6  # within the encoder budget
    eb = student.entropy_bottleneck
    prepare_for_coding(eb)
    strings = eb.compress(y)
    assert torch.equal(eb.decompress(strings, y.shape[2:]), quantized_latent(eb, y))
    save_bundle("student-shape14-beta0.1", student, {}, tmp_path)
    again = load_bundled("student-shape14-beta0.1", tmp_path)
    assert again.hparams["size"] == 14 and again.encode_latent(x).shape == (2, 4, 14, 14)
    # bundled as a student, split:sc2 decodes its rANS bytes at 14 x 14 (the latent shape comes from the model)
    save_bundle("student-beta0.1", student, {}, tmp_path)
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(tmp_path))
    _load_cached.cache_clear()
    try:
        pipe = build_pipeline("split:sc2?beta=0.1")
        y0 = pipe.mobile_compute(fmnist_test.images[0])
        assert torch.equal(pipe.decode(pipe.encode(y0)), quantized_latent(pipe.model.entropy_bottleneck, y0))
        imgs = fmnist_test.images[:4]
        xs = torch.from_numpy(imgs.astype(np.float32) / 255)[:, None]
        with torch.no_grad():
            expected = pipe.model(xs)["logits"].argmax(1).tolist()
        assert pipe.edge_batch(pipe.mobile_batch(imgs)).tolist() == expected
    finally:
        _load_cached.cache_clear()
    assert "size" not in build_model("student").hparams  # 7x7 cards stay as they were
    with pytest.raises(ValueError, match="14: gdn encoder only"):
        build_model("student", size=14, encoder="res")
    with pytest.raises(ValueError, match="with a 7x7 latent only"):
        build_model("student", size=14, target_stage=2)
