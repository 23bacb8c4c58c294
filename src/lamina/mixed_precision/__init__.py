"""Mixed precision with Keras's API (`keras.mixed_precision`) on torch's autocast.

>>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")   # doctest: +SKIP

makes every layer created afterwards keep its weights in float32 and compute under
`torch.autocast(dtype=torch.bfloat16)` on its inputs' device, taking and giving its floats in
bfloat16 as Keras's layers do (a float32 input is cast, an op autocast ran in float32 comes back
in bfloat16: `autocast.py`); a layer given `dtype="float32"` (the final softmax, as Keras's guide
advises) computes and gives float32 inside a mixed model; the loss and the metrics receive
float32 outputs. With "mixed_float16", `compile()` wraps the optimizer in
a `LossScaleOptimizer` (dynamic loss scaling), as Keras does.

On a CPU, torch's autocast runs bfloat16 and float16 alike (torch 2.13); bfloat16 is the one to
use there (float16 needs loss scaling and most CPUs have no float16 matrix units).
"""

from lamina.dtype_policies.policy import DTypePolicy, dtype_policy, set_dtype_policy
from lamina.engine.errors import missing_attribute as _missing_attribute
from lamina.mixed_precision.autocast import outputs_to_float32
from lamina.mixed_precision.scaling import optimizer_for_policy
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer

Policy = DTypePolicy  # Keras's legacy name


def set_global_policy(policy) -> None:
    """Set the dtype policy of every layer created from now on (Keras's legacy name for
    `set_dtype_policy`).

    Args:
        policy: "mixed_bfloat16", "mixed_float16", "float32", ... or a `DTypePolicy`.

    Example:
    >>> set_global_policy("mixed_bfloat16")
    >>> global_policy().compute_dtype
    'bfloat16'
    >>> set_global_policy("float32")
    """
    set_dtype_policy(policy)


def global_policy() -> DTypePolicy:
    """The global dtype policy (Keras's legacy name for `dtype_policy()`).

    Example:
    >>> global_policy().name
    'float32'
    """
    return dtype_policy()


# tf.keras 2's names that Keras 3 removed (as lamina does): the guides of TF 2.1-2.3 imported
# `mixed_precision.experimental` and called `set_policy`; the error names what replaced them.
_REMOVED_IN_KERAS_3 = {
    "set_policy": (
        "tf.keras 2's mixed_precision.set_policy was removed in Keras 3. Hint: use "
        "mixed_precision.set_global_policy(policy)."
    ),
    "experimental": (
        "tf.keras 2's mixed_precision.experimental was removed in Keras 3. Hint: use "
        "mixed_precision.Policy / set_global_policy / LossScaleOptimizer directly."
    ),
}


def __getattr__(name):
    """Only to name the Keras 3 replacement of a removed tf.keras 2 name."""
    raise _missing_attribute("lamina.mixed_precision", name, _REMOVED_IN_KERAS_3)


__all__ = [
    "DTypePolicy",
    "LossScaleOptimizer",
    "Policy",
    "dtype_policy",
    "global_policy",
    "optimizer_for_policy",
    "outputs_to_float32",
    "set_dtype_policy",
    "set_global_policy",
]
