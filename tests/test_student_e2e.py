"""``split:sc2?arch=e2e``: a bundled SC2 student continued by an end-to-end stage (``StudentRecipe.init``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import cli

from sc2sim.data import ImageSet
from sc2sim.models import build_model, load_bundled, read_card, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.models.entropy import quantized_latent
from sc2sim.pipelines import build_pipeline
from sc2sim.train.student import ARCHS, StudentRecipe, train_student


@pytest.fixture()
def start(fmnist_test, tmp_path, monkeypatch):
    """A tiny teacher and a tiny SC2 (gdn) student bundled as arch e2e's start point, a few steps each."""
    torch.manual_seed(0)
    teacher = build_model("teacher", widths=[4, 8, 8, 16]).eval()
    save_bundle("teacher", teacher, {}, tmp_path)
    data = ImageSet(fmnist_test.images[:512], fmnist_test.labels[:512], fmnist_test.classes, "subset")
    init = ARCHS["e2e"][1]["init"]
    student, _ = train_student(0.05, data, teacher, StudentRecipe(beta=0.05, batch_size=64, max_steps=3), progress=False,
                               latent=8, hidden=8)
    save_bundle(init, student, {}, tmp_path)
    monkeypatch.setenv("SC2SIM_WEIGHTS", str(tmp_path))
    _load_cached.cache_clear()
    yield tmp_path, teacher, data, init
    _load_cached.cache_clear()


def test_stage_continues_the_bundled_student_end_to_end_and_leaves_it_untouched(start):
    folder, teacher, data, init = start
    before = {k: v.clone() for k, v in load_bundled(init).state_dict().items()}
    recipe = StudentRecipe(beta=0.05, batch_size=64, max_steps=12, stage2="e2e", init=init)
    student, log = train_student(0.05, data, teacher, recipe, progress=False)
    assert log["stage1_losses"] == []  # no new stage 1: the start point's recipe already ran it
    assert len(log["stage2_losses"]) == 12 and np.mean(log["stage2_losses"][-3:]) < np.mean(log["stage2_losses"][:3])
    assert student.hparams == load_bundled(init).hparams
    after = student.state_dict()
    assert not torch.equal(after["encoder.0.weight"], before["encoder.0.weight"])  # the encoder is trained too
    for k, v in load_bundled(init).state_dict().items():  # the loader's cached start point is not modified
        assert torch.equal(v, before[k]), k
    with pytest.raises(ValueError, match="architecture from that bundle"):
        train_student(0.05, data, teacher, recipe, progress=False, latent=4)


def test_cli_bundles_it_with_its_start_point_in_the_card(start, fmnist_test):
    folder, _, _, init = start
    assert cli("train", "student", "--arch", "e2e", "--beta", "0.05", "--max-steps", "2", "--out", str(folder)) == 0
    card = json.loads((folder / "student-e2e-beta0.05.json").read_text())
    assert card["init"] == {"name": init, "weights_sha256": read_card(init)["weights_sha256"]}
    assert card["recipe"]["init"] == init and card["recipe"]["stage2"] == "e2e" and card["recipe"]["stage1_epochs"] == 0
    pipe = build_pipeline("split:sc2?arch=e2e&beta=0.05")
    eb = pipe.model.entropy_bottleneck
    for i in range(4):
        y = pipe.mobile_compute(fmnist_test.images[i])
        assert torch.equal(pipe.decode(pipe.encode(y)), quantized_latent(eb, y))


def test_missing_start_point_is_a_one_line_error(start, capsys):
    folder, _, _, init = start
    (folder / f"{init}.json").unlink()
    assert cli("train", "student", "--arch", "e2e", "--beta", "0.05", "--max-steps", "1", "--out", str(folder)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and init in err[0] and "sc2sim train student" in err[0]
