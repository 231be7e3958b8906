"""Count what a stage asks of the machine: operators, kernels, FLOPs and memory traffic.

:func:`count_work` runs a callable under a ``TorchDispatchMode`` that sees every aten operator the
stage dispatches (after autograd and the composite decompositions, i.e. what the backend executes)
and records, per call:

``ops``
    every aten operator dispatched, views included: what a CPU pays a per-operator dispatch cost
    for (argument parsing, dispatcher, allocation);
``kernels``
    the operators that touch data: not views (``OpOverload.is_view``) and not pure allocations or
    metadata (:data:`NO_KERNEL`); an estimate of how many kernels a GPU would launch for the stage
    (cuDNN may launch more than one per convolution: the device profile's ``kernels_per_op``);
``flops``
    FLOPs by torch's own formulas (``torch.utils.flop_counter.flop_registry``; multiply-add = 2, and
    only matrix products, convolutions and attention count: element-wise operators are 0), the same
    numbers as :func:`sc2sim.profiling.flops.count_flops` for models without attention. Attention is
    counted through its parts (:func:`unfused_attention`): the fused inference kernels of
    ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` have no formula, so counting them
    whole would miss the projections and the attention products (a third of a ViT's FLOPs);
``bytes``
    memory traffic: for every data-touching operator, the bytes of its distinct input tensors plus
    its outputs (each tensor's ``numel * element_size``; a view's span is what it covers). An upper
    bound on DRAM traffic (caches may keep a small activation between two operators);
``weight_bytes``
    the part of ``bytes`` read from weights (tensors that share storage with an ``nn.Parameter``
    or with a parameter or buffer of the ``modules`` given): paid once per call, whatever the batch;
``io_bytes``
    bytes of the stage's inputs that are neither weights nor produced inside the call (what a GPU
    stage must copy from the host);
``low_flops``, ``low_bytes``, ``low_weight_bytes``
    the part of ``flops``, ``bytes`` and ``weight_bytes`` done by low-intensity operators (fewer than
    :data:`LOW_INTENSITY` FLOPs per byte: element-wise, pooling, normalisation, depthwise
    convolutions, matrix-vector products), so the cost model can apply the roofline to the
    memory-bound and the compute-bound operators separately;
``conv_outputs``
    output elements of dense convolutions (``groups == 1``, transposed or not) whose kernel is larger
    than 1x1: the cost model's per-output term (``output_macs``). A 1x1 convolution is a plain matrix
    product of the activations and, like ``nn.Linear``, does not count; grouped and depthwise
    convolutions have kernels of their own.

Non-torch code (image codecs, entropy coders written in C) counts nothing: it is timed as codec time.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Iterator

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry, sdpa_flop_count, shape_wrapper

NO_KERNEL = frozenset({
    "empty", "empty_strided", "empty_like", "new_empty", "new_empty_strided", "detach", "lift_fresh",
    "alias", "sym_size", "sym_stride", "sym_numel", "sym_storage_offset", "_local_scalar_dense", "is_nonzero",
    "resize_", "set_", "_unsafe_view",
})
"""aten operator names (overload packets) that allocate or describe tensors without running a kernel."""

LOW_INTENSITY = 4.0
"""FLOPs per byte below which an operator counts as low-intensity (memory-type): below the machine
balance of every device profiled here (CPUs about 5-10, GPUs 20-100 FLOP/byte)."""


def _sdpa_flops(query_shape: tuple, key_shape: tuple, value_shape: tuple, *args: Any, out_shape: Any = None,
                **kwargs: Any) -> int:
    """FLOPs of fused attention from its input shapes: QK^T and AV, 2 FLOPs per multiply-add."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


EXTRA_FLOPS: dict[Any, Callable[..., int]] = {
    # the CPU variant of fused attention: the arguments of the CUDA flash kernel, whose formula torch has
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _sdpa_flops,
}
"""FLOP formulas (by overload packet, on shapes) of operators that torch's ``flop_registry`` lacks; in
the form ``FlopCounterMode(custom_mapping=...)`` takes."""
_EXTRA_ON_TENSORS = {k: shape_wrapper(f) for k, f in EXTRA_FLOPS.items()}


