"""`quantize()` against Keras 3: the same float weights, quantized on both sides, give the same
integer variables and the same outputs, and quantized models' files move both ways.

Tolerance: exact (0). Both sides quantize with the same float32 arithmetic (true divisions,
round half to even), multiply int8 by int8 exactly into int32 and divide by the same scales in
the same order, or multiply float32 by the same dequantized kernel with the same torch kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers as L
from tests.parity.reference import assert_weights_equal_keras, keras

RNG = np.random.default_rng(0)

EINSUM = [
    ("abc,cd->abd", (3, 4), "d", (2, 3, 6)),
    ("abc,cde->abde", (3, 2, 4), "de", (2, 3, 6)),
    ("abcd,cde->abe", (3, 5), "e", (2, 3, 2, 4)),
    ("ab,cb->ac", (4,), None, (2, 6)),
]
# (mode, Int4 block size or None for the mode's default config)
MODES = [("int8", None), ("int4", None), ("int4", -1), ("int4", 4)]


def _configs(mode, block_size):
    if block_size is None:
        return None, None
    return (
        keras.quantizers.Int4QuantizationConfig(block_size=block_size),
        lamina.quantizers.Int4QuantizationConfig(block_size=block_size),
    )


def _pair(make, x, mode, block_size):
    """Keras's layer and lamina's with Keras's float weights, both quantized."""
    theirs, ours = make(keras.layers), make(L)
    theirs(x)
    ours(torch.tensor(x))
    ours.set_weights(theirs.get_weights())
    their_config, our_config = _configs(mode, block_size)
    theirs.quantize(mode, config=their_config)
    ours.quantize(mode, config=our_config)
    return theirs, ours


def _assert_same_layer(theirs, ours, x):
    assert ours.dtype_policy.name == theirs.dtype_policy.name
    assert_weights_equal_keras(ours, theirs)
    np.testing.assert_array_equal(
        ours(torch.tensor(x)).detach().cpu().numpy(), np.asarray(theirs(x).detach().cpu())
    )


@pytest.mark.parity
@pytest.mark.parametrize(("mode", "block_size"), MODES)
@pytest.mark.parametrize("input_dim", [9, 300])
def test_dense_matches_keras(mode, block_size, input_dim):
    x = RNG.standard_normal((4, input_dim)).astype("float32")
    theirs, ours = _pair(lambda layers: layers.Dense(7), x, mode, block_size)
    _assert_same_layer(theirs, ours, x)


@pytest.mark.parity
@pytest.mark.parametrize(("mode", "block_size"), MODES)
@pytest.mark.parametrize(("equation", "output_shape", "bias_axes", "shape"), EINSUM)
def test_einsum_dense_matches_keras(mode, block_size, equation, output_shape, bias_axes, shape):
    x = RNG.standard_normal(shape).astype("float32")

    def make(layers):
        return layers.EinsumDense(equation, output_shape=output_shape, bias_axes=bias_axes)

    theirs, ours = _pair(make, x, mode, block_size)
    _assert_same_layer(theirs, ours, x)


@pytest.mark.parity
@pytest.mark.parametrize(("mode", "block_size"), MODES)
def test_embedding_matches_keras(mode, block_size):
    ids = RNG.integers(0, 20, (3, 5)).astype("int32")
    theirs, ours = _pair(lambda layers: layers.Embedding(20, 9), ids, mode, block_size)
    _assert_same_layer(theirs, ours, ids)


