"""Keras 2's `keras.backend` math and graph functions, which Keras 3 removed, and where each went.

A tf.keras program that does `from keras import backend as K` and calls `K.int_shape(x)` or
`K.mean(x)` fails on Keras 3 with a bare "has no attribute". `lamina.backend` answers the same
AttributeError (so `hasattr` still reads False) but names the Keras 3 replacement.
"""

from __future__ import annotations

from lamina.engine.errors import missing_attribute

# Keras 2 backend names whose Keras 3 replacement is not simply `keras.ops.<same name>`.
RENAMED = {
    "int_shape": "`x.shape` (or `keras.ops.shape(x)` inside a layer)",
    "shape": "`keras.ops.shape(x)`",
    "l2_normalize": "`keras.ops.normalize(x, axis=...)`",
    "batch_dot": "`keras.ops.einsum` or `keras.ops.matmul`",
    "random_normal": "`keras.random.normal`",
    "random_uniform": "`keras.random.uniform`",
    "random_binomial": "`keras.random.binomial`",
    "dropout": "`keras.random.dropout`",
    "pow": "`keras.ops.power`",
    "permute_dimensions": "`keras.ops.transpose(x, axes)`",
    "flatten": "`keras.ops.ravel`",
    "std": "`keras.ops.std`",
    "var": "`keras.ops.var`",
    "placeholder": "`keras.Input(shape=...)`",
    "variable": "`keras.Variable(value)`",
    "constant": "`keras.ops.convert_to_tensor(value)`",
    "get_value": "`keras.ops.convert_to_numpy(v)`",
    "batch_get_value": "`keras.ops.convert_to_numpy` on each variable",
    "set_value": "`v.assign(value)`",
    "batch_set_value": "`v.assign(value)` on each variable",
    "eval": "`keras.ops.convert_to_numpy(x)`",
    "function": "calling the model (or `model.predict`)",
    "gradients": "a custom `train_step` (torch: `loss.backward()` or `torch.autograd.grad`)",
    "learning_phase": "the `training=` argument of `call`",
    "set_learning_phase": "the `training=` argument of `call`",
    "count_params": "`layer.count_params()`",
    "categorical_crossentropy": "`keras.losses.categorical_crossentropy`",
    "binary_crossentropy": "`keras.losses.binary_crossentropy`",
    "sparse_categorical_crossentropy": "`keras.losses.sparse_categorical_crossentropy`",
}

# Keras 2 backend math that lives on in `keras.ops` under the same name.
SAME_NAME_IN_OPS = frozenset(
    [
        "abs",
        "all",
        "any",
        "arange",
        "argmax",
        "argmin",
        "cast",
        "clip",
        "concatenate",
        "cos",
        "dot",
        "elu",
        "equal",
        "exp",
        "expand_dims",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "log",
        "logsumexp",
        "max",
        "maximum",
        "mean",
        "min",
        "minimum",
        "not_equal",
        "ones",
        "ones_like",
        "prod",
        "relu",
        "repeat",
        "reshape",
        "round",
        "sigmoid",
        "sign",
        "sin",
        "softmax",
        "softplus",
        "softsign",
        "sqrt",
        "square",
        "squeeze",
        "stack",
        "sum",
        "tanh",
        "tile",
        "transpose",
        "zeros",
        "zeros_like",
    ]
)


def removed_backend_name(name: str) -> AttributeError:
    """The AttributeError for `lamina.backend.<name>`, naming the Keras 3 replacement if known.

    Args:
        name: the attribute that was looked up on `lamina.backend`.

    Example:
        >>> "keras.ops.mean" in str(removed_backend_name("mean"))
        True
    """
    if name in RENAMED:
        replacement = RENAMED[name]
    elif name in SAME_NAME_IN_OPS:
        replacement = f"`keras.ops.{name}`"
    else:
        return missing_attribute("lamina.backend", name, {})
    explanation = (
        f"`keras.backend.{name}` is Keras 2 API that Keras 3 removed. "
        f"Use {replacement} instead (`keras.backend` keeps only configuration functions)."
    )
    return missing_attribute("lamina.backend", name, {name: explanation})