@contextmanager
def unfused_attention() -> Iterator[None]:
    """Run ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` without their fused inference
    fast path while the block runs, so each of their parts (projections, attention) is dispatched
    and counted on its own; restores the previous setting after.

    The fast path's single ``_native_multi_head_attention`` operator has no FLOP formula and hides
    the kernels it launches. The setting is process-wide: count while no other thread times a stage."""
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(was)


def op_flops(func: Any, args: tuple, kwargs: dict, out: Any) -> int:
    """FLOPs of one dispatched aten operator (0 for an operator without a formula)."""
    formula = flop_registry.get(func.overloadpacket) or _EXTRA_ON_TENSORS.get(func.overloadpacket)
    return int(formula(*args, **kwargs, out_val=out)) if formula is not None else 0



@dataclass(frozen=True)
class WorkCount:
    """What one call of a stage dispatched (see the module docstring for each field; bytes, FLOPs)."""

    ops: int = 0
    kernels: int = 0
    flops: int = 0
    bytes: int = 0
    weight_bytes: int = 0
    io_bytes: int = 0
    low_flops: int = 0
    low_bytes: int = 0
    low_weight_bytes: int = 0
    conv_outputs: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return asdict(self)

    def __add__(self, other: "WorkCount") -> "WorkCount":
        return WorkCount(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values())))


def _nbytes(t: torch.Tensor) -> int:
    return int(t.numel()) * t.element_size()


def _tensors(tree: Any) -> list[torch.Tensor]:
    return [t for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


class _Counter(TorchDispatchMode):
    def __init__(self, weight_storages: set[int]) -> None:
        super().__init__()
        self.n = dict.fromkeys(WorkCount.__dataclass_fields__, 0)
        self.weights = weight_storages
        self.made: set[int] = set()  # storages written by an operator inside the call
        self.fed: set[int] = set()  # external inputs already counted in io_bytes

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        n = self.n
        n["ops"] += 1
        inputs = _tensors((args, kwargs))
        for t in inputs:
            if isinstance(t, torch.nn.Parameter):
                self.weights.add(_storage(t))
        name = func.overloadpacket.__name__
        outputs = [t for t in _tensors(out) if all(t is not i for i in inputs)]
        if func.is_view or name in NO_KERNEL:
            self.made.update(_storage(t) for t in outputs if not func.is_view)
            return out
        n["kernels"] += 1
        flops = op_flops(func, args, kwargs, out)
        seen: set[tuple[int, int, tuple]] = set()
        size = weight = 0
        for t in inputs:
            key = (t.data_ptr(), t.dtype.itemsize, tuple(t.shape))
            if key in seen or t.device.type == "meta":
                continue
            seen.add(key)
            b, st = _nbytes(t), _storage(t)
            size += b
            if st in self.weights:
                weight += b
            elif st not in self.made and st not in self.fed:
                self.fed.add(st)
                n["io_bytes"] += b
        size += sum(_nbytes(t) for t in outputs)
        self.made.update(_storage(t) for t in outputs)
        n["flops"] += flops
        n["bytes"] += size
        n["weight_bytes"] += weight
        if name == "convolution" and args[8] == 1 and args[1].shape[2:].numel() > 1:  # (input, weight, ..., groups)
            n["conv_outputs"] += sum(t.numel() for t in outputs)
        if flops < LOW_INTENSITY * size:
            n["low_flops"] += flops
            n["low_bytes"] += size
            n["low_weight_bytes"] += weight
        return out


def count_work(fn: Callable[[], object], modules: Iterable[torch.nn.Module] = ()) -> WorkCount:
    """Operators, kernels, FLOPs and bytes that ``fn()`` dispatches (under ``no_grad``); zeros for non-torch code.

    ``modules``: the stage's models; their parameters and buffers count as weights (parameters are
    recognised without them too, buffers such as batch-norm statistics are not). Attention runs
    unfused while counting (:func:`unfused_attention`)."""
    weights = {_storage(t) for m in modules for t in (*m.parameters(), *m.buffers())}
    counter = _Counter(weights)
    with torch.no_grad(), unfused_attention(), counter:
        fn()
    return WorkCount(**counter.n)
