"""Dtype policies (Keras's `keras.dtype_policies`): a layer's compute and weight dtypes.

The float policies, the int8, int4 and float8 policies `Model.quantize()` gives a layer, and the
map of policies by layer path; Keras's GPTQ and AWQ policies are not built
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
            QuantizedFloat8DTypePolicy,
            DTypePolicyMap,
        )
    }
)

__all__ = [
    "DTypePolicy",
    "DTypePolicyMap",
    "FloatDTypePolicy",
    "Int4DTypePolicy",
    "QuantizedDTypePolicy",
    "QuantizedFloat8DTypePolicy",
    "deserialize",
    "dtype_policy",
    "get",
    "serialize",
    "set_dtype_policy",
]
