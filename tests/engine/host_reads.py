"""A CPU-side detector of the reads that would make the host wait for a GPU.

On CUDA, reading a device value on the host (`.item()`, `bool(t)`, `.tolist()`, `.cpu()`, a
boolean mask's `nonzero`, a tensor built from a Python number...) waits for every queued kernel:
done once per batch it stalls the pipeline. There is no GPU here, so `HostReads` watches the calls
that would synchronize and records where inside lamina each one was made; a test then checks that
their number does not grow with the number of batches.

A `TorchFunctionMode` sees the tensor methods torch binds in C (`item`, `__bool__`, `tolist`,
`__getitem__`...) as well as the `torch.*` functions; `torch.cuda.synchronize` (a stream's, an
event's) and the tensor factories from host data are patched for the duration.

On a CPU every tensor is on the host, so `.to(cpu)` stands for any copy between the host and the
model's device: a constant copied to the device at every batch shows up as one.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys

import torch
from torch.overrides import TorchFunctionMode

import lamina

LAMINA_DIR = os.path.dirname(lamina.__file__) + os.sep

# Tensor methods that read the value on the host, whatever their arguments.
_READS = {
    torch.Tensor.item: "item",
    torch.Tensor.__bool__: "bool",
    torch.Tensor.__float__: "float",
    torch.Tensor.__int__: "int",
    torch.Tensor.__index__: "index",
    torch.Tensor.__complex__: "complex",
    torch.Tensor.tolist: "tolist",
    torch.Tensor.numpy: "numpy",
    torch.Tensor.__array__: "array",
    torch.Tensor.__repr__: "repr",
    torch.Tensor.__format__: "format",
    torch.Tensor.cpu: "cpu",
    torch.Tensor.nonzero: "nonzero",
    torch.nonzero: "nonzero",
    torch.argwhere: "argwhere",
    torch.Tensor.argwhere: "argwhere",
    torch.masked_select: "masked_select",
    torch.Tensor.masked_select: "masked_select",
    torch.unique: "unique",
    torch.Tensor.unique: "unique",
    torch.unique_consecutive: "unique_consecutive",
    torch.equal: "equal",
    torch.Tensor.equal: "equal",
    torch.allclose: "allclose",
    torch.Tensor.allclose: "allclose",
    torch.bincount: "bincount",
    torch.Tensor.bincount: "bincount",
    torch.is_nonzero: "is_nonzero",
    torch.Tensor.is_nonzero: "is_nonzero",
    torch.Tensor.__contains__: "contains",
}
# torch.linalg checks its results (singular, not positive definite) on the host: on CUDA each of
# these waits for the device; their `*_ex` forms do not.
for _name in ("solve", "inv", "cholesky", "eig", "eigvals", "eigh", "eigvalsh", "svd", "svdvals"):
    _READS[getattr(torch.linalg, _name)] = f"linalg.{_name}"
_READS[torch.inverse] = "inverse"
_REPEATS = {torch.repeat_interleave, torch.Tensor.repeat_interleave}
_INDEXING = {torch.Tensor.__getitem__, torch.Tensor.__setitem__, torch.Tensor.index_put_}
_TO = {torch.Tensor.to}


def _is_cpu(device) -> bool:
    return device is not None and torch.device(device).type == "cpu"


def _has_bool_index(index) -> bool:
    if isinstance(index, torch.Tensor):
        return index.dtype == torch.bool
    if isinstance(index, (tuple, list)):
        return any(_has_bool_index(i) for i in index)
    return False


def _to_cpu(args, kwargs) -> bool:
    """Whether `tensor.to(...)` names the CPU as its device, blocking (a `non_blocking=True`
    copy does not make the host wait: torch's fused optimizers move their flags that way)."""
    if kwargs.get("non_blocking"):
        return False
    if _is_cpu_arg(kwargs.get("device")):
        return True
    return any(_is_cpu_arg(a) for a in args[1:])


def _is_cpu_arg(value) -> bool:
    if isinstance(value, str):
        return value.split(":")[0] == "cpu"
    return isinstance(value, torch.device) and value.type == "cpu"


def _repeats_need_host(args, kwargs) -> bool:
    """Tensor repeats make the output's size a device value, unless `output_size` gives it."""
    repeats = kwargs.get("repeats", args[1] if len(args) > 1 else None)
    return isinstance(repeats, torch.Tensor) and kwargs.get("output_size") is None


def _kind(func, args, kwargs) -> str | None:
    kind = _READS.get(func)
    if kind is not None:
        return kind
    if func in _INDEXING and len(args) > 1 and _has_bool_index(args[1]):
        return "boolean mask index"
    if func in _REPEATS and _repeats_need_host(args, kwargs):
        return "repeat_interleave without output_size"
    if func in _TO and _to_cpu(args, kwargs):
        return "to(cpu): a copy between host and device"
    return None


def lamina_frames(frame) -> list[str]:
    """`file:line function` of each frame inside lamina's sources, innermost first."""
    where = []
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(LAMINA_DIR):
            relative = os.path.relpath(path, os.path.dirname(LAMINA_DIR))
            where.append(f"{relative}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back
    return where


class Read:
    """One host read: its kind and the lamina frames it came through (innermost first)."""

    def __init__(self, kind: str, frames: list[str]):
        self.kind = kind
        self.frames = frames

    @property
    def site(self) -> str:
        return f"{self.kind} at {self.frames[0]}"

    def __repr__(self) -> str:
        return f"{self.site} (via {' <- '.join(self.frames[1:4])})"


class _Watch(TorchFunctionMode):
    def __init__(self, record):
        super().__init__()
        self.record = record

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        kind = _kind(func, args, kwargs)
        if kind is not None:
            self.record(kind, sys._getframe(1))
        return func(*args, **kwargs)


class HostReads:
    """Count, as a context manager, the calls inside lamina that would wait for a GPU.

    Attributes:
        reads: every `Read` made inside lamina while the context was open.

    Example:
    >>> with HostReads() as reads:  # doctest: +SKIP
    ...     model.fit(x, y, verbose=0)
    >>> reads.sites()  # doctest: +SKIP
    Counter({'item at lamina/metrics/...': 1})
    """

    def __init__(self):
        self.reads: list[Read] = []
        self._stack = contextlib.ExitStack()

    def record(self, kind: str, frame) -> None:
        frames = lamina_frames(frame)
        if frames:  # a read made by the test itself is not lamina's
            self.reads.append(Read(kind, frames))

    def __enter__(self) -> HostReads:
        stack = self._stack
        stack.enter_context(_Watch(self.record))
        self._patch(torch.cuda, "synchronize", "cuda.synchronize")
        self._patch(torch.cuda.Stream, "synchronize", "Stream.synchronize")
        self._patch(torch.cuda.Event, "synchronize", "Event.synchronize")
        for name in ("tensor", "as_tensor"):
            self._patch_factory(name)
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _patch(self, owner, name: str, kind: str) -> None:
        original = getattr(owner, name)

        def watched(*args, **kwargs):
            self.record(kind, sys._getframe(1))
            return original(*args, **kwargs)

        setattr(owner, name, watched)
        self._stack.callback(setattr, owner, name, original)

    def _patch_factory(self, name: str) -> None:
        """`torch.tensor(host data)`: a copy from the host that waits for the GPU's queue."""
        original = getattr(torch, name)

        def watched(data, *args, **kwargs):
            if not isinstance(data, torch.Tensor):
                self.record(f"torch.{name}(host data)", sys._getframe(1))
            return original(data, *args, **kwargs)

        setattr(torch, name, watched)
        self._stack.callback(setattr, torch, name, original)

    def sites(self) -> collections.Counter:
        """How many reads each `kind at file:line` made."""
        return collections.Counter(r.site for r in self.reads)

    def __len__(self) -> int:
        return len(self.reads)
