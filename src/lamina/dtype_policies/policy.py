"""DTypePolicy: the dtype a layer computes in and the dtype its weights are stored in.

A policy is named by a dtype ("float32": compute and store in float32) or by a mixed-precision
name: "mixed_bfloat16" / "mixed_float16" compute in the 16-bit type and keep the weights in
float32. lamina computes a mixed layer under `torch.autocast` (see `lamina.mixed_precision`).

The global policy is what a layer created without `dtype=` gets; until set, it is
`DTypePolicy(backend.floatx())`.
"""

from __future__ import annotations

import torch

from lamina import backend

_MIXED = {"mixed_float16": ("float16", "float32"), "mixed_bfloat16": ("bfloat16", "float32")}
_KERAS_MODULE = "keras"  # the `module` Keras writes for a policy in a saved config

# [the global policy or None]: a list so tests and set_dtype_policy replace it in place.
_global_policy: list = [None]
_default_policies: dict = {}  # floatx name -> its policy, the global one until one is set
# [True once a policy other than float32 was created]: until then a layer call never looks at
# policies or autocast (lamina/mixed_precision/autocast.py).
mixed_in_use = [False]


class DTypePolicy:
    """A layer's dtype policy: its compute dtype and its variable (weight) dtype.

    Args:
        name: a float dtype name ("float32", "float64", "bfloat16", ...) for which both dtypes are
            that dtype, or "mixed_float16" / "mixed_bfloat16" to compute in float16 / bfloat16
            while keeping the weights in float32. None takes the global policy's name.

    Example:
    >>> policy = DTypePolicy("mixed_bfloat16")
    >>> policy.compute_dtype, policy.variable_dtype
    ('bfloat16', 'float32')
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        self._name = name
        self._compute_dtype, self._variable_dtype = _parse_name(name)
        self._quantization_mode = None
        if name != "float32":
            mixed_in_use[0] = True

    @property
    def name(self) -> str:
        """The policy's name, e.g. "mixed_float16"."""
        return self._name

    @property
    def compute_dtype(self) -> str:
        """The dtype a layer computes in (its outputs' dtype under autocast's rules)."""
        return self._compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype a layer stores its weights in."""
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """None for a float policy; "int8", "int4", ... for a quantized one."""
        return self._quantization_mode

    @property
    def is_mixed(self) -> bool:
        """True when the layer computes in a lower float precision than its weights."""
        return self._compute_dtype != self._variable_dtype

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """The torch dtype `torch.autocast` runs a layer of this policy in; None when the policy
        is not mixed (the layer then computes in its weights' dtype)."""
        return backend.to_torch_dtype(self._compute_dtype) if self.is_mixed else None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other) -> bool:
        if type(other) not in (DTypePolicy, FloatDTypePolicy):
            return False
        return self._name == other._name

    def __hash__(self) -> int:
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras's other name for `DTypePolicy` (a float policy); equal to it when the names are.

    Args:
        name: as `DTypePolicy`'s: a float dtype name ("float32", "bfloat16", ...) or
            "mixed_float16" / "mixed_bfloat16"; None takes the global policy's name.

    Example:
        >>> policy = FloatDTypePolicy("mixed_bfloat16")
        >>> policy.compute_dtype, policy.variable_dtype
        ('bfloat16', 'float32')
        >>> policy == DTypePolicy("mixed_bfloat16")
        True
    """


def _parse_name(name) -> tuple[str, str]:
    """A policy name -> (compute dtype, variable dtype)."""
    if not isinstance(name, str):
        raise TypeError(
            "DTypePolicy expected a policy name as a string, such as 'mixed_float16'; "
            f"received name={name!r} (of type {type(name).__name__})."
        )
    if name in _MIXED:
        return _MIXED[name]
    try:
        dtype = backend.dtype_name(backend.to_torch_dtype(name))
    except (ValueError, TypeError):
        raise ValueError(
            f"DTypePolicy cannot interpret the name {name!r}. Valid names are 'mixed_float16', "
            "'mixed_bfloat16' and the name of a dtype such as 'float32'."
        ) from None
    return dtype, dtype


# --------------------------------------------------------------------------------------------------
# The global policy


def set_dtype_policy(policy) -> None:
    """Set the policy of every layer created from now on without a `dtype=` argument.

    Args:
        policy: a `DTypePolicy` or a policy name ("mixed_bfloat16", "float32", ...).

    Example:
    >>> set_dtype_policy("mixed_bfloat16")
    >>> dtype_policy().compute_dtype
    'bfloat16'
    >>> set_dtype_policy("float32")
    """
    if isinstance(policy, str):
        policy = get(policy)  # a quantized name ("int8_from_float32") too, as Keras takes
    elif not isinstance(policy, DTypePolicy):
        raise ValueError(
            "set_dtype_policy expected a policy name (such as 'mixed_float16') or a DTypePolicy; "
            f"received policy={policy!r}."
        )
    _global_policy[0] = policy


def dtype_policy() -> DTypePolicy:
    """The global policy: what `set_dtype_policy` set, else `DTypePolicy(backend.floatx())`.

    Example:
    >>> dtype_policy().name
    'float32'
    """
    if _global_policy[0] is not None:
        return _global_policy[0]
    # Not cached (unlike Keras): a later `set_floatx` still changes the layers created after it.
    name = backend.floatx()
    if name not in _default_policies:
        _default_policies[name] = DTypePolicy(name)
    return _default_policies[name]


def reset_global_policy() -> None:
    """Forget the policy `set_dtype_policy` set (`backend.clear_session` calls this, as Keras's
    clear_session resets its global policy).

    Example:
    >>> set_dtype_policy("mixed_bfloat16")
    >>> reset_global_policy()
    >>> dtype_policy().name
    'float32'
    """
    _global_policy[0] = None


backend.on_clear_session(reset_global_policy)


# --------------------------------------------------------------------------------------------------
# Identifiers and serialization

# Filled by lamina.dtype_policies with the quantized policies and the map (modules above this).
_CLASSES = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}
_FLOAT_CLASSES = (DTypePolicy, FloatDTypePolicy)
# [quantized.from_name]: quantized names ("int8_from_float32") resolve through the module above.
_quantized_from_name: list = [None]


def serialize(policy: DTypePolicy) -> dict:
    """A policy -> Keras 3's JSON-ready dict, as Keras writes a layer's `dtype` in its config.

    Args:
        policy: a `DTypePolicy` (a `FloatDTypePolicy` is written as a `DTypePolicy`, as Keras 3
            does).

    Example:
    >>> serialize(DTypePolicy("mixed_float16"))["config"]
    {'name': 'mixed_float16'}
    """
    class_name = "DTypePolicy" if type(policy) is FloatDTypePolicy else type(policy).__name__
    float_policy = type(policy) in _FLOAT_CLASSES
    return {
        # Keras files its float policy under "keras", the quantized ones and the map under
        # "keras.dtype_policies".
        "module": _KERAS_MODULE if float_policy else f"{_KERAS_MODULE}.dtype_policies",
        "class_name": class_name,
        "config": policy.get_config(),
        "registered_name": None,
    }


def deserialize(config, custom_objects=None) -> DTypePolicy:
    """A dict from `serialize` (or a Keras file) -> a policy.

    Args:
        config: `{"class_name": "DTypePolicy", "config": {"name": ...}}`.
        custom_objects: optional mapping of class names to user DTypePolicy subclasses.

    Example:
    >>> deserialize({"class_name": "DTypePolicy", "config": {"name": "float64"}})
    <DTypePolicy "float64">
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            "dtype_policies.deserialize expected a dict with 'class_name' and 'config'; "
            f"received {config!r}."
        )
    class_name = config["class_name"]
    cls = (custom_objects or {}).get(class_name) or _CLASSES.get(class_name)
    if cls is None:
        raise ValueError(
            f"Unknown dtype policy class '{class_name}'. lamina knows {sorted(_CLASSES)}; "
            "Hint: pass a custom policy class in custom_objects."
        )
    return cls.from_config(dict(config.get("config", {})))


def get(identifier) -> DTypePolicy:
    """None, a name, a dtype, a config dict or a policy -> a policy (None: the global one).

    Args:
        identifier: None, a policy name ("mixed_float16", "float32", ...), a torch or NumPy
            dtype, a dict from `serialize`, or a `DTypePolicy` (returned as it is).

    Example:
    >>> get("mixed_bfloat16").variable_dtype
    'float32'
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(("int8", "int4", "float8", "gptq", "awq")):
            return _quantized_from_name[0](identifier)
        return DTypePolicy(identifier)
    try:
        name = backend.dtype_name(backend.to_torch_dtype(identifier))
    except (ValueError, TypeError):
        raise ValueError(
            "Cannot interpret the dtype argument: expected a policy name, a dtype or a "
            f"DTypePolicy; received dtype={identifier!r}."
        ) from None
    return DTypePolicy(name)
