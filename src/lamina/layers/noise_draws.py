"""The random draws of the noise layers (dropout, Gaussian noise, RNN cells' dropout masks).

A layer given `seed=` keeps its own `lamina.random.SeedGenerator` (`layer.seed_generator`), as in
Keras: each call draws from the generator's next seed, so two layers built with the same seed
give the same masks call after call, whatever the global generator does. A layer without a seed
draws from torch's global generator, which `lamina.utils.set_random_seed` seeds.

Integer inputs draw in floatx (torch has no integer uniform or normal draws), so their noisy
outputs are float, as Keras's; the dtype is picked inline at each draw, which every training
step of a model with dropout runs.
"""

from __future__ import annotations

import torch

from lamina import dtypes, random
from lamina.engine import func_transforms


def seed_generator_for(seed, layer) -> random.SeedGenerator | None:
    """The generator a layer given `seed` keeps, or None for torch's global one.

    Args:
        seed: the layer's `seed` argument (an int or None).
        layer: the layer, whose name names the generator.

    Example:
        >>> seed_generator_for(None, layer) is None  # doctest: +SKIP
        True
    """
    if seed is None:
        return None
    return random.SeedGenerator(seed, name=f"{layer.name}_seed_generator")


def _torch_generator(seed_generator, like: torch.Tensor):
    return None if seed_generator is None else seed_generator.torch_generator(like.device)


def uniform(shape, like: torch.Tensor, seed_generator=None) -> torch.Tensor:
    """Uniform draws in [0, 1) of `shape`, in `like`'s dtype (floatx for integers) and device.

    Args:
        shape: the draws' shape.
        like: a tensor whose dtype and device the draws take.
        seed_generator: the layer's `SeedGenerator`, or None for torch's global generator.
    """
    generator = _torch_generator(seed_generator, like)
    dtype = like.dtype if like.is_floating_point() else getattr(torch, dtypes.floatx())
    return torch.rand(shape, dtype=dtype, device=like.device, generator=generator)


def normal(shape, like: torch.Tensor, seed_generator=None) -> torch.Tensor:
    """Standard normal draws of `shape`, in `like`'s dtype (floatx for integers) and device.

    Args:
        shape: the draws' shape.
        like: a tensor whose dtype and device the draws take.
        seed_generator: the layer's `SeedGenerator`, or None for torch's global generator.
    """
    generator = _torch_generator(seed_generator, like)
    dtype = like.dtype if like.is_floating_point() else getattr(torch, dtypes.floatx())
    return torch.randn(shape, dtype=dtype, device=like.device, generator=generator)


def keep_mask(shape, keep: float, like: torch.Tensor, seed_generator=None) -> torch.Tensor:
    """Entries 1 / keep with probability `keep`, else 0, in `like`'s dtype and device.

    On CPU, uniform draws compared in place are 2.6x faster than torch's dropout kernel, whose
    Bernoulli sampling dominated the seeds' CNN step (measured on a (64, 16, 16, 32) input:
    forward + backward 1.6 ms against 4.2 ms with F.dropout).

    Args:
        shape: the mask's shape.
        keep: the probability of keeping an entry, in (0, 1].
        like: a tensor whose dtype and device the mask takes.
        seed_generator: the layer's `SeedGenerator`, or None for torch's global generator.
    """
    draws = uniform(shape, like, seed_generator)
    if func_transforms.active():  # vmap has no rule for the in-place comparison
        return (draws < keep).to(draws.dtype) * (1.0 / keep)
    return draws.lt_(keep).mul_(1.0 / keep)


def bernoulli_mask(shape, rate: float, like: torch.Tensor, seed_generator=None) -> torch.Tensor:
    """Inverted-dropout mask by Bernoulli draws: 0 with probability `rate`, else 1 / (1 - rate).

    Args:
        shape: the mask's shape.
        rate: the probability of dropping an entry, in [0, 1].
        like: a tensor whose dtype and device the mask takes.
        seed_generator: the layer's `SeedGenerator`, or None for torch's global generator.
    """
    dtype = like.dtype if like.is_floating_point() else getattr(torch, dtypes.floatx())
    if rate >= 1.0:
        return torch.zeros(shape, dtype=dtype, device=like.device)
    generator = _torch_generator(seed_generator, like)
    if func_transforms.vmapping():  # vmap draws per call only into a new tensor
        keep = torch.full(shape, 1.0 - rate, dtype=dtype, device=like.device)
        return torch.bernoulli(keep, generator=generator) / (1.0 - rate)
    keep = torch.empty(shape, dtype=dtype, device=like.device)
    keep.bernoulli_(1.0 - rate, generator=generator)
    return keep.div_(1.0 - rate)
