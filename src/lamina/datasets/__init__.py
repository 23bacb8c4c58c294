"""Data sets: `digits` is built in; the others read the standard archives from a local path."""

from lamina.datasets import digits

__all__ = ["digits"]
