"""A frozen ensemble of teachers for knowledge distillation (issue 14: "teacher ensembles").

:class:`TeacherEnsemble` is a drop-in ``teacher`` for :func:`sc2sim.train.student.train_stage2`, which
only calls ``teacher(xb)`` for logits: it returns the *mean of its members' logits*.

Why logits (not probabilities): the KD loss divides the teacher's logits by a temperature ``T`` before
the softmax. Averaging logits commutes with that division — ``softmax(mean_i(z_i) / T)`` is the
normalised geometric mean of the members' tempered distributions ``softmax(z_i / T)`` for *every*
``T`` — so one ``(B, C)`` output serves any temperature. Averaging log-probabilities
(``log_softmax(z_i)``) is the same thing: it differs from the logit mean by a per-sample constant,
which the softmax removes. The arithmetic mean of probabilities would depend on ``T`` and could not be
handed back as one set of logits.

The members stay in eval mode and frozen (``train()`` on the ensemble leaves them in eval mode), so
batch-norm statistics never move while a student trains against them. ``hparams``, ``stages`` and
``forward_to`` come from the first member, so stage 1 (feature matching) and the tail initialisation
use that one teacher; only the logits are ensembled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from sc2sim.models import load_bundled


class TeacherEnsemble(nn.Module):
    """Mean of the members' logits; members frozen and always in eval mode (see the module docstring)."""

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("a teacher ensemble needs at least one member")
        self.members = nn.ModuleList(members)
        self.members.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "TeacherEnsemble":
        """Set the ensemble's own flag; the members stay in eval mode (a frozen teacher)."""
        self.training = mode
        self.members.eval()
        return self

    @property
    def hparams(self) -> dict[str, Any]:
        """The first member's hyper-parameters (``train_student`` reads its ``widths``)."""
        return dict(getattr(self.members[0], "hparams", {}))

    @property
    def stages(self) -> nn.ModuleDict:
        """The first member's stages (``EntropicStudent.load_teacher_tail`` copies them)."""
        return self.members[0].stages

    def forward_to(self, x: torch.Tensor, k: int) -> torch.Tensor:
        """The first member's features at boundary ``k`` (stage 1's target; features are not ensembled)."""
        return self.members[0].forward_to(x, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C)`` mean of the members' logits for inputs ``(B, 1, H, W)`` in [0, 1]."""
        return torch.stack([m(x) for m in self.members]).mean(0)


def load_teacher_ensemble(folders: Sequence[Path | str | None], name: str = "teacher") -> TeacherEnsemble:
    """An ensemble of the bundled model ``name`` from each folder (``None``: the bundled weights folder),
    each checked against its model card's sha256 by :func:`sc2sim.models.load_bundled`."""
    return TeacherEnsemble([load_bundled(name, None if f is None else Path(f)) for f in folders])
