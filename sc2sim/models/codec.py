"""Learned input codec: a factorized-prior image codec (Ballé et al., ICLR 2018, "Variational image
compression with a scale hyperprior", its *factorized prior* baseline; compressai's ``FactorizedPrior``)
sized for 28x28 grey images.

::

    g_a (device)  conv5x5/2 1->N, GDN, conv5x5/2 N->N, GDN, conv3x3/1 N->M      -> y: M x 7 x 7
    bottleneck    EntropyBottleneck(M): rounding around the medians + factorized density, rANS coded
    g_s (edge)    deconv3x3/1 M->N, IGDN, deconv5x5/2 N->N, IGDN, deconv5x5/2 N->1 -> x_hat: 1 x 28 x 28

Input is ``x`` in [0, 1] *without* normalisation (the codec reconstructs pixels); the output is not
clamped here (the pipeline clamps and rounds to uint8). The model has no classifier stages.
"""

from __future__ import annotations


import torch
from compressai.entropy_models import EntropyBottleneck
from compressai.layers import GDN
from torch import nn

from sc2sim.models.base import Sc2Model, register_model

# rANS tables of the bottleneck: buffers whose size depends on the trained density (see load_state_dict)


@register_model("codec")
class FactorizedPriorCodec(Sc2Model):
    """Factorized-prior autoencoder (see module docstring); ``forward`` returns ``x_hat`` and likelihoods."""

    def __init__(self, N: int = 32, M: int = 16) -> None:  # noqa: N803 - the paper's names
        super().__init__(N=N, M=M)
        self.N, self.M = N, M
        self.g_a = nn.Sequential(
            nn.Conv2d(1, N, 5, 2, 2), GDN(N),
            nn.Conv2d(N, N, 5, 2, 2), GDN(N),
            nn.Conv2d(N, M, 3, 1, 1),
        )
        self.g_s = nn.Sequential(
            nn.ConvTranspose2d(M, N, 3, 1, 1), GDN(N, inverse=True),
            nn.ConvTranspose2d(N, N, 5, 2, 2, output_padding=1), GDN(N, inverse=True),
            nn.ConvTranspose2d(N, 1, 5, 2, 2, output_padding=1),
        )
        self.entropy_bottleneck = EntropyBottleneck(M)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        """``x`` in [0, 1] -> ``{"x_hat", "likelihoods", "y"}`` (noise in train mode, rounding in eval)."""
        y = self.g_a(x)
        y_hat, likelihoods = self.entropy_bottleneck(y)
        return {"x_hat": self.g_s(y_hat), "likelihoods": likelihoods, "y": y}

    def latent_hw(self, size: int = 28) -> tuple[int, int]:
        """Spatial size of the latent for a ``size x size`` input (7 x 7 at 28)."""
        s = size
        for _ in range(2):
            s = (s + 2 * 2 - 5) // 2 + 1
        return s, s

    def mobile_modules(self) -> list[nn.Module]:
        """Modules that run on the device: the analysis transform and the bottleneck (its CDF tables)."""
        return [self.g_a, self.entropy_bottleneck]

    def edge_modules(self) -> list[nn.Module]:
        """Modules that run on the edge server: the synthesis transform (the bottleneck's tables are shared)."""
        return [self.g_s]

