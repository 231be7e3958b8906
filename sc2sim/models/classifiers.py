"""Classifiers trained on Fashion-MNIST: the ResNet-style teacher and the light mobile model.

Teacher (``teacher``): a CIFAR-style ResNet cut into named stages, so split pipelines can cut it at
any stage boundary::

    stem    conv3x3 1->c0, BN, ReLU                    -> c0 x 28 x 28
    stage1  BasicBlock c0->c1, stride 2                -> c1 x 14 x 14
    stage2  BasicBlock c1->c2, stride 2                -> c2 x  7 x  7
    stage3  BasicBlock c2->c3, stride 2                -> c3 x  4 x  4
    head    global average pool, linear c3->10         -> logits

Light (``light``): two convolutions and a small MLP, sized to run whole on a mobile CPU at a small
fraction of the teacher's FLOPs.
"""

from __future__ import annotations

import torch
from torch import nn

from sc2sim.models.base import Sc2Model, register_model


class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016): two 3x3 convs with a (projected) identity shortcut."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Identity()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.short(x))


@register_model("teacher")
class ResNetTeacher(Sc2Model):
    """ResNet-style teacher with stages ``stem, stage1, stage2, stage3, head`` (see module docstring)."""

    def __init__(self, widths: tuple[int, int, int, int] | list[int] = (16, 32, 64, 128), num_classes: int = 10) -> None:
        widths = list(widths)
        super().__init__(widths=widths, num_classes=num_classes)
        c0, c1, c2, c3 = widths
        self.stages["stem"] = nn.Sequential(nn.Conv2d(1, c0, 3, 1, 1, bias=False), nn.BatchNorm2d(c0), nn.ReLU(inplace=True))
        self.stages["stage1"] = BasicBlock(c0, c1, 2)
        self.stages["stage2"] = BasicBlock(c1, c2, 2)
        self.stages["stage3"] = BasicBlock(c2, c3, 2)
        self.stages["head"] = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, num_classes))


@register_model("light")
class LightCNN(Sc2Model):
    """A small CNN for whole-model inference on a mobile CPU: conv-pool, conv-pool, MLP."""

    def __init__(self, c1: int = 16, c2: int = 32, hidden: int = 128, num_classes: int = 10, dropout: float = 0.3) -> None:
        super().__init__(c1=c1, c2=c2, hidden=hidden, num_classes=num_classes, dropout=dropout)
        self.stages["conv1"] = nn.Sequential(nn.Conv2d(1, c1, 3, 1, 1), nn.BatchNorm2d(c1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.stages["conv2"] = nn.Sequential(nn.Conv2d(c1, c2, 3, 1, 1), nn.BatchNorm2d(c2), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.stages["head"] = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )
