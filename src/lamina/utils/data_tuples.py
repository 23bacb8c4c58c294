"""`(x, y, sample_weight)` tuples as Keras's train steps pack and unpack them, and vectors scaled
to unit norm."""

from __future__ import annotations

import numpy as np
import torch

from lamina.dtypes import floatx


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The tuple a data source yields: `x` alone, `(x, y)` or `(x, y, sample_weight)`.

    Args:
        x: the features.
        y: the targets, or None.
        sample_weight: the sample weights, or None.

    Examples:
        >>> pack_x_y_sample_weight([1], 2)
        ([1], 2)
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from a batch, with None for what it lacks.

    Args:
        data: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (a list counts as a tuple).

    Examples:
        >>> unpack_x_y_sample_weight((1, 2))
        (1, 2, None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if len(data) in (1, 2, 3):
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found: {data}"
    )


def normalize(x, axis=-1, order=2):
    """`x` divided by its `order`-norm along `axis` (all-zero slices stay zero).

    Args:
        x: a NumPy array or torch tensor.
        axis: the axis to normalise along; None divides a NumPy array by `np.linalg.norm` of the
            whole of it (a matrix norm for 2-D), as Keras does.
        order: the norm's order (2 for Euclidean).

    Examples:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if not isinstance(x, (np.ndarray, torch.Tensor)):
        # lists and scalars take Keras's tensor path: a float32 (floatx) tensor comes back
        x = torch.as_tensor(np.asarray(x, dtype=floatx()))
    if isinstance(x, torch.Tensor):
        if not (x.is_floating_point() or x.is_complex()):
            x = x.to(torch.float32)  # integer tensors normalise in float32, as Keras's ops do
        norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
        return x / torch.where(norm == 0, torch.ones_like(norm), norm)
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, -1 if axis is None else axis)
