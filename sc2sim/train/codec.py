"""Training of the learned input codec (``codec-lmbda<L>``, pipeline ``offload:learned?lmbda=L``).

Recipe (compressai's ``examples/train.py`` convention): loss = bpp + lmbda * 255^2 * MSE with ``x`` in
[0, 1]; Adam (lr 1e-3, cosine decay) on every parameter but the bottleneck quantiles, and a second Adam
(lr 1e-3) on the quantiles minimising the bottleneck's aux loss; gradient norm clipped at 1. Data: the
60k Fashion-MNIST training images with random +-2 px translation and horizontal flips.

After training the rANS tables are built (``prepare_for_coding``) and the codec is evaluated on the
10k test images for real: every image is coded to bytes, decoded, clamped and rounded to uint8, and the
bundled teacher classifies the decoded images.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from sc2sim.data import ImageSet, load_fashion_mnist
from sc2sim.models import build_model, load_bundled, read_card, save_bundle
from sc2sim.models.codec import FactorizedPriorCodec
from sc2sim.models.entropy import aux_parameters, bpp, main_parameters, prepare_for_coding
from sc2sim.train.common import augment, aux_step, batches, optimizer_step, predict, progress_bar, seed_everything, to_tensors


@dataclass
class CodecRecipe:
    """Hyper-parameters of :func:`train_codec` (recorded in the model card)."""

    lmbda: float = 0.01
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    aux_lr: float = 1e-3
    min_lr_ratio: float = 0.05  # cosine decay from lr to lr * min_lr_ratio
    clip_max_norm: float = 1.0
    augment: bool = True
    N: int = 32  # noqa: N815
    M: int = 16  # noqa: N815
    seed: int = 0
    max_steps: int | None = None  # stop early (tests train for a few steps)


def rd_loss(out: dict[str, torch.Tensor], x: torch.Tensor, lmbda: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(loss, bpp, mse)`` with loss = bpp + lmbda * 255^2 * mse (compressai's RateDistortionLoss)."""
    rate = bpp(out["likelihoods"], x.shape[0], x.shape[-2] * x.shape[-1])
    mse = torch.nn.functional.mse_loss(out["x_hat"], x)
    return rate + lmbda * 255**2 * mse, rate, mse


def train_codec(model: FactorizedPriorCodec, train: ImageSet, recipe: CodecRecipe, progress: bool = True) -> dict[str, Any]:
    """Train ``model`` in place; return per-step losses (rate-distortion, bpp, mse, aux) and the wall time."""
    gen = seed_everything(recipe.seed)
    x, _ = to_tensors(train)
    steps_per_epoch = (len(x) + recipe.batch_size - 1) // recipe.batch_size
    total = steps_per_epoch * recipe.epochs
    if recipe.max_steps is not None:
        total = min(total, recipe.max_steps)
    opt = torch.optim.Adam(main_parameters(model), lr=recipe.lr)
    aux_opt = torch.optim.Adam(aux_parameters(model), lr=recipe.aux_lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total, 1), eta_min=recipe.lr * recipe.min_lr_ratio)
    log: dict[str, Any] = {"losses": [], "bpp": [], "mse": [], "aux": []}
    t0 = time.perf_counter()
    model.train()
    with progress_bar(f"train codec lmbda={recipe.lmbda:g}", total, progress) as bar:
        step = 0
        while step < total:
            for idx in batches(len(x), recipe.batch_size, gen):
                if step >= total:
                    break
                xb = augment(x[idx], gen) if recipe.augment else x[idx]
                out = model(xb)
                loss, rate, mse = rd_loss(out, xb, recipe.lmbda)
                optimizer_step(loss, opt, sched, main_parameters(model), recipe.clip_max_norm)
                aux = aux_step(model, aux_opt)
                log["losses"].append(loss.item())
                log["bpp"].append(rate.item())
                log["mse"].append(mse.item())
                log["aux"].append(aux)
                step += 1
                psnr = 10 * math.log10(1.0 / max(mse.item(), 1e-10))
                bar.update(0, advance=1, info=f"epoch {1 + step // steps_per_epoch} loss {loss.item():.3f} "
                                              f"{rate.item():.3f} bpp {psnr:.1f} dB")
    model.eval()
    log["train_seconds"] = time.perf_counter() - t0
    log["steps"] = step
    return log


@torch.no_grad()
def code_images(model: FactorizedPriorCodec, x: torch.Tensor, batch_size: int = 500) -> tuple[np.ndarray, torch.Tensor]:
    """Really code every image of ``x`` (float ``(N, 1, 28, 28)`` in [0, 1]) to rANS bytes and back.

    Returns the per-image byte counts and the decoded images as uint8 ``(N, 28, 28)`` (clamped, rounded),
    exactly what ``offload:learned`` sends and reconstructs. Needs ``prepare_for_coding`` first.
    """
    model.eval()
    eb = model.entropy_bottleneck
    hw = model.latent_hw(x.shape[-1])
    sizes, decoded = [], []
    for i in range(0, len(x), batch_size):
        y = model.g_a(x[i : i + batch_size])
        strings = eb.compress(y)
        sizes.extend(len(s) for s in strings)
        y_hat = eb.decompress(strings, hw)
        decoded.append(to_uint8(model.g_s(y_hat))[:, 0])
    return np.asarray(sizes), torch.cat(decoded)


