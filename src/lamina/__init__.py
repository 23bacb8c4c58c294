"""lamina: a Keras-compatible deep-learning framework whose engine is PyTorch.

`from lamina import layers, models` or `import lamina as keras` runs code written for
`tensorflow.keras` with only its imports changed.
"""

from lamina import allocator

allocator.keep_freed_memory_in_heap()  # before torch allocates: see allocator.py

from lamina import (  # noqa: E402
    activations,
    applications,
    backend,
    callbacks,
    config,
    data,
    datasets,
    distillation,
    distribution,
    dtype_policies,
    initializers,
    layers,
    legacy,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
    quantizers,
    random,
    regularizers,
    tree,
    utils,
    visualization,
)
from lamina._version import __version__  # noqa: E402
from lamina.constraints import Constraint  # noqa: E402
from lamina.device_scope import device  # noqa: E402
from lamina.dtype_policies import DTypePolicy, FloatDTypePolicy  # noqa: E402
from lamina.engine.input_spec import InputSpec  # noqa: E402
from lamina.engine.layer import Layer  # noqa: E402
from lamina.engine.model import Model  # noqa: E402
from lamina.engine.operation import Function, Operation  # noqa: E402
from lamina.engine.quantizer import Quantizer  # noqa: E402
from lamina.engine.remat import RematScope, remat  # noqa: E402
from lamina.engine.scopes import StatelessScope, SymbolicScope, name_scope  # noqa: E402
from lamina.engine.sequential import Sequential  # noqa: E402
from lamina.engine.symbolic import Input, KerasTensor  # noqa: E402
from lamina.engine.variable import Variable  # noqa: E402
from lamina.initializers import Initializer  # noqa: E402
from lamina.losses import Loss  # noqa: E402
from lamina.metrics import Metric  # noqa: E402
from lamina.optimizers import Optimizer  # noqa: E402
from lamina.regularizers import Regularizer  # noqa: E402


def __getattr__(name):
    """`lamina.wrappers` is imported on first use: it loads scikit-learn, which takes a second."""
    if name == "wrappers":
        import importlib

        return importlib.import_module("lamina.wrappers")
    raise AttributeError(f"module 'lamina' has no attribute {name!r}")


def version() -> str:
    """lamina's version string (`lamina.__version__`), as `keras.version()` gives Keras's.

    Example:
        >>> version() == __version__
        True
    """
    return __version__


__all__ = [
    "Constraint",
    "DTypePolicy",
    "FloatDTypePolicy",
    "Function",
    "Initializer",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Model",
    "Operation",
    "Optimizer",
    "Quantizer",
    "Regularizer",
    "RematScope",
    "Sequential",
    "StatelessScope",
    "SymbolicScope",
    "Variable",
    "device",
    "name_scope",
    "remat",
    "version",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "config",
    "data",
    "datasets",
    "distillation",
    "distribution",
    "dtype_policies",
    "initializers",
    "layers",
    "legacy",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "quantizers",
    "random",
    "regularizers",
    "tree",
    "utils",
    "visualization",
]
