"""Hashing (a value -> one of `num_bins` buckets) and HashedCrossing (a tuple of values -> one
bucket), with the hashes Keras uses through TensorFlow (see fingerprints.py), so a lamina layer
buckets exactly as Keras's does."""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, hyperparameters, shape_inference
from lamina.engine.keras_tensor import KerasTensor, flatten_symbolic
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode, encoded_shape
from lamina.layers.preprocessing.fingerprints import fingerprint64, fingerprint_cat64, siphash24

_MODES = ("int", "one_hot", "multi_hot", "count")
_CROSS_KEY = 0xDECAFCAFFE  # TensorFlow's sparse_cross_hashed default hash key
_UINT64 = (1 << 64) - 1


def as_value_array(inputs, layer) -> np.ndarray:
    """Strings or integers (lists, arrays, tensors) as a NumPy array of str or int64."""
    if isinstance(inputs, torch.Tensor):
        if inputs.is_floating_point():
            raise errors.value_error(layer, "strings or integers", f"a {inputs.dtype} tensor")
        return inputs.detach().cpu().numpy()
    values = np.asarray(inputs)
    if values.dtype.kind in "SO":
        values = np.vectorize(
            lambda v: v.decode("utf-8") if isinstance(v, bytes) else str(v), otypes=[str]
        )(values)
    if values.dtype.kind not in "Uiu":
        raise errors.value_error(layer, "strings or integers", f"values of dtype {values.dtype}")
    return values


def _as_bytes(value) -> bytes:
    # Keras hashes integers through their decimal string (tf.strings.as_string).
    return value.encode("utf-8") if isinstance(value, str) else str(int(value)).encode("utf-8")


def _to_device(array: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(array, device=backend.default_device())


class Hashing(Layer):
    """Hashes strings or integers into `num_bins` buckets: FarmHash Fingerprint64 modulo the
    number of bins, or SipHash-2-4 with a `salt` key (Keras's two hashes, bit for bit).

    Args:
        num_bins: the number of buckets (the mask bucket included, when there is one).
        mask_value: a value that always goes to bucket 0; the others then share buckets
            1 .. num_bins - 1.
        salt: an int (used as the key [salt, salt]) or a pair of ints: hash with SipHash.
        output_mode: "int" (default), "one_hot", "multi_hot" or "count" (depth num_bins).
        sparse: False only (lamina returns dense tensors).

    Input shape: any (strings or integers). Output shape: the same ("int"), else as
    CategoryEncoding's.

    Example:
        >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
        [[1], [0], [1], [1], [2]]
    """

    reads_text = True
    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(
        self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs
    ):
        super().__init__(**kwargs)
        hyperparameters.count(num_bins, "num_bins", errors.describe(self), 1)
        if output_mode not in _MODES:
            raise errors.value_error(self, f"output_mode in {_MODES}", f"{output_mode!r}")
        if sparse:
            raise errors.value_error(self, "sparse=False (lamina has no sparse outputs)", "True")
        if salt is None:
            self.salt = None
        elif isinstance(salt, (tuple, list)) and len(salt) == 2:
            self.salt = [int(s) for s in salt]
        elif isinstance(salt, int):
            self.salt = [salt, salt]
        else:
            raise errors.value_error(self, "salt as an int or a pair of ints", f"salt={salt!r}")
        if mask_value is not None and int(num_bins) < 2:
            # (TensorFlow refuses the zero buckets left for the other values when called.)
            raise errors.value_error(
                self,
                "num_bins >= 2 with a mask_value (bin 0 is the mask's, the values share the rest)",
                f"num_bins={num_bins}, mask_value={mask_value!r}",
                "count the mask's bin in num_bins, or drop mask_value.",
            )
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.output_mode = output_mode
        self.sparse = False
        self._build_at_init(Hashing)

    def _bucket(self, value, bins: int) -> int:
        data = _as_bytes(value)
        digest = fingerprint64(data) if self.salt is None else siphash24(self.salt, data)
        return digest % bins

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, KerasTensor):  # an Input of a functional model: record the call
            dtype = torch.int64 if self.output_mode == "int" else torch.float32
            return shape_inference.call_host_layer_on_symbolic(self, inputs, dtype)
        # Strings never become tensors: the layer runs here, before torch sees any data.
        return self.call(inputs)

    def call(self, inputs):
        values = as_value_array(inputs, self)
        masked = self.mask_value is not None
        bins = self.num_bins - 1 if masked else self.num_bins
        flat = [
            0 if masked and v == self.mask_value else self._bucket(v, bins) + int(masked)
            for v in values.reshape(-1).tolist()
        ]
        ids = _to_device(np.asarray(flat, dtype=np.int64).reshape(values.shape))
        return encode(ids, self.output_mode, self.num_bins)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "salt": self.salt,
            "mask_value": self.mask_value,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }


class HashedCrossing(Layer):
    """Crosses features by hashing each tuple of their values into `num_bins` buckets (the
    "hashing trick" for feature crosses), as TensorFlow's `sparse.cross_hashed` does.

    Args:
        num_bins: the number of buckets.
        output_mode: "int" (default) or "one_hot".
        sparse: False only (lamina returns dense tensors).

    Call arguments: a tuple or list of at least two features of one shape, `(batch,)` or
    `(batch, 1)`, strings or integers.

    Output shape: the features' ("int"), or with a last axis of `num_bins` ("one_hot").

    Example:
        >>> cross = HashedCrossing(num_bins=5)
        >>> cross((["A", "B", "A", "B", "A"], [101, 101, 101, 102, 102])).tolist()
        [1, 4, 1, 1, 3]
    """

    reads_text = True
    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise errors.value_error(self, "output_mode 'int' or 'one_hot'", f"{output_mode!r}")
        if sparse:
            raise errors.value_error(self, "sparse=False (lamina has no sparse outputs)", "True")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False
        self._build_at_init(HashedCrossing)

    def __call__(self, inputs, *args, **kwargs):
        if flatten_symbolic(inputs):  # the Inputs of a functional model: record the call
            dtype = torch.int64 if self.output_mode == "int" else torch.float32
            return shape_inference.call_host_layer_on_symbolic(self, inputs, dtype)
        return self.call(inputs)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise errors.value_error(
                self, "a tuple of at least two features", f"{type(inputs).__name__}"
            )
        features = [as_value_array(x, self) for x in inputs]
        shape = features[0].shape
        if any(f.shape != shape for f in features) or (len(shape) == 2 and shape[-1] != 1):
            raise errors.value_error(
                self,
                "features of one shape, (batch,) or (batch, 1)",
                f"shapes {[f.shape for f in features]}",
            )
        columns = [f.reshape(-1).tolist() for f in features]
        flat = []
        for row in zip(*columns, strict=True):
            digest = _CROSS_KEY
            for value in row:
                # Strings enter the cross through their fingerprint, integers as they are.
                part = fingerprint64(value.encode()) if isinstance(value, str) else value & _UINT64
                digest = fingerprint_cat64(digest, part)
            flat.append(digest % self.num_bins)
        ids = _to_device(np.asarray(flat, dtype=np.int64).reshape(shape))
        return encode(ids, self.output_mode, self.num_bins)

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape[0], self.output_mode, self.num_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "num_bins": self.num_bins,
            "output_mode": self.output_mode,
            "sparse": self.sparse,
        }
