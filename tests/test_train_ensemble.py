"""``sc2sim.train.ensemble``: a frozen teacher ensemble that averages logits (no training here)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sc2sim.models import build_model, save_bundle
from sc2sim.models.bundle import _load_cached
from sc2sim.train.ensemble import TeacherEnsemble, load_teacher_ensemble


def _teachers(n: int) -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [build_model("teacher", widths=[4, 8, 8, 16]).eval() for _ in range(n)]


def test_forward_is_the_mean_of_the_members_logits_and_commutes_with_temperature():
    members = _teachers(3)
    ens = TeacherEnsemble(members)
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        out = ens(x)
        each = [m(x) for m in members]
    assert out.shape == (5, 10)
    torch.testing.assert_close(out, (each[0] + each[1] + each[2]) / 3)
    # the same distribution as averaging log-probabilities, at any KD temperature
    for T in (1.0, 4.0):
        mean_logp = torch.stack([F.log_softmax(z, 1) for z in each]).mean(0)
        torch.testing.assert_close(F.softmax(out / T, 1), F.softmax(mean_logp / T, 1))


def test_members_stay_frozen_in_eval_mode():
    members = _teachers(2)
    ens = TeacherEnsemble(members)
    assert not any(p.requires_grad for p in ens.parameters())
    ens.train()
    assert ens.training and not any(m.training for m in ens.members.modules())
    x = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        a, b = ens(x), ens(x)  # batch norm in eval mode: no running-stat updates, same output
    torch.testing.assert_close(a, b)


def test_first_member_supplies_features_and_hparams():
    members = _teachers(2)
    ens = TeacherEnsemble(members)
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(ens.forward_to(x, 1), members[0].forward_to(x, 1))
    assert ens.hparams["widths"] == [4, 8, 8, 16]
    assert ens.stages is members[0].stages
    with pytest.raises(ValueError):
        TeacherEnsemble([])


def test_load_from_bundle_folders(tmp_path):
    members = _teachers(2)
    folders = []
    for i, m in enumerate(members):
        (tmp_path / str(i)).mkdir()
        save_bundle("teacher", m, {}, tmp_path / str(i))
        folders.append(tmp_path / str(i))
    _load_cached.cache_clear()
    try:
        ens = load_teacher_ensemble(folders)
        x = torch.rand(3, 1, 28, 28)
        with torch.no_grad():
            torch.testing.assert_close(ens(x), (members[0](x) + members[1](x)) / 2)
    finally:
        _load_cached.cache_clear()
