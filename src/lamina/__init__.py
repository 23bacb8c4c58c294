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
    data,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
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
from lamina.engine.model import Model  # noqa: E402
from lamina.engine.sequential import Sequential  # noqa: E402
from lamina.engine.symbolic import Input, KerasTensor  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Input",
    "KerasTensor",
    "Model",
    "Sequential",
    "activations",
    "applications",
    "backend",
    "callbacks",
    "data",
    "datasets",
    "initializers",
    "layers",
    "losses",
    "metrics",
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
