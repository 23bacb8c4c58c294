"""Layers compute in their policy's precision on torch's autocast; weights stay float32."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, mixed_precision
from lamina.engine import saved_logits
from lamina.mixed_precision import autocast
from tests.parity import reference


def _mixed_classifier(hidden_policy=None):
    return lamina.Sequential(
        [
            lamina.Input((6,)),
            layers.Dense(8, activation="relu", dtype=hidden_policy),
            layers.Dense(3, dtype=hidden_policy),
            layers.Activation("softmax", dtype="float32"),
        ]
    )


@pytest.mark.parametrize(
    ("policy", "dtype"), [("mixed_bfloat16", torch.bfloat16), ("mixed_float16", torch.float16)]
)
def test_mixed_layers_compute_in_16_bits_and_keep_float32_weights(policy, dtype):
    # torch 2.13's CPU autocast runs both 16-bit types (float16 too), so both are tested here.
    dense = layers.Dense(4, dtype=policy)
    conv = layers.Conv2D(2, 3, dtype=policy)
    assert dense(torch.randn(2, 5)).dtype == dtype
    assert conv(torch.randn(1, 6, 6, 3)).dtype == dtype
    assert dense.kernel.dtype == conv.kernel.dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu")  # the layer's autocast region ended with it


def test_float32_softmax_of_a_mixed_model_computes_in_float32():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mixed_classifier()
    x = torch.randn(4, 6)
    probabilities = model(x)
    assert probabilities.dtype == torch.float32
    # The logits are bfloat16 (computed under autocast); the softmax is float32 arithmetic on
    # them, not a bfloat16 softmax cast up afterwards.
    logits = model.layers[1](model.layers[0](x))
    assert logits.dtype == torch.bfloat16
    torch.testing.assert_close(probabilities, torch.softmax(logits.float(), -1), rtol=0, atol=0)
    bf16_softmax = torch.softmax(logits, -1).float()
    assert not torch.equal(probabilities, bf16_softmax)


def test_float32_layer_runs_with_autocast_off_inside_an_autocast_region():
    mixed_precision.set_global_policy("mixed_bfloat16")
    full = layers.Dense(3, dtype="float32")
    x = torch.randn(2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = full(x.bfloat16())
        assert torch.is_autocast_enabled("cpu")  # restored after the layer
    assert inside.dtype == torch.float32
    torch.testing.assert_close(inside, full(x.bfloat16().float()), rtol=0, atol=0)


def test_one_mixed_layer_in_a_float32_model():
    model = lamina.Sequential(
        [lamina.Input((4,)), layers.Dense(5, dtype="mixed_bfloat16"), layers.Dense(2)]
    )
    hidden = model.layers[0](torch.randn(3, 4))
    assert hidden.dtype == torch.bfloat16
    assert model(torch.randn(3, 4)).dtype == torch.float32  # the float32 layer casts its input


def test_gradients_reach_the_float32_weights_in_float32():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _mixed_classifier()
    model(torch.randn(4, 6)).sum().backward()
    for weight in model.trainable_weights:
        assert weight.dtype == weight.grad.dtype == torch.float32


def test_the_loss_receives_float32_outputs():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = lamina.Sequential([lamina.Input((6,)), layers.Dense(3)])  # no float32 head
    model.compile(optimizer="sgd", loss="mse")
    outputs = model(torch.randn(4, 6))
    assert outputs.dtype == torch.bfloat16
    loss = model.compute_loss(y=torch.zeros(4, 3), y_pred=outputs)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, outputs.float().square().mean(), rtol=0, atol=0)


def test_integer_inputs_are_not_cast():
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = lamina.Sequential(
        [
            lamina.Input((5,), dtype="int64"),
            layers.Embedding(10, 4),
            layers.Dense(2, dtype="float32"),
        ]
    )
    out = model(torch.randint(0, 10, (2, 5)))
    assert out.dtype == torch.float32
    assert model.layers[0].embeddings.dtype == torch.float32


def test_float64_layer_casts_float32_inputs_as_keras_does():
    layer = layers.Dense(2, dtype="float64")
    assert layer(torch.ones(1, 3)).dtype == torch.float64


def test_namedtuple_inputs_and_outputs_keep_their_type_under_a_policy():
    import collections

    Pair = collections.namedtuple("Pair", ["image", "label"])

    class Sum(layers.Layer):
        def call(self, inputs):
            return Pair(inputs.image + inputs.label, inputs.label)

    out = Sum(dtype="mixed_bfloat16")(Pair(torch.ones(2, 2), torch.full((2, 2), 2.0)))
    assert isinstance(out, Pair)
    # a float32 layer in a mixed program casts its float inputs: the namedtuple survives that too
    halves = Pair(torch.ones(2, 2, dtype=torch.bfloat16), torch.ones(2, 2, dtype=torch.bfloat16))
    exact = Sum(dtype="float32")(halves)
    assert isinstance(exact, Pair) and exact.image.dtype == torch.float32
    widened = mixed_precision.outputs_to_float32(Pair(out.image.bfloat16(), out.label))
    assert isinstance(widened, Pair) and widened.image.dtype == torch.float32


def _float16_attention(module):
    """Keras's own float16 attention case: NumPy float64 query, value and key passed by
    keyword, all cast to the layer's compute dtype (lamina cast only the first input)."""
    layer = module.layers.MultiHeadAttention(num_heads=8, key_dim=8, dtype="float16")
    query = np.identity(8)[None]
    value = np.reshape(np.arange(64), (1, 8, 8)) / 100.0
    layer.build(query.shape, query.shape, value.shape)
    kernel = np.repeat(np.identity(8)[:, None, :], 8, axis=1)
    layer.set_weights([kernel, np.zeros((8, 8))] * 3 + [kernel, np.zeros(8)])
    output, scores = layer(query=query, value=value, key=query, return_attention_scores=True)
    numbers = [module.ops.convert_to_numpy(t).astype("float32") for t in (output, scores)]
    return str(output.dtype).split(".")[-1], numbers


def test_a_16_bit_layer_casts_every_float_argument_as_keras_does():
    dtype, (output, scores) = _float16_attention(lamina)
    keras_dtype, (keras_output, keras_scores) = reference.keras_run(_float16_attention)
    assert dtype == keras_dtype == "float16"
    np.testing.assert_allclose(output, keras_output, atol=2e-3)
    np.testing.assert_allclose(scores, keras_scores, atol=2e-3)
    expected = [2.406, 2.44, 2.473, 2.504, 2.535, 2.568, 2.602, 2.633]  # Keras's test's numbers
    np.testing.assert_allclose(output[0, :, 0], expected, atol=1e-2)


def test_a_mixed_softmax_cast_back_to_16_bits_keeps_its_logits_and_mask():
    """CUDA's autocast runs softmax in float32; the mixed layer's output comes back in bfloat16
    (`autocast.in_compute_dtype`) and the loss must still find the logits behind it."""
    logits = torch.randn(2, 3, requires_grad=True)
    probabilities = saved_logits.attach(torch.softmax(logits, -1), logits, "softmax", -1)
    probabilities._keras_mask = torch.tensor([True, False])
    narrow = autocast.in_compute_dtype(probabilities, torch.bfloat16)
    assert narrow.dtype == torch.bfloat16
    assert saved_logits.logits_of(narrow, "softmax") is logits
    assert narrow._keras_mask is probabilities._keras_mask
    pair = autocast.in_compute_dtype((probabilities, torch.ones(1, dtype=torch.int64)), torch.half)
    assert [t.dtype for t in pair] == [torch.float16, torch.int64]


@pytest.mark.parametrize(
    ("policy", "dtype"), [("mixed_bfloat16", torch.bfloat16), ("mixed_float16", torch.float16)]
)
def test_a_mixed_model_gives_16_bit_activations_between_its_layers(policy, dtype):
    """The model's float32 input is cast by its first layer, and a layer whose op autocast
    runs in float32 (the RMS norm) gives its compute dtype, on the fast paths as eagerly."""
    mixed_precision.set_global_policy(policy)
    inputs = lamina.Input((4, 6))
    normed = layers.LayerNormalization(rms_scaling=True)(layers.Flatten()(inputs))
    scores = layers.Dense(3)(normed)
    model = lamina.Model(inputs, [normed, scores])
    x = torch.randn(2, 4, 6)
    for got, symbolic in zip(model(x), model.outputs, strict=True):
        assert got.dtype == dtype and str(symbolic.dtype) == str(dtype).split(".")[-1]
    flatten, norm = model.layers[1], model.layers[2]
    assert norm(flatten(x)).dtype == dtype
