"""DTypePolicyMap: dtype policies by layer path, as Keras writes them for mixed quantization."""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from lamina.dtype_policies import policy as _policy
from lamina.engine import errors


class DTypePolicyMap(_policy.DTypePolicy, MutableMapping):
    """A dict from layer paths (or regular expressions over them) to dtype policies.

    As a policy it is its default policy; as a mapping, `policy_map[path]` gives the policy of an
    exact key, else of the one key that `re.fullmatch`es the path, else the default.

    Args:
        default_policy: the policy (or its name) for paths no key matches; None takes the
            global policy when read.
        policy_map: an optional dict of path (or pattern) -> policy or policy name.

    Example:
        >>> policies = DTypePolicyMap("float32", {"encoder/.*": "bfloat16"})
        >>> policies["encoder/dense"].name, policies["decoder/dense"].name
        ('bfloat16', 'float32')
    """

    def __init__(self, default_policy=None, policy_map=None):
        if isinstance(default_policy, DTypePolicyMap):
            raise errors.value_error(
                "DTypePolicyMap", "a default_policy that is not a map", "a DTypePolicyMap"
            )
        if policy_map is not None and not isinstance(policy_map, dict):
            raise TypeError(
                errors.message(
                    "DTypePolicyMap", "policy_map as a dict", f"{type(policy_map).__name__}"
                )
            )
        self._default_policy_arg = default_policy
        self._policy_map = {}
        for key, value in (policy_map or {}).items():
            self[key] = value
        self._quantization_mode = None

    @property
    def default_policy(self):
        """The policy of the paths no key matches."""
        return _policy.get(self._default_policy_arg)

    @property
    def name(self) -> str:
        return f"map_{self.default_policy.name}"

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def quantization_mode(self):
        return self.default_policy.quantization_mode

    @property
    def is_mixed(self) -> bool:
        return self.default_policy.is_mixed

    @property
    def autocast_dtype(self):
        return self.default_policy.autocast_dtype

    def __getitem__(self, key):
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise errors.value_error(
                "DTypePolicyMap",
                f"at most one key matching the path {key!r}",
                f"the keys {matches}",
                "make the patterns disjoint.",
            )
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key, value) -> None:
        if key in self._policy_map:
            raise errors.value_error(
                "DTypePolicyMap",
                "a key not already in the map",
                f"{key!r}, which maps to {self._policy_map[key]!r}",
                "delete the key first.",
            )
        self._policy_map[key] = _policy.get(value)

    def __delitem__(self, key) -> None:
        self._policy_map.pop(key)

    def __contains__(self, key) -> bool:
        return key in self._policy_map

    def __iter__(self):
        return iter(self._policy_map)

    def __len__(self) -> int:
        return len(self._policy_map)

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        pairs = [(key, value.name) for key, value in self._policy_map.items()]
        return f"<DTypePolicyMap default_policy={self.default_policy.name} mapping={pairs}>"

    def get_config(self) -> dict:
        default = self._default_policy_arg
        if isinstance(default, _policy.DTypePolicy):
            default = _policy.serialize(default)
        return {
            "default_policy": default,
            "policy_map": {key: self._entry_config(v) for key, v in self._policy_map.items()},
        }

    def _entry_config(self, policy) -> dict:
        entry = _policy.serialize(policy)
        if self._default_policy_arg is None:
            # As Keras: a map that follows the global policy writes its entries' float dtypes as
            # None, so loading takes them from the global policy then (quantization is kept).
            key = "source_name" if "source_name" in entry["config"] else "name"
            entry["config"] = {**entry["config"], key: None}
        return entry

    @classmethod
    def from_config(cls, config: dict):
        # Each value is a policy's name or its serialised dict: `get` reads both.
        return cls(config.get("default_policy"), dict(config.get("policy_map") or {}))
