"""Keep freed CPU memory in the process heap, so big activations are not page-faulted in anew.

On CPU, torch allocates tensors with the C library's `malloc`. glibc hands every block above its
mmap threshold (128 KiB rising to at most 32 MiB) to a fresh `mmap` and gives it back with `munmap`
when freed, so every forward pass page-faults and zeroes its large activations again. Measured on
this project's 2-core machine: a channels-last Conv2D(32) + ReLU over 256 images of 32x32x3 took
44 ms per call with glibc's defaults and 9 ms with the heap kept; the peer benchmark
(../shared/peer-bench/PEERS.md) found hand-written torch `predict` 2.9x faster the same way.
TensorFlow and JAX keep their own allocators (BFC) and never pay this; torch on CPU does.

`import lamina` therefore raises glibc's mmap and trim thresholds (`mallopt`), once, when:
- the C library is glibc (Linux), and
- the user has not set `MALLOC_MMAP_THRESHOLD_` / `MALLOC_TRIM_THRESHOLD_` themselves, and
- `LAMINA_KEEP_HEAP` is not "0".
The cost: memory a model freed stays reserved by the process for its next step (resident size
stays near its peak), as with the other frameworks' allocators. `LAMINA_KEEP_HEAP=0` turns it off.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# glibc's mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# The largest value mallopt accepts (an int): blocks up to 2 GiB come from the heap.
_THRESHOLD = 2**31 - 1

_state = {"applied": False}


def heap_is_kept() -> bool:
    """Whether lamina raised glibc's thresholds in this process."""
    return _state["applied"]


def keep_freed_memory_in_heap() -> bool:
    """Apply the tuning described above, at most once; returns whether it is in effect."""
    if _state["applied"]:
        return True
    if os.environ.get("LAMINA_KEEP_HEAP", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False  # the user tuned malloc: theirs wins
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # Trim first: with a high mmap threshold, a low trim threshold would hand the heap's top back
    # to the system after every large free, which is the cost being avoided.
    applied = mallopt(_M_TRIM_THRESHOLD, _THRESHOLD) == 1
    applied = applied and mallopt(_M_MMAP_THRESHOLD, _THRESHOLD) == 1
    _state["applied"] = applied
    return applied
