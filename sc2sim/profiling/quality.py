"""The bytes-and-accuracy pass: every pipeline on every sample, in batches, untimed.

:func:`quality_passes` runs :meth:`Pipeline.mobile_batch` and :meth:`Pipeline.edge_batch` over the
samples, so ``payload_bytes``, ``pred`` and ``correct`` are measured on each one from real bytes the
edge decodes. Nothing here is timed (:mod:`sc2sim.profiling.measure` times batch-1 runs separately),
so the pass is free to run the same computation as fast as this host allows:

* **Side by side.** One worker thread per core, each with one torch intra-op thread; aten releases
  the GIL, so batches of different pipelines run on the cores at once (1.76x against 1.30x for
  intra-op threads on 2 cores, BENCHMARKS.md section 5).
* **Channels-last convolutions.** The torch modules of the pipelines (:meth:`Pipeline.models`) are
  held in the channels-last memory format during the pass and put back after: oneDNN's convolutions
  ran the 28x28 teacher's batches 0.77-0.81x as long that way on this host, with the same
  predictions on all 10,000 test images (largest logit difference 2e-6). Only modules built wholly
  from torch, torchvision, compressai and sc2sim layers are converted; a module of other code (a
  model a user brings) may assume the contiguous layout (``Tensor.view``), so it is left as it is.
* **Shared predictions.** Pipelines that feed a shared model identical input (``local:teacher`` and
  the lossless ``offload:png``) compute it once (:func:`~sc2sim.pipelines.torch_util.shared_predictions`).

Batched and batch-1 convolutions may round the last float bit differently; the timing rounds record
their own payload length and prediction (``batch1_payload_bytes``, ``batch1_pred``), so any
difference is measured, not hidden.
"""

from __future__ import annotations

import contextlib
import os
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np
import torch

from sc2sim.pipelines.base import Pipeline
from sc2sim.pipelines.torch_util import shared_predictions

PIXELS_PER_BATCH = 4_000_000  # input values per batch in the bytes-and-accuracy pass at most (26 images of
# 224x224x3: bounded memory for large models)
BATCH_IMAGES = 128
"""Images per batch in the bytes-and-accuracy pass at most: 128 28x28 images ran 10-15 % faster per
image than 250 on this host (the activations stay in the 1 MiB L2; teacher, learned codec and
Entropic Student pipelines, one thread); 64 was 4 % faster for the teacher and 3-11 % slower for
the other two."""
KNOWN_LAYERS = ("torch.", "torchvision.", "compressai.", "sc2sim.")
"""Packages whose layers are known to work in the channels-last memory format..."""
FOREIGN_CODE = ("torch.jit", "torch.fx")
"""...except scripted or traced modules, whose code is someone else's (it may call ``Tensor.view``)."""


