"""Entropy coding of latents with compressai's ``EntropyBottleneck`` (factorized prior + rANS).

Shared by the Entropic Student (split) and the learned input codec (offload):

* during training, :func:`rate_bits` turns the bottleneck's likelihoods into the rate term (bits);
* at inference, :func:`compress_latent` / :func:`decompress_latent` produce and read back the real
  rANS bytes for one sample. The latent's shape is fixed by the model (28x28 input), so the payload
  carries no header: it is exactly the bytes that ``EntropyBottleneck.compress`` returns.
"""

from __future__ import annotations


import torch
from compressai.entropy_models import EntropyBottleneck


def rate_bits(likelihoods: torch.Tensor) -> torch.Tensor:
    """Total information content of a batch, in bits: ``sum(-log2 p)`` (divide by the batch for per-sample)."""
    return -torch.log2(likelihoods.clamp_min(1e-9)).sum()


def bpp(likelihoods: torch.Tensor, batch: int, pixels: int = 28 * 28) -> torch.Tensor:
    """Rate in bits per input pixel, averaged over the batch (the unit of the SC2 and compressai losses)."""
    return rate_bits(likelihoods) / (batch * pixels)


def expected_bytes(likelihoods: torch.Tensor) -> float:
    """The entropy model's own size estimate for one sample, in bytes."""
    return float(rate_bits(likelihoods)) / 8.0


def prepare_for_coding(eb: EntropyBottleneck) -> None:
    """Build the rANS CDF tables (call after training or loading, before compressing)."""
    eb.update(force=True)


@torch.no_grad()
def compress_latent(eb: EntropyBottleneck, y: torch.Tensor) -> bytes:
    """rANS bytes of one latent ``(1, C, H, W)``."""
    if y.shape[0] != 1:
        raise ValueError("compress_latent codes one sample at a time (batch size 1)")
    return eb.compress(y)[0]


@torch.no_grad()
def decompress_latent(eb: EntropyBottleneck, data: bytes, hw: tuple[int, int]) -> torch.Tensor:
    """The dequantised latent ``(1, C, H, W)`` decoded from ``data``."""
    return eb.decompress([data], hw)


@torch.no_grad()
def quantized_latent(eb: EntropyBottleneck, y: torch.Tensor) -> torch.Tensor:
    """What decoding must give back exactly: ``y`` rounded around the bottleneck's medians."""
    medians = eb._get_medians()
    return eb.quantize(y, "dequantize", medians)


def aux_parameters(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The bottleneck quantile parameters, trained by their own optimiser on ``aux_loss`` (compressai's recipe)."""
    return [p for n, p in module.named_parameters() if n.endswith(".quantiles")]


def main_parameters(module: torch.nn.Module) -> list[torch.nn.Parameter]:
    """Every trainable parameter except the bottleneck quantiles."""
    return [p for n, p in module.named_parameters() if not n.endswith(".quantiles") and p.requires_grad]


def aux_loss(module: torch.nn.Module) -> torch.Tensor:
    """Sum of the ``aux_loss`` of every EntropyBottleneck inside ``module``."""
    losses = [m.loss() for m in module.modules() if isinstance(m, EntropyBottleneck)]
    return sum(losses) if losses else torch.zeros(())


