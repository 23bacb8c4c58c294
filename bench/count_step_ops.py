"""Aten ops dispatched by one lamina `train_step` (after a warm-up step) of the bench's cnn and mlp
workloads, with the loss-related ones listed: on a GPU each op is a kernel launch paid in host time.

Usage: `PYTHONPATH=src python bench/count_step_ops.py` (from the repository root).
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, str(Path(__file__).parent))

from training_workloads import keras_like_model, make_data  # noqa: E402

import lamina  # noqa: E402

LOSS_OPS = (
    "_log_softmax",
    "_log_softmax_backward_data",
    "_softmax_backward_data",
    "binary_cross_entropy",
    "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits",
    "clamp",
    "gather",
    "ge",
    "le",
    "log",
    "nll_loss_backward",
    "nll_loss_forward",
    "scatter_add",
    "sigmoid_backward",
    "where",
)


class CountOps(TorchDispatchMode):
    """Counts the aten ops (by name) run while it is active: `with CountOps() as ops: ...` then
    `ops.counts["permute"]`. The tests count with it too (tests/op_counts.py)."""

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


def main():
    for workload, loss in (
        ("cnn", "sparse_categorical_crossentropy"),
        ("mlp", "binary_crossentropy"),
    ):
        model = keras_like_model(lamina.layers, lamina, workload)
        model.compile(optimizer="adam", loss=loss)
        x, y = make_data(workload, 64)
        x, y = torch.as_tensor(np.asarray(x[:32])), torch.as_tensor(np.asarray(y[:32]))
        model.train_step((x, y))
        model.train_step((x, y))
        with CountOps() as counted:
            model.train_step((x, y))
        loss_ops = {k: v for k, v in sorted(counted.counts.items()) if k in LOSS_OPS}
        total = sum(counted.counts.values())
        print(f"{workload}: {total} aten ops per train step; loss ops {loss_ops}")


if __name__ == "__main__":
    main()
