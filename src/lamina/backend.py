"""Device, dtype, seeding and the named layout converters between Keras and torch.

Keras speaks channels-last tensors and kernels laid out as ``(kh, kw, in, out)``; torch's
kernels want channels-first views and ``(out, in, kh, kw)``. Every conversion between the two lives
here, once, with a name, so a layer never writes a bare ``permute``.
"""

from __future__ import annotations

import random
import sys

import numpy as np
import torch

from lamina.dtypes import dtype_name as dtype_name  # re-exported: used as backend.dtype_name
from lamina.dtypes import (
    floatx,
    is_float_dtype,
    is_int_dtype,
    result_type,
    set_floatx,
    standardize_dtype,
)
from lamina.engine import errors, naming
from lamina.engine.keras_tensor import KerasTensor
from lamina.engine.removed_backend import removed_backend_name

__all__ = [
    "backend",
    "clear_session",
    "epsilon",
    "floatx",
    "get_uid",
    "image_data_format",
    "is_float_dtype",
    "is_int_dtype",
    "is_keras_tensor",
    "result_type",
    "set_epsilon",
    "set_floatx",
    "set_image_data_format",
    "standardize_dtype",
]

_default_device: torch.device | None = None
_epsilon = 1e-7
_image_data_format = "channels_last"


# --------------------------------------------------------------------------------------------------
# Device and dtype


def backend() -> str:
    """The engine's name, as `keras.backend.backend()` reports it: lamina always runs on torch.

    Example:
        >>> backend()
        'torch'
    """
    return "torch"


def image_data_format() -> str:
    """The default `data_format` of image layers (Keras's default: "channels_last").

    Layers given `data_format=None` use it; `set_image_data_format` changes it.

    Example:
        >>> image_data_format()
        'channels_last'
    """
    return _image_data_format


def set_image_data_format(data_format: str) -> None:
    """Set the default `data_format` of image layers built from now on.

    Args:
        data_format: "channels_last" or "channels_first".

    Example:
        >>> lamina.backend.set_image_data_format("channels_first")  # doctest: +SKIP
    """
    global _image_data_format
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}"
        )
    _image_data_format = data_format


def epsilon() -> float:
    """The fuzz factor Keras adds in losses and metrics (default 1e-7).

    It keeps logarithms and divisions finite, e.g. a probability is clipped to
    [epsilon, 1 - epsilon] before its log is taken; `set_epsilon` changes it.

    Example:
        >>> epsilon()
        1e-07
    """
    return _epsilon


def set_epsilon(value: float) -> None:
    """Set the fuzz factor `epsilon()` returns.

    Args:
        value: a small positive float.

    Example:
        >>> lamina.backend.set_epsilon(1e-5)  # doctest: +SKIP
    """
    global _epsilon
    _epsilon = float(value)


def default_device() -> torch.device:
    """CUDA when present, else CPU; `set_default_device` overrides."""
    global _default_device
    if _default_device is None:
        _default_device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return _default_device


def set_default_device(device: str | torch.device) -> None:
    global _default_device
    _default_device = torch.device(device)


_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
    "complex64": torch.complex64,  # Keras's complex ops (fft, angle, isreal) take these
    "complex128": torch.complex128,
    "float8_e4m3fn": torch.float8_e4m3fn,  # Keras's float8 training casts to and from these
    "float8_e5m2": torch.float8_e5m2,
}


def to_torch_dtype(dtype) -> torch.dtype:
    """'float32', np.float32, torch.float32 or None (floatx) -> torch dtype."""
    if dtype is None:
        return _DTYPES[floatx()]
    if isinstance(dtype, torch.dtype):
        return dtype
    try:  # Keras's names: Python types and "int" too (int32 on torch, as Keras)
        name = standardize_dtype(dtype)
    except (ValueError, TypeError):
        name = None
    if name not in _DTYPES:
        raise ValueError(f"Unsupported dtype {dtype!r}; expected one of {sorted(_DTYPES)}.")
    return _DTYPES[name]


def standardize_data_format(data_format: str | None) -> str:
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "data_format must be 'channels_last' or 'channels_first'; "
            f"received data_format={data_format!r}."
        )
    return data_format


