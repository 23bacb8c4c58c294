"""Random tensors as `keras.random` draws them: seeds, seed generators and the ten samplers.

Every sampler takes `seed`, one of:

- an `int`: the same numbers on every call (a fixed, stateless seed);
- a `SeedGenerator`: a reproducible stream, each call drawing the generator's next seed (the way
  layers get fresh, yet repeatable, randomness on every step);
- `None`: torch's global generator, which `lamina.utils.set_random_seed` seeds.

Tensors are made on `lamina.backend.default_device()` with a `torch.Generator` of that device,
in `dtype` (default `lamina.backend.floatx()` for floats). Inside a symbolic build (shapes inferred
on the meta device) they are meta tensors, and a `SeedGenerator` gives no seed.

Examples:
    >>> from lamina import random
    >>> generator = random.SeedGenerator(42)
    >>> first = random.normal((2, 3), seed=generator)
    >>> second = random.normal((2, 3), seed=generator)   # the stream moved on: other numbers
    >>> bool((random.uniform((2,), seed=7) == random.uniform((2,), seed=7)).all())
    True
"""

from __future__ import annotations

import random as python_random

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, func_transforms, naming
from lamina.engine.weight import NonTrainableWeight, as_weight

__all__ = [
    "SeedGenerator",
    "beta",
    "binomial",
    "categorical",
    "dropout",
    "gamma",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]


def _torch_seed(seed: int, counter: int = 0) -> int:
    """The torch seed of the state (seed, counter): their sum as an unsigned 32-bit int, Keras's
    torch backend's rule, so a stream draws the numbers Keras draws for the same seed."""
    return (int(seed) + int(counter)) & 0xFFFFFFFF


class SeedGenerator:
    """A seeded stream of seeds: pass it as `seed=` and each call gets the next one.

    Two generators built with the same seed give the same stream, so a layer that keeps one
    (`self.seed_generator = SeedGenerator(seed)`) draws fresh noise every step yet repeats
    exactly across runs. Without a seed, the seed comes from Python's `random` module, which
    `lamina.utils.set_random_seed` seeds.

    Args:
        seed: an int, or None for one drawn from Python's `random`.
        name: a name for the generator (default `seed_generator`, made unique).

    Examples:
        >>> generator = SeedGenerator(1337)
        >>> noise = lamina.random.normal((4,), seed=generator)   # doctest: +SKIP
    """

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)
        if kwargs:
            raise errors.unexpected_arguments("SeedGenerator()", kwargs)
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(
                f"SeedGenerator's seed must be an int or None; received seed={seed!r} "
                f"(of type {type(seed).__name__})."
            )
        self._initial_seed = int(seed)
        self.name = name or naming.unique_name("seed_generator")
        # On the host, always (even under torch.set_default_device("cuda")): each draw reads it
        # as Python ints, which on a GPU would wait for the device at every step. A variable, as
        # in Keras: the layer keeping this generator lists it in `layer.variables`.
        self.state = as_weight(
            torch.tensor([self._initial_seed, 0], dtype=torch.int64, device="cpu"),
            NonTrainableWeight,
            f"{self.name}/seed_generator_state",
        )

    def next(self, ordered=True) -> torch.Tensor:
        """The current `[seed, counter]` state; the counter then moves on by one."""
        del ordered
        current = self.state.clone()
        if func_transforms.active():  # the state may be captured by the transform
            step = torch.tensor([0, 1], dtype=current.dtype, device=current.device)
            func_transforms.assign(self.state, current + step, self, "state")
        else:
            self.state[1] += 1
        return current

    def next_seed(self) -> int:
        """The next seed of the stream, as one int (what the samplers use)."""
        seed, counter = (int(v) for v in self.next())
        return _torch_seed(seed, counter)

    def torch_generator(self, device) -> torch.Generator:
        """A `torch.Generator` on `device` seeded with the stream's next seed.

        Args:
            device: the device the draws are made on.
        """
        generator = torch.Generator(device=device)
        generator.manual_seed(self.next_seed())
        return generator

    def get_config(self) -> dict:
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (
            f"<SeedGenerator name={self.name} seed={self._initial_seed} draws={int(self.state[1])}>"
        )


def _device() -> torch.device:
    """Where draws are made: lamina's device, or "meta" inside output-shape inference.

    A subclassed model is built by a symbolic call on meta tensors; a draw made on the real
    device there (the VAE's `random.normal` in a Sampling layer) could not mix with them.
    """
    default = torch.get_default_device()
    return default if default.type == "meta" else backend.default_device()


