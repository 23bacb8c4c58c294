"""Validation of optimizer constructor arguments, in the house error form.

torch's optimizers check their hyperparameters only when the torch optimizer is made, at the
first `fit` (after the model was built and compiled), and in torch's words ("Invalid beta
parameter at index 0: 2.0"); lamina's own update rules do not check them at all, and a string or
a list failed deep inside an update ("can't multiply sequence by non-int of type 'float'"). The
optimizer's constructor checks them here instead, naming the optimizer and the argument.
"""

from __future__ import annotations

import math
import numbers

from lamina.engine import errors


def _who(optimizer) -> str:
    return f"{type(optimizer).__name__}()"


def _as_float(value):
    """`value` as a float when it is a real number (a 0-d tensor or NumPy scalar included),
    else None; bools and strings are not numbers here."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError):  # a tensor of more than one value: RuntimeError
        return None
    return number if math.isfinite(number) else None


def learning_rate(value, optimizer) -> None:
    """A learning rate: a finite number >= 0 (a 0-d tensor or variable too), a
    `LearningRateSchedule` or a callable that returns one.

    Args:
        value: the `learning_rate` argument.
        optimizer: the optimizer it is for (named in the error).

    Example:
    >>> learning_rate("0.01", lamina.optimizers.SGD())
    Traceback (most recent call last):
    ...
    ValueError: SGD() expects `learning_rate` to be a finite number >= 0, a LearningRateSchedule ...
    """
    if callable(value):  # a LearningRateSchedule is callable too
        return
    number = _as_float(value)
    if number is None or number < 0:
        raise errors.value_error(
            _who(optimizer),
            "`learning_rate` to be a finite number >= 0, a LearningRateSchedule or a callable "
            "returning the rate",
            f"learning_rate={value!r}",
            "pass e.g. learning_rate=1e-3, or a schedule from lamina.optimizers.schedules.",
        )


def number(
    value,
    argument: str,
    optimizer,
    low=None,
    high=None,
    *,
    open_low=False,
    open_high=False,
    optional=False,
) -> None:
    """A finite real hyperparameter within `[low, high]` (either end open on request).

    Args:
        value: the argument's value.
        argument: its name.
        optimizer: the optimizer it is for (named in the error).
        low: the lower bound, or None.
        high: the upper bound, or None.
        open_low: whether `low` itself is refused.
        open_high: whether `high` itself is refused.
        optional: whether None is allowed (the option is off).

    Example:
    >>> number(2.0, "beta_1", lamina.optimizers.Adam(), 0, 1, open_high=True)
    Traceback (most recent call last):
    ...
    ValueError: Adam() expects `beta_1` to be a number in [0, 1); received beta_1=2.0.
    """
    if value is None and optional:
        return
    converted = _as_float(value)
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
    raise errors.value_error(
        _who(optimizer), f"`{argument}` to be {expected}", _shown(argument, value)
    )


def count(value, argument: str, optimizer, minimum: int, optional=True) -> None:
    """An integer option of at least `minimum` (None, and with Keras 0, means off).

    Args:
        value: the argument's value.
        argument: its name.
        optimizer: the optimizer it is for (named in the error).
        minimum: the smallest count allowed.
        optional: whether None is allowed.

    Example:
    >>> count(1, "gradient_accumulation_steps", lamina.optimizers.SGD(), 2)
    Traceback (most recent call last):
    ...
    ValueError: SGD() expects `gradient_accumulation_steps` to be an integer >= 2 or None; ...
    """
    if value is None and optional:
        return
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not integral or value < minimum:
        expected = f"an integer >= {minimum}" + (" or None" if optional else "")
        raise errors.value_error(
            _who(optimizer), f"`{argument}` to be {expected}", _shown(argument, value)
        )


def accumulation_steps(value, optimizer) -> None:
    """`gradient_accumulation_steps`: None or 0 (off, as Keras reads a falsy value), or an
    integer >= 2.

    Args:
        value: the argument's value.
        optimizer: the optimizer it is for (named in the error).

    Example:
    >>> accumulation_steps(4, lamina.optimizers.SGD())  # accepted: nothing happens
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value == 0:
        return
    count(value, "gradient_accumulation_steps", optimizer, 2)


def moments(optimizer, beta_1, beta_2, epsilon=0.0) -> None:
    """Adam-like decay rates in [0, 1) (a rate of 1 divides by zero in the bias correction, and
    torch refuses it) and a non-negative epsilon.

    Args:
        optimizer: the optimizer they are for (named in the error).
        beta_1: the first moment's decay.
        beta_2: the second moment's decay.
        epsilon: the stability term.

    Example:
    >>> moments(lamina.optimizers.Adam(), 0.9, 0.999, "1e-7")
    Traceback (most recent call last):
    ...
    ValueError: Adam() expects `epsilon` to be a number >= 0; received epsilon='1e-7'.
    """
    number(beta_1, "beta_1", optimizer, 0, 1, open_high=True)
    number(beta_2, "beta_2", optimizer, 0, 1, open_high=True)
    number(epsilon, "epsilon", optimizer, 0)


def _shown(argument: str, value) -> str:
    return f"{argument}={value!r}"
