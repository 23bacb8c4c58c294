"""Dtype policies (Keras's `keras.dtype_policies`): a layer's compute and weight dtypes.

The float policies are built; Keras's quantized ones (int8, float8, int4, GPTQ, AWQ) are not
(tests/api/gaps/dtype_policies.txt says why).
"""

from lamina.dtype_policies.policy import (
    DTypePolicy,
    FloatDTypePolicy,
    deserialize,
    dtype_policy,
    get,
    serialize,
    set_dtype_policy,
)

__all__ = [
    "DTypePolicy",
    "FloatDTypePolicy",
    "deserialize",
    "dtype_policy",
    "get",
    "serialize",
    "set_dtype_policy",
]
