"""The data a FeatureSpace reads: the columns `adapt` learns from, and one call's values.

Keras's FeatureSpace adapts on a `tf.data.Dataset` of dicts (or a dict it slices into one, then
batches by 32). lamina has no TensorFlow; `adapt` takes what lamina users have instead:

- a dict of arrays or lists (one entry per feature), read in batches of 32 rows as Keras does;
- an iterable of dicts: a list or generator of batches, or a `lamina.data.Dataset` (batched or
  not). An element `(x, y)` or `(x, y, sample_weight)` counts by its `x`.

Each feature's values become `(rows, 1)` columns, the shape its preprocessor adapts on.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors

ADAPT_BATCH_SIZE = 32  # Keras batches a sliced dict by 32 rows before adapting


def as_array(value, dtype) -> np.ndarray:
    """A feature's values as NumPy: strings as str, integers as int64, floats as float32."""
    array = backend.as_plain_numpy(value)  # a tensor on any device; bfloat16 as float32
    if dtype == "string":
        if array.dtype.kind in "SO":
            return np.vectorize(
                lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v), otypes=[str]
            )(array)
        return array.astype(str) if array.dtype.kind != "U" else array
    if str(dtype).startswith("int") or str(dtype).startswith("uint"):
        return array.astype("int64")
    if str(dtype).startswith("float"):
        return array.astype("float32")
    return array


def as_call_value(value, dtype):
    """One feature's values as its preprocessor takes them: strings stay a NumPy array (they
    never become tensors), numbers become tensors on lamina's device."""
    if dtype == "string":
        return as_array(value, dtype)
    if isinstance(value, torch.Tensor) and value.device.type != "meta":
        if dtype is not None and str(dtype).startswith("float"):
            return value.to(torch.float32)
        return value
    return torch.as_tensor(as_array(value, dtype), device=backend.default_device())


def _features_of(element):
    if isinstance(element, (tuple, list)) and element and isinstance(element[0], dict):
        return element[0]
    if isinstance(element, dict):
        return element
    raise errors.value_error(
        "FeatureSpace.adapt()",
        "a dict of arrays, or an iterable (list, generator, lamina.data.Dataset) of dicts "
        "(or of (dict, label) pairs)",
        f"an element of type {type(element).__name__}",
    )


def _column(values: np.ndarray) -> np.ndarray:
    return values.reshape(-1, 1) if values.ndim <= 1 else values


def adapt_columns(data, dtypes: dict) -> dict:
    """`{feature name: list of (rows, 1) NumPy batches}` for the features in `dtypes`."""
    if isinstance(data, dict):
        columns = {}
        for name, dtype in dtypes.items():
            values = _column(as_array(value_of(data, name), dtype))
            columns[name] = [
                values[start : start + ADAPT_BATCH_SIZE]
                for start in range(0, len(values), ADAPT_BATCH_SIZE)
            ]
        return columns
    if isinstance(data, (str, bytes, np.ndarray, torch.Tensor)) or not hasattr(data, "__iter__"):
        raise errors.value_error(
            "FeatureSpace.adapt()",
            "a dict of arrays, or an iterable (list, generator, lamina.data.Dataset) of dicts",
            f"{type(data).__name__}",
        )
    batches = {name: [] for name in dtypes}
    samples = {name: [] for name in dtypes}  # unbatched elements, gathered into batches of 32
    for element in data:
        features = _features_of(element)
        for name, dtype in dtypes.items():
            values = as_array(value_of(features, name), dtype)
            if values.ndim == 0:
                samples[name].append(values)
            else:
                batches[name].append(_column(values))
    for name, singles in samples.items():
        for start in range(0, len(singles), ADAPT_BATCH_SIZE):
            batches[name].append(np.stack(singles[start : start + ADAPT_BATCH_SIZE]).reshape(-1, 1))
    empty = [name for name, found in batches.items() if not found]
    if empty:
        raise errors.value_error("FeatureSpace.adapt()", "some data to adapt to", "no rows")
    return batches


def value_of(features: dict, name):
    """`features[name]`, or an error naming the missing feature."""
    if name not in features:
        raise errors.value_error(
            "FeatureSpace",
            f"a value for every feature, including {name!r}",
            f"a dict with keys {sorted(features)}",
        )
    return features[name]
