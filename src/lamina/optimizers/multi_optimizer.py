"""Different optimizers for different weights: `OptimizerMap` (Keras paths or regular expressions
-> optimizers, with a default) and `MultiOptimizer`, which hands each weight to its optimizer.

Paths are Keras's (`encoder/dense/kernel`; `variable_paths` writes them into lamina's weights when
the optimizer is built by `compile`/`fit`). Each sub-optimizer is a whole lamina optimizer over its
weights: its own learning rate, schedule, clipping, weight decay and EMA, as in Keras.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from lamina.optimizers import registry, variable_paths
from lamina.optimizers.given_tensors import torch_variable
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.optimizer import Optimizer


def _check_member(optimizer, where: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise ValueError(f"{where} expects a lamina.optimizers.Optimizer; received {optimizer!r}.")
    if isinstance(optimizer, LossScaleOptimizer):
        raise ValueError(
            f"{where}: a LossScaleOptimizer cannot be used inside a MultiOptimizer. Hint: wrap the "
            "MultiOptimizer in the LossScaleOptimizer instead."
        )
    if isinstance(optimizer, MultiOptimizer):
        raise ValueError(f"{where}: a MultiOptimizer cannot be used inside a MultiOptimizer.")


class OptimizerMap(MutableMapping):
    """A mapping of variable paths (or regular expressions over them) to optimizers.

    A key is looked up exactly first, then as a pattern (`re.fullmatch`: "encoder/.*" covers
    everything under `encoder`, "encoder" only that path); a path no key matches gets
    `default_optimizer`, one that several patterns match is an error.

    Args:
        default_optimizer: the `Optimizer` for every variable no key matches.
        optimizer_map: an optional dict of keys to optimizers.

    Example:
        >>> from lamina import optimizers
        >>> mapping = OptimizerMap(optimizers.RMSprop(), {"encoder/.*": optimizers.SGD()})
        >>> type(mapping["encoder/dense/kernel"]).__name__, type(mapping["decoder/x"]).__name__
        ('SGD', 'RMSprop')
    """

    def __init__(self, default_optimizer, optimizer_map=None):
        if not isinstance(default_optimizer, Optimizer):
            raise TypeError(
                "OptimizerMap expects default_optimizer to be a lamina.optimizers.Optimizer; "
                f"received {default_optimizer!r}."
            )
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise TypeError(
                f"OptimizerMap expects optimizer_map to be a dict; received {optimizer_map!r}."
            )
        self._default_optimizer = default_optimizer
        self._optimizer_map = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self):
        """The optimizer of the variables no key matches."""
        return self._default_optimizer

    def __getitem__(self, key):
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matches = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Multiple optimizers assigned to variable {key}: its path matches the keys "
                f"{matches}. Hint: make the patterns exclusive."
            )
        return self._optimizer_map[matches[0]] if matches else self._default_optimizer

    def __setitem__(self, key, optimizer):
        if key in self._optimizer_map:
            raise ValueError(
                f"'{key}' already exists in the OptimizerMap with value "
                f"{self._optimizer_map[key]!r}. Hint: use each key once."
            )
        if not isinstance(key, str):
            raise ValueError(f"OptimizerMap keys must be strings; received {key!r}.")
        _check_member(optimizer, "OptimizerMap")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key):
        del self._optimizer_map[key]

    def __len__(self):
        return len(self._optimizer_map)

    def __iter__(self):
        return iter(self._optimizer_map)

    def __call__(self, variable):
        """The optimizer of `variable`, by its Keras path."""
        return self[variable_paths.path_of(variable)]

    def get_config(self):
        return {
            "default_optimizer": _keras_entry(self._default_optimizer),
            "optimizer_map": {k: _keras_entry(v) for k, v in self._optimizer_map.items()},
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        def build(entry):
            return registry.deserialize(entry, custom_objects=custom_objects)

        mapping = {k: build(v) for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(build(config["default_optimizer"]), mapping)


@registry.register_wrapper
class MultiOptimizer(Optimizer):
    """An optimizer that hands each variable to the optimizer an `OptimizerMap` (or a function of
    the variable) chooses for it.

    The sub-optimizers keep their own learning rates, schedules and options; read them through
    `optimizers`. A MultiOptimizer has no learning rate of its own: reading or setting
    `learning_rate` is an error, as in Keras.

    Args:
        optimizer_map: an `OptimizerMap`, or a callable taking a variable (a weight with a Keras
            `path` attribute) and returning its `Optimizer`.
        loss_scale_factor: set on every sub-optimizer (the loss is scaled once, each sub-optimizer
            divides its gradients back).
        name: the optimizer's name (default "multi_optimizer").

    Example:
        >>> from lamina import optimizers
        >>> w, b = torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(2))
        >>> w.path, b.path = "dense/kernel", "dense/bias"
        >>> mapping = OptimizerMap(optimizers.SGD(0.5), {".*bias": optimizers.SGD(0.1)})
        >>> multi = MultiOptimizer(mapping)
        >>> multi.apply_gradients([(torch.ones(2, 2), w), (torch.ones(2), b)])
        >>> w[0, 0].item(), round(b[0].item(), 4)
        (0.5, 0.9)
    """

    def __init__(self, optimizer_map, loss_scale_factor=None, name=None):
        self._inner_optimizers: list[Optimizer] = []
        super().__init__(learning_rate=0.0, loss_scale_factor=loss_scale_factor, name=name)
        if not callable(optimizer_map):
            raise TypeError(
                "MultiOptimizer expects an OptimizerMap or a callable returning an optimizer for "
                f"a variable; received {optimizer_map!r}."
            )
        self._optimizer_map = optimizer_map
        members = list(optimizer_map.values()) if hasattr(optimizer_map, "values") else []
        default = getattr(optimizer_map, "default_optimizer", None)
        for optimizer in [*members, *([default] if default is not None else [])]:
            self._adopt(optimizer)
        self._assignment: list[int] = []
        self._built = False

    def _adopt(self, optimizer) -> int:
        for index, known in enumerate(self._inner_optimizers):
            if known is optimizer:
                return index
        optimizer.loss_scale_factor = self.loss_scale_factor
        self._inner_optimizers.append(optimizer)
        return len(self._inner_optimizers) - 1

    @property
    def optimizers(self) -> list[Optimizer]:
        """The sub-optimizers, in Keras's order (the map's values, then the default)."""
        return self._inner_optimizers

    @property
    def loss_scale_factor(self):
        return self.__dict__.get("_loss_scale_factor")

    @loss_scale_factor.setter
    def loss_scale_factor(self, value) -> None:
        self._loss_scale_factor = value
        for optimizer in self._inner_optimizers:
            optimizer.loss_scale_factor = value

    @property
    def learning_rate(self):
        raise AttributeError(
            "Learning rate cannot be accessed on a MultiOptimizer. Hint: read it on the "
            "sub-optimizers (`optimizer.optimizers`)."
        )

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        raise AttributeError(
            "Learning rate cannot be set on a MultiOptimizer. Hint: set it on the sub-optimizers "
            "(`optimizer.optimizers`)."
        )

    lr = learning_rate

    # ----------------------------------------------------------------------------------------------
    def build(self, var_list, constraints=None) -> None:
        """Choose each trainable parameter's sub-optimizer and build each over its own."""
        if constraints is not None:
            self._constraints = list(constraints)
        constraints = self._constraints
        var_list = [torch_variable(variable) for variable in var_list]
        self._parameters = [p for p in var_list if p.requires_grad]
        self._trainable = self._parameters
        self._assignment = []
        for parameter in self._parameters:
            chosen = self._optimizer_map(parameter)
            _check_member(chosen, f"MultiOptimizer (for variable '{_parameter_name(parameter)}')")
            self._assignment.append(self._adopt(chosen))
        owner = {id(p): i for p, i in zip(self._parameters, self._assignment, strict=True)}
        for index, optimizer in enumerate(self._inner_optimizers):
            mine = [
                p for p, i in zip(self._parameters, self._assignment, strict=True) if i == index
            ]
            if mine:
                bounds = [(p, c) for p, c in constraints if owner.get(id(p)) == index]
                optimizer.set_constraints(bounds)
                optimizer.build(mine)  # a custom sub-optimizer's build(var_list)
        self._built = True

    @property
    def built(self) -> bool:
        return self._built

    def _active(self) -> list[Optimizer]:
        return [o for i, o in enumerate(self._inner_optimizers) if i in set(self._assignment)]

    @property
    def has_constraints(self) -> bool:
        return any(o.has_constraints for o in self._active())

    def step(self) -> None:
        """One update: each sub-optimizer applies the gradients of its own variables."""
        if not any(p.grad is not None for p in self._parameters):
            return
        for optimizer in self._active():
            optimizer.step()
        self.iterations += 1

    def zero_grad(self) -> None:
        for optimizer in self._active():
            optimizer.zero_grad()

    def create_state(self) -> None:
        for optimizer in self._active():
            optimizer.create_state()

    def follow_parameters(self) -> None:
        for optimizer in self._active():
            optimizer.follow_parameters()

    def clip_gradients(self, grads) -> None:
        raise NotImplementedError("A MultiOptimizer's sub-optimizers clip their own gradients.")

    def refresh_learning_rate(self) -> None:
        for optimizer in self._active():
            optimizer.refresh_learning_rate()

    def finalize_variable_values(self, var_list=None) -> None:
        for optimizer in self._active():
            optimizer.finalize_variable_values()

    def state_dict(self) -> dict:
        return {
            "iterations": int(self.iterations),
            "optimizers": [o.state_dict() if o.built else None for o in self._inner_optimizers],
        }

    def load_state_dict(self, state: dict) -> None:
        self.iterations = int(state["iterations"])
        for optimizer, saved in zip(self._inner_optimizers, state["optimizers"], strict=True):
            if saved is not None and optimizer.built:
                optimizer.load_state_dict(saved)

    # ----------------------------------------------------------------------------------------------
    def get_config(self) -> dict:
        mapping = self._optimizer_map
        if isinstance(mapping, OptimizerMap):
            serialized = _keras_entry(mapping)
        else:  # a function: saved by name, found again through custom_objects (as Keras)
            serialized = {
                "module": getattr(mapping, "__module__", None),
                "class_name": "function",
                "config": getattr(mapping, "__name__", ""),
                "registered_name": "function",
            }
        return {
            "optimizer_map": serialized,
            "loss_scale_factor": self.loss_scale_factor,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        entry = config["optimizer_map"]
        if isinstance(entry, dict) and entry.get("class_name") == "OptimizerMap":
            config["optimizer_map"] = OptimizerMap.from_config(entry["config"], custom_objects)
        elif isinstance(entry, dict) and entry.get("class_name") == "function":
            name = entry.get("config")
            if name not in (custom_objects or {}):
                raise ValueError(
                    f"MultiOptimizer was saved with the function '{name}' choosing the optimizers. "
                    f"Hint: pass it in custom_objects={{'{name}': {name}}} when loading."
                )
            config["optimizer_map"] = custom_objects[name]
        return cls(**config)


def _keras_entry(obj) -> dict:
    """`obj` as Keras's serialization nests it, so Keras reads a lamina file's config."""
    return {
        "module": "keras.optimizers",
        "class_name": type(obj).__name__,
        "config": obj.get_config(),
        "registered_name": None,
    }


def _parameter_name(parameter) -> str:
    """A weight's Keras path, or its shape when it has none (for messages)."""
    return variable_paths.path_of(parameter) or f"shape {tuple(parameter.shape)}"
