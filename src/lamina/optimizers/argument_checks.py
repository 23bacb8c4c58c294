"""Validation of optimizer constructor arguments, in the house error form (the generic checks:
`engine/hyperparameters.py`).

torch's optimizers check their hyperparameters only when the torch optimizer is made, at the
first `fit` (after the model was built and compiled), and in torch's words ("Invalid beta
parameter at index 0: 2.0"); lamina's own update rules do not check them at all, and a string or
a list failed deep inside an update ("can't multiply sequence by non-int of type 'float'"). The
optimizer's constructor checks them here instead, naming the optimizer and the argument.
"""

from __future__ import annotations

from lamina.engine import errors, hyperparameters


def who(optimizer) -> str:
    """The optimizer as error messages name it: `Adam()`.

    Args:
        optimizer: an optimizer.

    Example:
    >>> who(lamina.optimizers.Adam())
    'Adam()'
    """
    return f"{type(optimizer).__name__}()"


def number(value, argument: str, optimizer, *bounds, **options) -> None:
    """`engine.hyperparameters.number` for an optimizer's argument.

    Args:
        value: the argument's value.
        argument: its name.
        optimizer: the optimizer it is for (named in the error).
        *bounds: `low` and `high`, as `hyperparameters.number` takes them.
        **options: `open_low`, `open_high`, `optional`.

    Example:
    >>> number(-0.9, "momentum", lamina.optimizers.RMSprop(), 0)
    Traceback (most recent call last):
    ...
    ValueError: RMSprop() expects `momentum` to be a number >= 0; received momentum=-0.9.
    """
    hyperparameters.number(value, argument, who(optimizer), *bounds, **options)


def common_options(optimizer, options: dict) -> None:
    """The options every optimizer takes (`Optimizer.__init__`'s), by name.

    Args:
        optimizer: the optimizer being constructed.
        options: `learning_rate`, `weight_decay`, the clips, the moving average's options,
            `loss_scale_factor` and `gradient_accumulation_steps`.

    Example:
    >>> lamina.optimizers.SGD(clipnorm="1.0")
    Traceback (most recent call last):
    ...
    ValueError: SGD() expects `clipnorm` to be a number >= 0 or None; received clipnorm='1.0'.
    """
    learning_rate(options["learning_rate"], optimizer)
    for argument in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"):
        number(options[argument], argument, optimizer, 0, optional=True)
    if options["use_ema"]:  # as in Keras, the moving average's options count only when it is on
        number(options["ema_momentum"], "ema_momentum", optimizer, 0, 1)
        hyperparameters.count(
            options["ema_overwrite_frequency"],
            "ema_overwrite_frequency",
            who(optimizer),
            1,
            optional=True,
        )
    number(
        options["loss_scale_factor"],
        "loss_scale_factor",
        optimizer,
        0,
        open_low=True,
        optional=True,
    )
    steps = options["gradient_accumulation_steps"]
    # None or 0 is off (Keras tests the value's truth); otherwise at least two calls.
    if not (hyperparameters.integer(steps) and int(steps) == 0):
        hyperparameters.count(
            steps, "gradient_accumulation_steps", who(optimizer), 2, optional=True
        )


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
    rate = hyperparameters.as_float(value)
    if rate is None or rate < 0:
        raise errors.value_error(
            who(optimizer),
            "`learning_rate` to be a finite number >= 0, a LearningRateSchedule or a callable "
            "returning the rate",
            f"learning_rate={value!r}",
            "pass e.g. learning_rate=1e-3, or a schedule from lamina.optimizers.schedules.",
        )


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
