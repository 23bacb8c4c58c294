"""ModelParallel: Keras's layout-map model parallelism, run by torch's DTensor.

A `DeviceMesh` names the axes of the job's processes (say `("batch", "model")`); a `LayoutMap`
says, per weight path, which weight dimension is split over which mesh axis. lamina turns each
matched weight into a `torch.distributed.tensor.DTensor` sharded that way (every other weight a
replicated DTensor), feeds each batch in as a DTensor split over the batch axis, and lets
DTensor's sharding propagation place the collectives: torch's own tensor parallelism, nothing
home-made. The model's outputs come back as plain tensors holding this rank's rows, so the loss,
the metrics and the loops run as they do under DataParallel.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import MutableMapping

import torch
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import DTensor, Replicate, Shard
from torch.distributed.tensor import distribute_tensor as _torch_distribute_tensor

from lamina import backend
from lamina.distribution import chosen, process_group


def _device_type(devices) -> str:
    if devices:
        kind = str(devices[0]).split(":")[0].lower()
        return "cuda" if kind in ("gpu", "cuda") else kind
    return backend.default_device().type


class DeviceMesh:
    """The job's processes laid out on a grid with named axes (torch's `DeviceMesh`).

    Under `torchrun` the mesh spans the whole job: the product of `shape` must equal the number
    of processes. Device type: the `devices`' (`"gpu:0"` -> CUDA), else lamina's default device.

    Args:
        shape: the size of each mesh axis, e.g. `(2, 4)`.
        axis_names: one name per axis, e.g. `("batch", "model")`.
        devices: the devices taking part (`list_devices()`); default all of the job's.

    Example:
        >>> mesh = lamina.distribution.DeviceMesh((1, 2), ("batch", "model"))  # doctest: +SKIP
        >>> mesh.axis_size("model")  # doctest: +SKIP
        2
    """

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(int(size) for size in shape)
        axis_names = tuple(str(name) for name in axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(
                f"DeviceMesh expected one axis name per dimension of shape {shape}; received "
                f"axis_names={axis_names}."
            )
        if len(set(axis_names)) != len(axis_names):
            raise ValueError(f"DeviceMesh expected distinct axis_names; received {axis_names}.")
        process_group.initialize()
        count = process_group.world_size()
        if math.prod(shape) != count:
            raise ValueError(
                f"DeviceMesh expected a shape whose product is the number of processes "
                f"({count}); received shape={shape} (product {math.prod(shape)}). Hint: launch "
                f"with `torchrun --nproc_per_node {math.prod(shape)} script.py`, or pick a "
                f"shape for {count} process(es)."
            )
        if devices is not None and len(devices) != count:
            raise ValueError(
                f"DeviceMesh expected one device per process ({count}); received "
                f"{len(devices)} devices {list(devices)}."
            )
        self.shape = shape
        self.axis_names = axis_names
        self.devices = list(devices) if devices is not None else None
        self.device_type = _device_type(self.devices)
        with process_group.collective("create the device mesh"):
            self.torch_mesh = init_device_mesh(self.device_type, shape, mesh_dim_names=axis_names)

    def axis_size(self, name) -> int:
        """The number of processes along mesh axis `name`."""
        return self.shape[self.axis_names.index(name)]

    def coordinate(self, name) -> int:
        """This process's index along mesh axis `name`."""
        return self.torch_mesh.get_local_rank(name)

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape} axis_names={self.axis_names}>"


