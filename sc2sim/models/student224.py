"""The SC2 paper's ImageNet Entropic Student, built in torch without sc2bench (for architecture-only what-ifs).

Matsubara et al. (WACV 2022; SC2 benchmark, TMLR 2023) replace ResNet-50's ``conv1 ... layer1`` with a
factorized-prior bottleneck (sc2bench's ``splittable_resnet`` with ``FPBasedResNetBottleneck``,
``num_bottleneck_channels=24``, ``num_target_channels=256``)::

    encoder (device)  conv5x5/2 3->96, GDN1, conv5x5/2 96->48, GDN1, conv2x2/1 48->24   -> y: 24 x 55 x 55
    bottleneck        compressai EntropyBottleneck(24), rANS coded
    decoder (edge)    conv2x2 24->512 (pad 1), IGDN1, conv2x2 512->256, IGDN1, conv2x2 256->256 (pad 1)
                                                                                 -> 256 x 56 x 56 (layer1's shape)
    tail (edge)       torchvision ResNet-50 layer2, layer3, layer4, avgpool, fc  -> 1000 logits

Convolutions have no bias; GDN1 is compressai's simplified (L1) GDN. Module and parameter names
mirror sc2bench's (``bottleneck_layer.encoder.0.weight``, ``layer2.0.conv1.weight``, ``fc.weight``),
so a state_dict saved from sc2bench's model loads here and vice versa (tested when sc2bench is
installed).

How close to the paper, at 224 x 224 and batch 1, counted with torch's ``FlopCounterMode``
(multiply-add = 2 FLOPs): the encoder has **138,672** parameters (paper: 138,672, exact) and
**1.177 GFLOPs** (paper: 1.18 GFLOPs, within 0.3 %); decoder + ResNet-50 layers 2-4 + fc make
**13.77 GFLOPs** on the edge (paper: about 13.8 GFLOPs). Input: normalised RGB ``(B, 3, 224, 224)``.
"""

from __future__ import annotations

import torch
from compressai.entropy_models import EntropyBottleneck
from compressai.layers import GDN1
from torch import nn

from sc2sim.models.base import Sc2Model
from sc2sim.models.imagenet import imagenet_normalize, seeded_init


class FPBottleneck(nn.Module):
    """Encoder + EntropyBottleneck + decoder (sc2bench's ``FPBasedResNetBottleneck`` shape)."""

    def __init__(self, channels: int = 24, target: int = 256, in_channels: int = 3) -> None:
        super().__init__()
        enc = [in_channels, channels * 4, channels * 2, channels]
        dec = [channels, target * 2, target, target]
        self.encoder = nn.Sequential(
            nn.Conv2d(enc[0], enc[1], 5, 2, 2, bias=False), GDN1(enc[1]),
            nn.Conv2d(enc[1], enc[2], 5, 2, 2, bias=False), GDN1(enc[2]),
            nn.Conv2d(enc[2], enc[3], 2, 1, 0, bias=False),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(dec[0], dec[1], 2, 1, 1, bias=False), GDN1(dec[1], inverse=True),
            nn.Conv2d(dec[1], dec[2], 2, 1, 0, bias=False), GDN1(dec[2], inverse=True),
            nn.Conv2d(dec[2], dec[3], 2, 1, 1, bias=False),
        )
        self.entropy_bottleneck = EntropyBottleneck(channels)


class EntropicStudent224(Sc2Model):
    """ResNet-50 Entropic Student with the FP bottleneck (module docstring). Input in [0, 1], RGB."""

    arch_name = "entropic-student-resnet50"

    def __init__(self, channels: int = 24, num_classes: int = 1000) -> None:
        from torchvision import models

        super().__init__(channels=channels, num_classes=num_classes)

        def build() -> tuple[nn.Module, nn.Module]:
            return FPBottleneck(channels), models.resnet50(weights=None, num_classes=num_classes)

        self.bottleneck_layer, resnet = seeded_init(build)
        self.layer2, self.layer3, self.layer4 = resnet.layer2, resnet.layer3, resnet.layer4
        self.avgpool, self.fc = resnet.avgpool, resnet.fc

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return imagenet_normalize(x)

    def tail(self, h: torch.Tensor) -> torch.Tensor:
        """Edge side after the decoder: layer2-4, pooling, fc -> logits."""
        h = self.layer4(self.layer3(self.layer2(h)))
        return self.fc(torch.flatten(self.avgpool(h), 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102 - logits without entropy coding
        y_hat, _ = self.bottleneck_layer.entropy_bottleneck(self.bottleneck_layer.encoder(self.normalize(x)))
        return self.tail(self.bottleneck_layer.decoder(y_hat))
