"""Keras's optimizer-variable API, mixed into lamina's `Optimizer`.

Keras's optimizers are containers of variables: a custom optimizer makes its own in `build`
(`add_variable`, `add_variable_from_reference`, `add_optimizer_variables`) and writes them in
`update_step` (`assign`, `assign_add`, `assign_sub`); programs read or set all of them in Keras's
order (`set_weights`, `save_own_variables`, `load_own_variables`, `stateless_apply`). lamina's
optimizers keep their state in torch's optimizer instead: a slot made here *is* its weight's
torch state entry (`SlotVariable`), and Keras's order comes from `saving.optimizer_state`.
"""

from __future__ import annotations

import numpy as np
import torch

from lamina.engine.scopes import name_scope
from lamina.engine.variable import Variable
from lamina.optimizers.given_tensors import torch_variable
from lamina.optimizers.memory_layout import like_parameter
from lamina.optimizers.update_step_rule import SlotVariable
from lamina.optimizers.variable_paths import path_of

# Keras's order of an optimizer's variables (iteration, learning rate, moving averages, gradient
# accumulators, slots) is `saving.optimizer_state`'s, which knows every optimizer's slots and so
# imports them all: it fills this in when imported (`import lamina` does) with `variables` (for
# `Optimizer.variables`), `to_keras` and `from_keras` (for `set_weights`, `save_own_variables`,
# `load_own_variables` and `stateless_apply`).
KERAS_ORDER: dict = {}


