"""Entropic Student (Matsubara et al., "Supervised Compression for Resource-Constrained Edge
Computing Systems", WACV 2022; and the SC2 benchmark, TMLR 2023), sized for 28x28 Fashion-MNIST.

The student replaces the teacher's layers up to ``target_stage`` with

* a small **encoder** (runs on the device), ending in a ``latent x size x size`` tensor (``size`` 7,
  or 14 for the gdn encoder, whose second convolution then keeps the resolution) that compressai's
  ``EntropyBottleneck`` codes with rANS. Two kinds (``encoder=``):

  - ``gdn``: the SC2 paper's shape, strided 5x5 convolutions with GDN (``hidden`` channels);
  - ``res``: FrankenSplit's shape (Furutanpey et al., IEEE TMC 2024): a stride-2 5x5 stem of
    ``hidden`` channels, then a stride-2 residual block of ``width`` channels (two 3x3 convs and a
    1x1 projection shortcut), ReLU, and a 1x1 convolution to the latent. No normalisation layer, so
    the device runs convolutions, ReLUs and one add;

* a **decoder** (runs on the edge) that maps the decoded latent to the teacher's feature shape at
  ``target_stage`` (stage1: 32 x 14 x 14, stage2: 64 x 7 x 7);

followed by a copy of the teacher's remaining stages (the **tail**), initialised from the teacher and
either fine-tuned (Entropic Student) or kept frozen (FrankenSplit). Everything after the bottleneck
runs on the edge server.
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck
from compressai.layers import GDN
from torch import nn

from sc2sim.models.base import Sc2Model, register_model
from sc2sim.models.classifiers import ResNetTeacher

ENCODERS = ("gdn", "res")
LATENT_SIZES = (7, 14)


class ResidualDown(nn.Module):
    """Stride-2 residual block without normalisation: ``relu(conv3x3(relu(conv3x3/2(x))) + conv1x1/2(x))``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 2, 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.short = nn.Conv2d(cin, cout, 1, 2, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + self.short(x))


def build_encoder(kind: str, latent: int, hidden: int, width: int, size: int = 7) -> nn.Sequential:
    """The device-side encoder: 1 x 28 x 28 -> ``latent`` x ``size`` x ``size`` (see the module docstring)."""
    if size not in LATENT_SIZES or (size == 14 and kind != "gdn"):
        raise ValueError(f"latent size must be one of {LATENT_SIZES} (14: gdn encoder only), got {size!r} with {kind!r}")
    if kind == "gdn" and size == 14:  # the second convolution keeps 14 x 14: a 3x3 one, to stay in the FLOP budget
        return nn.Sequential(
            nn.Conv2d(1, hidden, 5, 2, 2), GDN(hidden),
            nn.Conv2d(hidden, hidden, 3, 1, 1), GDN(hidden),
            nn.Conv2d(hidden, latent, 3, 1, 1),
        )
    if kind == "gdn":
        return nn.Sequential(
            nn.Conv2d(1, hidden, 5, 2, 2), GDN(hidden),
            nn.Conv2d(hidden, hidden, 5, 2, 2), GDN(hidden),
            nn.Conv2d(hidden, latent, 3, 1, 1),
        )
    if kind == "res":
        return nn.Sequential(
            nn.Conv2d(1, hidden, 5, 2, 2), nn.ReLU(inplace=True),
            ResidualDown(hidden, width),
            nn.Conv2d(width, latent, 1),
        )
    raise ValueError(f"encoder must be one of {ENCODERS}, got {kind!r}")


@register_model("student")
class EntropicStudent(Sc2Model):
    """Encoder + entropy bottleneck (mobile), decoder + teacher tail (edge). Input: x in [0, 1]."""

    def __init__(self, latent: int = 16, hidden: int = 24, target_stage: int = 1,
                 teacher_widths: tuple[int, ...] | list[int] = (16, 32, 64, 128), num_classes: int = 10,
                 encoder: str = "gdn", width: int = 48, dec_hidden: int | None = None, size: int = 7) -> None:
        teacher_widths = list(teacher_widths)
        hp = dict(latent=latent, hidden=hidden, target_stage=target_stage, teacher_widths=teacher_widths,
                  num_classes=num_classes)
        if encoder != "gdn":  # cards of the first students have no such keys: they keep rebuilding as before
            hp.update(encoder=encoder, width=width, dec_hidden=dec_hidden)
        if size != 7:
            hp["size"] = size
        super().__init__(**hp)
        if target_stage not in (1, 2) or (size == 14 and target_stage != 1):
            raise ValueError("target_stage must be 1 (32x14x14) or 2 (64x7x7; with a 7x7 latent only)")
        self.target_stage = target_stage
        self.latent_hw = (size, size)  # the latent's height and width: what the rANS decoder needs
        self.encoder = build_encoder(encoder, latent, hidden, width, size)
        self.entropy_bottleneck = EntropyBottleneck(latent)
        cout = teacher_widths[target_stage]
        dh = dec_hidden or 2 * hidden
        up = [nn.ConvTranspose2d(dh, cout, 4, 2, 1)] if target_stage == 1 and size == 7 else [nn.Conv2d(dh, cout, 3, 1, 1)]
        self.decoder = nn.Sequential(
            nn.Conv2d(latent, dh, 3, 1, 1), nn.BatchNorm2d(dh), nn.ReLU(inplace=True),
            *up, nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, 1, 1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        )
        tail_src = ResNetTeacher(teacher_widths, num_classes)
        for name in tail_src.stage_names[target_stage + 1 :]:
            self.stages[name] = tail_src.stages[name]

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """Device side before entropy coding: ``x`` in [0, 1] -> latent ``y`` (unquantised)."""
        return self.encoder(self.normalize(x))

    def decode_features(self, y_hat: torch.Tensor) -> torch.Tensor:
        """Edge side: decoded latent -> features shaped like the teacher's at ``target_stage``."""
        return self.decoder(y_hat)

    def tail(self, h: torch.Tensor) -> torch.Tensor:
        """The (fine-tuned or frozen) teacher stages after ``target_stage``: features -> logits."""
        for stage in self.stages.values():
            h = stage(h)
        return h

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """Training/eval pass: features, logits and the bottleneck's likelihoods (noise in train mode, rounding in eval)."""
        y = self.encode_latent(x)
        y_hat, likelihoods = self.entropy_bottleneck(y)
        feats = self.decode_features(y_hat)
        return {"features": feats, "logits": self.tail(feats), "likelihoods": likelihoods, "y": y}

    def load_teacher_tail(self, teacher: ResNetTeacher) -> None:
        """Copy the teacher's weights into the tail stages (the SC2 initialisation)."""
        for name in self.stages:
            self.stages[name].load_state_dict(teacher.stages[name].state_dict())

    def mobile_modules(self) -> list[nn.Module]:
        """Modules that run on the device (encoder and entropy bottleneck)."""
        return [self.encoder, self.entropy_bottleneck]

    def edge_modules(self) -> list[nn.Module]:
        """Modules that run on the edge server (decoder and tail)."""
        return [self.decoder, self.stages]
