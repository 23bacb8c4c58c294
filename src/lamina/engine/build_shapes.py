"""Keras 3's rule for a `build()` that takes one shape per `call()` argument.

A layer whose `call(self, foo, bar)` takes several tensors may write `build(self, foo_shape,
bar_shape)`: each build argument named `<call argument>_shape` gets that argument's shape. A build
with one argument gets the first argument's shape, whatever its name (the usual
`build(self, input_shape)`). Only the first call needs this, so none of it runs once a layer is
built.
"""

from __future__ import annotations

import inspect

import torch

from lamina import tree
from lamina.engine import errors
from lamina.engine.keras_tensor import KerasTensor

_NAMED_KINDS = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.KEYWORD_ONLY,
)


def shape_parameters(build) -> tuple[str, ...]:
    """The names `build` takes shapes by (after `self`; `*args` and `**kwargs` aside)."""
    parameters = list(inspect.signature(build).parameters.values())[1:]
    return tuple(p.name for p in parameters if p.kind in _NAMED_KINDS)


def _is_tensor(value) -> bool:
    return isinstance(value, (torch.Tensor, KerasTensor))


def _shape(value):
    return None if value is None else tuple(value.shape)


def _tensor_shapes(call, args, kwargs) -> dict:
    """`{"<argument>_shape": shape}` for each call() argument given a tensor, or a structure of
    tensors (and Nones); the mask and the `*args` / `**kwargs` catch-alls aside, as Keras."""
    signature = inspect.signature(call)
    parameters = signature.parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    # `training=` and `mask=` reach forward() whether call() takes them or not.
    kwargs = {k: v for k, v in kwargs.items() if takes_any or k in parameters}
    bound = signature.bind_partial(*args, **kwargs).arguments
    shapes = {}
    for name, value in bound.items():
        if name == "mask" or parameters[name].kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        ):
            continue
        if _is_tensor(value):
            shapes[f"{name}_shape"] = _shape(value)
        elif isinstance(value, (list, tuple, dict)) and value:
            flat = tree.flatten(value)
            if all(x is None or _is_tensor(x) for x in flat) and any(_is_tensor(x) for x in flat):
                shapes[f"{name}_shape"] = tree.map_structure(_shape, value)
    return shapes


def shapes_for_build(layer, names: tuple[str, ...], args, kwargs) -> dict:
    """The keyword arguments for `layer.build(**...)` on the call `layer(*args, **kwargs)`,
    where build takes the several shape arguments `names`.

    Raises a ValueError naming the layer when a build argument cannot be matched: one whose name
    does not end in `_shape`, or names no argument of call().
    """
    call_parameters = inspect.signature(layer.call).parameters
    expected = "build() arguments named `<call argument>_shape`, one per call() argument"
    hint = (
        f"write `build(self, {', '.join(f'{p}_shape' for p in list(call_parameters)[:2])})`, "
        "or `build(self, input_shape)` to get the first argument's shape alone."
    )
    for name in names:
        if not name.endswith("_shape"):
            raise errors.value_error(
                layer,
                expected,
                f"build() argument `{name}`, which does not end in `_shape`",
                hint,
            )
        argument = name[: -len("_shape")]
        if argument not in call_parameters:
            raise errors.value_error(
                layer,
                expected,
                f"build() argument `{name}`, but `call()` does not have argument `{argument}` "
                f"(it takes {', '.join(call_parameters)})",
                hint,
            )
    shapes = _tensor_shapes(layer.call, args, kwargs)
    return {name: shapes[name] for name in names if name in shapes}