@pytest.mark.parity
@pytest.mark.parametrize(
    "make",
    [lambda layers: layers.Dense(5), lambda layers: layers.EinsumDense("abc,cd->abd", (3, 5))],
    ids=["Dense", "EinsumDense"],
)
def test_int8_input_gradients_match_keras(make):
    x = RNG.standard_normal((2, 3, 6)).astype("float32")
    theirs, ours = _pair(make, x, "int8", None)
    cotangent = torch.tensor(RNG.standard_normal((2, 3, 5)).astype("float32"))
    grads = []
    for layer in (theirs, ours):
        inputs = torch.tensor(x, requires_grad=True)
        grads.append(torch.autograd.grad(layer(inputs), inputs, cotangent)[0])
    # The same dequantized kernel; a float32 matmul against an einsum: a rounding apart.
    torch.testing.assert_close(grads[1].cpu(), grads[0].cpu(), rtol=1e-6, atol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize(
    "make", [lambda layers: layers.Dense(4), lambda layers: layers.Embedding(9, 4)]
)
def test_configs_carry_keras_policy_and_quantization_config(make):
    theirs, ours = make(keras.layers), make(L)
    for layer in (theirs, ours):
        layer.build((None, 3))
        layer.quantize("int4")
    want, got = theirs.get_config(), ours.get_config()
    assert got["dtype"] == want["dtype"]
    assert got["quantization_config"] == keras.saving.serialize_keras_object(
        theirs.quantization_config
    )


def _stack(layers):
    return [
        layers.Input((5,), dtype="int32"),
        layers.Embedding(20, 6),
        layers.EinsumDense("abc,cd->abd", output_shape=(5, 4), bias_axes="d"),
        layers.Flatten(),
        layers.Dense(3),
    ]


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["int8", "int4"])
@pytest.mark.parametrize("ext", ["keras", "weights.h5"])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's notes on layers it skips
def test_quantized_files_move_both_ways(mode, ext, tmp_path):
    ids = RNG.integers(0, 20, (3, 5))
    model = lamina.Sequential(_stack(L))
    model.quantize(mode)
    want = model.predict(ids, verbose=0)
    ours_path, theirs_path = tmp_path / f"ours.{ext}", tmp_path / f"theirs.{ext}"
    if ext == "keras":
        model.save(ours_path)
        theirs = keras.models.load_model(ours_path)
    else:
        model.save_weights(ours_path)
        theirs = keras.Sequential(_stack(keras.layers))
        theirs.quantize(mode)
        theirs.load_weights(ours_path)
    assert [layer.dtype_policy.name for layer in theirs.layers] == [
        layer.dtype_policy.name for layer in model.layers
    ]
    np.testing.assert_array_equal(np.asarray(theirs.predict(ids, verbose=0)), want)
    if ext == "keras":
        theirs.save(theirs_path)
        back = lamina.models.load_model(theirs_path)
    else:
        theirs.save_weights(theirs_path)
        back = lamina.Sequential(_stack(L))
        back.quantize(mode)
        back.load_weights(theirs_path)
    np.testing.assert_array_equal(back.predict(ids, verbose=0), want)


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["int8", "int4"])
@pytest.mark.parametrize(
    ("make", "x"),
    [
        (lambda layers: layers.Dense(7), RNG.standard_normal((4, 9)).astype("float32")),
        (
            lambda layers: layers.EinsumDense("abc,cd->abd", (3, 4), bias_axes="d"),
            RNG.standard_normal((2, 3, 6)).astype("float32"),
        ),
        (lambda layers: layers.Embedding(20, 9), RNG.integers(0, 20, (3, 5)).astype("int32")),
    ],
    ids=["Dense", "EinsumDense", "Embedding"],
)
def test_mixed_bfloat16_matches_keras(mode, make, x):
    # Keras reads the scales and the bias in bfloat16 under this policy: so does lamina, and the
    # outputs are bfloat16 and equal.
    keras.config.set_dtype_policy("mixed_bfloat16")
    lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        theirs, ours = _pair(make, x, mode, None)
        assert ours.dtype_policy.name == theirs.dtype_policy.name
        want, got = theirs(x), ours(torch.tensor(x))
        assert got.dtype == want.dtype == torch.bfloat16
        torch.testing.assert_close(got.cpu(), want.cpu(), rtol=0, atol=0)
    finally:
        keras.config.set_dtype_policy("float32")
        lamina.mixed_precision.set_global_policy("float32")


@pytest.mark.parity
@pytest.mark.parametrize(("mode", "block_size"), MODES)
@pytest.mark.parametrize("tie_weights", [True, False], ids=["tied", "untied"])
@pytest.mark.filterwarnings("ignore:The use of `x.T`:UserWarning")  # Keras's own transpose
def test_reversible_embedding_matches_keras(mode, block_size, tie_weights):
    ids = RNG.integers(0, 20, (3, 5)).astype("int32")
    vectors = RNG.standard_normal((3, 9)).astype("float32")

    def make(layers):
        return layers.ReversibleEmbedding(20, 9, tie_weights=tie_weights, logit_soft_cap=5.0)

    theirs, ours = _pair(make, ids, mode, block_size)
    _assert_same_layer(theirs, ours, ids)
    want = np.asarray(theirs(vectors, reverse=True).detach().cpu())
    np.testing.assert_array_equal(ours(torch.tensor(vectors), reverse=True).cpu().numpy(), want)


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's notes on layers it skips
def test_quantized_reversible_embedding_file_moves_both_ways(tmp_path):
    def stack(layers):
        return [layers.Input((4,), dtype="int32"), layers.ReversibleEmbedding(20, 6, False)]

    ids = RNG.integers(0, 20, (2, 4))
    model = lamina.Sequential(stack(L))
    model.quantize("int4")
    want = model.predict(ids, verbose=0)
    model.save(tmp_path / "ours.keras")
    theirs = keras.models.load_model(tmp_path / "ours.keras")
    np.testing.assert_array_equal(np.asarray(theirs.predict(ids, verbose=0)), want)
    theirs.save(tmp_path / "theirs.keras")
    back = lamina.models.load_model(tmp_path / "theirs.keras")
    np.testing.assert_array_equal(back.predict(ids, verbose=0), want)
    assert [w.shape for w in back.get_weights()] == [w.shape for w in model.get_weights()]