def _batches(images: np.ndarray) -> list[slice]:
    per_image = int(np.prod(images.shape[1:])) or 1
    size = max(1, min(BATCH_IMAGES, PIXELS_PER_BATCH // per_image))
    return [slice(i, i + size) for i in range(0, len(images), size)]


def _run_batch(pipe: Pipeline, images: np.ndarray) -> tuple[list[bytes], np.ndarray]:
    with torch.no_grad():
        payloads = pipe.mobile_batch(images)
        return payloads, np.asarray(pipe.edge_batch(payloads), np.int64)


def channels_last_modules(pipes: list[Pipeline]) -> list[torch.nn.Module]:
    """The distinct torch modules of ``pipes`` that hold convolution weights and are built wholly
    from :data:`KNOWN_LAYERS` (each module once, however many pipelines share it)."""
    seen: dict[int, torch.nn.Module] = {}
    for pipe in pipes:
        for side in pipe.models().values():
            for m in side:
                if not isinstance(m, torch.nn.Module) or id(m) in seen:
                    continue
                known = all(type(s).__module__.startswith(KNOWN_LAYERS) and not type(s).__module__.startswith(FOREIGN_CODE)
                            for s in m.modules())
                if known and any(p.dim() == 4 for p in m.parameters()):
                    seen[id(m)] = m
    return list(seen.values())


@contextmanager
def channels_last(modules: list[torch.nn.Module]) -> Iterator[None]:
    """Hold ``modules``' 4-D weights in the channels-last memory format for the block; back after."""
    for m in modules:
        m.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        for m in modules:
            m.to(memory_format=torch.contiguous_format)


class QualityPass:
    """The bytes-and-accuracy pass as units of work (one pipeline x one batch), to run now or later.

    :meth:`fill` runs one unit in the calling thread: the timing gate
    (:mod:`sc2sim.profiling.fast_state`) calls it while it waits for the host's fast state, so the
    slow stretches do work that has to be done anyway. :meth:`finish` runs the units left on
    ``workers`` threads and returns every pipeline's payloads and predictions. A pipeline is never
    used by two threads at once; the next unit is a batch of the free pipeline with the most batches
    left, so all pipelines finish at about the same time. With ``fast_layout`` a unit's known modules
    are held in channels-last format while it runs (per unit in :meth:`fill`, which leaves the
    modules as it found them for the timing; for the whole of :meth:`finish`). Use it as a context
    manager: predictions are shared (:func:`shared_predictions`) until the block ends.
    """

    def __init__(self, pipes: list[Pipeline], images: np.ndarray, on_sample: Callable[[int], None] | None = None,
                 fast_layout: bool = True) -> None:
        self.pipes, self.images, self.on_sample, self.fast_layout = pipes, images, on_sample, fast_layout
        self.spans = _batches(images)
        self.out: list[list] = [[None] * len(self.spans) for _ in pipes]
        self.left = [list(range(len(self.spans))) for _ in pipes]
        self.busy = [False] * len(pipes)
        self.cond = threading.Condition()
        self.errors: list[BaseException] = []
        self.filled = 0
        self._shared: contextlib.ExitStack | None = None

    def __enter__(self) -> "QualityPass":
        self._shared = contextlib.ExitStack()
        self._shared.enter_context(shared_predictions())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._shared is not None:
            self._shared.close()
            self._shared = None

    def _take(self, wait: bool) -> tuple[int, int] | None:
        """The next (pipeline, batch) to run, marked busy; None when none is left (or, with ``wait``
        False, none is free now)."""
        with self.cond:
            while True:
                free = [i for i, rest in enumerate(self.left) if rest and not self.busy[i]]
                if self.errors or not any(self.left) or free or not wait:
                    break
                self.cond.wait()
            if self.errors or not free:
                return None
            i = max(free, key=lambda j: len(self.left[j]))
            self.busy[i] = True
            return i, self.left[i].pop(0)

    def _run(self, i: int, j: int) -> None:
        try:
            self.out[i][j] = _run_batch(self.pipes[i], self.images[self.spans[j]])
            if self.on_sample:
                self.on_sample(len(self.out[i][j][0]))
        except BaseException as e:  # noqa: BLE001  (re-raised in the caller's thread)
            self.errors.append(e)
        with self.cond:
            self.busy[i] = False
            self.cond.notify_all()

    def fill(self) -> bool:
        """Run one unit here, with one torch thread as in :meth:`finish` (so the bytes do not depend on
        where a unit ran); False when none was left."""
        unit = self._take(wait=False)
        if unit is None:
            self._raise()
            return False
        i, j = unit
        old = torch.get_num_threads()
        if old != 1:
            torch.set_num_threads(1)
        try:
            with channels_last(channels_last_modules([self.pipes[i]]) if self.fast_layout else []):
                self._run(i, j)
        finally:
            if old != 1:
                torch.set_num_threads(old)
        self._raise()
        self.filled += 1
        return True

    def _raise(self) -> None:
        if self.errors:
            raise self.errors[0]

    def finish(self, workers: int | None = None) -> list[tuple[list[bytes], np.ndarray]]:
        """Run the units left on ``workers`` threads (default: one per core), each with one torch
        intra-op thread; every pipeline's (payloads, predictions)."""
        def worker() -> None:
            while (unit := self._take(wait=True)) is not None:
                self._run(*unit)

        n = max(1, min(int(workers or os.cpu_count() or 1), len(self.pipes)))
        old = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with channels_last(channels_last_modules(self.pipes) if self.fast_layout and any(self.left) else []):
                threads = [threading.Thread(target=worker, name=f"sc2sim-quality-{w}", daemon=True) for w in range(n - 1)]
                for t in threads:
                    t.start()
                worker()
                for t in threads:
                    t.join()
        finally:
            torch.set_num_threads(old)
        self._raise()
        return [([b for pl, _ in parts for b in pl], np.concatenate([y for _, y in parts]) if parts else np.zeros(0, np.int64))
                for parts in self.out]


def quality_passes(pipes: list[Pipeline], images: np.ndarray, on_sample: Callable[[int], None] | None = None,
                   workers: int | None = None, fast_layout: bool = True) -> list[tuple[list[bytes], np.ndarray]]:
    """Payloads and predictions of every image for every pipeline, in batches, on ``workers``
    threads (untimed; :class:`QualityPass`, the module docstring)."""
    with QualityPass(pipes, images, on_sample, fast_layout) as qp:
        return qp.finish(workers)
