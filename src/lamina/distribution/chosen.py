"""The distribution in use: `set_distribution`'s value, kept in a module of its own so that each
distribution class can open a `scope()` without importing the module that checks it."""

from __future__ import annotations

_value = None


def get():
    """The distribution set (a DataParallel, a ModelParallel) or None."""
    return _value


def put(value) -> None:
    """Make `value` the distribution in use (checked by `set_distribution`)."""
    global _value
    _value = value
