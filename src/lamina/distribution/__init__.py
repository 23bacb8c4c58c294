"""Data-parallel training on torch.distributed: one script, one process or many.

Launch a Keras-API script with `torchrun --nproc_per_node N script.py` and `fit` trains on N
processes: lamina joins the process group torchrun set up, wraps the model in torch's
DistributedDataParallel for the training step, gives each rank its share of every global batch,
all-reduces the metrics, and lets only rank 0 write files and print. `DataParallel`,
`set_distribution`, `distribution` and `list_devices` are Keras 3's names for choosing this
explicitly. `ModelParallel` (with `DeviceMesh`, `TensorLayout`, `LayoutMap`,
`distribute_tensor`) splits weights over the processes with torch's DTensor. See
docs/distributed.md.

The loops call the hooks below (each a no-op in one process): `shard`, `prepare_model`,
`train_forward`, `place_model`, `sync_metrics`, `reduce_logs`, `for_this_rank`,
`gather_predictions`, `is_chief`, `save_target`.
"""

import importlib

from lamina.distribution.data_parallel import (
    DataParallel,
    distribution,
    get_device_count,
    list_devices,
    place_model,
    prepare_model,
    set_distribution,
    train_forward,
)
from lamina.distribution.process_group import (
    RankFailureError,
    barrier,
    initialize,
    is_chief,
    rank,
    select_local_device,
    world_size,
)
from lamina.distribution.rank_callbacks import for_this_rank
from lamina.distribution.reduction import gather_predictions, reduce_logs, sync_metrics
from lamina.distribution.saving_rank import save_target
from lamina.distribution.sharding import shard

select_local_device()  # under torchrun on GPUs: this rank's GPU, before any model is built

# ModelParallel's names load its module (and torch's DTensor, about 1 s of import) when first used.
_MODEL_PARALLEL_NAMES = (
    "DeviceMesh",
    "LayoutMap",
    "ModelParallel",
    "TensorLayout",
    "distribute_tensor",
)


def __getattr__(name):
    if name in _MODEL_PARALLEL_NAMES:
        module = importlib.import_module("lamina.distribution.model_parallel")
        return getattr(module, name)
    raise AttributeError(f"module 'lamina.distribution' has no attribute '{name}'")


__all__ = [
    "DataParallel",
    "DeviceMesh",
    "LayoutMap",
    "ModelParallel",
    "TensorLayout",
    "distribute_tensor",
    "save_target",
    "place_model",
    "RankFailureError",
    "barrier",
    "distribution",
    "for_this_rank",
    "gather_predictions",
    "get_device_count",
    "initialize",
    "is_chief",
    "list_devices",
    "prepare_model",
    "rank",
    "reduce_logs",
    "set_distribution",
    "shard",
    "sync_metrics",
    "train_forward",
    "world_size",
]
