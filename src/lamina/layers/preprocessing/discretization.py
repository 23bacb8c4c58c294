"""Discretization: continuous values -> bucket ids, from given boundaries or learned quantiles."""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.dtype_policies import policy as dtype_policies
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.category_encoding import as_id_tensor, encode, encoded_shape
from lamina.layers.preprocessing.ops_backend import DataLayer

# ----------------------------------------------------------------------------------------------
# Keras's streaming quantile summary: a (2, n) array of values and the weight (count) each one
# stands for, compressed to about 1 / epsilon entries by interpolating the cumulative weights.


def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    values = np.sort(values.reshape(-1))
    step = max(values.size * epsilon, 1)
    picked = values[int(step - 1) :: int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress(summary: np.ndarray, epsilon: float) -> np.ndarray:
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = epsilon + np.arange(0.0, 1.0, epsilon)
    cumulative = summary[1].cumsum()
    fractions = cumulative / cumulative[-1]
    values = np.interp(targets, fractions, summary[0])
    cumulative = np.interp(targets, fractions, cumulative)
    weights = cumulative - np.concatenate(([0.0], cumulative[:-1]))
    return np.stack((values, weights)).astype("float32")


def _merge(first: np.ndarray, second: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((first, second), axis=1)
    return _compress(merged[:, np.argsort(merged[0], kind="stable")], epsilon)


class Discretization(DataLayer, Layer):
    """Buckets values: id `i` for `bin_boundaries[i-1] <= x < bin_boundaries[i]`.

    Args:
        bin_boundaries: sorted boundaries (n boundaries make n + 1 buckets), or None to learn
            them with `adapt`.
        num_bins: the number of buckets `adapt` aims for (quantiles of the data).
        epsilon: the quantile summary's error tolerance (Keras's default 0.01).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count".
        sparse: False only (lamina returns dense tensors).

    Input shape: any. Output shape: the same ("int"), else as CategoryEncoding's.

    Example:
        >>> Discretization(bin_boundaries=[0.0, 1.0])(torch.tensor([[-1.0, 0.5, 2.0]])).tolist()
        [[0, 1, 2]]
    """

    def __init__(
        self,
        bin_boundaries=None,
        num_bins=None,
        epsilon=0.01,
        output_mode="int",
        sparse=False,
        dtype=None,
        name=None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        modes = ("int", "one_hot", "multi_hot", "count")
        if output_mode not in modes:
            raise errors.value_error(self, f"output_mode in {modes}", f"{output_mode!r}")
        if sparse:
            raise errors.value_error(self, "sparse=False (lamina has no sparse outputs)", "True")
        if num_bins is not None and num_bins < 0:
            raise errors.value_error(self, "num_bins >= 0", f"num_bins={num_bins}")
        if bin_boundaries is not None and num_bins is not None:
            raise errors.value_error(
                self, "bin_boundaries or num_bins, not both", "both", "adapt() learns boundaries."
            )
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = float(epsilon)
        self.output_mode = output_mode
        self.sparse = False
        # Keras's rule: ids ("int") are int32 whatever `dtype` says (a Keras config writes
        # "float32" there); the encoded modes take the compute dtype of `dtype`'s policy (a
        # name, a policy or its config; None: the global one), and the config its variable one.
        policy = dtype_policies.get(dtype)
        self.config_dtype = policy.variable_dtype
        self.output_dtype = "int32" if output_mode == "int" else policy.compute_dtype
        # The quantile summary `adapt` builds: (values, weights) rows; None with given boundaries.
        self.summary = None if self.bin_boundaries else np.zeros((2, 0), dtype="float32")
        self._build_at_init(Discretization)

    def adapt(self, data, steps=None):
        """Learn `num_bins` quantile boundaries from `data` (an array, or batches of arrays):
        `reset_state()`, `update_state(batch)` for each batch, then `finalize_state()`."""
        if self.num_bins is None:
            raise errors.value_error(
                self,
                "num_bins to adapt",
                "a layer built with bin_boundaries",
                "create Discretization(num_bins=...) to learn boundaries.",
            )
        self.reset_state()
        is_array = isinstance(data, (np.ndarray, torch.Tensor))
        batches = [data] if is_array else data
        for index, batch in enumerate(batches):
            if steps is not None and index >= steps:
                break
            self.update_state(batch[0] if isinstance(batch, tuple) else batch)
        self.finalize_state()

    def update_state(self, data) -> None:
        """Merge a batch of values into the quantile summary (`adapt`'s step)."""
        values = np.asarray(backend.as_numpy(data), dtype="float32")
        self.summary = _merge(_summarize(values, self.epsilon), self.summary, self.epsilon)

    def finalize_state(self) -> None:
        """Set `bin_boundaries` to the summary's `num_bins` quantiles (nothing without
        num_bins)."""
        if self.num_bins is None:
            return
        self.bin_boundaries = _compress(self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def reset_state(self) -> None:
        """Empty the quantile summary (nothing without num_bins)."""
        if self.num_bins is None:
            return
        self.summary = np.zeros((2, 0), dtype="float32")

    def __call__(self, inputs, *args, **kwargs):
        return super().__call__(as_id_tensor(inputs), *args, **kwargs)

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise errors.value_error(
                self,
                "bin boundaries",
                "none",
                "pass bin_boundaries= or call adapt(data) first.",
            )
        # Compared in a float input's own precision, as Keras: a float32 value written as a
        # boundary (0.1) equals that boundary and falls in the bin above it.
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float64
        boundaries = torch.tensor(self.bin_boundaries, dtype=dtype, device=inputs.device)
        ids = torch.bucketize(inputs.to(dtype), boundaries, right=True)
        out = encode(ids, self.output_mode, len(self.bin_boundaries) + 1)
        return out.to(backend.to_torch_dtype(self.output_dtype))

    def compute_output_shape(self, input_shape):
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
        return encoded_shape(input_shape, self.output_mode, depth)

    def get_config(self):
        return {
            "bin_boundaries": self.bin_boundaries,
            "num_bins": self.num_bins,
            "epsilon": self.epsilon,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
            "name": self.name,
            "dtype": self.config_dtype,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        boundaries = config.get("bin_boundaries")
        if boundaries is not None and config.get("num_bins") is not None:
            config.pop("bin_boundaries")  # an adapted layer: restore its learned boundaries
            layer = cls(**config)
            layer.bin_boundaries = list(boundaries)
            return layer
        return cls(**config)
