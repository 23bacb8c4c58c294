"""Builders of the house error message: who, what was expected, what came, and a hint."""

from __future__ import annotations

import warnings


def describe(layer) -> str:
    """`Layer 'conv2d' (Conv2D)` for a layer, the string itself for an argument name."""
    if isinstance(layer, str):
        return layer
    return f"Layer '{getattr(layer, 'name', '?')}' ({type(layer).__name__})"


def message(who, expected: str, received: str, hint: str | None = None) -> str:
    text = f"{describe(who)} expects {expected}; received {received}."
    if hint:
        text += f" Hint: {hint}"
    return text


def value_error(who, expected: str, received: str, hint: str | None = None) -> ValueError:
    return ValueError(message(who, expected, received, hint))


class UnexpectedArgumentError(TypeError, ValueError):
    """A keyword argument the callee does not take. A TypeError, as Python raises for one, and
    a ValueError, as Keras's layers, optimizers and `clone_model` raise: code written against
    either catches it."""


class NotCompiledError(RuntimeError, ValueError):
    """fit / evaluate / train_on_batch on a model not compiled: a RuntimeError, as tf.keras
    raised, and a ValueError, as Keras 3 raises."""


def unexpected_arguments(who: str, names, hint: str = "") -> UnexpectedArgumentError:
    """The error for keyword arguments `who` (e.g. "Dense()") does not take.

    Example:
        >>> str(unexpected_arguments("Dense()", ["unitz"], "Check the spelling."))
        "Dense() got unexpected keyword argument(s) ['unitz']. Check the spelling."
    """
    text = f"{who} got unexpected keyword argument(s) {sorted(names)}."
    return UnexpectedArgumentError(f"{text} {hint}" if hint else text)


def unknown_name(kind: str, name, valid) -> ValueError:
    """An unknown string for an activation / loss / optimizer / metric / initializer."""
    options = ", ".join(repr(v) for v in sorted(valid))
    return ValueError(f"Unknown {kind} {name!r}. Valid {kind} names: {options}.")


def missing_attribute(module: str, name: str, removed: dict) -> AttributeError:
    """A module's AttributeError for `name`, worded as Python's; for a Keras 2 / tf.keras name
    that Keras 3 removed, `removed[name]` follows and says what replaced it. Still an
    AttributeError, so `hasattr` reads False, as on Keras 3.

    Example:
        >>> str(missing_attribute("lamina.models", "model_from_yaml", {"model_from_yaml": "x"}))
        "module 'lamina.models' has no attribute 'model_from_yaml': x"
    """
    message = f"module '{module}' has no attribute '{name}'"
    return AttributeError(f"{message}: {removed[name]}" if name in removed else message)


def format_shape(shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def warn_mask_dropped(layer) -> None:
    """Keras's warning (its words) for a masked first input to a layer that does not support
    masking: the mask stops there.

    Args:
        layer: the layer called.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_mask_dropped(lamina.layers.Flatten(name="flat"))
        >>> str(caught[0].message).split(".")[0]
        "Layer 'flat' (of type Flatten) was passed an input with a mask attached to it"
    """
    warnings.warn(
        f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask "
        "attached to it. However, this layer does not support masking and will therefore "
        "destroy the mask information. Downstream layers will not see the mask.",
        # From this one line, as Keras warns from one line of its own: Python's default filter
        # then shows it once, not again from each place the layer is called (fit, load_model).
        stacklevel=1,
    )
