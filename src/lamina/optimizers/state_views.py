"""The elements of `optimizer.variables`: Keras's variables over where lamina keeps the state.

A Keras optimizer owns its variables (`adam/iteration`, `adam/learning_rate`,
`adam/dense_kernel_momentum`, ...). lamina's keeps its step count and learning rate as host
numbers and its slots in the torch optimizer's per-weight state, in torch's layout. A `StateView`
is a `lamina.Variable` with Keras's name and path over that state, so reading it or assigning it
reads or writes the optimizer itself. A slot torch keeps as Keras does *is* its view's tensor
(looked up at each use, so torch's `load_state_dict` and a move to another device keep the view
current); the others (the counter, the rate, a slot torch keeps in other units) convert at each
read and assignment. `saving.optimizer_state` makes them, in Keras's order.
"""

from __future__ import annotations

import torch

from lamina.engine.variable import Variable


class StateView(Variable):
    """A variable whose value lives in an optimizer: a tensor found by `stored()`, or a value
    computed by `read()` and written back by `write(value)`.

    Args:
        path: Keras's path (`"adam/dense_kernel_momentum"`); the name is its last part.
        stored: returns the tensor itself (assignments write into it); or None, with `read`.
        read: returns the value as a new tensor (with `write`, for state kept in other units).
        write: takes an assigned value (a tensor of the view's dtype and shape) and stores it.

    Example:
        >>> buffer = torch.zeros(2)
        >>> view = StateView("sgd/w_momentum", stored=lambda: buffer)
        >>> _ = view.assign([1.0, 2.0])
        >>> buffer.tolist(), view.name, view.path
        ([1.0, 2.0], 'w_momentum', 'sgd/w_momentum')
    """

    def __init__(self, path: str, stored=None, read=None, write=None):
        if (stored is None) == (read is None) or (read is None) != (write is None):
            raise ValueError(
                f"StateView '{path}': expected either `stored`, or `read` and `write`; received "
                f"stored={stored!r}, read={read!r}, write={write!r}."
            )
        super().__init__(torch.zeros(()), trainable=False, name=path.rpartition("/")[2])
        self._path = path
        self._tensor = None  # the value is the optimizer's
        self._read = stored or read
        self._write = write

    def _stored(self) -> torch.Tensor:
        return self._read()

    def _store(self, value: torch.Tensor) -> None:
        if self._write is None:
            super()._store(value)
        else:
            self._write(value)


def held(path: str, value) -> StateView:
    """A view over a tensor of its own, for a variable Keras keeps and nothing reads (a
    `LossScaleOptimizer`'s own `iteration`, a `MultiOptimizer`'s `learning_rate`).

    Args:
        path: Keras's path.
        value: the initial value (a 0-d tensor: its dtype is the variable's).

    Example:
        >>> held("multi_optimizer/learning_rate", torch.tensor(0.0)).numpy()
        array(0., dtype=float32)
    """
    tensor = value.clone()
    return StateView(path, stored=lambda: tensor)
