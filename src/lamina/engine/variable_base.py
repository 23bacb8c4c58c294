"""`VariableBase`: what layers, ops and scopes recognise as a variable, without importing it.

`lamina.Variable` (variable.py) computes through `lamina.ops` and reads lamina's backend, which
reach back to the layer; layers and ops therefore test `isinstance(x, VariableBase)` against this
import-free base instead, and the import graph keeps no cycle through variables.
"""

from __future__ import annotations


class VariableBase:
    """The base `lamina.Variable` derives from: an object with a current tensor `value`.

    Example:
        >>> isinstance(lamina.Variable(1.0), VariableBase)
        True
    """

    __slots__ = ()

    @property
    def value(self):
        raise NotImplementedError
