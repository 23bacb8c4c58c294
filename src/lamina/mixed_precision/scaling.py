"""Which optimizer a model compiles with: Keras wraps it for loss scaling under mixed_float16."""

from __future__ import annotations

from lamina import optimizers
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer


def optimizer_for_policy(model, optimizer, auto_scale_loss: bool = True):
    """The optimizer `compile()` uses: `optimizer` resolved by name, wrapped in a
    `LossScaleOptimizer` when `auto_scale_loss` is on and the model's policy is "mixed_float16"
    (Keras's rule: bfloat16 has float32's range and needs no scaling).

    Args:
        model: the model being compiled (its `dtype_policy` decides).
        optimizer: a name, config or `Optimizer`, as `compile(optimizer=...)` takes.
        auto_scale_loss: `compile(auto_scale_loss=...)`.

    Example:
    >>> optimizer_for_policy(model, "sgd")   # doctest: +SKIP
    """
    if optimizer is None:  # compile(optimizer=None): a model to evaluate and predict only
        return None
    optimizer = optimizers.get(optimizer)
    policy = getattr(model, "dtype_policy", None)
    if (
        auto_scale_loss
        and policy is not None
        and policy.name == "mixed_float16"
        and not isinstance(optimizer, LossScaleOptimizer)
    ):
        optimizer = LossScaleOptimizer(optimizer, name="loss_scale_optimizer")
    return optimizer
