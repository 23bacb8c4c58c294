"""Small reproductions of what the keras.io vision examples rely on (written here, not copied):
each test pins one gap a ported example exposed."""

import numpy as np
import pytest
import torch

from lamina import layers


@pytest.mark.parametrize(
    "scale",
    [1.0 / 255, np.float32(1.0 / 255), [0.5, 1.0, 2.0]],
    ids=["float", "numpy_scalar", "per_channel"],
)
def test_rescaling_is_captured_whole_by_torch_compile(scale):
    # image_classification_from_scratch starts its model with Rescaling(1 / 255) and compiles
    # with jit_compile=True; a graph break inside Rescaling made the whole train step fall back
    # to eager with a warning Keras does not give.
    layer = layers.Rescaling(scale, offset=np.float64(-1.0))
    images = torch.rand(2, 4, 4, 3) * 255
    eager = layer(images)
    torch._dynamo.reset()
    compiled = torch.compile(layer, backend="eager", fullgraph=True)  # fails on any graph break
    torch.testing.assert_close(compiled(images), eager)
    torch._dynamo.reset()
