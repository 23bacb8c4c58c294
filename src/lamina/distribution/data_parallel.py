"""DataParallel: Keras's name for data parallelism, run by torch's DistributedDataParallel.

Each process holds a full copy of the model and trains on its share of every global batch; DDP
all-reduces the gradients bucket by bucket while the backward pass is still running, so the
copies stay identical. lamina adds one thing to DDP's default: each rank's gradient is weighted by
its share of the global batch (not by 1/world size), so a global batch split unevenly (the last
one of an epoch) still gives exactly the gradient one process would compute on the whole batch.
"""

from __future__ import annotations

import sys
import weakref

import torch
import torch.distributed as dist

from lamina.distribution import chosen, process_group

# The compile states holding a DDP wrapper, let go when lamina ends its process group.
_wrapped_states = weakref.WeakSet()


class DataParallel:
    """Data parallelism over every process of the job (one device each).

    Under `torchrun` lamina creates one for you; create it yourself to set options, or to train
    with DDP in a single process. `batch_size` in `fit` stays the global batch: each of the N
    processes trains on `batch_size / N` samples of it.

    Args:
        device_mesh: a one-axis `DeviceMesh` over every process (Keras's alternative to
            `devices`), or None.
        devices: the devices taking part, e.g. `list_devices()`; one per process, so its length
            must equal the number of processes. Default: all of them.
        auto_shard_dataset: give each process its share of the data (the default). False when
            every process already reads only its own shard.
        sync_batchnorm: BatchNormalization layers compute their batch statistics over the global
            batch (an all-reduce per layer per step) instead of each process's share.
        find_unused_parameters: DDP's option, for models whose forward skips some trainable
            weights.
        timeout: seconds a collective waits for the other processes (default 600, or the
            `LAMINA_DISTRIBUTION_TIMEOUT` variable); used when this object starts the group.

    Example:
        >>> lamina.distribution.set_distribution(
        ...     lamina.distribution.DataParallel(devices=lamina.distribution.list_devices())
        ... )  # doctest: +SKIP
        >>> model.fit(x, y, batch_size=256)  # doctest: +SKIP
    """

    def __init__(
        self,
        device_mesh=None,
        devices=None,
        auto_shard_dataset=True,
        sync_batchnorm=False,
        find_unused_parameters=False,
        timeout=None,
    ):
        if device_mesh is not None and (
            not _is_instance(device_mesh, "DeviceMesh") or len(device_mesh.shape) != 1
        ):
            raise ValueError(
                "DataParallel expected device_mesh= a one-axis lamina.distribution.DeviceMesh "
                f"or None; received {device_mesh!r}. Hint: for a mesh of several axes use "
                "ModelParallel."
            )
        process_group.initialize(timeout=timeout)
        count = process_group.world_size()
        if devices is not None and len(devices) != count:
            raise ValueError(
                f"DataParallel expected one device per process ({count} process(es) in this "
                f"job); received {len(devices)} devices {list(devices)}. Hint: launch with "
                f"`torchrun --nproc_per_node {len(devices)} script.py`."
            )
        self.devices = list(devices) if devices is not None else list_devices()
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self.sync_batchnorm = bool(sync_batchnorm)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.batch_fraction = 1.0 / count  # this rank's share of the current global batch

    @property
    def world_size(self) -> int:
        return process_group.world_size()

    @property
    def rank(self) -> int:
        return process_group.rank()

    def __repr__(self):
        return f"<DataParallel devices={self.devices} rank={self.rank}>"


def _loaded(name: str):
    """`lamina.distribution.model_parallel.<name>` when that module is loaded, else None: no
    ModelParallel or DeviceMesh exists before it is, and the torch DTensor it imports costs
    about 1 s, paid only by the programs that use it."""
    module = sys.modules.get("lamina.distribution.model_parallel")
    return None if module is None else getattr(module, name)


def _is_instance(value, name: str) -> bool:
    kind = _loaded(name)
    return kind is not None and isinstance(value, kind)


def weights_sharded() -> bool:
    """Whether the distribution in use is a ModelParallel: then reading a model's full weights
    (a save, `get_weights`) gathers their shards, a collective every process must make."""
    return _is_instance(chosen.get(), "ModelParallel")


def set_distribution(value) -> None:
    """Make `value` (a `DataParallel`, a `ModelParallel`, or None to train in one process) the
    distribution `fit`, `evaluate` and `predict` use.

    Args:
        value: the distribution, or None.

    Example:
        >>> parallel = lamina.distribution.DataParallel()  # doctest: +SKIP
        >>> lamina.distribution.set_distribution(parallel)  # doctest: +SKIP
    """
    if value is not None and not (
        isinstance(value, DataParallel) or _is_instance(value, "ModelParallel")
    ):
        raise ValueError(
            f"set_distribution expected a lamina.distribution.DataParallel, ModelParallel or "
            f"None; received {type(value).__name__}."
        )
    chosen.put(value)


def distribution():
    """The distribution in use: the one set with `set_distribution`, the one lamina created for a
    `torchrun` launch, or None (one process).

    Example:
        >>> lamina.distribution.distribution() is None  # a plain `python script.py`
        True
    """
    return chosen.get()