def _attention_model(lib, **options):
    inputs = lib.Input((5, 8))
    attended = lib.layers.MultiHeadAttention(name="attention", **options)(inputs, inputs)
    return lib.Model(inputs, lib.layers.Dense(3, name="head")(attended))


ATTENTION = [
    {"num_heads": 2, "key_dim": 4},
    {"num_heads": 3, "key_dim": 2, "value_dim": 5, "output_shape": 6, "use_bias": False},
    {"num_heads": 2, "key_dim": 3, "use_gate": True},
]


@pytest.mark.parity
@pytest.mark.parametrize(
    ("mode", "block_size", "options"),
    [(mode, block_size, ATTENTION[0]) for mode, block_size in MODES]
    + [("int8", None, options) for options in ATTENTION[1:]]
    + [("int4", 4, options) for options in ATTENTION[1:]],
    ids=["int8", "int4", "int4-per-channel", "int4-block4"]
    + ["int8-no-bias", "int8-gated", "int4-block4-no-bias", "int4-block4-gated"],
)
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's notes on layers it skips
def test_multi_head_attention_matches_keras(mode, block_size, options):
    # Keras quantizes the EinsumDense sub-layers that hold the projections; lamina keeps the
    # projections on the attention layer and quantizes them with the same arithmetic.
    x = RNG.standard_normal((2, 5, 8)).astype("float32")
    theirs, ours = _attention_model(keras, **options), _attention_model(lamina, **options)
    ours.set_weights(theirs.get_weights())
    their_config, our_config = _configs(mode, block_size)
    theirs.quantize(mode, config=their_config)
    ours.quantize(mode, config=our_config)
    assert_weights_equal_keras(ours, theirs)
    attention = ours.get_layer("attention")
    assert [w.path for w in attention.weights] == [
        w.path for w in theirs.get_layer("attention").weights
    ]
    want = np.asarray(theirs(x).detach().cpu())
    np.testing.assert_array_equal(ours(torch.tensor(x)).detach().cpu().numpy(), want)


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["int8", "int4"])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Keras's notes on layers it skips
def test_quantized_attention_files_move_both_ways(mode, tmp_path):
    x = RNG.standard_normal((2, 5, 8)).astype("float32")
    ours = _attention_model(lamina, num_heads=2, key_dim=4)
    ours.quantize(mode)
    want = ours.predict(x, verbose=0)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs = _attention_model(keras, num_heads=2, key_dim=4)
    theirs.quantize(mode)
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_array_equal(np.asarray(theirs.predict(x, verbose=0)), want)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    back = _attention_model(lamina, num_heads=2, key_dim=4)
    back.quantize(mode)
    back.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_array_equal(back.predict(x, verbose=0), want)
    # Keras cannot reload a `.keras` file of its own quantized attention (its config keeps the
    # float policy, so the sub-layers expect float kernels); lamina files the quantized policy
    # and reloads its own.
    ours.save(tmp_path / "ours.keras")
    reloaded = lamina.models.load_model(tmp_path / "ours.keras")
    assert reloaded.get_layer("attention").quantization_mode == mode
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), want)


@pytest.mark.parity
@pytest.mark.parametrize(
    "make",
    [
        lambda layers: layers.Dense(3, dtype="int4_from_float32", name="q"),
        lambda layers: layers.EinsumDense(
            "ab,bc->ac", 3, bias_axes="c", dtype="int4_from_float32", name="q"
        ),
    ],
    ids=["dense", "einsum_dense"],
)
def test_bare_int4_policy_quantizes_per_channel_as_keras(make):
    """`dtype="int4_from_float32"` (no block size): Keras keeps a plain QuantizedDTypePolicy and
    the layer builds a per-channel int4 kernel; lamina used to refuse the name."""
    x = RNG.standard_normal((2, 8)).astype("float32")
    theirs, ours = make(keras.layers), make(L)
    theirs.build((None, 8))
    ours.build((None, 8))
    assert type(ours.dtype_policy).__name__ == type(theirs.dtype_policy).__name__
    assert ours.dtype_policy.get_config() == theirs.dtype_policy.get_config()
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    _assert_same_layer(theirs, ours, x)
    revived = L.Dense.from_config(ours.get_config()) if isinstance(ours, L.Dense) else None
    if revived is not None:
        assert revived.dtype_policy == ours.dtype_policy


@pytest.mark.parity
@pytest.mark.parametrize("layer_name", ["Dense", "Embedding"])
def test_setting_a_bare_int4_policy_on_a_built_layer_quantizes_as_keras(layer_name):
    """Keras quantizes a built layer given 'int4_from_float32' with int4's default config
    (groups of 128): same variables, same names and shapes."""

    def variables(layers):
        if layer_name == "Dense":
            layer = layers.Dense(2)
            layer.build((None, 256))
        else:
            layer = layers.Embedding(4, 256)
            layer.build((None,))
        layer.dtype_policy = "int4_from_float32"
        return layer.dtype_policy.name, [(v.name, tuple(v.shape)) for v in layer.variables]

    assert variables(L) == variables(keras.layers)
