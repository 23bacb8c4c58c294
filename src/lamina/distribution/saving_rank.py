"""Which process writes a saved file: rank 0, the one writer of the job."""

from __future__ import annotations

import contextlib
import os
import tempfile

from lamina.distribution import process_group


@contextlib.contextmanager
def save_target(model, filepath):
    """Where this rank writes `model`'s file: `filepath` on rank 0, None elsewhere; under
    ModelParallel every other rank writes a scratch copy (deleted after), so that all ranks make
    the same collectives while gathering the sharded weights and optimizer slots.

    Args:
        model: the model being saved.
        filepath: the path rank 0 writes.

    Example:
        >>> with save_target(model, "model.keras") as target:  # doctest: +SKIP
        ...     if target is not None:
        ...         lamina.saving.save_model(model, target)
    """
    if process_group.is_chief():
        yield filepath
        return
    if model.__dict__.get("_model_parallel_placement") is None:  # model_placement.place's
        yield None
        return
    with tempfile.TemporaryDirectory() as scratch:
        yield os.path.join(scratch, os.path.basename(os.fspath(filepath)))
