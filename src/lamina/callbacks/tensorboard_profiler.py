"""TensorBoard's `profile_batch`: torch's profiler over a range of training batches, its trace
written where TensorBoard's PyTorch profiler plugin (`torch-tb-profiler`) finds it.

Keras profiles through TensorFlow's or JAX's profiler (on its torch backend the call fails and
is logged); lamina's engine is torch, so its profiler is torch's.
"""

from __future__ import annotations

import os

import torch

from lamina.engine import errors

# Where TensorFlow's profiler writes too: <log_dir>/train/plugins/profile.
TRACE_FOLDER = os.path.join("train", "plugins", "profile")


def batch_range(profile_batch) -> tuple[int, int]:
    """`(first, last)` global batch to profile, from Keras's forms: an int (0: off), a pair,
    or a `"first,last"` string."""
    value = profile_batch
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            value = profile_batch
        else:
            value = value[0] if len(value) == 1 else value
    if isinstance(value, int) and not isinstance(value, bool):
        first = last = value
    elif (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        first, last = value
    else:
        first, last = -1, -1
    if first < 0 or last < first or (first == 0 and last != 0):
        raise errors.value_error(
            "TensorBoard profile_batch",
            "a batch number >= 0 (0: no profiling), or a pair `(first, last)` of batch "
            "numbers >= 1",
            f"{profile_batch!r}",
        )
    return first, last


class BatchProfiler:
    """Profiles the training batches `first` to `last` (counted from 1 over the whole run).

    The trace (`*.pt.trace.json`) is written when the last batch ends, or when training ends
    before it.
    """

    def __init__(self, log_dir: str, first: int, last: int):
        self.folder = os.path.join(log_dir, TRACE_FOLDER)
        self.first, self.last = first, last
        self._profile = None
        self._batch_scope = None

    def batch_begin(self, global_batch: int) -> None:
        if global_batch == self.first:
            activities = [torch.profiler.ProfilerActivity.CPU]
            if torch.cuda.is_available():
                activities.append(torch.profiler.ProfilerActivity.CUDA)
            self._profile = torch.profiler.profile(
                activities=activities,
                on_trace_ready=torch.profiler.tensorboard_trace_handler(self.folder),
            )
            self._profile.start()
        if self._profile is not None:
            # One named range per batch, as Keras's "Profiled batch" trace events.
            self._batch_scope = torch.profiler.record_function(f"Profiled batch {global_batch}")
            self._batch_scope.__enter__()

    def batch_end(self, global_batch: int) -> None:
        if self._profile is None:
            return
        self._batch_scope.__exit__(None, None, None)
        self._batch_scope = None
        self._profile.step()
        if global_batch >= self.last:
            self.stop()

    def stop(self) -> None:
        """Stop and write the trace (safe when nothing is being profiled)."""
        if self._profile is None:
            return
        if self._batch_scope is not None:  # training stopped inside a batch
            self._batch_scope.__exit__(None, None, None)
            self._batch_scope = None
        profile, self._profile = self._profile, None
        profile.stop()
