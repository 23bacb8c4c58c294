"""`lamina.device(...)`: a `with` block whose new tensors and layers live on one device."""

from __future__ import annotations

import contextlib

import torch

from lamina import backend


def _torch_device(name) -> torch.device:
    """Keras's names ("cpu", "gpu", "gpu:1", "cuda:0") -> a torch.device."""
    if isinstance(name, torch.device):
        return name
    text = str(name).lower()
    kind, _, index = text.partition(":")
    if kind == "gpu":
        kind = "cuda"
    if kind not in ("cpu", "cuda", "mps", "meta", "xpu"):
        raise ValueError(
            f"lamina.device() expects a device name such as 'cpu', 'gpu:0' or 'cuda:1'; "
            f"received {name!r}."
        )
    return torch.device(f"{kind}:{index}" if index else kind)


@contextlib.contextmanager
def device(device_name):
    """Inside the block, lamina and torch create tensors and weights on `device_name`.

    Args:
        device_name: "cpu", "gpu", "gpu:1", "cuda:0" (Keras's names or torch's).

    Example:
        >>> with lamina.device("cpu"):
        ...     layer = lamina.layers.Dense(2)
    """
    target = _torch_device(device_name)
    previous = backend.default_device()
    backend.set_default_device(target)
    try:
        with target:
            yield
    finally:
        backend.set_default_device(previous)
