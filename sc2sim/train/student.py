"""Two-stage training of the Entropic Student, as in the SC2 paper (Matsubara et al.).

Stage 1 (feature matching + rate): the encoder, bottleneck and decoder learn to reproduce the frozen
teacher's features at ``target_stage``: ``loss = MSE(decoder(y~), teacher_features) + beta * bpp``,
where ``y~`` is the noisy latent and ``bpp`` the bits per input pixel from the bottleneck's
likelihoods. The bottleneck's quantiles train on compressai's aux loss with their own optimiser.

Stage 2, one of (``StudentRecipe.stage2``):

* ``kd`` (the SC2 paper's recipe): encoder and bottleneck are frozen; the decoder and the tail (the
  teacher's remaining stages, initialised from it) are fine-tuned on rounded latents with
  ``alpha * T^2 * KL(student/T || teacher/T) + (1 - alpha) * CE(labels)``;
* ``e2e``: the same distillation loss plus ``beta * bpp``, with *every* part trainable (encoder,
  bottleneck, decoder, tail). The rate term uses the noisy latent's likelihoods; the decoder sees the
  rounded latent through a straight-through estimator (Minnen & Singh, ICIP 2020), so it trains on
  what the edge decodes. Stage 1 then runs at ``stage1_beta`` as a warm start and ``beta`` sets the rate;
* ``none`` (FrankenSplit, Furutanpey et al. 2024): no stage 2; the tail stays the frozen teacher's.

``init`` names a bundled student to start from instead (``arch=e2e``): its own recipe is stages 1-2
(``make weights`` builds it first), stage 1 is skipped and stage 2 continues it, so ``e2e`` there is a
third, end-to-end stage on top of the SC2 recipe.

``saliency=True`` weights stage 1's distortion by the teacher's XGradCAM map at the target layer
(Fu et al., BMVC 2020; FrankenSplit's saliency-guided distortion), normalised to mean 1 per image.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console

from sc2sim.data import ImageSet, load_fashion_mnist
from sc2sim.errors import ConfigError
from sc2sim.models import build_model, load_bundled, read_card, save_bundle
from sc2sim.models.entropy import aux_parameters, bpp, compress_latent, main_parameters, prepare_for_coding
from sc2sim.models.student import EntropicStudent
from sc2sim.train.common import augment, aux_step, batches, optimizer_step, progress_bar, seed_everything, to_tensors


STAGE2_MODES = ("kd", "e2e", "none")

# arch (split:sc2?arch=A) -> (model hyper-parameters, recipe settings); see sc2sim.pipelines.student_archs
ARCHS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "gdn": ({}, {}),
    "res": ({"encoder": "res", "hidden": 24, "width": 48, "latent": 16},
            {"stage2": "e2e", "stage1_beta": 0.001, "stage1_epochs": 1, "stage2_epochs": 2}),
    "franken": ({"encoder": "res", "hidden": 24, "width": 48, "latent": 16},
                {"stage2": "none", "saliency": True, "stage1_epochs": 2}),
    # the bundled SC2 student of beta 0.003 (its stages 1-2), then 18 end-to-end epochs at rate weight beta
    # (KD + CE + beta x bpp, STE rounding, cosine LR from 1e-3); BENCHMARKS.md section 2 has the ablation
    "e2e": ({}, {"init": "student-beta0.003", "stage2": "e2e", "stage2_epochs": 18}),
}


@dataclass
class StudentRecipe:
    """Hyper-parameters of the two-stage recipe (recorded in the model card)."""

    beta: float = 0.08
    stage1_epochs: int = 5
    stage2_epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    kd_alpha: float = 0.5
    kd_temperature: float = 4.0
    seed: int = 0
    max_steps: int | None = None  # per stage (tests)
    stage2: str = "kd"  # kd | e2e | none (see the module docstring)
    stage1_beta: float | None = None  # rate weight of stage 1 (None: beta)
    saliency: bool = False  # XGradCAM-weighted stage-1 distortion (FrankenSplit)
    init: str | None = None  # a bundled student to start from: stage 1 skipped, stage 2 continues it

    def __post_init__(self) -> None:
        if self.stage2 not in STAGE2_MODES:
            raise ValueError(f"stage2 must be one of {STAGE2_MODES}, got {self.stage2!r}")


def _steps(n: int, epochs: int, recipe: StudentRecipe) -> int:
    total = ((n + recipe.batch_size - 1) // recipe.batch_size) * epochs
    return min(total, recipe.max_steps) if recipe.max_steps is not None else total


def _loop(n: int, steps: int, recipe: StudentRecipe, gen: torch.Generator):
    done = 0
    while done < steps:
        for idx in batches(n, recipe.batch_size, gen):
            if done >= steps:
                return
            yield done, idx
            done += 1


def xgradcam(teacher: torch.nn.Module, x: torch.Tensor, k: int, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The teacher's features at boundary ``k`` and their XGradCAM saliency ``(B, 1, H, W)`` for ``labels``.

    XGradCAM (Fu et al., BMVC 2020): channel weights ``w_c = sum(A_c * dS/dA_c) / sum(A_c)``, map
    ``relu(sum_c w_c A_c)``; normalised to mean 1 per image, plus 1 so no position gets zero weight.
    """
    with torch.enable_grad():
        feats = teacher.forward_to(x, k).detach().requires_grad_(True)
        score = teacher.forward_from(feats, k).gather(1, labels[:, None]).sum()
        (grad,) = torch.autograd.grad(score, feats)
    with torch.no_grad():
        w = (feats * grad).sum((2, 3), keepdim=True) / (feats.sum((2, 3), keepdim=True) + 1e-6)
        cam = torch.relu((w * feats).sum(1, keepdim=True))
        cam = cam / cam.mean((2, 3), keepdim=True).clamp_min(1e-12)  # an all-zero map stays zero
    return feats.detach(), cam + 1.0


