"""Keras initializers, computed on Keras shapes so the fan-in / fan-out rules match Keras.

An initializer is called as `init(shape, dtype=torch.float32)` and returns a tensor on the current
default device (layers build under `torch.device(...)` of their input). Randomness comes from
torch's generator, so `lamina.utils.set_random_seed` makes it reproducible.
"""

from __future__ import annotations

import math

import torch

from lamina.engine import errors


def compute_fans(shape) -> tuple[float, float]:
    """Keras's rule: kernels are (..., in, out); a conv kernel's receptive field multiplies both."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive_field = math.prod(shape[:-2])
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


class Initializer:
    def __call__(self, shape, dtype=torch.float32) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def __call__(self, shape, dtype=torch.float32):
        return torch.zeros(shape, dtype=dtype)


class Ones(Initializer):
    def __call__(self, shape, dtype=torch.float32):
        return torch.ones(shape, dtype=dtype)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=torch.float32):
        return torch.full(shape, float(self.value), dtype=dtype)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=torch.float32):
        return torch.empty(shape, dtype=dtype).normal_(
            self.mean, self.stddev, generator=_gen(self.seed)
        )

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=torch.float32):
        return torch.empty(shape, dtype=dtype).uniform_(
            self.minval, self.maxval, generator=_gen(self.seed)
        )

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=torch.float32):
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
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(
                f"VarianceScaling mode must be fan_in, fan_out or fan_avg; received {mode!r}."
            )
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform", "normal"):
            raise ValueError(f"VarianceScaling distribution {distribution!r} is not known.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=torch.float32):
        fan_in, fan_out = compute_fans(shape)
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
            "seed": self.seed,
        }


class GlorotUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class LecunUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class Orthogonal(Initializer):
    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=torch.float32):
        # Keras flattens all but the last axis: rows = prod(shape[:-1]), columns = shape[-1].
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = torch.empty((rows, cols), dtype=torch.float32)
        torch.nn.init.orthogonal_(flat, gain=self.gain, generator=_gen(self.seed))
        return flat.reshape(shape).to(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=torch.float32):
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


class STFT(Initializer):
    """Kernels of a short-time Fourier transform, for a Conv1D that computes one (Keras's STFT).

    The kernel shaped `(frame_length, input_channels, fft_bins)` holds cos (`side="real"`) or
    sin (`side="imag"`) of -2 pi t f / ((fft_bins - 1) * 2), times the window, over its scale.

    Args:
        side: `"real"` or `"imag"`.
        window: `"hann"`, `"hamming"`, `"blackman"`, `"bartlett"`, a 1-D array of length
            frame_length, or None.
        scaling: `"density"` (divide by the window's L2 norm), `"spectrum"` (by its sum) or None.
        periodic: a periodic window (for spectral analysis) instead of a symmetric one.

    Example:
    >>> STFT(window=None)((4, 1, 3))[:, 0, 0].tolist()
    [1.0, 1.0, 1.0, 1.0]
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT expects side 'real' or 'imag'; received side={side!r}.")
        if isinstance(window, str) and window not in _WINDOWS:
            raise errors.unknown_name("STFT window", window, _WINDOWS)
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(
                f"STFT expects scaling None, 'density' or 'spectrum'; received scaling={scaling!r}."
            )
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=torch.float32):
        frame_length, _, fft_bins = shape
        time = torch.arange(frame_length, dtype=torch.float64).reshape(-1, 1, 1)
        frequency = torch.arange(fft_bins, dtype=torch.float64).reshape(1, 1, -1)
        angle = -2.0 * math.pi * time * frequency / ((fft_bins - 1) * 2)
        kernel = torch.cos(angle) if self.side == "real" else torch.sin(angle)
        kernel = kernel.expand(frame_length, shape[1], fft_bins)
        if self.window is not None:
            if isinstance(self.window, str):
                window = _WINDOWS[self.window](
                    frame_length, periodic=self.periodic, dtype=torch.float64
                )
            else:
                window = torch.as_tensor(self.window, dtype=torch.float64)
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


def _gen(seed):
    if seed is None:
        return None
    generator = torch.Generator(device=torch.empty(0).device)
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
    }
)


def get(identifier) -> Initializer:
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
        return _INITIALIZERS[key](**config)
    if callable(identifier):
        return _CallableInitializer(identifier)
    raise TypeError(f"Could not interpret initializer {identifier!r}.")


class _CallableInitializer(Initializer):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype=torch.float32):
        return torch.as_tensor(self.fn(shape, dtype=dtype), dtype=dtype)


def serialize(initializer: Initializer) -> dict:
    """An initializer -> `{"class_name": ..., "config": ...}`, as Keras writes it."""
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}


def deserialize(config, custom_objects=None) -> Initializer:
    """A config dict (from `serialize`) or a name -> the initializer.

    Args:
        config: `{"class_name": ..., "config": ...}` or a name such as `"glorot_uniform"`.
        custom_objects: optional mapping of class names to user Initializer classes.

    Example:
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