class KerasVariables:
    """Keras's variable methods of an optimizer (a mixin of `Optimizer`, which provides
    `torch_optimizer`, `built`, `apply` and the variable lists these read).

    Example:
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.add_variable((2,), name="count").numpy()
        array([0., 0.], dtype=float32)
    """

    def _get_variable_index(self, variable) -> int:
        # Keras's (private, yet what its documented custom optimizers index their slots with).
        return self._variable_index[id(torch_variable(variable))]

    def add_variable(
        self, shape, initializer="zeros", dtype=None, aggregation="none", layout=None, name=None
    ):
        """Create an optimizer variable not tied to a weight (a custom optimizer's own state).

        It is one of the optimizer's variables in Keras's order (saved, `set_weights`), after
        those made before it.

        Args:
            shape: the variable's shape.
            initializer: an initializer or its name (`"zeros"` by default).
            dtype: its dtype (`backend.floatx()` by default).
            aggregation: Keras's replica aggregation (`"none"`, `"mean"`, `"sum"`,
                `"only_first_replica"`).
            layout: kept for Keras's signature (no distribution layouts on torch).
            name: its name.

        Returns:
            A `lamina.Variable`.

        Example:
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.add_variable((2,), name="count").numpy()
        array([0., 0.], dtype=float32)
        """
        with name_scope(self.name, caller=self):  # its path is `<optimizer>/<name>`, as Keras's
            variable = Variable(
                initializer,
                shape=shape,
                dtype=dtype,
                trainable=False,
                aggregation=aggregation,
                name=name,
                layout=layout,
            )
        self._added_variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """Create a slot shaped and typed as a weight (a momentum, a second moment), as Keras does
        in a custom optimizer's `build`. The slot is that weight's torch optimizer state, so it is
        saved and moved with it.

        Args:
            reference_variable: a weight the optimizer was built with.
            name: the slot's name (`"var"` by default); the variable is named
                `<weight path>_<name>`, as in Keras.
            initializer: an initializer or its name (`"zeros"` by default).

        Returns:
            A `lamina.Variable` (a `SlotVariable` for a weight the optimizer updates).

        Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build([w])
        >>> optimizer.add_variable_from_reference(w, "momentum", "ones").numpy()
        array([1., 1.], dtype=float32)
        """
        parameter = getattr(reference_variable, "value", reference_variable)
        slot = name or "var"
        full_name = f"{(path_of(parameter) or 'variable').replace('/', '_')}_{slot}"
        if self.torch_optimizer is None or id(parameter) not in self._optimized_ids():
            return self.add_variable(
                tuple(parameter.shape), initializer, parameter.dtype, name=full_name
            )
        if initializer == "zeros":
            initial = torch.zeros_like(parameter, memory_format=torch.preserve_format)
        else:
            from lamina import initializers

            drawn = initializers.get(initializer)(tuple(parameter.shape), dtype=parameter.dtype)
            initial = like_parameter(torch.as_tensor(drawn).to(parameter.device), parameter)
        state, key, count = self.torch_optimizer.state[parameter], slot, 0
        while key in state:  # the same name twice for one weight: two slots
            count += 1
            key = f"{slot}_{count}"
        with name_scope(self.name, caller=self):
            variable = SlotVariable(self, parameter, key, initial.detach(), full_name)
        self._added_variables.append(variable)
        return variable

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per weight (`add_variable_from_reference`), or one list per name when `name`
        is a list (interleaved per weight, Keras's order). Weights flagged
        `overwrite_with_gradient` get None.

        Args:
            trainable_variables: the weights.
            name: a slot name, or a list of them.
            initializer: an initializer (or name), or one per name.

        Returns:
            A list of variables, or a tuple of lists when `name` is a list.

        Example:
        >>> w = torch.nn.Parameter(torch.ones(2))
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build([w])
        >>> m, v = optimizer.add_optimizer_variables([w], ["m", "v"])
        >>> len(m), len(v)
        (1, 1)
        """
        names = [name] if isinstance(name, str) else list(name)
        inits = (
            initializer if isinstance(initializer, (list, tuple)) else [initializer] * len(names)
        )
        if len(names) != len(inits):
            raise ValueError(
                f"{type(self).__name__}.add_optimizer_variables() expected one initializer per "
                f"name; received name={name!r} and initializer={initializer!r}. Hint: pass one "
                "initializer for all names, or a list as long as `name`."
            )
        made = tuple([] for _ in names)
        for variable in trainable_variables:
            skipped = getattr(variable, "overwrite_with_gradient", False)
            for slots, slot, init in zip(made, names, inits, strict=True):
                made_one = (
                    None if skipped else self.add_variable_from_reference(variable, slot, init)
                )
                slots.append(made_one)
        return made[0] if isinstance(name, str) else made

    def _optimized_ids(self) -> set[int]:
        return {id(p) for group in self.torch_optimizer.param_groups for p in group["params"]}

    def assign(self, variable, value) -> None:
        """Set `variable` (a weight or an optimizer variable) to `value`, in place.

        Args:
            variable: a weight, a `lamina.Variable` or a tensor.
            value: a tensor, array or number of its shape.

        Example:
        >>> w = torch.zeros(2)
        >>> lamina.optimizers.SGD().assign(w, torch.ones(2))
        >>> w.tolist()
        [1.0, 1.0]
        """
        _write(variable, value, lambda target, new: target.copy_(new))

    def assign_add(self, variable, value) -> None:
        """Add `value` to `variable` in place (see `assign`).

        Args:
            variable: a weight, a `lamina.Variable` or a tensor.
            value: what to add (broadcast to its shape).

        Example:
        >>> w = torch.ones(2)
        >>> lamina.optimizers.SGD().assign_add(w, 2.0)
        >>> w.tolist()
        [3.0, 3.0]
        """
        _write(variable, value, lambda target, new: target.add_(new))

    def assign_sub(self, variable, value) -> None:
        """Subtract `value` from `variable` in place (see `assign`).

        Args:
            variable: a weight, a `lamina.Variable` or a tensor.
            value: what to subtract (broadcast to its shape).

        Example:
        >>> w = torch.ones(2)
        >>> lamina.optimizers.SGD().assign_sub(w, 0.5)
        >>> w.tolist()
        [0.5, 0.5]
        """
        _write(variable, value, lambda target, new: target.sub_(new))

    def _check_built(self, method: str) -> None:
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.{method}() needs a built optimizer (its variables exist "
                "once built); this one is not. Hint: call `optimizer.build(trainable_weights)` "
                "first, or train a step."
            )

    def _keras_values(self) -> list[np.ndarray]:
        # Copies: on the CPU an array may share the state tensor's memory.
        return [np.array(value) for value in KERAS_ORDER["to_keras"](self)]

    def set_weights(self, weights) -> None:
        """Set the optimizer's variables from arrays in Keras's order (`iteration`,
        `learning_rate` (absent with a schedule), the moving averages, the gradient accumulators,
        then the slots, as a Keras optimizer's `variables` lists them), Keras-shaped.

        Args:
            weights: a list of arrays or tensors, one per variable.

        Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> optimizer = lamina.optimizers.SGD(momentum=0.9)
        >>> optimizer.build([w])
        >>> optimizer.set_weights([5, 0.5, np.ones(2, "float32")])
        >>> int(optimizer.iterations), float(optimizer.learning_rate)
        (5, 0.5)
        """
        self._check_built("set_weights")
        weights = list(weights)
        current = self._keras_values()
        if len(weights) != len(current):
            raise ValueError(
                f"{type(self).__name__}.set_weights() expected {len(current)} arrays (one per "
                f"optimizer variable, in Keras's order); received {len(weights)}. Hint: take "
                "them from an optimizer of the same kind built over the same weights."
            )
        for index, (weight, now) in enumerate(zip(weights, current, strict=True)):
            if tuple(np.shape(weight)) != now.shape:
                raise ValueError(
                    f"{type(self).__name__}.set_weights(): variable {index} has shape "
                    f"{now.shape}; received an array of shape {tuple(np.shape(weight))}. Hint: "
                    "slots have their weight's Keras shape."
                )
        KERAS_ORDER["from_keras"](self, [_as_array(w) for w in weights])

    def save_own_variables(self, store) -> None:
        """Write the variables into `store` under "0", "1", ... in Keras's order (what Keras's
        saving writes under `optimizer/vars`).

        Args:
            store: a dict-like object.

        Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build([w])
        >>> store = {}
        >>> optimizer.save_own_variables(store)
        >>> sorted(store)
        ['0', '1']
        """
        for index, value in enumerate(self._keras_values()):
            store[str(index)] = value

    def load_own_variables(self, store) -> None:
        """Read the variables from `store` ("0", "1", ...: `save_own_variables`'s, or Keras's);
        warns and loads nothing when their count does not fit this optimizer, as Keras.

        Args:
            store: a dict-like object.

        Example:
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> optimizer = lamina.optimizers.SGD()
        >>> optimizer.build([w])
        >>> optimizer.load_own_variables({"0": np.asarray(3), "1": np.asarray(0.1)})
        >>> int(optimizer.iterations)
        3
        """
        values = [_as_array(store[str(index)]) for index in range(len(store.keys()))]
        KERAS_ORDER["from_keras"](self, values, f"the store given to {self.name}")

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """One `apply` on given values, returning the new ones and leaving the optimizer's and the
        weights' own untouched.

        Args:
            optimizer_variables: the optimizer variables' values in Keras's order (see
                `set_weights`).
            grads: the gradients, one per weight the optimizer was built with.
            trainable_variables: the weights' values, in the order `build` got them.

        Returns:
            `(new weight values, new optimizer variable values)`, lists of tensors.

        Example:
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> optimizer = lamina.optimizers.SGD(learning_rate=0.5)
        >>> optimizer.build([w])
        >>> new, _ = optimizer.stateless_apply([0, 0.5], [torch.ones(1)], [torch.ones(1)])
        >>> new[0].tolist(), w.tolist()
        ([0.5], [0.0])
        """
        self._check_built("stateless_apply")
        weights = self._trainable
        if len(trainable_variables) != len(weights) or len(grads) != len(weights):
            raise ValueError(
                f"{type(self).__name__}.stateless_apply() expected {len(weights)} weight values "
                f"and gradients (the weights it was built with); received "
                f"{len(trainable_variables)} and {len(grads)}."
            )
        saved_weights = [w.detach().clone() for w in weights]
        saved_variables = self._keras_values()
        try:
            with torch.no_grad():
                for weight, value in zip(weights, trainable_variables, strict=True):
                    weight.copy_(torch.as_tensor(_as_array(value)))
            self.set_weights(optimizer_variables)
            self.apply(list(grads))
            new_weights = [w.detach().clone() for w in weights]
            device = weights[0].device if weights else None
            new_variables = [torch.as_tensor(v, device=device) for v in self._keras_values()]
        finally:
            with torch.no_grad():
                for weight, value in zip(weights, saved_weights, strict=True):
                    weight.copy_(value)
            KERAS_ORDER["from_keras"](self, saved_variables)
        return new_weights, new_variables

    def _own_variables(self) -> list:
        return [v for v in self._added_variables if not isinstance(v, SlotVariable)]


def _as_array(value) -> np.ndarray:
    """An array, tensor, variable or number as a NumPy array (a tensor from any device)."""
    value = getattr(value, "value", value)
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
    return np.asarray(value)


def _write(variable, value, write) -> None:
    """`write(tensor, new)` in place on a weight's or a variable's tensor, gradient-free."""
    target = variable.value if hasattr(variable, "value") else variable
    new = getattr(value, "value", value)
    if not isinstance(new, torch.Tensor):
        new = torch.as_tensor(new, dtype=target.dtype)
    with torch.no_grad():
        write(target, new.to(device=target.device, dtype=target.dtype))