# --------------------------------------------------------------------------------------------------
# Seeds and session


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) so two runs give the same numbers.

    Args:
        seed: an int in `[0, 2**32 - 1]` (NumPy's range), as Keras requires.

    Example:
        >>> set_random_seed(42)
        >>> first = torch.rand(3)
        >>> set_random_seed(42)
        >>> torch.equal(first, torch.rand(3))
        True
    """
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(
            errors.message(
                "set_random_seed() `seed`", "an integer", f"{seed!r} of type {type(seed).__name__}"
            )
        )
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(
            errors.message("set_random_seed() `seed`", "an int in [0, 2**32 - 1]", f"{seed}")
        )
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def get_rng_state() -> dict:
    """Every generator lamina draws from (Python, NumPy, torch CPU and CUDA), for exact resumes."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


_uids: dict[str, int] = {}


def get_uid(prefix: str = "") -> int:
    """A counter per `prefix`: 1 on the first call, then 2, 3, ... until `clear_session()`.

    Args:
        prefix: the name the counter belongs to (default "": one shared counter).

    Example:
        >>> clear_session()
        >>> get_uid("block"), get_uid("block"), get_uid("head")
        (1, 2, 1)
    """
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def is_keras_tensor(x) -> bool:
    """Whether `x` is a symbolic tensor (from `lamina.Input` or a layer called on one).

    Args:
        x: any object.

    Example:
        >>> is_keras_tensor(lamina.Input((3,))), is_keras_tensor(torch.ones(3))
        (True, False)
    """
    return isinstance(x, KerasTensor)


# Module-level state that clear_session() resets, registered by the modules that own it (so the
# backend, imported by everything, imports none of them).
_session_state_resets: list = []


def on_clear_session(reset) -> None:
    """Have `clear_session()` call `reset()` (a module's own global state, such as a policy)."""
    _session_state_resets.append(reset)


def clear_session(free_memory=True) -> None:
    """Reset the per-class layer and model name counters (`dense`, `dense_1`, ...), the uids and
    the global dtype policy.

    Args:
        free_memory: on CUDA, also collect garbage and return cached blocks to the device (on
            CPU there is no cache to return, and a full collection per call would slow tests).
            Default True.

    Example:
        >>> clear_session()
        >>> lamina.layers.Dense(2).name, lamina.layers.Dense(2).name
        ('dense', 'dense_1')
        >>> clear_session()
        >>> lamina.layers.Dense(2).name
        'dense'
    """
    naming.reset()
    _uids.clear()
    for reset in _session_state_resets:  # e.g. the global dtype policy, as Keras's clear_session
        reset()
    if free_memory and torch.cuda.is_available():
        import gc

        gc.collect()
        torch.cuda.empty_cache()


# --------------------------------------------------------------------------------------------------
# Channels-last <-> torch views. A permute, never followed by .contiguous(): an NHWC-contiguous
# tensor seen as NCHW *is* torch's channels_last memory format, so the convolution kernels take it
# without a copy and return channels_last output whose NHWC view is contiguous again.


def channels_first_view(x: torch.Tensor) -> torch.Tensor:
    """(N, *spatial, C) -> (N, C, *spatial) as a view."""
    return x.movedim(-1, 1)


def channels_last_view(x: torch.Tensor) -> torch.Tensor:
    """(N, C, *spatial) -> (N, *spatial, C) as a view."""
    return x.movedim(1, -1)


# --------------------------------------------------------------------------------------------------
# Weight layouts. Each pair is a round trip; `to_keras` takes a tensor in the axis order torch's
# kernel reads and returns Keras's layout, `from_keras` the reverse (a Keras-shaped weight's
# view for the call). They work on torch tensors and NumPy arrays alike.


def conv_kernel_to_keras(w):
    """torch (out, in/groups, *k) -> Keras (*k, in/groups, out)."""
    rank = w.ndim - 2
    axes = (*range(2, 2 + rank), 1, 0)
    return w.permute(*axes) if isinstance(w, torch.Tensor) else np.transpose(w, axes)


def conv_kernel_from_keras(w):
    """Keras (*k, in/groups, out) -> torch (out, in/groups, *k)."""
    rank = w.ndim - 2
    axes = (rank + 1, rank, *range(rank))
    return w.permute(*axes) if isinstance(w, torch.Tensor) else np.transpose(w, axes)


def rnn_kernel_to_keras(w):
    """torch RNN/LSTM weight (gates * units, in) -> Keras kernel (in, gates * units).

    SimpleRNN and LSTM need no gate reordering: Keras's LSTM gates i, f, c, o are torch's
    i, f, g, o.
    """
    return w.T


def rnn_kernel_from_keras(w):
    return w.T


def _swap_first_two_gates(w, axis: int):
    """Exchange the first two thirds of `axis` (an involution: its own inverse)."""
    units = w.shape[axis] // 3
    if isinstance(w, torch.Tensor):
        first, second, third = torch.split(w, units, dim=axis)
        return torch.cat([second, first, third], dim=axis)
    first, second, third = np.split(w, 3, axis=axis)
    return np.concatenate([second, first, third], axis=axis)


def gru_kernel_to_keras(w):
    """torch GRU weight (3 * units, in), gates r, z, n -> Keras kernel (in, 3 * units), z, r, h."""
    return _swap_first_two_gates(w, 0).T


def gru_kernel_from_keras(w):
    """Keras GRU kernel (in, 3 * units), gates z, r, h -> torch (3 * units, in), gates r, z, n."""
    return _swap_first_two_gates(w.T, 0)


def gru_bias_to_keras(b):
    """GRU bias (3 * units,) or reset_after's (2, 3 * units): torch r, z, n -> Keras z, r, h."""
    return _swap_first_two_gates(b, b.ndim - 1)


gru_bias_from_keras = gru_bias_to_keras


def _permute(w, axes):
    return w.permute(*axes) if isinstance(w, torch.Tensor) else np.transpose(w, axes)


def depthwise_kernel_from_keras(w):
    """Keras depthwise (*k, in, multiplier) -> torch grouped (in * multiplier, 1, *k).

    Output channel c * multiplier + m of torch's grouped convolution (groups=in) is Keras's
    (input channel c, multiplier m), so flattening the last two axes keeps the order.
    """
    rank = w.ndim - 2
    flat = w.reshape(*w.shape[:rank], -1)
    moved = _permute(flat, (rank, *range(rank)))
    return moved[:, None]


def depthwise_kernel_layout(depth_multiplier: int):
    """(to_keras, from_keras) for a depthwise kernel; to_keras needs the multiplier to unflatten."""

    def to_keras(w):
        rank = w.ndim - 2
        moved = _permute(w[:, 0], (*range(1, rank + 1), 0))
        return moved.reshape(*moved.shape[:rank], -1, depth_multiplier)

    return to_keras, depthwise_kernel_from_keras


def as_numpy(x) -> np.ndarray:
    """A tensor (any device, with or without a gradient) or array-like -> NumPy; bfloat16 as
    `ml_dtypes.bfloat16`, as Keras gives it (NumPy has no bfloat16 of its own; float32 where
    ml_dtypes is not installed).

    Args:
        x: a tensor or anything `np.asarray` takes.

    Example:
        >>> as_numpy(torch.tensor([1.5], dtype=torch.bfloat16)).dtype.name
        'bfloat16'
    """
    if not isinstance(x, torch.Tensor):
        return np.asarray(x)
    dtensor = sys.modules.get("torch.distributed.tensor")  # loaded only by ModelParallel's users
    if dtensor is not None and isinstance(x, dtensor.DTensor):
        x = x.full_tensor()  # a ModelParallel weight: the full value (every rank gathers)
    tensor = x.detach().cpu()
    if tensor.dtype != torch.bfloat16:
        return tensor.numpy()
    as_float32 = tensor.float().numpy()
    try:
        import ml_dtypes  # Keras's own dependency; optional for lamina
    except ImportError:
        return as_float32
    return as_float32.astype(ml_dtypes.bfloat16)


def as_plain_numpy(x) -> np.ndarray:
    """`as_numpy`, with bfloat16 widened to float32 (exactly): for consumers that need NumPy's
    own dtypes (plots, CSV and JSON logs, TensorBoard summaries, float checks on `dtype.kind`).
    Every other dtype is kept.

    Args:
        x: a tensor (any device) or anything `np.asarray` takes.

    Example:
        >>> as_plain_numpy(torch.tensor([1.5], dtype=torch.bfloat16)).dtype
        dtype('float32')
    """
    array = as_numpy(x)
    return array.astype(np.float32) if array.dtype.name == "bfloat16" else array


def from_numpy(array) -> torch.Tensor:
    """A NumPy array (or array-like) -> a CPU tensor of the same dtype: the inverse of
    `as_numpy`, `ml_dtypes.bfloat16` arrays included (torch takes them through their bits, so
    every value is kept exactly). 0-d arrays stay 0-d; the data is copied only where needed.

    Args:
        array: a NumPy array, NumPy scalar or anything `np.asarray` takes.

    Example:
        >>> from_numpy(as_numpy(torch.tensor([1.5], dtype=torch.bfloat16))).dtype
        torch.bfloat16
    """
    array = np.asarray(array)
    contiguous = np.ascontiguousarray(array).reshape(array.shape)  # ascontiguousarray makes 0-d 1-d
    if not contiguous.flags.writeable:  # pandas' or a broadcast's read-only view: torch warns
        contiguous = contiguous.copy()
    if array.dtype.name == "bfloat16":
        return torch.from_numpy(contiguous.view(np.int16).copy()).view(torch.bfloat16)
    return torch.as_tensor(contiguous)


def __getattr__(name):
    # Only reached for names this module lacks: Keras 2's removed backend functions get a hint.
    raise removed_backend_name(name)
