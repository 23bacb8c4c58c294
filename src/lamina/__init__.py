"""lamina: a Keras-compatible deep-learning framework whose engine is PyTorch.

`from lamina import layers, models` or `import lamina as keras` runs code written for
`tensorflow.keras` with only its imports changed.
"""

from lamina import (
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
    regularizers,
    utils,
)
from lamina.engine.model import Model
from lamina.engine.sequential import Sequential
from lamina.engine.symbolic import Input, KerasTensor

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
    "regularizers",
    "utils",
]
