"""`CountOps`: the aten ops dispatched while it is active, counted by name, for tests that hold
a step to a number of ops (e.g. one `_foreach_lerp_` a step, fewer `permute`s); `python_calls`:
the Python functions a call runs, for tests that hold host work down."""

from __future__ import annotations

import collections
import sys

from torch.utils._python_dispatch import TorchDispatchMode


class CountOps(TorchDispatchMode):
    """`with CountOps() as ops: ...` then `ops.counts["permute"]`."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


def python_calls(function) -> int:
    """The Python functions (generator resumptions included) `function()` runs; C functions are
    not counted."""
    calls = [0]

    def count(frame, event, arg):
        if event == "call":
            calls[0] += 1

    previous = sys.getprofile()
    sys.setprofile(count)
    try:
        function()
    finally:
        sys.setprofile(previous)
    return calls[0]