def active():
    """The distribution the loops use: the one set, else one made for a launcher's environment or
    an initialized multi-process group, else None."""
    if chosen.get() is None and (
        process_group.launched_by_torchrun() or process_group.world_size() > 1
    ):
        chosen.put(DataParallel())
    return chosen.get()


def sharding():
    """The distribution when data must be sharded, else None."""
    current = active()
    if current is None or not current.auto_shard_dataset or current.world_size == 1:
        return None
    return current


def list_devices(device_type=None) -> list[str]:
    """The devices of the whole job, one per process, as `"gpu:0"`, `"cpu:1"`, ...

    In one process: every local GPU (or `"cpu:0"`). Under a launcher: one device per rank,
    numbered by global rank.

    Args:
        device_type: `"cpu"` or `"gpu"`; default GPUs when CUDA is present, else CPUs.

    Example:
        >>> lamina.distribution.list_devices("cpu")
        ['cpu:0']
    """
    kind = (device_type or ("gpu" if torch.cuda.is_available() else "cpu")).lower()
    if kind not in ("cpu", "gpu", "cuda"):
        raise ValueError(
            f"list_devices expected device_type 'cpu' or 'gpu'; received {device_type!r}."
        )
    kind = "gpu" if kind == "cuda" else kind
    if process_group.is_initialized() or process_group.launched_by_torchrun():
        return [f"{kind}:{index}" for index in range(process_group.world_size())]
    if kind == "gpu":
        return [f"gpu:{index}" for index in range(torch.cuda.device_count())]
    return ["cpu:0"]


def get_device_count(device_type=None) -> int:
    """How many devices `list_devices(device_type)` returns.

    Example:
        >>> lamina.distribution.get_device_count("cpu")
        1
    """
    return len(list_devices(device_type))


# --------------------------------------------------------------------------------------------------
# DistributedDataParallel around the model


def _weighted_allreduce(state: DataParallel, bucket):
    """DDP communication hook: sum of each rank's gradient times its share of the global batch."""
    buffer = bucket.buffer()
    buffer.mul_(state.batch_fraction)
    work = dist.all_reduce(buffer, async_op=True)

    def finish(future):
        with process_group.collective("all-reduce the gradients"):
            return future.value()[0]

    return work.get_future().then(finish)


def prepare_model(model) -> None:
    """Wrap `model` in DistributedDataParallel for the training step (once per weight set).

    DDP broadcasts rank 0's weights and buffers as it is built, so every process starts from the
    same model. The wrapper is kept on the compile state: `train_forward` hands it to the step.
    """
    current = active()
    state = model._compile_state
    if _is_instance(current, "ModelParallel"):
        _place_for_training(model, current, state)
        return
    if current is None or state is None or not model.trainable_weights:
        return
    weights = tuple(id(w) for w in model.trainable_weights)
    cached = getattr(state, "_distributed", None)
    if cached is not None and cached[0] == weights:
        return
    if state.captured is not None:
        state.captured = None  # DDP's hooks run in the eager step (jit_compile is set aside)
    if current.sync_batchnorm:
        from lamina.distribution import sync_batchnorm

        sync_batchnorm.convert(model, current)
    device = process_group.collective_device()
    with process_group.collective("wrap the model in DistributedDataParallel"):
        wrapped = torch.nn.parallel.DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=current.find_unused_parameters,
        )
    wrapped.register_comm_hook(current, _weighted_allreduce)
    state._distributed = (weights, wrapped)
    _wrapped_states.add(state)


def place_model(model) -> None:
    """Under ModelParallel, put `model`'s weights on the mesh (once; evaluate and predict call
    this, fit calls `prepare_model`); nothing otherwise."""
    parallel = chosen.get()
    if _is_instance(parallel, "ModelParallel") and model.built:
        from lamina.distribution import model_placement  # loaded by ModelParallel's users only

        model_placement.place(model, parallel)


def _place_for_training(model, parallel, state) -> None:
    """The weights on the mesh, the optimizer over them, the train step's forward."""
    if state is not None and state.jit_compile:
        # Tried: torch.compile of the DTensor forward runs, but a 2-process fit on a (1, 2)
        # mesh then ends with losses off by 1e-3 from one process: refused until it does not.
        raise ValueError(
            f"Model '{model.name}' under ModelParallel expected compile(jit_compile=False): "
            "neither the captured train step (plain tensors only) nor torch.compile of the "
            "sharded forward trains as one process does. Hint: compile with "
            "jit_compile=False (the default)."
        )
    from lamina.distribution import model_placement  # loaded by ModelParallel's users only

    placement = model_placement.place(model, parallel)
    if state is None:
        return
    weights = tuple(id(w) for w in model.trainable_weights)
    cached = getattr(state, "_distributed", None)
    if cached is not None and cached[0] == weights:
        return
    state.build_optimizer()  # over the DTensors now registered in place of the weights
    state._distributed = (weights, placement.train_forward)
    _wrapped_states.add(state)


def _release_wrappers() -> None:
    """Drop every DDP wrapper lamina made: each holds the process group, which a destroy then
    could not end (see process_group._destroy_own_group)."""
    for state in list(_wrapped_states):
        state._distributed = None
    _wrapped_states.clear()


process_group.release_before_destroy(_release_wrappers)


def train_forward(state):
    """The callable the default train step runs the model through: DDP when distributed."""
    cached = getattr(state, "_distributed", None)
    return state.forward if cached is None else cached[1]
