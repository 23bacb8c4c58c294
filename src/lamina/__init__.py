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
    distribution,
    dtype_policies,
    initializers,
    layers,
    losses,
    metrics,
    mixed_precision,
    models,
    ops,
    optimizers,
    preprocessing,
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
from lamina.engine.sequential import Sequential  # noqa: E402
from lamina.engine.symbolic import Input, KerasTensor  # noqa: E402
from lamina.initializers import Initializer  # noqa: E402
from lamina.losses import Loss  # noqa: E402
from lamina.metrics import Metric  # noqa: E402
from lamina.optimizers import Optimizer  # noqa: E402
from lamina.regularizers import Regularizer  # noqa: E402


def version() -> str:
    """lamina's version string (`lamina.__version__`)."""
    return __version__


__all__ = [
    "Constraint",
    "DTypePolicy",
    "FloatDTypePolicy",
    "Initializer",
    "Input",
    "InputSpec",
    "KerasTensor",
    "Layer",
    "Loss",
    "Metric",
    "Model",
    "Optimizer",
    "Regularizer",
    "Sequential",
    "device",
    "version",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "config",
    "data",
    "datasets",
    "distribution",
    "dtype_policies",
    "initializers",
    "layers",
    "losses",
    "metrics",
    "mixed_precision",
    "models",
    "ops",
    "optimizers",
    "preprocessing",
    "random",
    "regularizers",
    "tree",
    "utils",
    "visualization",
]
