"""Keras initializers, computed on Keras shapes so the fan-in / fan-out rules match Keras.

An initializer is called as `init(shape, dtype=None)` (a dtype name such as "float32", a torch
dtype, or None for `floatx()`, as in Keras) and returns a tensor on the current default device
(layers build under `torch.device(...)` of their input). Randomness comes from
torch's generator, so `lamina.utils.set_random_seed` makes it reproducible.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, hyperparameters
from lamina.random import SeedGenerator


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple[float, float]:
    """Fan-in and fan-out of a weight shape, by Keras's rule.

    Kernels are laid out `(..., in, out)`: a dense kernel `(in, out)` gives `(in, out)`; a conv
    kernel's receptive field (the product of the leading axes) multiplies both. Given both
    `input_axes` and `output_axes` (an EinsumDense kernel, say), the fans are the products of
    those axes' sizes instead.

    Args:
        shape: the weight's shape (a tuple of ints).
        input_axes: the axes whose sizes multiply into the fan-in, or None.
        output_axes: the axes whose sizes multiply into the fan-out, or None.

    Returns:
        `(fan_in, fan_out)` as floats.

    Examples:
        >>> compute_fans((3, 3, 16, 32))
        (144.0, 288.0)
        >>> compute_fans((8, 4, 16), input_axes=[0], output_axes=[1, 2])
        (8.0, 64.0)
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return (
            float(math.prod(shape[axis] for axis in input_axes)),
            float(math.prod(shape[axis] for axis in output_axes)),
        )
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive_field = math.prod(shape[:-2])
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


class Initializer:
    """Base class of initializers: called as `init(shape, dtype)`, it returns a new tensor.

    Subclasses implement `__call__(shape, dtype=torch.float32)` and, when they take arguments,
    `get_config()` so that models saving them can be loaded again.

    Examples:
        >>> class Halves(Initializer):
        ...     def __call__(self, shape, dtype=torch.float32):
        ...         return torch.full(shape, 0.5, dtype=dtype)
        >>> Halves()((2,)).tolist()
        [0.5, 0.5]
    """

    def __call__(self, shape, dtype=torch.float32) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self) -> Initializer:
        """A new initializer of the same class and config: with an int seed it draws the same
        values as this one, as Keras's clone does.

        Returns:
            The new initializer.

        Example:
            >>> init = RandomNormal(seed=3)
            >>> torch.equal(init.clone()((2, 2)), init((2, 2)))
            True
        """
        return type(self).from_config(self.get_config())


class Zeros(Initializer):
    """Fills the tensor with 0 (the default bias initializer).

    Examples:
        >>> Zeros()((2, 2)).tolist()
        [[0.0, 0.0], [0.0, 0.0]]
    """

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        return torch.zeros(shape, dtype=dtype)


class Ones(Initializer):
    """Fills the tensor with 1.

    Examples:
        >>> Ones()((3,)).tolist()
        [1.0, 1.0, 1.0]
    """

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        return torch.ones(shape, dtype=dtype)


class Constant(Initializer):
    """Fills the tensor with a value, broadcast to the shape asked for (as Keras multiplies the
    value by ones: an identity-matrix bias is `Constant(np.eye(3).flatten())`).

    Args:
        value: a scalar, or an array that broadcasts to the weight's shape (default 0).

    Examples:
        >>> Constant(2.5)((2,)).tolist()
        [2.5, 2.5]
        >>> Constant([1.0, 0.0])((2, 2)).tolist()
        [[1.0, 0.0], [1.0, 0.0]]
    """

    def __init__(self, value=0.0):
        if not _numeric(value):
            raise errors.value_error(
                "Constant()", "`value` to be a number or an array of numbers", f"value={value!r}"
            )
        self.value = value

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)  # Keras takes 4
        value = torch.as_tensor(backend.as_numpy(self.value), dtype=dtype)
        if value.ndim == 0:
            return torch.full(shape, value.item(), dtype=dtype)
        try:
            return torch.broadcast_to(value, tuple(shape)).clone()
        except RuntimeError:
            raise errors.value_error(
                "Constant initializer",
                f"a value that broadcasts to the weight's shape {tuple(shape)}",
                f"a value of shape {tuple(value.shape)}",
                "pass a scalar, or an array of the weight's shape",
            ) from None

    def get_config(self):
        value = self.value
        if getattr(value, "ndim", 0):  # an array: JSON holds it as nested lists
            value = backend.as_numpy(value).tolist()
        return {"value": value}


