"""`quantize("float8")` against Keras 3: the same float weights, quantized on both sides, give the
same outputs, train to the same weights, scales and amax histories, and move both ways in files.

Tolerances: the forward is exact (0): both round through float8 with torch's casts at the same
scales. After one step the scales and histories are exact too (each a max of |x| or a division of
the same numbers). After nine steps the float weights differ from Keras's as an unquantized
model's do (the float32 backward sums in another order; lamina's Adam step is itself ~6e-7 apart
from Keras's after one step), and the scales and histories follow them: measured at most 2.4e-7
(SGD) and 1e-6 (Adam) absolute, 4e-5 relative on a near-zero kernel entry: rtol 1e-5, atol 2e-6.
Under mixed_bfloat16 and mixed_float16 (loss scaling) the nine steps of SGD agree exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras

RNG = np.random.default_rng(0)
X = RNG.standard_normal((16, 6)).astype("float32")
Y = RNG.standard_normal((16, 6)).astype("float32")
OPTIMIZERS = {
    "sgd": lambda lib: lib.optimizers.SGD(0.1, momentum=0.5),
    "adam": lambda lib: lib.optimizers.Adam(0.01),
    # the scales' values accumulate by their maximum over the window, written at its end
    "sgd-accumulation": lambda lib: lib.optimizers.SGD(0.1, gradient_accumulation_steps=2),
}
pytestmark = [
    pytest.mark.parity,
    pytest.mark.filterwarnings("ignore::UserWarning"),  # Keras's notes on layers it skips
]


def _stack(lib):
    return [
        lib.Input((6,)),
        lib.layers.Dense(8, activation="relu"),
        lib.layers.Reshape((2, 4)),
        lib.layers.EinsumDense("abc,cd->abd", (2, 3), bias_axes="d"),
        lib.layers.Flatten(),
    ]


def _pair():
    """Keras's model and lamina's with Keras's float weights, both quantized to float8."""
    keras.utils.set_random_seed(1)
    theirs, ours = keras.Sequential(_stack(keras)), lamina.Sequential(_stack(lamina))
    ours.set_weights(theirs.get_weights())
    theirs.quantize("float8")
    ours.quantize("float8")
    return theirs, ours


def _weights(model):
    return [np.asarray(w) for w in model.get_weights()]


def test_float8_layers_have_keras_variables_and_outputs():
    theirs, ours = _pair()
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    assert [layer.dtype_policy.name for layer in ours.layers] == [
        layer.dtype_policy.name for layer in theirs.layers
    ]
    flags = [getattr(w, "overwrite_with_gradient", False) for w in ours.weights]
    assert flags == [w.overwrite_with_gradient for w in theirs.weights]
    for mine, reference in zip(_weights(ours), _weights(theirs), strict=True):
        np.testing.assert_array_equal(mine, reference)
    np.testing.assert_array_equal(ours.predict(X, verbose=0), theirs.predict(X, verbose=0))
    dense_config = ours.layers[0].get_config()
    assert dense_config["dtype"] == theirs.layers[0].get_config()["dtype"]
    assert dense_config["quantization_config"] == keras.saving.serialize_keras_object(
        theirs.layers[0].quantization_config
    )


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_float8_training_matches_keras(optimizer):
    theirs, ours = _pair()
    for model, lib in ((theirs, keras), (ours, lamina)):
        model.compile(OPTIMIZERS[optimizer](lib), "mse")
    # One step: the scales and histories it writes are the same numbers.
    theirs.fit(X, Y, batch_size=16, shuffle=False, verbose=0)
    ours.fit(X, Y, batch_size=16, shuffle=False, verbose=0)
    for weight, mine, reference in zip(ours.weights, _weights(ours), _weights(theirs), strict=True):
        if weight.overwrite_with_gradient:
            np.testing.assert_array_equal(mine, reference, err_msg=weight.path)
    # Eight more steps: an ulp or two apart, as unquantized layers are.
    history = theirs.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    our_history = ours.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(our_history["loss"], history["loss"], rtol=1e-5)
    for weight, mine, reference in zip(ours.weights, _weights(ours), _weights(theirs), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=2e-6, err_msg=weight.path)
    assert np.any(_weights(ours)[3] > 0)  # the inputs' amax history was written


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_float8_mixed_precision_training_is_keras_bit_for_bit(policy):
    # Both read inputs and kernels in the compute dtype and round them through float8 there; the
    # backward's float32 sums are short enough here to agree exactly. Under mixed_float16 both
    # compile a LossScaleOptimizer: the scales' values are written as they come, not unscaled.
    keras.config.set_dtype_policy(policy)
    lamina.mixed_precision.set_global_policy(policy)
    try:
        theirs, ours = _pair()
        assert ours.layers[0].dtype_policy.name == f"float8_from_{policy}"
        want = theirs.predict(X, verbose=0)
        got = ours.predict(X, verbose=0)
        assert got.dtype == np.asarray(want).dtype
        np.testing.assert_array_equal(got, np.asarray(want))
        for model, lib in ((theirs, keras), (ours, lamina)):
            model.compile(lib.optimizers.SGD(0.1), "mse")
            model.fit(X, Y, batch_size=4, epochs=2, shuffle=False, verbose=0)
        assert type(ours.optimizer).__name__ == type(theirs.optimizer).__name__
        for weight, mine, reference in zip(
            ours.weights, _weights(ours), _weights(theirs), strict=True
        ):
            np.testing.assert_array_equal(mine, reference, err_msg=weight.path)
    finally:
        keras.config.set_dtype_policy("float32")
        lamina.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("ext", ["keras", "weights.h5"])
