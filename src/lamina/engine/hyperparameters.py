"""Checks of numeric constructor arguments (optimizers, losses, metrics, initializers, the
`lamina.data` methods), in the house error form: who, what was expected, what came.

Why at construction: these values are used only later, inside an update or a loss, where a
string or a list fails in torch's words far from the line that passed it ("pow() received an
invalid combination of arguments", "unsupported operand type(s) for -: 'float' and 'str'"), and
an out-of-range value often does not fail at all (label smoothing of -5 trains on labels outside
[0, 1]).
"""

from __future__ import annotations

import math

from lamina.engine import errors


def as_float(value):
    """`value` as a float when it is a finite real number (a 0-d tensor or NumPy scalar
    included), else None; bools and strings are not numbers here.

    Args:
        value: anything.

    Example:
    >>> as_float(np.float32(0.5)), as_float("0.5"), as_float(float("inf"))
    (0.5, None, None)
    """
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):  # a tensor of several values: RuntimeError
        return None
    return number if math.isfinite(number) else None


def number(
    value,
    argument: str,
    who: str,
    low=None,
    high=None,
    *,
    open_low=False,
    open_high=False,
    optional=False,
) -> None:
    """Refuse `value` unless it is a finite real number within `[low, high]` (either end open
    on request).

    Args:
        value: the argument's value.
        argument: its name.
        who: the constructor, as the message names it (e.g. `"Adam()"`).
        low: the lower bound, or None.
        high: the upper bound, or None.
        open_low: whether `low` itself is refused.
        open_high: whether `high` itself is refused.
        optional: whether None is allowed (the option is off).

    Example:
    >>> number(2.0, "beta_1", "Adam()", 0, 1, open_high=True)
    Traceback (most recent call last):
    ...
    ValueError: Adam() expects `beta_1` to be a number in [0, 1); received beta_1=2.0.
    """
    if value is None and optional:
        return
    converted = as_float(value)
    fits = converted is not None
    if fits and low is not None:
        fits = converted > low if open_low else converted >= low
    if fits and high is not None:
        fits = converted < high if open_high else converted <= high
    if fits:
        return
    if low is not None and high is not None:
        expected = f"a number in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    elif low is not None:
        expected = f"a number {'>' if open_low else '>='} {low}"
    else:
        expected = "a finite number"
    if optional:
        expected += " or None"
    raise errors.value_error(who, f"`{argument}` to be {expected}", f"{argument}={value!r}")


def count(value, argument: str, who: str, minimum: int, optional=False) -> None:
    """Refuse `value` unless it is an integer of at least `minimum`.

    Args:
        value: the argument's value.
        argument: its name.
        who: the constructor, as the message names it.
        minimum: the smallest count allowed.
        optional: whether None is allowed (the option is off).

    Example:
    >>> count(0, "k", "TopKCategoricalAccuracy()", 1)
    Traceback (most recent call last):
    ...
    ValueError: TopKCategoricalAccuracy() expects `k` to be an integer >= 1; received k=0.
    """
    if value is None and optional:
        return
    if not integer(value) or int(value) < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if optional else "")
        raise errors.value_error(who, f"`{argument}` to be {expected}", f"{argument}={value!r}")


def integer(value) -> bool:
    """Whether `value` is an integer: a Python or NumPy int, or a 0-d integer tensor (anything
    with `__index__`), not a bool.

    Args:
        value: anything.

    Example:
    >>> integer(np.int64(3)), integer(torch.tensor(3)), integer(3.0), integer(True)
    (True, True, False, False)
    """
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        return False
    try:
        value.__index__()
    except (TypeError, RuntimeError):  # a float tensor, or one of several values
        return False
    return True


def axis(value, argument: str, who: str) -> None:
    """Refuse `value` unless it is an axis: an integer, or a tuple or list of integers.

    Args:
        value: the argument's value.
        argument: its name.
        who: the constructor, as the message names it.

    Example:
    >>> axis("x", "axis", "CosineSimilarity()")
    Traceback (most recent call last):
    ...
    ValueError: CosineSimilarity() expects `axis` to be an integer or a tuple of integers; ...
    """
    values = value if isinstance(value, (tuple, list)) else [value]
    if not all(integer(v) for v in values):
        raise errors.value_error(
            who, f"`{argument}` to be an integer or a tuple of integers", f"{argument}={value!r}"
        )


# The options of Keras's losses and metric functions, by name: what each must be. A name not
# listed is not checked here (its function checks it, or it is not a number).
_OPTIONS = {
    "label_smoothing": lambda value, name, who: number(value, name, who, 0, 1),
    "axis": axis,
    "delta": lambda value, name, who: number(value, name, who, 0),
    "k": lambda value, name, who: count(value, name, who, 1),
    **{name: number for name in ("alpha", "beta", "gamma", "margin", "threshold")},
}


def loss_options(who: str, options: dict) -> None:
    """Check the options a loss or metric function takes (`label_smoothing`, `axis`, `delta`,
    `k`, `alpha`, `beta`, `gamma`, `margin`, `threshold`) by their names.

    Args:
        who: the constructor, as the message names it.
        options: the options given, by name.

    Example:
    >>> loss_options("BinaryCrossentropy()", {"label_smoothing": 1.5})
    Traceback (most recent call last):
    ...
    ValueError: BinaryCrossentropy() expects `label_smoothing` to be a number in [0, 1]; ...
    """
    for name, value in options.items():
        check = _OPTIONS.get(name)
        if check is not None and value is not None:
            check(value, name, who)