def _numeric(value) -> bool:
    """Whether `value` is a real number or an array (NumPy, torch, nested lists) of them."""
    if isinstance(value, torch.Tensor):
        return not value.is_complex()
    if isinstance(value, (str, bytes)):
        return False
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except (TypeError, ValueError):
        return False


def _check_spread(who: str, mean, stddev) -> None:
    """A normal distribution's mean (any finite number) and standard deviation (>= 0)."""
    hyperparameters.number(mean, "mean", who)
    hyperparameters.number(stddev, "stddev", who, 0)


class RandomNormal(Initializer):
    """Draws from a normal distribution.

    Args:
        mean: the distribution's mean (default 0).
        stddev: its standard deviation (default 0.05).
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.

    Examples:
        >>> init = RandomNormal(stddev=1.0, seed=3)
        >>> bool((init((4,)) == init((4,))).all())
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_spread("RandomNormal()", mean, stddev)
        self.mean, self.stddev, self.seed = mean, stddev, _checked_seed(seed)

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        return torch.empty(shape, dtype=dtype).normal_(
            self.mean, self.stddev, generator=_gen(self.seed)
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": _seed_config(self.seed)}


class RandomUniform(Initializer):
    """Draws uniformly from `[minval, maxval)`.

    Args:
        minval: the lower bound (default -0.05).
        maxval: the upper bound (default 0.05).
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.

    Examples:
        >>> values = RandomUniform(minval=0.0, maxval=1.0, seed=1)((1000,))
        >>> bool(values.min() >= 0.0 and values.max() < 1.0)
        True
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        hyperparameters.number(minval, "minval", "RandomUniform()")
        hyperparameters.number(maxval, "maxval", "RandomUniform()", low=minval)
        self.minval, self.maxval, self.seed = minval, maxval, _checked_seed(seed)

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        return torch.empty(shape, dtype=dtype).uniform_(
            self.minval, self.maxval, generator=_gen(self.seed)
        )

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": _seed_config(self.seed)}


class TruncatedNormal(Initializer):
    """Draws from a normal distribution cut at two standard deviations from the mean.

    Args:
        mean: the distribution's mean (default 0).
        stddev: its standard deviation before truncation (default 0.05).
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.

    Examples:
        >>> values = TruncatedNormal(stddev=1.0, seed=0)((1000,))
        >>> bool(values.abs().max() <= 2.0)
        True
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        _check_spread("TruncatedNormal()", mean, stddev)
        self.mean, self.stddev, self.seed = mean, stddev, _checked_seed(seed)

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        tensor = torch.empty(shape, dtype=dtype)
        return torch.nn.init.trunc_normal_(
            tensor,
            self.mean,
            self.stddev,
            -2 * self.stddev + self.mean,
            2 * self.stddev + self.mean,
            generator=_gen(self.seed),
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": _seed_config(self.seed)}


class VarianceScaling(Initializer):
    """Draws with a variance scaled to the weight's fans: `scale / n`.

    `n` is fan-in, fan-out or their mean (`mode`); the distribution is a normal truncated at two
    standard deviations (rescaled so the variance is still `scale / n`, as Keras), an untruncated
    normal, or a uniform on `[-sqrt(3 * scale / n), sqrt(3 * scale / n)]`.

    Args:
        scale: the variance's numerator (default 1).
        mode: `"fan_in"`, `"fan_out"` or `"fan_avg"`.
        distribution: `"truncated_normal"`, `"untruncated_normal"` (or `"normal"`), `"uniform"`.
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes: the axes that make the fan-in (with `output_axes`), or None for the rule of
            `compute_fans`.
        output_axes: the axes that make the fan-out (with `input_axes`), or None.

    Examples:
        >>> values = VarianceScaling(scale=2.0, distribution="uniform", seed=0)((50, 10))
        >>> bool(values.abs().max() <= (3 * 2.0 / 50) ** 0.5)
        True
    """

    def __init__(
        self,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        seed=None,
        input_axes=None,
        output_axes=None,
    ):
        if not isinstance(scale, (int, float, np.number)) or not scale > 0:
            raise errors.value_error(
                "VarianceScaling `scale`",
                "a positive float",
                f"scale={scale!r}",
                "the variance is scale / fan, so scale must be above 0",
            )
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"VarianceScaling mode must be fan_in, fan_out or fan_avg; received {mode!r}."
            )
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"VarianceScaling distribution {distribution!r} is not known.")
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.seed = _checked_seed(seed)
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        tensor = torch.empty(shape, dtype=dtype)
        generator = _gen(self.seed)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * scale)
            return tensor.uniform_(-limit, limit, generator=generator)
        if self.distribution in ("untruncated_normal", "normal"):
            return tensor.normal_(0.0, math.sqrt(scale), generator=generator)
        # Keras: the stddev of a normal truncated at 2 sigma is 0.8796... of the untruncated one.
        stddev = math.sqrt(scale) / 0.87962566103423978
        return torch.nn.init.trunc_normal_(
            tensor, 0.0, stddev, -2 * stddev, 2 * stddev, generator=generator
        )

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class GlorotUniform(VarianceScaling):
    """Glorot (Xavier) uniform, `VarianceScaling(1.0, "fan_avg", "uniform")`: Dense's kernel.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> values = GlorotUniform(seed=0)((30, 20))
        >>> bool(values.abs().max() <= (6 / (30 + 20)) ** 0.5)
        True
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class GlorotNormal(VarianceScaling):
    """Glorot (Xavier) normal: `VarianceScaling(1.0, "fan_avg", "truncated_normal")`.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> GlorotNormal(seed=0)((30, 20)).shape
        torch.Size([30, 20])
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class HeNormal(VarianceScaling):
    """He normal: `VarianceScaling(2.0, "fan_in", "truncated_normal")`, suited to ReLU layers.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> values = HeNormal(seed=0)((400, 400))
        >>> round(float(values.std()) / (2 / 400) ** 0.5, 1)
        1.0
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class HeUniform(VarianceScaling):
    """He uniform: `VarianceScaling(2.0, "fan_in", "uniform")`.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> values = HeUniform(seed=0)((24, 8))
        >>> bool(values.abs().max() <= (6 / 24) ** 0.5)
        True
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(2.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class LecunNormal(VarianceScaling):
    """LeCun normal: `VarianceScaling(1.0, "fan_in", "truncated_normal")`, SELU's companion.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> values = LecunNormal(seed=0)((400, 400))
        >>> round(float(values.std()) / (1 / 400) ** 0.5, 1)
        1.0
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class LecunUniform(VarianceScaling):
    """LeCun uniform: `VarianceScaling(1.0, "fan_in", "uniform")`.

    Args:
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.
        input_axes, output_axes: the axes that make the fans, as `VarianceScaling`'s.

    Examples:
        >>> values = LecunUniform(seed=0)((12, 4))
        >>> bool(values.abs().max() <= (3 / 12) ** 0.5)
        True
    """

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(1.0, "fan_in", "uniform", seed, input_axes, output_axes)

    def get_config(self):
        return {
            "seed": _seed_config(self.seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


class Orthogonal(Initializer):
    """A random orthogonal matrix (times `gain`); shapes of rank > 2 are flattened to
    `(prod(shape[:-1]), shape[-1])` first, as Keras.

    Args:
        gain: the factor applied to the orthogonal matrix (default 1).
        seed: an int for the same tensor on every call, a `lamina.random.SeedGenerator`
            for new values on each call, or None for torch's global generator.

    Examples:
        >>> q = Orthogonal(seed=0)((3, 3))
        >>> torch.allclose(q @ q.T, torch.eye(3), atol=1e-5)
        True
    """

    def __init__(self, gain=1.0, seed=None):
        hyperparameters.number(gain, "gain", "Orthogonal()")
        self.gain, self.seed = gain, _checked_seed(seed)

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        if len(shape) < 2:
            raise errors.value_error(
                "Orthogonal initializer `shape`",
                "at least two dimensions",
                f"shape={tuple(shape)}",
                "a bias or other 1-D weight takes Zeros or a random initializer",
            )
        # Keras flattens all but the last axis: rows = prod(shape[:-1]), columns = shape[-1].
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = torch.empty((rows, cols), dtype=torch.float32)
        torch.nn.init.orthogonal_(flat, gain=self.gain, generator=_gen(self.seed))
        return flat.reshape(shape).to(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": _seed_config(self.seed)}


class Identity(Initializer):
    """The identity matrix times `gain`, for 2-D shapes (rectangular ones too).

    Args:
        gain: the diagonal's value (default 1).

    Examples:
        >>> Identity(gain=2.0)((2, 3)).tolist()
        [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain=1.0):
        hyperparameters.number(gain, "gain", "Identity()")
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        if len(shape) != 2:
            raise ValueError(f"Identity initializer needs a 2-D shape; received {tuple(shape)}.")
        return self.gain * torch.eye(*shape, dtype=dtype)

    def get_config(self):
        return {"gain": self.gain}


_WINDOWS = {
    "hann": torch.hann_window,
    "hamming": torch.hamming_window,
    "blackman": torch.blackman_window,
    "bartlett": torch.bartlett_window,
}


def window_values(window, length: int, periodic: bool) -> torch.Tensor | None:
    """A window of `length` samples (float64): torch's hann, hamming, blackman and bartlett,
    any other name from SciPy's catalogue (`scipy.signal.get_window`, as Keras), an array, or
    None for no window. (STFT here and the spectrogram layers use it.)

    Args:
        window: a window's name, its values, or None.
        length: the number of samples.
        periodic: a periodic window (for spectral analysis) instead of a symmetric one.

    Example:
        >>> window_values("tukey", 4, periodic=False).tolist()
        [0.0, 1.0, 1.0, 0.0]
    """
    if window is None:
        return None
    if not isinstance(window, str):
        return torch.as_tensor(np.asarray(window), dtype=torch.float64)
    if window in _WINDOWS:
        return _WINDOWS[window](length, periodic=periodic, dtype=torch.float64)
    import scipy.signal  # the other windows: SciPy's catalogue, loaded only when asked for

    values = scipy.signal.get_window(window, length, fftbins=periodic)
    return torch.as_tensor(values, dtype=torch.float64)


def _known_window(window) -> bool:
    try:
        window_values(window, 1, periodic=False)
    except (ValueError, TypeError):
        return False
    return True


class STFT(Initializer):
    """Kernels of a short-time Fourier transform, for a Conv1D that computes one (Keras's STFT).

    The kernel shaped `(frame_length, input_channels, fft_bins)` holds cos (`side="real"`) or
    sin (`side="imag"`) of -2 pi t f / ((fft_bins - 1) * 2), times the window, over its scale.

    Args:
        side: `"real"` or `"imag"`.
        window: `"hann"`, `"hamming"`, `"blackman"`, `"bartlett"`, another name SciPy's
            `get_window` knows (`"tukey"`, ...), a 1-D array of length frame_length, or None.
        scaling: `"density"` (divide by the window's L2 norm), `"spectrum"` (by its sum) or None.
        periodic: a periodic window (for spectral analysis) instead of a symmetric one.

    Examples:
        >>> STFT(window=None)((4, 1, 3))[:, 0, 0].tolist()
        [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT expects side 'real' or 'imag'; received side={side!r}.")
        if isinstance(window, str) and not _known_window(window):
            raise ValueError(
                f"{errors.unknown_name('STFT window', window, _WINDOWS)} Hint: any name "
                "scipy.signal.get_window takes works too (tukey, kaiser, ...)."
            )
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(
                f"STFT expects scaling None, 'density' or 'spectrum'; received scaling={scaling!r}."
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        frame_length, _, fft_bins = shape
        time = torch.arange(frame_length, dtype=torch.float64).reshape(-1, 1, 1)
        frequency = torch.arange(fft_bins, dtype=torch.float64).reshape(1, 1, -1)
        angle = -2.0 * math.pi * time * frequency / ((fft_bins - 1) * 2)
        kernel = torch.cos(angle) if self.side == "real" else torch.sin(angle)
        kernel = kernel.expand(frame_length, shape[1], fft_bins)
        if self.window is not None:
            window = window_values(self.window, frame_length, self.periodic)
            if tuple(window.shape) != (frame_length,):
                raise errors.value_error(
                    "STFT window", f"shape ({frame_length},)", f"shape {tuple(window.shape)}"
                )
            scale = 1.0
            if self.scaling == "density":
                scale = window.square().sum().sqrt()
            elif self.scaling == "spectrum":
                scale = window.abs().sum()
            kernel = kernel * window.reshape(-1, 1, 1) / scale
        return kernel.to(dtype).contiguous()

    def get_config(self):
        window = self.window
        if window is not None and not isinstance(window, str):
            window = torch.as_tensor(window).tolist()
        return {
            "side": self.side,
            "window": window,
            "periodic": self.periodic,
            "scaling": self.scaling,
        }


def _checked_seed(seed):
    """The seed an initializer keeps: None, an int, or a `SeedGenerator` (a config dict of one,
    as `get_config` writes it, comes back as the generator)."""
    if isinstance(seed, dict) and seed.get("class_name") == "SeedGenerator":
        return SeedGenerator.from_config(seed.get("config", {}))
    if seed is None or isinstance(seed, SeedGenerator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return int(seed)
    raise errors.value_error(
        "Initializer `seed`",
        "an int, a lamina.random.SeedGenerator or None",
        f"seed={seed!r} (of type {type(seed).__name__})",
        "an int draws the same values on every call, a SeedGenerator new ones",
    )


def _seed_config(seed):
    if isinstance(seed, SeedGenerator):
        # Keras's form, so Keras reads the config back as a generator too.
        return {
            "module": "keras.random",
            "class_name": "SeedGenerator",
            "config": seed.get_config(),
            "registered_name": None,
        }
    return seed


def _gen(seed):
    if seed is None:
        return None
    device = torch.empty(0).device
    if isinstance(seed, SeedGenerator):  # a stream: each call draws new values, as in Keras
        return seed.torch_generator(device)
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


_INITIALIZERS = {
    "zeros": Zeros,
    "ones": Ones,
    "constant": Constant,
    "random_normal": RandomNormal,
    "random_uniform": RandomUniform,
    "normal": RandomNormal,  # Keras's short aliases (Embedding's default is "uniform")
    "uniform": RandomUniform,
    "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal,
    "he_normal": HeNormal,
    "he_uniform": HeUniform,
    "lecun_normal": LecunNormal,
    "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal,
    "identity": Identity,
    "stft": STFT,
}
_ALIASES = {
    cls.__name__: name for name, cls in _INITIALIZERS.items() if name not in ("normal", "uniform")
}
_ALIASES.update(
    {
        "IdentityInitializer": "identity",
        "OrthogonalInitializer": "orthogonal",
        "STFTInitializer": "stft",
        "one": "ones",
        "zero": "zeros",
    }
)


def get(identifier) -> Initializer:
    """An initializer from a name, a config dict, an instance, a callable or None.

    Args:
        identifier: None (gives `Zeros()`), a name such as `"glorot_uniform"` or `"GlorotUniform"`,
            `{"class_name": ..., "config": ...}`, an `Initializer` (returned as it is) or its
            class (instantiated with its defaults, as Keras does), a function
            `(shape, dtype) -> array` (wrapped), or a tensor or array (the weight starts as a copy
            of it, as in Keras).

    Returns:
        An `Initializer`.

    Examples:
        >>> type(get("he_normal")).__name__
        'HeNormal'
    """
    if identifier is None:
        return Zeros()
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = _ALIASES.get(identifier, identifier.lower())
        if key not in _INITIALIZERS:
            raise errors.unknown_name("initializer", identifier, _INITIALIZERS)
        return _INITIALIZERS[key]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        key = _ALIASES.get(identifier["class_name"], identifier["class_name"])
        # Keras 3.15 writes input_axes/output_axes (null = its default fan axes, lamina's too).
        config = {
            k: v
            for k, v in identifier.get("config", {}).items()
            if not (k in ("input_axes", "output_axes") and v is None)
        }
        if key in _INITIALIZERS:
            return _INITIALIZERS[key](**config)
        from lamina.saving import object_registration

        return object_registration.registered_class(
            "initializer", identifier, _INITIALIZERS
        ).from_config(config)
    if isinstance(identifier, (torch.Tensor, np.ndarray, np.generic)):
        return _TensorInitializer(identifier)
    if isinstance(identifier, type):
        # A class given for an instance (`kernel_initializer=HeUniform`): Keras instantiates it
        # with its defaults.
        return get(identifier())
    if callable(identifier):
        return _CallableInitializer(identifier)
    raise TypeError(f"Could not interpret initializer {identifier!r}.")


class _TensorInitializer(Initializer):
    """A tensor or array given as the initializer: the weight starts as a copy of it."""

    def __init__(self, value):
        self.value = value

    def __call__(self, shape, dtype=None):
        value = torch.as_tensor(self.value)
        if tuple(shape) != tuple(value.shape):
            raise errors.value_error(
                "A tensor initializer",
                f"a weight of its own shape {tuple(value.shape)}",
                f"shape={tuple(shape)}",
                "pass a tensor shaped like the weight, or an initializer name.",
            )
        return value.to(backend.to_torch_dtype(dtype), copy=True)


class _CallableInitializer(Initializer):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype=None):
        dtype = backend.to_torch_dtype(dtype)
        return torch.as_tensor(self.fn(shape, dtype=dtype), dtype=dtype)


def serialize(initializer: Initializer) -> dict:
    """An initializer as Keras writes it: `{"module", "class_name", "config", "registered_name"}`.

    Args:
        initializer: the `Initializer` to describe.

    Examples:
        >>> entry = serialize(Constant(3.0))
        >>> entry["module"], entry["class_name"], entry["config"]
        ('keras.initializers', 'Constant', {'value': 3.0})
    """
    from lamina.saving.keras_entry import serialize_keras_object

    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None) -> Initializer:
    """A config dict (from `serialize`) or a name -> the initializer.

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"glorot_uniform"`.
        custom_objects: optional mapping of class names to user Initializer classes.

    Examples:
        >>> deserialize({"class_name": "Constant", "config": {"value": 2.0}})((2,)).tolist()
        [2.0, 2.0]
    """
    if custom_objects and isinstance(config, dict) and config.get("class_name") in custom_objects:
        return custom_objects[config["class_name"]].from_config(config.get("config", {}))
    return get(config)


# Keras's other spellings: the lowercase names and two long class names are the classes themselves.
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
stft = STFT
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros
