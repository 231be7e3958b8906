"""The bytes-and-accuracy pass computes the same thing faster: shared predictions, channels-last layout."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn


class Counting(nn.Module):
    """A tiny classifier that counts its forward calls (a layer of this test module: not a known layer)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        self.calls += 1
        return self.conv(x).view(x.shape[0], 4, -1).mean(2)  # view: needs the contiguous layout


def test_shared_predictions_compute_each_identical_input_once():
    from sc2sim.pipelines.torch_util import predict_batch, shared_predictions

    model, rng = Counting(), np.random.default_rng(0)
    a = rng.integers(0, 256, (5, 8, 8), dtype=np.uint8)
    b = a.copy()
    b[0, 0, 0] ^= 1
    with torch.no_grad():
        plain = predict_batch(model, a)
        assert model.calls == 1
        with shared_predictions():
            got = [predict_batch(model, x) for x in (a, a.copy(), b, a)]
            assert model.calls == 3  # a once, b once: an identical copy of a is not run again
            got[0][:] = -1  # callers get their own arrays
            assert np.array_equal(predict_batch(model, a), plain)
            with shared_predictions():  # nested (or another thread's pass): the same memo
                predict_batch(model, a)
            assert model.calls == 3
            predict_batch(model, b)
            assert model.calls == 3  # the outer block's memo outlives the inner one
        predict_batch(model, a)
        assert model.calls == 4  # the memo ends with the block
    assert np.array_equal(got[1], plain) and np.array_equal(got[3], plain)


def test_shared_predictions_across_threads_wait_for_the_first():
    from sc2sim.pipelines.torch_util import predict_batch, shared_predictions

    model = Counting()
    x = np.random.default_rng(1).integers(0, 256, (64, 16, 16), dtype=np.uint8)
    out: list[np.ndarray] = []
    with torch.no_grad(), shared_predictions():
        threads = [threading.Thread(target=lambda: out.append(predict_batch(model, x))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert model.calls == 1 and len(out) == 4 and all(np.array_equal(o, out[0]) for o in out)


@pytest.mark.filterwarnings("ignore:`torch.jit.trace:FutureWarning")
def test_channels_last_only_for_known_layers_and_put_back(fmnist_test):
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.quality import channels_last, channels_last_modules, quality_passes

    pipes = [build_pipeline(n) for n in ("local:teacher", "offload:png", "split:sc2?beta=0.003", "offload:learned?lmbda=0.0067")]
    mods = channels_last_modules(pipes)
    teacher = pipes[0].model
    assert sum(m is teacher for m in mods) == 1  # shared by local:teacher and offload:png, converted once
    foreign = Counting()
    pipes[0].models = lambda: {"mobile": [foreign, teacher], "edge": []}  # a user's module beside a known one
    assert foreign not in channels_last_modules(pipes[:1])
    scripted = torch.jit.trace(nn.Sequential(nn.Conv2d(1, 2, 3)), torch.zeros(1, 1, 5, 5))
    pipes[0].models = lambda: {"mobile": [scripted], "edge": []}
    assert channels_last_modules(pipes[:1]) == []  # traced code is someone else's too
    convs = [p for p in teacher.parameters() if p.dim() == 4 and p.shape[1] > 1 and p.shape[2] > 1]
    with channels_last([teacher]):
        assert convs and all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in convs)
    del pipes[0].models
    data = fmnist_test.head(300)
    fast = quality_passes(pipes, data.images, workers=2)
    plain = quality_passes(pipes, data.images, workers=1, fast_layout=False)
    for pipe, (pa, ya), (pb, yb) in zip(pipes, fast, plain):
        # the same predictions both ways (here: all 10,000 test images x 8 pipelines); another CPU's
        # float rounding might flip a near-tie, so one of 300 is allowed
        assert (ya != yb).sum() <= 1, pipe.name
        if pipe.name == "offload:png":  # the payload is the image file: no model involved
            assert pa == pb
        else:  # an encoder may round a latent the other way (learned codec: 1 of 10,000 images): a byte or two
            assert max(abs(len(a) - len(b)) for a, b in zip(pa, pb)) <= 2, pipe.name
    assert np.array_equal(fast[0][1], fast[1][1])  # lossless PNG: the teacher's own predictions
    params = [p for pipe in pipes for side in pipe.models().values() for m in side for p in m.parameters()]
    assert all(p.is_contiguous() for p in params)


def test_units_filled_one_at_a_time_then_finished_give_the_same_pass(fmnist_test):
    """The timing gate fills its waits with units of the pass (QualityPass.fill, channels-last per
    unit, modules put back); the rest finish on threads: the same bytes and predictions as one pass."""
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.quality import BATCH_IMAGES, QualityPass, quality_passes

    pipes = [build_pipeline(n) for n in ("local:teacher", "offload:png", "split:sc2?beta=0.003")]
    data = fmnist_test.head(3 * BATCH_IMAGES + 5)  # 4 batches per pipeline, 12 units
    whole = quality_passes(pipes, data.images, workers=2)
    seen = []
    with QualityPass(pipes, data.images, on_sample=seen.append) as qp:
        assert all(qp.fill() for _ in range(5))
        assert qp.filled == 5 and all(p.is_contiguous() for pipe in pipes for side in pipe.models().values()
                                      for m in side for p in m.parameters())  # put back for the timing
        parts = qp.finish(workers=2)
        assert not qp.fill()  # nothing left
    assert sum(seen) == len(pipes) * len(data)
    for (pa, ya), (pb, yb) in zip(parts, whole):
        assert pa == pb and np.array_equal(ya, yb)


def test_a_failing_unit_raises_in_the_caller(fmnist_test):
    from sc2sim.pipelines import build_pipeline
    from sc2sim.profiling.quality import QualityPass

    pipe = build_pipeline("local:light")

    def broken(images):
        raise RuntimeError("broken batch")

    pipe.mobile_batch = broken
    with QualityPass([pipe], fmnist_test.head(10).images) as qp, pytest.raises(RuntimeError, match="broken batch"):
        qp.fill()
    with QualityPass([pipe], fmnist_test.head(10).images) as qp, pytest.raises(RuntimeError, match="broken batch"):
        qp.finish(workers=2)