def _generator(seed, device):
    """A torch.Generator on `device` for `seed`, or None (torch's global generator).

    None on the meta device too, where nothing is drawn: a symbolic build takes no seed from a
    `SeedGenerator` stream, as Keras's stateless symbolic call does not advance one.
    """
    if seed is None or torch.device(device).type == "meta":
        return None
    if isinstance(seed, SeedGenerator):
        value = seed.next_seed()
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        value = _torch_seed(seed)
    elif isinstance(seed, (torch.Tensor, np.ndarray)) and backend.as_numpy(seed).dtype.kind in "iu":
        flat = [int(v) for v in backend.as_numpy(seed).reshape(-1)]
        value = _torch_seed(*flat[:2])
    else:
        raise ValueError(
            "seed must be an int, a lamina.random.SeedGenerator or None; "
            f"received seed={seed!r} (of type {type(seed).__name__})."
        )
    generator = torch.Generator(device=device)
    generator.manual_seed(value)
    return generator


# Torch has no arithmetic for uint16/uint32: Keras's torch backend draws them as the next wider
# signed int, which holds every value of the unsigned one.
_WIDER_THAN_UNSIGNED = {"uint16": torch.int32, "uint32": torch.int64}


def _torch_dtype(dtype) -> torch.dtype:
    if dtype is not None and not isinstance(dtype, torch.dtype):
        wider = _WIDER_THAN_UNSIGNED.get(backend.standardize_dtype(dtype))
        if wider is not None:
            return wider
    return backend.to_torch_dtype(dtype)


def _float_dtype(dtype, who: str) -> torch.dtype:
    torch_dtype = _torch_dtype(dtype)
    if not torch_dtype.is_floating_point:
        raise ValueError(
            f"`lamina.random.{who}` requires a floating point `dtype`. Received: dtype={dtype}"
        )
    return torch_dtype


def _integer_dtype(dtype, who: str) -> torch.dtype:
    torch_dtype = _torch_dtype(dtype)
    if torch_dtype.is_floating_point or torch_dtype.is_complex or torch_dtype == torch.bool:
        raise ValueError(
            f"`lamina.random.{who}` requires an integer `dtype`. Received: dtype={dtype}"
        )
    return torch_dtype


def _shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(d) for d in shape)