def train_stage1(student: EntropicStudent, teacher: torch.nn.Module, x: torch.Tensor, recipe: StudentRecipe,
                 gen: torch.Generator, progress: bool = True, y: torch.Tensor | None = None) -> list[float]:
    """Feature matching + beta x rate (saliency-weighted if ``recipe.saliency``, which needs labels ``y``).
    Returns the per-step total losses."""
    beta = recipe.beta if recipe.stage1_beta is None else recipe.stage1_beta
    params = [p for m in (student.encoder, student.decoder) for p in m.parameters()]
    params += [p for n, p in student.entropy_bottleneck.named_parameters() if not n.endswith("quantiles")]
    opt = torch.optim.Adam(params, lr=recipe.lr)
    aux_opt = torch.optim.Adam(aux_parameters(student), lr=recipe.lr)
    steps = _steps(len(x), recipe.stage1_epochs, recipe)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    student.train()
    teacher.eval()
    teacher.requires_grad_(False)
    losses = []
    with progress_bar(f"student beta={recipe.beta:g} stage 1", steps, progress) as bar:
        for _, idx in _loop(len(x), steps, recipe, gen):
            xb = augment(x[idx], gen)
            if recipe.saliency:
                if y is None:
                    raise ValueError("saliency-weighted stage 1 needs the labels")
                target, weight = xgradcam(teacher, xb, student.target_stage, y[idx])
            else:
                with torch.no_grad():
                    target, weight = teacher.forward_to(xb, student.target_stage), None
            y_hat, lik = student.entropy_bottleneck(student.encode_latent(xb))
            err = (student.decode_features(y_hat) - target) ** 2
            mse = (err * weight).mean() if weight is not None else err.mean()
            rate = bpp(lik, len(idx))
            loss = mse + beta * rate
            optimizer_step(loss, opt, sched)
            aux_step(student, aux_opt)
            losses.append(loss.item())
            bar.update(0, advance=1, info=f"mse {mse.item():.3f} bpp {rate.item():.3f}")
    return losses


def _ste_rounded(student: EntropicStudent, y: torch.Tensor) -> torch.Tensor:
    """``y`` rounded around the bottleneck's medians (what the edge decodes), with a straight-through gradient."""
    medians = student.entropy_bottleneck._get_medians().detach()
    return y + (torch.round(y - medians) + medians - y).detach()  # equal to the rounded latent up to one float ulp


