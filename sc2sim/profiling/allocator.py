"""Keep freed memory in the process while timing, so a stage's time does not include page faults.

Why. Eager PyTorch allocates every activation with the C library's ``malloc``. glibc serves a block
above its mmap threshold (at most 32 MiB, raised as blocks are freed) with a fresh ``mmap`` and
returns it to the kernel on ``free``, and it trims the top of its heap once more than twice that is
free. The next call then touches new pages, and each costs the thread a page fault. Measured on
this host (``getrusage`` around warm calls, one thread):

- mobilenet_v2 at 224x224 and batch 8: 37,600 faults per call, 122 ms of system time;
- ResNet-50 at batch 8: 35,500 faults, 124 ms;
- DenseNet-121 at batch 8: 45,400 faults, 177 ms;
- a fresh 64 MiB tensor filled once: 50 ms, about 3 us per 4-KiB page (1.3 GB/s). Filled again
  from kept memory it takes 7 ms.

How many faults a call takes depends on what the process allocated before, since glibc's thresholds
move with the history of frees: mobilenet_v2 at batch 1 took 3,643 faults per call in one process
and none in another. No cost model counted on the host can carry that to another device.

Serving stacks keep their memory instead: PyTorch's CUDA caching allocator, jemalloc or tcmalloc
in inference servers, and the planned arenas of mobile runtimes (ExecuTorch, TFLite). So the timing
protocol measures that steady state. :func:`keep_freed_memory` sets glibc's ``M_MMAP_MAX`` to 0
(every block comes from the heap) and ``M_TRIM_THRESHOLD`` to its maximum (the heap is never
trimmed), through ``mallopt`` (glibc manual, "Malloc Tunable Parameters"). After warm-up a call
then takes no page faults: mobilenet_v2 at batch 8 went from 37,600 to 0.

The cost: a timing process keeps its peak memory until it exits. It has no effect where the C
library is not glibc (macOS, musl), and the function then says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
"""glibc's ``mallopt`` parameter numbers (``malloc.h``)."""


@functools.lru_cache(maxsize=1)
def keep_freed_memory() -> str:
    """Make this process's glibc ``malloc`` keep freed memory (module docstring); idempotent.

    Returns the allocator setting to record with a measurement: ``"glibc: freed memory kept"``, or
    a line saying why it was left as it was."""
    if not sys.platform.startswith("linux"):
        return f"system allocator ({sys.platform}; not changed)"
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "system allocator (no glibc mallopt; not changed)"
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if mallopt(M_MMAP_MAX, 0) != 1 or mallopt(M_TRIM_THRESHOLD, 2**31 - 1) != 1:
        return "glibc (mallopt refused; not changed)"
    return "glibc: freed memory kept"
