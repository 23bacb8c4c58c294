"""Builders of the house error message: who, what was expected, what came, and a hint."""

from __future__ import annotations


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


def unknown_name(kind: str, name, valid) -> ValueError:
    """An unknown string for an activation / loss / optimizer / metric / initializer."""
    options = ", ".join(repr(v) for v in sorted(valid))
    return ValueError(f"Unknown {kind} {name!r}. Valid {kind} names: {options}.")


def format_shape(shape) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )
