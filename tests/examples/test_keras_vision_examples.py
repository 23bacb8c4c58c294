"""Small reproductions of what the keras.io vision examples rely on (written here, not copied):
each test pins one gap a ported example exposed."""

import numpy as np
import pytest
import torch

import lamina
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


def test_functional_attention_takes_a_numpy_attention_mask():
    # vit_small_ds's locality self-attention masks the diagonal with a constant mask given to a
    # MultiHeadAttention inside a functional model; a NumPy mask failed at build time with a raw
    # AttributeError where Keras converts it (the eager call already converted it).
    steps = 5
    off_diagonal = (1 - np.eye(steps, dtype="int8"))[None]
    inputs = lamina.Input((steps, 8))
    outputs = layers.MultiHeadAttention(num_heads=2, key_dim=4)(
        inputs, inputs, attention_mask=off_diagonal
    )
    model = lamina.Model(inputs, outputs)
    assert tuple(outputs.shape) == (None, steps, 8)
    x = np.random.default_rng(0).random((3, steps, 8)).astype("float32")
    attention = model.layers[-1]
    _, scores = attention(x, x, attention_mask=off_diagonal, return_attention_scores=True)
    assert np.allclose(np.diagonal(scores.detach().numpy(), axis1=-2, axis2=-1), 0.0)
    np.testing.assert_allclose(
        model.predict(x, verbose=0),
        attention(x, x, attention_mask=off_diagonal).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )


def test_attention_takes_an_attention_mask_given_as_a_list_as_keras():
    # Keras's MultiHeadAttention converts a nested list; lamina failed with "'list' object has
    # no attribute 'shape'". (Keras's GroupQueryAttention refuses one; lamina's takes it too.)
    from tests.parity.reference import keras

    mask = [[[1, 0, 1], [0, 1, 0], [1, 1, 1]]]
    x = np.random.default_rng(0).random((1, 3, 8)).astype("float32")
    theirs = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    expected = theirs(x, x, attention_mask=mask).detach().cpu().numpy()
    ours(x, x)  # built, then given Keras's weights
    ours.set_weights(theirs.get_weights())
    got = ours(x, x, attention_mask=mask).detach().cpu().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    grouped = layers.GroupQueryAttention(head_dim=4, num_query_heads=2, num_key_value_heads=1)
    as_array = grouped(x, x, attention_mask=np.array(mask)).detach().cpu().numpy()
    np.testing.assert_array_equal(
        grouped(x, x, attention_mask=mask).detach().cpu().numpy(), as_array
    )
