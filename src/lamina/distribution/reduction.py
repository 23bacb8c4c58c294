"""What the ranks must agree on: metric totals, epoch logs, random streams, predictions.

Every function here is a no-op in one process. Each is a collective: every rank calls it at the
same point of the loop (the trainer's epoch end, evaluation end, each epoch's start).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from lamina import backend
from lamina.distribution import chosen, process_group
from lamina.metrics.metric import flatten_metrics


def _distributed() -> bool:
    return process_group.distributed()


def sync_metrics(model) -> None:
    """Sum every metric's state over the ranks, so `result()` is the global value on each.

    lamina's (and Keras's) metrics keep additive totals (sums, counts, confusion matrices), so the
    sum of the ranks' totals is the total one process would have gathered over all the data.
    """
    if not _distributed():
        return
    group = _metric_group()
    if group is _NO_PEERS:
        return
    states = [v for metric in flatten_metrics(model.metrics) for v in _variables(metric)]
    if not states:
        return
    device = process_group.collective_device()
    flat = torch.cat([s.detach().reshape(-1).to(device, torch.float64) for s in states])
    with process_group.collective("sum the metrics over the ranks"):
        dist.all_reduce(flat, group=group)
    offset = 0
    with torch.no_grad():
        for state in states:
            count = state.numel()
            state.copy_(flat[offset : offset + count].reshape(state.shape).to(state.dtype))
            offset += count


_NO_PEERS = object()


def _metric_group():
    """The ranks whose metric totals add up: every rank (None), or under ModelParallel those
    along the batch axis (the others computed the same rows); `_NO_PEERS` when alone."""
    batch_group = getattr(chosen.get(), "batch_group", None)
    if batch_group is None:
        return None
    group = batch_group()
    return _NO_PEERS if group is None else group


def _variables(metric) -> list:
    found = getattr(metric, "variables", None)
    if found is None:
        return []
    return [v for v in found if isinstance(v, torch.Tensor)]


def reduce_logs(logs: dict) -> dict:
    """Logs averaged over the ranks (numbers and arrays; anything else is rank 0's), so History,
    EarlyStopping and ReduceLROnPlateau see the same values everywhere. Values that came from
    `sync_metrics` are equal already and stay as they are."""
    if not _distributed():
        return logs
    gathered = [None] * process_group.world_size()
    with process_group.collective("gather the epoch's logs"):
        dist.all_gather_object(gathered, dict(logs))
    reduced = {}
    for key, value in gathered[0].items():
        values = [g.get(key) for g in gathered]
        numeric = all(isinstance(v, (int, float, np.ndarray, np.floating)) for v in values)
        if not numeric or all(np.array_equal(v, value) for v in values):
            reduced[key] = value
        else:
            mean = np.mean(np.stack([np.asarray(v, dtype=np.float64) for v in values]), axis=0)
            reduced[key] = float(mean) if np.ndim(mean) == 0 else mean
    return reduced


def sync_rng() -> None:
    """Give every rank rank 0's random generators (Python, NumPy, torch), so that the epoch's
    data order (a shuffle of the arrays, a Dataset's shuffle buffer, a PyDataset's reshuffle) is
    the same everywhere and the shards stay disjoint."""
    if not _distributed():
        return
    holder = [backend.get_rng_state() if process_group.is_chief() else None]
    with process_group.collective("share the random generators' states"):
        dist.broadcast_object_list(holder, src=0)
    if not process_group.is_chief():
        backend.set_rng_state(holder[0])


def gather_predictions(outputs: list, data) -> list:
    """Every rank's predicted batches, in the data's original order, on every rank.

    `data.keys` names each of this rank's batches by (global batch, rank); sorting all ranks'
    keys restores the order one process would have produced. A key met twice (ModelParallel's
    ranks that share a batch-axis index computed the same rows) is kept once.
    """
    if not _distributed() or not hasattr(data, "keys"):
        return outputs
    mine = list(zip(data.keys, [_to_cpu(o) for o in outputs], strict=True))
    gathered = [None] * process_group.world_size()
    with process_group.collective("gather the predictions"):
        dist.all_gather_object(gathered, mine)
    pieces = dict(pair for part in gathered for pair in part)
    return [pieces[key] for key in sorted(pieces)]


def _to_cpu(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value
