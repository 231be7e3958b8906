"""Training does something, and bundles save, verify and load safely."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sc2sim.data import ImageSet
from sc2sim.errors import Sc2SimError
from sc2sim.models import build_model, load_bundled, save_bundle
from sc2sim.train.classifier import ClassifierRecipe, train_classifier
from sc2sim.train.common import augment


def test_a_few_steps_lower_the_loss(fmnist_test):
    data = ImageSet(fmnist_test.images[:2048], fmnist_test.labels[:2048], fmnist_test.classes, "subset")
    torch.manual_seed(0)
    model = build_model("teacher", widths=[4, 8, 8, 16])
    log = train_classifier(model, data, ClassifierRecipe(epochs=1, batch_size=64, lr=0.05, max_steps=32), progress=False)
    losses = log["losses"]
    assert len(losses) == 32
    assert np.mean(losses[-8:]) < np.mean(losses[:8]) - 0.2


def test_augment_shifts_and_flips_within_bounds():
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    out = augment(x, torch.Generator().manual_seed(1), pad=2)
    assert out.shape == x.shape
    assert torch.allclose(out.sum((1, 2, 3)), x.sum((1, 2, 3)))  # 8x8 square never leaves the frame
    assert not torch.equal(out, x)


def test_bundle_round_trip_and_tamper_detection(tmp_path):
    model = build_model("light", c1=4, c2=4, hidden=8)
    save_bundle("tiny", model, {"test_accuracy": 0.1}, tmp_path)
    card = json.loads((tmp_path / "tiny.json").read_text())
    assert card["arch"] == "light" and card["hparams"]["c1"] == 4 and len(card["weights_sha256"]) == 64
    loaded = load_bundled("tiny", tmp_path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
    (tmp_path / "tiny.pt").write_bytes(b"garbage")
    from sc2sim.models.bundle import _load_cached

    _load_cached.cache_clear()
    with pytest.raises(Sc2SimError, match="does not match"):
        load_bundled("tiny", tmp_path)


def test_bundled_cards_record_what_the_issue_asks():
    for name in ("teacher", "light"):
        from sc2sim.models import read_card

        card = read_card(name)
        for key in ("arch", "hparams", "recipe", "data", "test_accuracy", "flops", "params", "weights_sha256"):
            assert key in card, (name, key)
        assert card["data"]["test_samples"] == 10000
