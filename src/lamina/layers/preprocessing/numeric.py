"""Value preprocessing: Rescaling and Normalization (with `adapt`)."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.ops_backend import DataLayer
from lamina.saving import object_serialization

_EPSILON = 1e-7  # Keras's backend.epsilon(): the floor of the standard deviation


class Rescaling(DataLayer, Layer):
    """`output = inputs * scale + offset`, in floating point.

    Args:
        scale: a number (`1 / 255` maps pixels to [0, 1]), or one value per channel.
        offset: a number or one value per channel (`offset=-1` with `scale=1/127.5` maps to
            [-1, 1]); default 0.0.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Integer inputs (e.g. uint8 pixels) are cast to the layer's float dtype first.

    Input shape: any. Output shape: the same.

    Example:
        >>> pixels = torch.tensor([0, 255], dtype=torch.uint8)
        >>> Rescaling(1 / 127.5, offset=-1)(pixels).tolist()
        [-1.0, 1.0]
    """

    supports_masking = True  # the input's mask passes through, as Keras's

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for argument, value in (("scale", scale), ("offset", offset)):
            if not isinstance(value, (numbers.Real, torch.Tensor)) and (
                np.asarray(value).dtype.kind not in "biuf"
            ):
                raise errors.value_error(
                    self,
                    f"`{argument}` to be a number or one number per channel",
                    f"{argument}={value!r}",
                    "e.g. Rescaling(1 / 255) maps pixels to [0, 1].",
                )
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        x = inputs if inputs.is_floating_point() else inputs.to(self._dtype)
        return x * self._constant(self.scale, x) + self._constant(self.offset, x)

    def _constant(self, value, like):
        # Python numbers cost nothing; per-channel values become a tensor once per device, not a
        # host-to-device copy per call. An isinstance check, not np.ndim: torch.compile traces
        # np.ndim into an op that returns an int, which breaks the graph of a jit_compile'd step.
        if isinstance(value, numbers.Real):  # int, float and NumPy scalars
            return float(value)
        # Keras reads the image layout at each call: channels first, the values go on axis -3
        channels_first = backend.image_data_format() == "channels_first"
        key = (id(value), like.device, like.dtype, channels_first)
        cache = self.__dict__.setdefault("_constants", {})
        if key not in cache:
            if isinstance(value, torch.Tensor):  # any device and dtype (bfloat16 included)
                constant = value.detach().to(device=like.device, dtype=like.dtype)
            else:
                constant = torch.as_tensor(np.asarray(value), dtype=like.dtype, device=like.device)
            if channels_first and constant.dim() < 3:
                constant = constant.reshape(*constant.shape, *(1,) * (3 - constant.dim()))
            cache[key] = constant
        return cache[key]

    def get_config(self):
        def plain(value):  # NumPy and tensors as JSON numbers or lists
            if isinstance(value, (int, float)):
                return value
            return float(value) if np.ndim(value) == 0 else backend.as_plain_numpy(value).tolist()

        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}

    @classmethod
    def from_config(cls, config):
        # Keras writes NumPy values as {"class_name": "__numpy__", ...} entries
        config = dict(config)
        for name in ("scale", "offset"):
            if name in config:
                config[name] = object_serialization.deserialize_keras_object(config[name])
        return super().from_config(config)


class Normalization(DataLayer, Layer):
    """Shifts and scales inputs to zero mean and unit variance along `axis`:
    `(x - mean) / max(sqrt(variance), 1e-7)`, or back when `invert=True`.

    Give `mean` and `variance`, or learn them from data with `adapt(data)` before training.

    Args:
        axis: the axis (or axes) that keep their own statistics; -1 (default) normalises each
            feature / channel separately; None uses one mean and variance for everything.
        mean, variance: fixed statistics (both or neither), broadcast over the kept axes.
        invert: apply the inverse, `mean + x * sqrt(variance)` (default False).
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...), see `Layer`.

    Input shape: any. Output shape: the same.
    Weights (adapted layers): `adapt_mean`, `adapt_variance` (shape: the kept axes' sizes) and
    `count` (always 0), as Keras lists them; `layer.mean` and `layer.variance` are the statistics
    in the inputs' broadcast shape, e.g. `(1, 1, 1, C)` for images with axis=-1.

    Example:
        >>> Normalization(mean=2.0, variance=4.0)(torch.tensor([[0.0], [4.0]])).tolist()
        [[-1.0], [1.0]]
        >>> layer = Normalization()
        >>> layer.adapt(np.array([[1.0], [3.0]], "float32"))  # mean 2, variance 1
        >>> layer(torch.tensor([[1.0], [3.0]])).tolist()
        [[-1.0], [1.0]]
    """

    supports_masking = True  # the input's mask passes through, as Keras's

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            self.axis = ()
        elif isinstance(axis, int):
            self.axis = (axis,)
        else:
            self.axis = tuple(int(a) for a in axis)
        if (mean is None) != (variance is None):
            raise errors.value_error(
                self,
                "both `mean` and `variance`, or neither",
                f"mean={mean!r}, variance={variance!r}",
                "pass both, or neither and call adapt(data).",
            )
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.adapted = mean is not None

    def build(self, input_shape):
        rank = len(input_shape)
        for axis in self.axis:
            if not -rank <= axis < rank:
                raise errors.value_error(
                    self,
                    f"`axis` values in [-{rank}, {rank})",
                    f"axis={self.axis} for inputs of shape {input_shape}",
                )
        self._keep_axes = tuple(sorted(a % rank for a in self.axis))
        for axis in self._keep_axes:
            if input_shape[axis] is None:
                raise errors.value_error(
                    self, f"a known size on kept axis {axis}", f"shape {input_shape}"
                )
        self._broadcast_shape = tuple(
            input_shape[a] if a in self._keep_axes else 1 for a in range(rank)
        )
        stat_shape = tuple(input_shape[a] for a in self._keep_axes)
        if self.input_mean is None:
            # Keras's names: the variables are `adapt_mean` / `adapt_variance` (paths `.../mean`,
            # `.../variance`), and `mean` / `variance` their views in the broadcast shape.
            self._keras_weight_paths = {"adapt_mean": "mean", "adapt_variance": "variance"}
            self.add_weight(
                name="adapt_mean", shape=stat_shape, initializer="zeros", trainable=False
            )
            self.add_weight(
                name="adapt_variance", shape=stat_shape, initializer="ones", trainable=False
            )
            # Keras keeps `count` (int32, never updated) for old saved files: the same here, so
            # get_weights() / set_weights() line up with Keras's.
            self.add_weight(
                name="count", shape=(), initializer="zeros", trainable=False, dtype="int32"
            )
        else:
            # Not weights (Keras has none here): rebuilt from the config, so not saved either.
            for name, value in (("mean", self.input_mean), ("variance", self.input_variance)):
                fixed = self._fixed(value, stat_shape).reshape(self._broadcast_shape)
                self.register_buffer(f"fixed_{name}", fixed, persistent=False)

    @property
    def mean(self) -> torch.Tensor | None:
        """The mean in the inputs' broadcast shape (`(1, 1, 1, C)` for images and axis=-1), as
        Keras's `layer.mean`; None before the layer is built."""
        return self._statistic("mean")

    @property
    def variance(self) -> torch.Tensor | None:
        """The variance in the inputs' broadcast shape, as Keras's `layer.variance`; None before
        the layer is built."""
        return self._statistic("variance")

    def _statistic(self, name):
        if not self.built:
            return None
        if self.input_mean is not None:
            return getattr(self, f"fixed_{name}")
        # A view: it follows adapt(), set_weights() and loading without a finalize step.
        return getattr(self, f"adapt_{name}").reshape(self._broadcast_shape)

    def _fixed(self, value, stat_shape):
        """A user's scalar or array, aligned to the kept axes from the right, as Keras does."""
        return torch.as_tensor(np.asarray(value, dtype=np.float32)).expand(stat_shape).clone()

    def call(self, inputs):
        x = inputs if inputs.is_floating_point() else inputs.to(self._dtype)
        mean = self.mean.to(x.dtype)
        std = self.variance.to(x.dtype).sqrt().clamp_min(_EPSILON)
        if self.invert:
            return mean + x * std
        return (x - mean) / std

    def adapt(self, data, batch_size=None, steps=None):
        """Learn mean and variance from `data`: an array, a tensor, or a Dataset (its x part).

        Streams over batches, merging each batch's mean and variance (Chan's parallel formula),
        so a Dataset larger than memory works.
        """
        if self.input_mean is not None:
            raise errors.value_error(
                self,
                "no fixed mean / variance when adapting",
                "adapt() on a layer built with mean= and variance=",
                "create Normalization() without them to learn them from data.",
            )
        batches = _batches_of(data, batch_size, steps)
        count, mean, m2 = 0, None, None
        for batch in batches:
            values = backend.as_numpy(batch)
            if values.dtype == object:
                raise errors.value_error(
                    self,
                    "numeric data to adapt to",
                    "a NumPy array of dtype object",
                    "a pandas frame that mixes bool and number columns (as pd.get_dummies "
                    "makes) gives one; cast it first, e.g. np.array(frame, dtype='float32').",
                )
            x = torch.as_tensor(values, dtype=torch.float64)
            if not self.built:
                self.build_from_shape(tuple(x.shape))
            self._check_adapt_shape(tuple(x.shape))
            reduce_axes = tuple(a for a in range(x.ndim) if a not in self._keep_axes)
            batch_count = int(np.prod([x.shape[a] for a in reduce_axes])) if reduce_axes else 1
            batch_mean = x.mean(dim=reduce_axes) if reduce_axes else x
            batch_m2 = (
                ((x - x.mean(dim=reduce_axes, keepdim=True)) ** 2).sum(dim=reduce_axes)
                if reduce_axes
                else torch.zeros_like(x)
            )
            if mean is None:
                count, mean, m2 = batch_count, batch_mean, batch_m2
                continue
            total = count + batch_count
            delta = batch_mean - mean
            mean = mean + delta * batch_count / total
            m2 = m2 + batch_m2 + delta**2 * count * batch_count / total
            count = total
        if mean is None:
            raise errors.value_error(self, "some data to adapt to", "an empty dataset")
        with torch.no_grad():
            for weight, value in ((self.adapt_mean, mean), (self.adapt_variance, m2 / count)):
                weight.copy_(value.reshape(weight.shape).to(weight.dtype))
        self.adapted = True

    def _check_adapt_shape(self, shape) -> None:
        """Data for adapt() must have the sizes the layer was built with on its kept axes."""
        kept = tuple(shape[a] if a < len(shape) else None for a in self._keep_axes)
        if len(shape) <= max(self._keep_axes, default=-1) or kept != tuple(self.adapt_mean.shape):
            raise errors.value_error(
                self,
                f"data whose kept axes {tuple(self._keep_axes)} have sizes "
                f"{tuple(self.adapt_mean.shape)}, as the layer was built",
                f"data of an incompatible shape {shape}",
                "adapt a new Normalization() to data of another shape.",
            )

    def finalize_state(self) -> None:
        """Keras's last step of adapt, which fixes `mean` / `variance` from the adapted
        weights. lamina's `mean` and `variance` read those weights live (after adapt,
        set_weights or loading alike), so there is nothing left to fix."""

    def get_config(self):
        # As Keras writes it: the axes as a tuple (() for axis=None), and mean and variance
        # always (None for an adapted layer, whose statistics are its weights).
        config = {
            **super().get_config(),
            "axis": self.axis,
            "invert": self.invert,
            "mean": None,
            "variance": None,
        }
        if self.input_mean is not None:
            # (given as numbers, arrays or tensors on any device; JSON takes plain floats)
            config["mean"] = backend.as_plain_numpy(self.input_mean).tolist()
            config["variance"] = backend.as_plain_numpy(self.input_variance).tolist()
        return config


def _batches_of(data, batch_size, steps):
    """Yield NumPy-compatible batches from an array, a tensor or an iterable of batches."""
    if isinstance(data, (np.ndarray, torch.Tensor)) or np.isscalar(data):
        array = data
        size = batch_size or len(array) or 1  # no rows: no batch, and adapt() says so
        for start in range(0, len(array), size):
            yield array[start : start + size]
        return
    for step, batch in enumerate(data):
        if steps is not None and step >= steps:
            return
        yield batch[0] if isinstance(batch, (tuple, list)) else batch