def test_float8_files_move_both_ways(ext, tmp_path):
    model = lamina.Sequential(_stack(lamina))
    model.quantize("float8")
    model.compile(lamina.optimizers.Adam(0.01), "mse")
    model.fit(X, Y, batch_size=8, verbose=0)  # scales and histories away from their start
    want = model.predict(X, verbose=0)
    ours_path, theirs_path = tmp_path / f"ours.{ext}", tmp_path / f"theirs.{ext}"
    if ext == "keras":
        model.save(ours_path)
        theirs = keras.models.load_model(ours_path)
        # Adam's slots for the two kernels and biases only: none for the scales, as Keras.
        assert len(theirs.optimizer.variables) == 2 + 2 * 4
    else:
        model.save_weights(ours_path)
        theirs = keras.Sequential(_stack(keras))
        theirs.quantize("float8")
        theirs.load_weights(ours_path)
    np.testing.assert_array_equal(np.asarray(theirs.predict(X, verbose=0)), want)
    if ext == "keras":
        theirs.save(theirs_path)
        back = lamina.models.load_model(theirs_path)
        # Keras builds a loaded float8 layer's scales before its kernel: so does lamina.
        assert [w.name for w in back.weights] == [w.name for w in theirs.weights]
    else:
        theirs.save_weights(theirs_path)
        back = lamina.Sequential(_stack(lamina))
        back.quantize("float8")
        back.load_weights(theirs_path)
    for mine, reference in zip(_weights(back), _weights(theirs), strict=True):
        np.testing.assert_array_equal(mine, reference)
    np.testing.assert_array_equal(back.predict(X, verbose=0), want)
    assert back.layers[0].inputs_scale.overwrite_with_gradient
    if ext != "keras":
        back.compile(lamina.optimizers.SGD(0.1), "mse")
    # A loaded model trains on (from the .keras file, with Keras's optimizer state).
    before = back.layers[0].inputs_amax_history.detach().clone()
    back.fit(X, Y, batch_size=16, verbose=0)
    assert not torch.equal(back.layers[0].inputs_amax_history.detach(), before)


def _attention_model(lib, **options):
    inputs = lib.Input((5, 8))
    attended = lib.layers.MultiHeadAttention(name="attention", **options)(inputs, inputs)
    return lib.Model(inputs, lib.layers.Dense(3, name="head")(attended))


@pytest.mark.parametrize(
    "options",
    [
        {"num_heads": 2, "key_dim": 4},
        {"num_heads": 3, "key_dim": 2, "value_dim": 5, "output_shape": 6, "use_bias": False},
        {"num_heads": 2, "key_dim": 3, "use_gate": True},
    ],
    ids=["plain", "no-bias", "gated"],
)
def test_float8_multi_head_attention_matches_keras(options, tmp_path):
    # Keras trains each projection's EinsumDense sub-layer in float8; lamina's projections
    # take the same variables, under Keras's paths (`attention/query/inputs_scale`).
    x = RNG.standard_normal((4, 5, 8)).astype("float32")
    y = RNG.standard_normal((4, 5, 3)).astype("float32")
    keras.utils.set_random_seed(1)
    theirs, ours = _attention_model(keras, **options), _attention_model(lamina, **options)
    ours.set_weights(theirs.get_weights())
    theirs.quantize("float8")
    ours.quantize("float8")
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    np.testing.assert_array_equal(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    for model, lib in ((theirs, keras), (ours, lamina)):
        model.compile(lib.optimizers.SGD(0.1), "mse")
        model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0)
    for weight, mine, reference in zip(ours.weights, _weights(ours), _weights(theirs), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=2e-6, err_msg=weight.path)
    # Keras cannot reload a float8 MultiHeadAttention from its config (its own policy stays
    # float32): the weights file moves, both ways.
    want = ours.predict(x, verbose=0)
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs = _attention_model(keras, **options)
    theirs.quantize("float8")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_array_equal(np.asarray(theirs.predict(x, verbose=0)), want)
    theirs.save_weights(tmp_path / "theirs.weights.h5")
    back = _attention_model(lamina, **options)
    back.quantize("float8")
    back.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_array_equal(back.predict(x, verbose=0), want)
