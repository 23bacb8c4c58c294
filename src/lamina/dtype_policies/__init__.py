"""Dtype policies (Keras's `keras.dtype_policies`): a layer's compute and weight dtypes.

The float policies, the int8, int4, GPTQ and AWQ policies `Model.quantize()` gives a layer, and
the map of policies by layer path; Keras's float8 policy is not built
(tests/api/gaps/dtype_policies.txt says why).
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
    "deserialize",
    "dtype_policy",
    "get",
    "serialize",
    "set_dtype_policy",
]
