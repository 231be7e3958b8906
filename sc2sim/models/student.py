"""Entropic Student (Matsubara et al., "Supervised Compression for Resource-Constrained Edge
Computing Systems", WACV 2022; and the SC2 benchmark, TMLR 2023), sized for 28x28 Fashion-MNIST.

The student replaces the teacher's layers up to ``target_stage`` with

* a small **encoder** (runs on the device): strided convolutions with GDN, ending in a
  ``latent x 7 x 7`` tensor that compressai's ``EntropyBottleneck`` codes with rANS;
* a **decoder** (runs on the edge) that maps the decoded latent to the teacher's feature shape at
  ``target_stage`` (stage1: 32 x 14 x 14);

followed by a copy of the teacher's remaining stages (the **tail**), initialised from the teacher and
fine-tuned by knowledge distillation. Everything after the bottleneck runs on the edge server.
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck
from compressai.layers import GDN
from torch import nn

from sc2sim.models.base import Sc2Model, register_model
from sc2sim.models.classifiers import ResNetTeacher


@register_model("student")
class EntropicStudent(Sc2Model):
    """Encoder + entropy bottleneck (mobile), decoder + teacher tail (edge). Input: x in [0, 1]."""

    def __init__(self, latent: int = 16, hidden: int = 24, target_stage: int = 1,
                 teacher_widths: tuple[int, ...] | list[int] = (16, 32, 64, 128), num_classes: int = 10) -> None:
        teacher_widths = list(teacher_widths)
        super().__init__(latent=latent, hidden=hidden, target_stage=target_stage, teacher_widths=teacher_widths,
                         num_classes=num_classes)
        if target_stage not in (1, 2):
            raise ValueError("target_stage must be 1 (32x14x14) or 2 (64x7x7)")
        self.target_stage = target_stage
        self.encoder = nn.Sequential(
            nn.Conv2d(1, hidden, 5, 2, 2), GDN(hidden),
            nn.Conv2d(hidden, hidden, 5, 2, 2), GDN(hidden),
            nn.Conv2d(hidden, latent, 3, 1, 1),
        )
        self.entropy_bottleneck = EntropyBottleneck(latent)
        cout = teacher_widths[target_stage]
        up = [nn.ConvTranspose2d(2 * hidden, cout, 4, 2, 1)] if target_stage == 1 else [nn.Conv2d(2 * hidden, cout, 3, 1, 1)]
        self.decoder = nn.Sequential(
            nn.Conv2d(latent, 2 * hidden, 3, 1, 1), nn.BatchNorm2d(2 * hidden), nn.ReLU(inplace=True),
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
        """The (fine-tuned) teacher stages after ``target_stage``: features -> logits."""
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
