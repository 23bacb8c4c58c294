"""Dtype policies (Keras's `keras.dtype_policies`): a layer's compute and weight dtypes.

The float policies, the int8, int4, float8, GPTQ and AWQ policies `Model.quantize()` gives a
layer, and the map of policies by layer path.
"""

from lamina.dtype_policies import policy as _policy
from lamina.dtype_policies import quantized as _quantized
from lamina.dtype_policies.policy import (
    DTypePolicy,
    FloatDTypePolicy,
    deserialize,
    dtype_policy,
    get,
    serialize,
    set_dtype_policy,
)
from lamina.dtype_policies.policy_map import DTypePolicyMap
from lamina.dtype_policies.quantized import (
    AWQDTypePolicy,
    GPTQDTypePolicy,
    Int4DTypePolicy,
    QuantizedDTypePolicy,
    QuantizedFloat8DTypePolicy,
)

_policy._quantized_from_name[0] = _quantized.from_name
_policy._CLASSES.update(
    {
        cls.__name__: cls
        for cls in (
            QuantizedDTypePolicy,
            Int4DTypePolicy,
            GPTQDTypePolicy,
            AWQDTypePolicy,
            QuantizedFloat8DTypePolicy,
            DTypePolicyMap,
        )
    }
)

__all__ = [
    "AWQDTypePolicy",
    "DTypePolicy",
    "DTypePolicyMap",
    "FloatDTypePolicy",
    "GPTQDTypePolicy",
    "Int4DTypePolicy",
    "QuantizedDTypePolicy",
    "QuantizedFloat8DTypePolicy",
    "deserialize",
    "dtype_policy",
    "get",
    "serialize",
    "set_dtype_policy",
]
