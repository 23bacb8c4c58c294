"""`Config`: a dict with attribute access that can be frozen, as `keras.utils.Config`."""

from __future__ import annotations

import json


class Config:
    """Settings reachable as attributes or keys; `freeze()` makes them read-only.

    Args:
        **kwargs: the initial settings.

    Examples:
        >>> config = Config(learning_rate=0.1)
        >>> config.epochs = 3
        >>> config["epochs"], config.learning_rate
        (3, 0.1)
    """

    __attrs__ = None

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self) -> bool:
        """Whether the settings are read-only."""
        return self._frozen

    def freeze(self):
        """Make the settings read-only."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        """Make the settings writable again."""
        object.__setattr__(self, "_frozen", False)

    def _check_frozen(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def __getattr__(self, name):
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: '{name}'") from None

    def __setattr__(self, name, value):
        self._check_frozen()
        self._config[name] = value

    def __delattr__(self, name):
        self._check_frozen()
        del self._config[name]

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self.__setattr__(key, value)

    def __delitem__(self, key):
        self.__delattr__(key)

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):
        return iter(self._config)

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, default=None):
        return self._config.get(key, default)

    def update(self, *args, **kwargs):
        self._check_frozen()
        self._config.update(*args, **kwargs)

    def pop(self, *args):
        self._check_frozen()
        return self._config.pop(*args)

    def as_dict(self) -> dict:
        """A plain-dict copy."""
        return dict(self._config)

    def to_json(self) -> str:
        """The settings as JSON text."""
        return json.dumps(self._config)
