"""Keras initializers, computed on Keras shapes so the fan-in / fan-out rules match Keras.

An initializer is called as `init(shape, dtype=torch.float32)` and returns a tensor on the current
default device (layers build under `torch.device(...)` of their input). Randomness comes from torch's
generator, so `lamina.utils.set_random_seed` makes it reproducible.
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
}
_ALIASES = {
    cls.__name__: name for name, cls in _INITIALIZERS.items() if name not in ("normal", "uniform")
}


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
    return {"class_name": type(initializer).__name__, "config": initializer.get_config()}