def _kd_loss(logits: torch.Tensor, t_logits: torch.Tensor, labels: torch.Tensor, recipe: StudentRecipe) -> torch.Tensor:
    T, a = recipe.kd_temperature, recipe.kd_alpha
    kd = F.kl_div(F.log_softmax(logits / T, 1), F.softmax(t_logits / T, 1), reduction="batchmean") * T * T
    return a * kd + (1 - a) * F.cross_entropy(logits, labels)


def train_stage2(student: EntropicStudent, teacher: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                 recipe: StudentRecipe, gen: torch.Generator, progress: bool = True) -> list[float]:
    """Knowledge distillation: of decoder + tail with the encoder and bottleneck frozen (``kd``), or of
    everything with the rate term (``e2e``); nothing for ``none``."""
    if recipe.stage2 == "none":
        student.eval()
        return []
    e2e = recipe.stage2 == "e2e"
    if e2e:
        params = main_parameters(student)
        aux_opt = torch.optim.Adam(aux_parameters(student), lr=recipe.lr)
        student.train()
    else:
        for m in (student.encoder, student.entropy_bottleneck):
            m.requires_grad_(False)
            m.eval()
        params = list(student.decoder.parameters()) + list(student.stages.parameters())
        student.decoder.train()
        student.stages.train()
    opt = torch.optim.Adam(params, lr=recipe.lr)
    steps = _steps(len(x), recipe.stage2_epochs, recipe)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1))
    teacher.eval()
    losses = []
    with progress_bar(f"student beta={recipe.beta:g} stage 2 ({recipe.stage2})", steps, progress) as bar:
        for _, idx in _loop(len(x), steps, recipe, gen):
            xb = augment(x[idx], gen)
            with torch.no_grad():
                t_logits = teacher(xb)
            if e2e:
                lat = student.encode_latent(xb)
                _, lik = student.entropy_bottleneck(lat)  # train mode: noisy latent for the rate
                logits = student.tail(student.decode_features(_ste_rounded(student, lat)))
                rate = bpp(lik, len(idx))
                loss = _kd_loss(logits, t_logits, y[idx], recipe) + recipe.beta * rate
            else:
                with torch.no_grad():
                    y_hat, _ = student.entropy_bottleneck(student.encode_latent(xb))  # eval mode: rounded
                logits = student.tail(student.decode_features(y_hat))
                loss = _kd_loss(logits, t_logits, y[idx], recipe)
            optimizer_step(loss, opt, sched)
            if e2e:
                aux_step(student, aux_opt)
            losses.append(loss.item())
            bar.update(0, advance=1, info=f"loss {loss.item():.3f}" + (f" bpp {rate.item():.3f}" if e2e else ""))
    student.requires_grad_(True)
    student.eval()
    return losses


@torch.no_grad()
def evaluate_student(student: EntropicStudent, test: ImageSet, coded_samples: int = 1000) -> dict[str, float]:
    """Test accuracy on rounded latents (all samples) and mean real rANS bytes (first ``coded_samples``)."""
    student.eval()
    prepare_for_coding(student.entropy_bottleneck)
    x, y = to_tensors(test)
    correct, est_bits = 0, 0.0
    for i in range(0, len(x), 500):
        out = student(x[i : i + 500])
        correct += int((out["logits"].argmax(1) == y[i : i + 500]).sum())
        est_bits += float(-torch.log2(out["likelihoods"]).sum())
    m = min(coded_samples, len(x))
    real = sum(len(compress_latent(student.entropy_bottleneck, student.encode_latent(x[i : i + 1]))) for i in range(m))
    return {"test_accuracy": correct / len(x), "mean_bytes": real / m, "estimated_mean_bytes": est_bits / 8 / len(x)}


def train_student(beta: float, train: ImageSet, teacher: torch.nn.Module, recipe: StudentRecipe | None = None,
                  progress: bool = True, **arch: Any) -> tuple[EntropicStudent, dict[str, Any]]:
    """Build a student for ``teacher`` (or copy the bundled ``recipe.init``) and run its stages; returns
    the model and a log."""
    recipe = recipe or StudentRecipe(beta=beta)
    gen = seed_everything(recipe.seed)
    if recipe.init:
        student = copy.deepcopy(load_bundled(recipe.init))  # the loader's cache must stay untouched
        if arch:
            raise ValueError("a student that starts from `init` takes its architecture from that bundle")
    else:
        student = build_model("student", teacher_widths=teacher.hparams.get("widths", [16, 32, 64, 128]), **arch)
        student.load_teacher_tail(teacher)
    x, y = to_tensors(train)
    t0 = time.perf_counter()
    l1 = [] if recipe.init else train_stage1(student, teacher, x, recipe, gen, progress, y)
    l2 = train_stage2(student, teacher, x, y, recipe, gen, progress)
    return student, {"stage1_losses": l1, "stage2_losses": l2, "train_seconds": time.perf_counter() - t0}


def train_student_command(beta: float, *, epochs: int | None, seed: int, out: Path | None, data_dir: str | None,
                          max_steps: int | None, arch: str = "gdn") -> None:
    """``sc2sim train student --arch A --beta B``: train, evaluate, and bundle as ``student[-A]-beta<B>``."""
    if arch not in ARCHS:
        raise ConfigError(f"train student: --arch {arch!r} — allowed: {', '.join(ARCHS)}")
    hparams, settings = ARCHS[arch]
    recipe = StudentRecipe(beta=beta, seed=seed, max_steps=max_steps, **settings)
    if epochs:
        recipe.stage1_epochs = recipe.stage2_epochs = epochs
    if recipe.init:
        recipe.stage1_epochs = 0  # the start point's own recipe ran stage 1 (and its card says so)
        read_card(recipe.init)  # a missing start point is a one-line error before the data loads
    train = load_fashion_mnist("train", data_dir)
    student, log = train_student(beta, train, load_bundled("teacher"), recipe, **hparams)
    bundle_student(student, recipe, arch, log["train_seconds"], out, data_dir)


def bundle_student(student: EntropicStudent, recipe: StudentRecipe, arch: str, train_seconds: float,
                   out: Path | None = None, data_dir: str | None = None, *, coded_samples: int = 1000,
                   teacher_card: dict[str, Any] | None = None) -> Path:
    """Evaluate a trained student on the whole test set and save it with its model card as ``student[-A]-beta<B>``.

    ``coded_samples``: how many test images get real rANS bitstreams for ``mean_bytes``; ``teacher_card``
    replaces the card's ``teacher`` entry (default: the bundled teacher's sha256), e.g. for an ensemble."""
    from sc2sim.pipelines.student_archs import student_prefix
    from sc2sim.profiling.flops import count_flops

    train, test = load_fashion_mnist("train", data_dir), load_fashion_mnist("test", data_dir)
    metrics = evaluate_student(student, test, coded_samples=coded_samples)
    x0 = torch.zeros(1, 1, 28, 28)
    card = {
        "task": f"split computing (Entropic Student, arch {arch})", "recipe": asdict(recipe),
        "data": {"train": train.name, "test": test.name, "train_samples": len(train), "test_samples": len(test)},
        **metrics, "coded_samples": min(coded_samples, len(test)),
        "encoder_flops": count_flops(lambda: student.encode_latent(x0)),
        "edge_flops": count_flops(lambda: student.tail(student.decode_features(student.encode_latent(x0)))),
        "encoder_params": sum(p.numel() for m in student.mobile_modules() for p in m.parameters()),
        "params": student.n_params(),
        "teacher": teacher_card or {"weights_sha256": read_card("teacher")["weights_sha256"]},
        **({"init": {"name": recipe.init, "weights_sha256": read_card(recipe.init)["weights_sha256"]}} if recipe.init else {}),
        "train_seconds": round(train_seconds, 1), "torch": torch.__version__, "threads": torch.get_num_threads(),
    }
    name = f"{student_prefix(arch)}{recipe.beta:g}"
    path = save_bundle(name, student, card, out)
    Console().print(f"[bold]{name}[/]: test accuracy {metrics['test_accuracy'] * 100:.2f} %, mean {metrics['mean_bytes']:.1f} B "
                    f"(estimate {metrics['estimated_mean_bytes']:.1f} B), encoder {card['encoder_flops'] / 1e6:.2f} MFLOPs, "
                    f"{card['train_seconds']:.0f} s -> {path}")
    return path