def to_uint8(x_hat: torch.Tensor) -> torch.Tensor:
    """Decoder output -> uint8 pixels: clamp to [0, 1], scale by 255, round (what the edge reconstructs)."""
    return x_hat.clamp(0.0, 1.0).mul(255.0).round().to(torch.uint8)


def evaluate_codec(model: FactorizedPriorCodec, test: ImageSet, teacher: torch.nn.Module) -> dict[str, Any]:
    """Real coding on ``test``: mean bytes, PSNR of the uint8 reconstructions, teacher accuracy on them."""
    x, labels = to_tensors(test)
    sizes, dec = code_images(model, x)
    orig = torch.from_numpy(np.ascontiguousarray(test.images)).float()
    mse = (dec.float() - orig).pow(2).flatten(1).mean(1)  # per image, 0-255 scale
    psnr = 10 * torch.log10(255.0**2 / mse.clamp_min(1e-10))
    with torch.no_grad():
        out = model(x[:1000])  # eval mode: the entropy model's own size estimate, for reference
        est = float(-torch.log2(out["likelihoods"].clamp_min(1e-9)).sum()) / 8 / len(out["likelihoods"])
    acc = float((predict(teacher, dec.float().div(255.0).unsqueeze(1)) == labels).float().mean())
    return {
        "mean_bytes": float(sizes.mean()),
        "p95_bytes": float(np.percentile(sizes, 95)),
        "estimated_mean_bytes_first1000": est,
        "psnr_db": float(psnr.mean()),
        "psnr_db_of_mean_mse": float(10 * torch.log10(255.0**2 / mse.mean())),
        "bpp": float(sizes.mean() * 8 / (28 * 28)),
        "teacher_accuracy_on_decoded": acc,
        "test_samples": len(test),
    }


def codec_card(model: FactorizedPriorCodec, recipe: CodecRecipe, train: ImageSet, test: ImageSet,
               log: dict[str, Any], metrics: dict[str, Any]) -> dict[str, Any]:
    """The model card of a trained codec: recipe, data, test metrics, FLOPs and params per side."""
    from sc2sim.profiling.flops import count_flops

    x0 = torch.zeros(1, 1, 28, 28)
    y0 = torch.zeros(1, model.M, *model.latent_hw())
    teacher_card = read_card("teacher")
    ga_flops = count_flops(lambda: model.g_a(x0))
    gs_flops = count_flops(lambda: model.g_s(y0))
    return {
        "task": "learned input compression (factorized prior)",
        "recipe": asdict(recipe),
        "data": {"train": train.name, "test": test.name, "train_samples": len(train), "test_samples": len(test)},
        "test": metrics,
        **{k: metrics[k] for k in ("mean_bytes", "psnr_db", "teacher_accuracy_on_decoded")},
        "teacher": {"weights_sha256": teacher_card["weights_sha256"],
                    "test_accuracy_on_original": teacher_card.get("test_accuracy")},
        "flops": ga_flops + gs_flops,
        "encoder_flops": ga_flops,
        "decoder_flops": gs_flops,
        "params": model.n_params(),
        "encoder_params": sum(p.numel() for m in model.mobile_modules() for p in m.parameters()),
        "decoder_params": sum(p.numel() for p in model.g_s.parameters()),
        "final_train_loss": float(np.mean(log["losses"][-50:])) if log["losses"] else None,
        "train_steps": log["steps"],
        "train_seconds": round(log["train_seconds"], 1),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def train_codec_command(lmbda: float, *, epochs: int | None, seed: int, out: Path | None, data_dir: str | None,
                        max_steps: int | None, N: int | None = None, M: int | None = None,  # noqa: N803
                        test_samples: int | None = None, progress: bool = True) -> Path:
    """``sc2sim train codec --lmbda L``: train, code the test set for real, bundle as ``codec-lmbda<L>``.

    ``N``, ``M`` and ``test_samples`` (evaluate on the first n test images) exist for quick tests.
    """
    if lmbda <= 0:
        from sc2sim.errors import ConfigError

        raise ConfigError(f"train codec: --lmbda {lmbda:g} — must be a positive number (e.g. 0.0067)")
    teacher = load_bundled("teacher")  # fail before training when the teacher is missing
    recipe = CodecRecipe(lmbda=lmbda, seed=seed, max_steps=max_steps)
    if epochs:
        recipe.epochs = epochs
    if N:
        recipe.N = N
    if M:
        recipe.M = M
    train, test = load_fashion_mnist("train", data_dir), load_fashion_mnist("test", data_dir)
    test = test.head(test_samples)
    torch.manual_seed(seed)
    model = build_model("codec", N=recipe.N, M=recipe.M)
    log = train_codec(model, train, recipe, progress)
    prepare_for_coding(model.entropy_bottleneck)
    metrics = evaluate_codec(model, test, teacher)
    card = codec_card(model, recipe, train, test, log, metrics)
    name = f"codec-lmbda{lmbda:g}"
    path = save_bundle(name, model, card, out)
    Console().print(f"[bold]{name}[/]: mean {metrics['mean_bytes']:.1f} B ({metrics['bpp']:.3f} bpp), "
                    f"PSNR {metrics['psnr_db']:.2f} dB, teacher accuracy on decoded {metrics['teacher_accuracy_on_decoded'] * 100:.2f} % "
                    f"on {len(test)} images, encoder {card['encoder_flops'] / 1e6:.2f} MFLOPs, "
                    f"{card['params']:,} params, {card['train_seconds']:.0f} s -> {path}")
    return path