class TensorLayout:
    """How one tensor is split over a `DeviceMesh`: a mesh axis name (split that dimension over
    the axis) or None (not split) per tensor dimension.

    Args:
        axes: one entry per tensor dimension, e.g. `(None, "model")` for a Dense kernel split
            by output units.
        device_mesh: the mesh; a `LayoutMap` sets it on the layouts it holds.

    Example:
        >>> layout = lamina.distribution.TensorLayout((None, "model"))
        >>> layout.axes
        (None, 'model')
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = None
        if device_mesh is not None:
            self.device_mesh = device_mesh

    @property
    def axes(self) -> tuple:
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, mesh) -> None:
        if self._device_mesh is not None and self._device_mesh is not mesh:
            raise ValueError(
                f"TensorLayout{self._axes} has a device mesh already ({self._device_mesh}); "
                "a layout belongs to one mesh. Hint: make a new TensorLayout."
            )
        unknown = [a for a in self._axes if a is not None and a not in mesh.axis_names]
        if unknown:
            raise ValueError(
                f"TensorLayout{self._axes} expected mesh axis names from {mesh.axis_names} "
                f"or None; received {unknown}."
            )
        used = [a for a in self._axes if a is not None]
        if len(set(used)) != len(used):
            raise ValueError(
                f"TensorLayout{self._axes} expected each mesh axis at most once (a dimension "
                "is split over one axis)."
            )
        self._device_mesh = mesh

    def placements(self) -> list:
        """torch's placements, one per mesh axis: Shard(d) where tensor dimension d names the
        axis, Replicate elsewhere."""
        mesh = self._require_mesh()
        return [
            Shard(self._axes.index(name)) if name in self._axes else Replicate()
            for name in mesh.axis_names
        ]

    def check(self, shape, what: str) -> None:
        """Raise if a tensor of `shape` cannot take this layout (`what` names it)."""
        mesh = self._require_mesh()
        shape = tuple(shape)
        if len(shape) != len(self._axes):
            raise ValueError(
                f"{what} expected a layout of rank {len(shape)} (its shape is {shape}); "
                f"received TensorLayout{self._axes}. Hint: give one axis name or None per "
                "dimension."
            )
        for dim, name in enumerate(self._axes):
            if name is not None and shape[dim] % mesh.axis_size(name):
                raise ValueError(
                    f"{what} expected dimension {dim} (size {shape[dim]}) divisible by the "
                    f"size of mesh axis '{name}' ({mesh.axis_size(name)}); received shape "
                    f"{shape}. Hint: map that dimension to None in the layout."
                )

    def _require_mesh(self):
        if self._device_mesh is None:
            raise ValueError(
                f"TensorLayout{self._axes} has no device mesh. Hint: pass device_mesh= or put "
                "it in a LayoutMap."
            )
        return self._device_mesh

    def __repr__(self):
        return f"<TensorLayout axes={self._axes} device_mesh={self._device_mesh}>"


class LayoutMap(MutableMapping):
    """Layouts by weight path: keys are regular expressions matched in full against a weight's
    `path` (as Keras 3 does), values `TensorLayout`s or tuples of axis names.

    Args:
        device_mesh: the mesh every layout of this map is on.

    Example:
        >>> layout_map = lamina.distribution.LayoutMap(mesh)  # doctest: +SKIP
        >>> layout_map[".*dense.*kernel"] = (None, "model")  # doctest: +SKIP
    """

    def __init__(self, device_mesh):
        self._device_mesh = device_mesh
        self._layouts = {}

    @property
    def device_mesh(self):
        return self._device_mesh

    def __getitem__(self, key):
        if key in self._layouts:
            return self._layouts[key]
        matches = [pattern for pattern in self._layouts if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"LayoutMap expected at most one key matching the path '{key}'; received "
                f"{len(matches)}: {matches}. Hint: make the keys' patterns exclusive."
            )
        return self._layouts[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if key in self._layouts:
            raise ValueError(
                f"LayoutMap already holds a layout for '{key}'. Hint: delete it first."
            )
        if not isinstance(layout, TensorLayout):
            if not isinstance(layout, (tuple, list)):
                raise ValueError(
                    f"LayoutMap['{key}'] expected a TensorLayout or a tuple of axis names; "
                    f"received {type(layout).__name__}."
                )
            layout = TensorLayout(layout)
        layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key):
        del self._layouts[key]

    def __len__(self):
        return len(self._layouts)

    def __iter__(self):
        return iter(self._layouts)


def distribute_tensor(tensor, layout):
    """`tensor` split over `layout`'s mesh as a DTensor (each process keeps its shard).

    Args:
        tensor: a torch tensor (every process passes the same full value) or a DTensor (laid
            out anew).
        layout: a `TensorLayout` with a device mesh.

    Example:
        >>> lamina.distribution.distribute_tensor(x, layout)  # doctest: +SKIP
    """
    if not isinstance(tensor, torch.Tensor):  # a KerasTensor: symbolic, no layout to change
        return tensor
    layout.check(tensor.shape, "distribute_tensor")
    mesh = layout.device_mesh.torch_mesh
    if isinstance(tensor, DTensor):
        return tensor.redistribute(mesh, layout.placements())
    return _torch_distribute_tensor(tensor.detach(), mesh, layout.placements())


class ModelParallel:
    """Model parallelism: weights split over a `DeviceMesh` as a `LayoutMap` says, batches split
    over its `batch_dim_name` axis (torch's DTensor does the rest).

    Weights the map does not match are replicated. Processes that share a batch-axis index get
    the same rows of every batch; `batch_size` in `fit` stays the global batch.

    Args:
        device_mesh: the mesh; default the layout map's.
        layout_map: a `LayoutMap` (required).
        batch_dim_name: the mesh axis batches are split over; default the mesh's first axis.
        auto_shard_dataset: give each batch-axis index its share of the data (the default).

    Example:
        >>> mesh = lamina.distribution.DeviceMesh((1, 2), ("batch", "model"))  # doctest: +SKIP
        >>> layout_map = lamina.distribution.LayoutMap(mesh)  # doctest: +SKIP
        >>> layout_map[".*dense.*kernel"] = (None, "model")  # doctest: +SKIP
        >>> lamina.distribution.set_distribution(
        ...     lamina.distribution.ModelParallel(layout_map=layout_map, batch_dim_name="batch")
        ... )  # doctest: +SKIP
    """

    def __init__(
        self, device_mesh=None, layout_map=None, batch_dim_name=None, auto_shard_dataset=True
    ):
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(
                f"ModelParallel expected layout_map= a lamina.distribution.LayoutMap; received "
                f"{type(layout_map).__name__}."
            )
        mesh = device_mesh if device_mesh is not None else layout_map.device_mesh
        if mesh is not layout_map.device_mesh:
            raise ValueError(
                "ModelParallel expected the layout map's device mesh; received another "
                "device_mesh. Hint: leave device_mesh out."
            )
        batch_dim_name = batch_dim_name or mesh.axis_names[0]
        if batch_dim_name not in mesh.axis_names:
            raise ValueError(
                f"ModelParallel expected batch_dim_name from {mesh.axis_names}; received "
                f"{batch_dim_name!r}."
            )
        self.device_mesh = mesh
        self.layout_map = layout_map
        self.batch_dim_name = batch_dim_name
        self.auto_shard_dataset = bool(auto_shard_dataset)
        self.batch_fraction = 1.0 / self.world_size  # this rank's share of the global batch

    # The data shards see the batch axis only: its size and this process's index on it.
    @property
    def world_size(self) -> int:
        return self.device_mesh.axis_size(self.batch_dim_name)

    @property
    def rank(self) -> int:
        return self.device_mesh.coordinate(self.batch_dim_name)

    def batch_group(self):
        """The process group along the batch axis (None when it has one process)."""
        if self.world_size == 1:
            return None
        return self.device_mesh.torch_mesh.get_group(self.batch_dim_name)

    def input_placements(self) -> list:
        return [
            Shard(0) if name == self.batch_dim_name else Replicate()
            for name in self.device_mesh.axis_names
        ]

    def layout_for(self, path: str):
        return self.layout_map[path]

    def __repr__(self):
        return (
            f"<ModelParallel mesh={self.device_mesh} batch_dim_name={self.batch_dim_name!r} "
            f"rank={process_group.rank()}>"
        )

    @contextlib.contextmanager
    def scope(self):
        """Use this distribution inside the block (Keras's `distribution.scope()`).

        Example:
            >>> with parallel.scope():  # doctest: +SKIP
            ...     model.fit(x, y)
        """
        previous = chosen.get()
        chosen.put(self)
        try:
            yield
        finally:
            chosen.put(previous)