def _tensor(value, device, dtype=None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype) if dtype is not None else value.to(device)
    return torch.as_tensor(np.asarray(value), device=device, dtype=dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution.

    Args:
        shape: the output's shape.
        mean: the distribution's mean.
        stddev: its standard deviation.
        dtype: a floating dtype (default `floatx()`).
        seed: an int, a `SeedGenerator` or None (see the module docstring).

    Examples:
        >>> lamina.random.normal((2, 2), mean=1.0, stddev=0.1, seed=0).shape
        torch.Size([2, 2])
    """
    dtype = _float_dtype(dtype, "normal")
    device = _device()
    draws = torch.randn(
        _shape(shape), generator=_generator(seed, device), dtype=dtype, device=device
    )
    return draws * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples of a uniform distribution over `[minval, maxval)`.

    Args:
        shape: the output's shape.
        minval: the lower bound (included).
        maxval: the upper bound (excluded).
        dtype: a floating dtype (default `floatx()`); integers: use `randint`.
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.uniform((3,), minval=-1.0, maxval=1.0, seed=0).shape
        torch.Size([3])
    """
    dtype = _float_dtype(dtype, "uniform")
    device = _device()
    draws = torch.rand(
        _shape(shape), generator=_generator(seed, device), dtype=dtype, device=device
    )
    return draws * (maxval - minval) + minval


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples of a normal distribution cut at two standard deviations (redrawn beyond).

    Args:
        shape: the output's shape.
        mean: the untruncated distribution's mean.
        stddev: its standard deviation.
        dtype: a floating dtype (default `floatx()`).
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> bool(lamina.random.truncated_normal((1000,), seed=0).abs().max() <= 2.0)
        True
    """
    dtype = _float_dtype(dtype, "truncated_normal")
    device = _device()
    out = torch.empty(_shape(shape), dtype=dtype, device=device)
    # Standard draws then scaled, as Keras does: `trunc_normal_` itself divides by `stddev`, so
    # `stddev=0` (a constant `mean`) or a negative one (a mirrored draw) would fail there.
    torch.nn.init.trunc_normal_(out, 0.0, 1.0, -2.0, 2.0, generator=_generator(seed, device))
    return out * stddev + mean


def _check_integer_range(minval: int, maxval: int, dtype) -> None:
    """Refuses bounds the dtype cannot hold: casting the draws would wrap them around silently."""
    name = backend.standardize_dtype(dtype)
    info = np.iinfo(name)
    if minval < info.min or maxval - 1 > info.max:
        raise ValueError(
            f"`lamina.random.randint` draws from [minval, maxval) = [{minval}, {maxval}), which "
            f"dtype={name} cannot hold (its range is [{info.min}, {info.max}]). Pass a wider "
            "`dtype` or narrower bounds."
        )


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from `[minval, maxval)`.

    Args:
        shape: the output's shape.
        minval: the lowest value (included).
        maxval: the upper bound (excluded).
        dtype: an integer dtype (default "int32").
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.randint((4,), 0, 10, seed=0).dtype
        torch.int32
    """
    torch_dtype = _integer_dtype(dtype, "randint")  # before drawing: Keras refuses floats too
    _check_integer_range(int(minval), int(maxval), dtype)
    device = _device()
    draws = torch.randint(
        int(minval),
        int(maxval),
        _shape(shape),
        generator=_generator(seed, device),
        device=device,
        dtype=torch.int64,
    )
    return draws.to(torch_dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Class ids drawn from categorical distributions given by unnormalised log-probabilities.

    Args:
        logits: a `(batch, num_classes)` tensor; row i's softmax is distribution i.
        num_samples: how many ids to draw per row (with replacement).
        dtype: an integer dtype (default "int32").
        seed: an int, a `SeedGenerator` or None.

    Returns:
        A `(batch, num_samples)` tensor of class ids.

    Examples:
        >>> lamina.random.categorical([[0.0, 0.0, 0.0]], 5, seed=0).shape
        torch.Size([1, 5])
    """
    device = _device()
    logits = _tensor(logits, device)
    if logits.ndim != 2:
        raise ValueError(
            "`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
            f"Received: logits with shape {tuple(logits.shape)}"
        )
    probabilities = torch.softmax(logits.to(torch.float64), dim=-1)
    draws = torch.multinomial(
        probabilities, int(num_samples), replacement=True, generator=_generator(seed, device)
    )
    return draws.to(_torch_dtype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """`inputs` with a `rate` fraction of entries zeroed, the rest scaled by `1 / (1 - rate)`.

    Args:
        inputs: a floating tensor.
        rate: the probability of dropping an entry, in `[0, 1]`.
        noise_shape: the mask's shape, broadcast over `inputs` (None entries take the input's
            size), e.g. `(batch, 1, features)` to drop the same features at every step.
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.dropout(torch.ones(4), 0.5, seed=0).unique().tolist()  # doctest: +SKIP
        [0.0, 2.0]
    """
    device = _device()
    inputs = _tensor(inputs, device)
    if not 0 <= rate <= 1:
        raise ValueError(f"dropout's rate must be in [0, 1]; received rate={rate}.")
    if noise_shape is None:
        mask_shape = tuple(inputs.shape)
    else:
        noise_shape = tuple(noise_shape)
        mask_shape = tuple(
            inputs.shape[i] if size is None else int(size) for i, size in enumerate(noise_shape)
        )
    try:
        fits = torch.broadcast_shapes(mask_shape, inputs.shape) == inputs.shape
    except RuntimeError:  # no common shape at all, e.g. a mask of (2, 5) for inputs (4, 5)
        fits = False
    if not fits:
        raise ValueError(
            f"dropout's noise_shape={noise_shape} does not broadcast to the inputs' shape "
            f"{tuple(inputs.shape)}: the mask would reshape the output. Give one entry per input "
            "axis, each the axis's size, 1 or None."
        )
    if rate == 1:
        return torch.zeros_like(inputs)
    if rate == 0:  # the inputs themselves, as in Keras: integer inputs keep their dtype
        return inputs
    keep = 1.0 - rate
    draws = torch.rand(mask_shape, generator=_generator(seed, device), device=device)
    mask = draws < keep
    return torch.where(mask, inputs / keep, torch.zeros((), dtype=inputs.dtype, device=device))


def shuffle(x, axis=0, seed=None):
    """`x` with its entries along `axis` randomly permuted.

    Args:
        x: a tensor.
        axis: the axis to shuffle along.
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> sorted(lamina.random.shuffle(torch.arange(5), seed=0).tolist())
        [0, 1, 2, 3, 4]
    """
    device = _device()
    x = _tensor(x, device)
    permutation = torch.randperm(x.shape[axis], generator=_generator(seed, device), device=device)
    return x.index_select(axis, permutation)


def _check_positive(value: torch.Tensor, name: str, who: str) -> None:
    """Refuses a concentration that is not > 0 (or NaN): the sampler would never accept a draw."""
    if not bool((value > 0).all()):
        raise ValueError(
            f"`lamina.random.{who}` requires `{name}` > 0 everywhere; received {name} with "
            f"minimum {value.min().item()}. A gamma distribution's concentration is positive."
        )


def _standard_gamma(alpha: torch.Tensor, generator) -> torch.Tensor:
    """Gamma(alpha, 1) samples, alpha broadcast to the output, by Marsaglia and Tsang's method.

    torch's own gamma sampler takes no generator, so seeded streams need this one: for
    alpha >= 1, d = alpha - 1/3, c = 1/sqrt(9d), accept d*v for v = (1 + c*z)^3 when
    log(u) < z^2/2 + d - d*v + d*log(v); alpha < 1 boosts: Gamma(alpha + 1) * u^(1/alpha).
    """
    boosted = alpha < 1
    a = torch.where(boosted, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    result = torch.empty_like(alpha)
    pending = torch.ones_like(alpha, dtype=torch.bool)
    while bool(pending.any()):
        z = torch.randn(alpha.shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
        u = torch.rand(alpha.shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
        v = (1 + c * z) ** 3
        safe_v = torch.where(v > 0, v, torch.ones_like(v))
        accept = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * safe_v + d * torch.log(safe_v))
        newly = pending & accept
        result = torch.where(newly, d * safe_v, result)
        pending = pending & ~accept
    u = torch.rand(alpha.shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
    return torch.where(boosted, result * u ** (1.0 / alpha), result)


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples of a gamma distribution of shape `alpha` and scale 1.

    Args:
        shape: the output's shape.
        alpha: the concentration (a float or a tensor broadcastable to `shape`).
        dtype: a floating dtype (default `floatx()`).
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.gamma((3,), alpha=2.0, seed=0).shape
        torch.Size([3])
    """
    dtype = _float_dtype(dtype, "gamma")
    device = _device()
    concentration = _tensor(alpha, device, torch.float64).expand(_shape(shape))
    _check_positive(concentration, "alpha", "gamma")
    return _standard_gamma(concentration, _generator(seed, device)).to(dtype)


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples of a beta distribution: `X / (X + Y)` for X ~ Gamma(alpha), Y ~ Gamma(beta).

    Args:
        shape: the output's shape.
        alpha: the first concentration (float or tensor broadcastable to `shape`).
        beta: the second concentration.
        dtype: a floating dtype (default `floatx()`).
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.beta((3,), alpha=2.0, beta=5.0, seed=0).shape
        torch.Size([3])
    """
    dtype = _float_dtype(dtype, "beta")
    device = _device()
    generator = _generator(seed, device)
    shape = _shape(shape)
    alpha = _tensor(alpha, device, torch.float64).expand(shape)
    beta = _tensor(beta, device, torch.float64).expand(shape)
    _check_positive(alpha, "alpha", "beta")
    _check_positive(beta, "beta", "beta")
    x = _standard_gamma(alpha, generator)
    y = _standard_gamma(beta, generator)
    return (x / (x + y)).to(dtype)


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples of binomial distributions: successes in `counts` trials of chance `probabilities`.

    Args:
        shape: the output's shape.
        counts: the number of trials (float or tensor broadcastable to `shape`).
        probabilities: each trial's chance of success, likewise.
        dtype: a floating dtype (default `floatx()`), as Keras returns counts.
        seed: an int, a `SeedGenerator` or None.

    Examples:
        >>> lamina.random.binomial((3,), counts=10, probabilities=0.5, seed=0).shape
        torch.Size([3])
    """
    dtype = _float_dtype(dtype, "binomial")
    device = _device()
    shape = _shape(shape)
    count = _tensor(counts, device, torch.float64).expand(shape).contiguous()
    chance = _tensor(probabilities, device, torch.float64).expand(shape).contiguous()
    # torch.binomial answers nonsense parameters with numbers (p=1.5 gives `counts`): refuse them.
    if not bool((count >= 0).all() & (chance >= 0).all() & (chance <= 1).all()):
        raise ValueError(
            "`lamina.random.binomial` requires `counts` >= 0 and `probabilities` in [0, 1]; "
            f"received counts with minimum {count.min().item()} and probabilities in "
            f"[{chance.min().item()}, {chance.max().item()}]."
        )
    return torch.binomial(count, chance, generator=_generator(seed, device)).to(dtype)
