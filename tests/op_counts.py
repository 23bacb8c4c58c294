"""`CountOps`: the aten ops dispatched while it is active, counted by name, for tests that hold
a step to a number of ops (e.g. one `_foreach_lerp_` a step, fewer `permute`s); `python_calls`:
the Python functions a call runs, for tests that hold host work down.

Both are the bench's own (bench/count_step_ops.py), so a test and the numbers quoted from the
bench count the same way."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from count_step_ops import CountOps, python_calls  # noqa: E402

__all__ = ["CountOps", "python_calls"]
