"""Scopes that change how variables are named and read: `name_scope`, `StatelessScope`,
`SymbolicScope`.

Each keeps a per-thread stack (as Keras's global state does), so a data-loading thread entering a
scope does not rename or redirect the variables of the training thread.
"""

from __future__ import annotations

import threading

from lamina.engine.variable_base import VariableBase

_state = threading.local()


def thread_stack(key: str) -> list:
    """This thread's list `key`, made empty on first use: the per-thread state of the scopes
    here, of the layers' training flag and callers (layer.py) and of remat scopes (remat.py).
    Each user keeps its own keys. (A ContextVar costs a graph break under torch.compile; a
    thread-local list does not.)"""
    stack = getattr(_state, key, None)
    if stack is None:
        stack = []
        setattr(_state, key, stack)
    return stack


def _checked_name(name, who: str) -> str:
    if not isinstance(name, str) or "/" in name:
        raise ValueError(
            f"{who}: expected `name` to be a string without the character `/`; "
            f"received name={name!r}. Hint: nest scopes instead of writing a path."
        )
    return name


# --------------------------------------------------------------------------------------------------
# name_scope


class name_scope:  # noqa: N801 - Keras's name for a context manager
    """Opens a sub-namespace for the paths of the variables created inside it.

    A `Variable` created in `with name_scope("block"):` has the path `"block/<its name>"`; scopes
    nest (`"outer/inner/<name>"`). A layer builds its weights inside a scope of its own name.

    Args:
        name: the scope's name (a string without `/`).
        caller: the object opening the scope (a layer), for `deduplicate`.
        deduplicate: when the innermost open scope has the same `name` and the same `caller`,
            do not open a second one (a layer re-entering its own scope).
        override_parent: an absolute path that replaces the enclosing scopes' path.

    Example:
        >>> with name_scope("encoder"):
        ...     with name_scope("block1"):
        ...         v = lamina.Variable(0.0, name="scale")
        >>> v.path
        'encoder/block1/scale'
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        self.name = _checked_name(name, "name_scope()")
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._pushed = False

    def __enter__(self):
        stack = thread_stack("names")
        if self.deduplicate and stack and self.caller is not None:
            top = stack[-1]
            if top.caller is self.caller and top.name == self.name:
                return self
        stack.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc_info):
        if self._pushed:
            thread_stack("names").pop()
            self._pushed = False
        return False


def current_path() -> str:
    """The path the open name scopes spell (`"outer/inner"`), `""` outside any.

    Example:
        >>> with name_scope("a"):
        ...     current_path()
        'a'
    """
    parts: list[str] = []
    for scope in thread_stack("names"):
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)


# --------------------------------------------------------------------------------------------------
# StatelessScope


class StatelessScope:
    """A scope in which variables are read from a mapping and assignments are only recorded.

    Inside it, reading a `Variable` listed in `state_mapping` gives the mapped value, and
    `variable.assign(...)` changes no variable: the new value is recorded, read back by the
    variable inside the scope and by `scope.get_current_value(variable)` after it.

    (lamina's layers keep their weights as torch tensors registered with `add_weight`; the scope
    redirects reads of `lamina.Variable` objects, which is what Keras code hands it.)

    Args:
        state_mapping: pairs `(variable, value)`; each value has the variable's shape and is cast
            to its dtype.
        collect_losses: whether `layer.add_loss(...)` inside the scope goes to `scope.losses`
            instead of the layer.
        initialize_variables: kept for Keras's signature; lamina creates variables eagerly, so
            nothing is left to initialize when the scope closes.

    Example:
        >>> v = lamina.Variable(1.0)
        >>> with StatelessScope([(v, 5.0)]) as scope:
        ...     _ = v.assign(v.value * 2)
        >>> float(scope.get_current_value(v)), float(v.numpy())
        (10.0, 1.0)
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        self.collect_losses = collect_losses
        self.initialize_variables = initialize_variables
        self.losses: list = []
        self.state_mapping: dict[int, object] = {}
        self._variables: dict[
            int, VariableBase
        ] = {}  # keeps the mapped variables alive (their ids)
        for variable, value in state_mapping or ():
            if not isinstance(variable, VariableBase):
                raise ValueError(
                    "StatelessScope(): expected every key of `state_mapping` to be a "
                    f"lamina.Variable; received {variable!r}. Hint: pass (variable, value) pairs."
                )
            value = variable._converted(value)
            if tuple(value.shape) != variable.shape:
                raise ValueError(
                    f"StatelessScope(): expected a value of shape {variable.shape} for "
                    f"{variable!r}; received a value of shape {tuple(value.shape)}."
                )
            self.add_update((variable, value))

    def __enter__(self):
        thread_stack("stateless").append(self)
        return self

    def __exit__(self, *exc_info):
        thread_stack("stateless").pop()
        return False

    def add_loss(self, loss) -> None:
        """Record a loss added inside the scope (when `collect_losses`)."""
        self.losses.append(loss)

    def add_update(self, update) -> None:
        """Record `(variable, new_value)`: later reads in the scope see the new value."""
        variable, value = update
        self.state_mapping[id(variable)] = value
        self._variables[id(variable)] = variable

    def get_current_value(self, variable):
        """The variable's value in this scope (mapped or assigned), None if it has none."""
        return self.state_mapping.get(id(variable))


def get_stateless_scope() -> StatelessScope | None:
    """The innermost open `StatelessScope` of this thread, or None.

    Example:
        >>> get_stateless_scope() is None
        True
    """
    stack = thread_stack("stateless")
    return stack[-1] if stack else None


def in_stateless_scope() -> bool:
    """Whether a `StatelessScope` is open in this thread.

    Example:
        >>> with StatelessScope():
        ...     in_stateless_scope()
        True
    """
    return bool(thread_stack("stateless"))


# --------------------------------------------------------------------------------------------------
# SymbolicScope


class SymbolicScope:
    """Marks the symbolic stage: output shapes being inferred, not values computed.

    lamina opens one while it infers a layer's output on symbolic tensors (`layer(Input(...))`);
    code that must not run real work then (drawing random numbers, logging) can test
    `in_symbolic_scope()`.

    Example:
        >>> with SymbolicScope():
        ...     in_symbolic_scope()
        True
        >>> in_symbolic_scope()
        False
    """

    def __enter__(self):
        thread_stack("symbolic").append(self)
        return self

    def __exit__(self, *exc_info):
        thread_stack("symbolic").pop()
        return False


def in_symbolic_scope() -> bool:
    """Whether a `SymbolicScope` is open in this thread.

    Example:
        >>> in_symbolic_scope()
        False
    """
    return bool(thread_stack("symbolic"))
