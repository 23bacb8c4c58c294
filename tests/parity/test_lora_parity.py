"""LoRA against Keras 3: the same base weights and the same factors give the same weights list,
outputs and files; a few SGD steps move only the factors, as in Keras; files move both ways.

Tolerance: outputs and files exact (0). Both sides merge `kernel + (alpha / rank) * A @ B` with
the same float32 ops in Keras's layout (lamina then views the sum in torch's layout), or add the
same `(x A) B` path to the same integer product, and re-quantize merged kernels with the same
arithmetic. Whole models and training, 1e-6: lamina's Dense fuses its bias into the matmul
(addmm, F.linear) where Keras adds it after, and the factors' gradients come through those
matmuls, a float32 rounding apart.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers as L
from tests.parity.reference import keras

RNG = np.random.default_rng(0)


def _floats(*shape):
    return RNG.standard_normal(shape).astype("float32")


# (id, layer factory, input, quantization mode)
CASES = [
    ("Dense", lambda layers: layers.Dense(7), _floats(4, 9), None),
    (
        "EinsumDense-abc,cd",
        lambda layers: layers.EinsumDense("abc,cd->abd", (3, 4), bias_axes="d"),
        _floats(2, 3, 6),
        None,
    ),
    (
        "EinsumDense-abc,cde",
        lambda layers: layers.EinsumDense("abc,cde->abde", (3, 2, 4), bias_axes="de"),
        _floats(2, 3, 6),
        None,
    ),
    ("Embedding", lambda layers: layers.Embedding(20, 9), RNG.integers(0, 20, (3, 5)), None),
    ("Conv1D", lambda layers: layers.Conv1D(6, 3), _floats(2, 7, 4), None),
    ("Conv2D-groups", lambda layers: layers.Conv2D(6, 3, groups=2), _floats(2, 7, 7, 4), None),
    ("Conv3D", lambda layers: layers.Conv3D(5, 2), _floats(2, 4, 4, 4, 3), None),
    (
        "Conv2D-channels_first",
        lambda layers: layers.Conv2D(4, 2, data_format="channels_first"),
        _floats(2, 3, 5, 5),
        None,
    ),
    ("Dense-int8", lambda layers: layers.Dense(7), _floats(4, 9), "int8"),
    ("Dense-int4", lambda layers: layers.Dense(7), _floats(4, 9), "int4"),
    (
        "EinsumDense-int8",
        lambda layers: layers.EinsumDense("abc,cd->abd", (3, 4), bias_axes="d"),
        _floats(2, 3, 6),
        "int8",
    ),
    (
        "EinsumDense-abc,cde-int4",
        lambda layers: layers.EinsumDense("abc,cde->abde", (3, 2, 4), bias_axes="de"),
        _floats(2, 3, 6),
        "int4",
    ),
    ("Embedding-int8", lambda layers: layers.Embedding(20, 9), RNG.integers(0, 20, (3, 5)), "int8"),
    # Keras also quantizes a layer with LoRA on: the base kernel is quantized, the factors stay.
    ("Dense-lora-then-int8", lambda layers: layers.Dense(7), _floats(4, 9), "then-int8"),
]


def _pair(make, x, mode, rank=2, alpha=3):
    """Keras's layer and lamina's, Keras's base weights in both, LoRA on, random factors in."""
    theirs, ours = make(keras.layers), make(L)
    theirs(x)
    ours(torch.tensor(x))
    ours.set_weights(theirs.get_weights())
    if mode in ("int8", "int4"):
        theirs.quantize(mode)
        ours.quantize(mode)
    theirs.enable_lora(rank, lora_alpha=alpha)
    ours.enable_lora(rank, lora_alpha=alpha)
    # Random factors (B starts at zero, which would hide a wrong product).
    weights = [
        _floats(*w.shape) * 0.3 if "lora" in v.path else w
        for v, w in zip(theirs.weights, theirs.get_weights(), strict=True)
    ]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    if mode == "then-int8":
        theirs.quantize("int8")
        ours.quantize("int8")
    return theirs, ours


def _numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


@pytest.mark.parity
@pytest.mark.parametrize(("make", "x", "mode"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lora_layer_matches_keras(make, x, mode):
    theirs, ours = _pair(make, x, mode)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.name for w in ours.trainable_weights] == [w.name for w in theirs.trainable_weights]
    assert [w.name for w in ours.non_trainable_weights] == [
        w.name for w in theirs.non_trainable_weights
    ]
    for mine, keras_one in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, keras_one)
    np.testing.assert_array_equal(ours(torch.tensor(x)).detach().cpu().numpy(), _numpy(theirs(x)))
    # Keras's `kernel` property reads the stored kernel (int4 unpacked) plus the update.
    target = "embeddings" if isinstance(ours, L.Embedding) else "kernel"
    merged = getattr(ours, target)
    assert not isinstance(merged, torch.nn.Parameter) and merged.dtype == torch.float32
    np.testing.assert_allclose(
        merged.detach().cpu().numpy(), _numpy(getattr(theirs, target)), rtol=1e-6, atol=1e-6
    )
    # What the files hold: the update merged into the kernel (re-quantized), no factors.
    stores = {}, {}
    theirs.save_own_variables(stores[0])
    ours.save_own_variables(stores[1])
    assert sorted(stores[1]) == sorted(stores[0])
    for key in stores[0]:
        np.testing.assert_array_equal(stores[1][key], _numpy(stores[0][key]))
    config = ours.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (2, 3)


@pytest.mark.parity
@pytest.mark.parametrize("mode", [None, "int8"])
def test_mixed_bfloat16_matches_keras(mode):
    # Keras reads kernel and factors in bfloat16 inside a call, and files the merged float kernel
    # cast to bfloat16 (an int8 one re-quantized from float32 reads): so does lamina.
    keras.config.set_dtype_policy("mixed_bfloat16")
    lamina.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        x = _floats(2, 3, 6)
        theirs, ours = _pair(lambda layers: layers.Dense(5), x, mode)
        want, got = theirs(x), ours(torch.tensor(x))
        assert got.dtype == want.dtype == torch.bfloat16
        torch.testing.assert_close(got.cpu(), want.detach().cpu(), rtol=0, atol=0)
        stores = {}, {}
        theirs.save_own_variables(stores[0])
        ours.save_own_variables(stores[1])
        for key in stores[0]:
            expected = torch.as_tensor(_numpy(stores[0][key]).astype("float32"))
            got_value = torch.as_tensor(np.asarray(stores[1][key]).astype("float32"))
            torch.testing.assert_close(got_value, expected, rtol=0, atol=0)
    finally:
        keras.config.set_dtype_policy("float32")
        lamina.mixed_precision.set_global_policy("float32")


def _model(layers, mode, lora_rank=None):
    model = keras.Sequential if layers is keras.layers else lamina.Sequential
    stack = model(
        [
            layers.Input((6,)),
            layers.Dense(5, activation="tanh"),
            layers.Dense(3, lora_rank=lora_rank),
        ]
    )
    if mode is not None:
        stack.layers[-1].quantize(mode)
    return stack


@pytest.mark.parity
@pytest.mark.parametrize("mode", [None, "int8"])
def test_sgd_steps_move_only_the_factors_as_in_keras(mode):
    x, y = _floats(16, 6), _floats(16, 3)
    theirs, ours = _model(keras.layers, mode), _model(L, mode)
    ours.set_weights(theirs.get_weights())
    for model in (theirs, ours):
        model.layers[0].trainable = False
        model.layers[-1].enable_lora(2)
    # B starts at zero in both: copy A so the steps see the same factors.
    ours.set_weights(theirs.get_weights())
    before = ours.get_weights()
    for model, framework in ((theirs, keras), (ours, lamina)):
        model.compile(optimizer=framework.optimizers.SGD(learning_rate=0.1), loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    after = ours.get_weights()
    paths = [w.path for w in ours.weights]
    for path, old, new, keras_one in zip(paths, before, after, theirs.get_weights(), strict=True):
        if "/lora_kernel" in path:
            assert not np.array_equal(old, new), path
        elif not path.endswith("_1/bias"):  # the adapted Dense's bias trains too
            # the frozen first Dense, the adapted kernel (float or integer) and its scale
            np.testing.assert_array_equal(new, old, err_msg=path)
        np.testing.assert_allclose(new, keras_one, rtol=1e-6, atol=1e-6, err_msg=path)


def _lora_model(layers, mode):
    """The float model built with lora_rank; the int8 one quantized, then LoRA enabled."""
    model = _model(layers, mode, lora_rank=None if mode else 2)
    if mode:
        model.layers[-1].enable_lora(2)
    return model


def _save(model, path):
    if str(path).endswith(".keras"):
        model.save(path)
    else:
        model.save_weights(path)


def _load(framework, mode, path):
    if str(path).endswith(".keras"):
        return framework.models.load_model(path)
    model = _lora_model(framework.layers if framework is keras else L, mode)
    model.load_weights(path)
    return model


@pytest.mark.parity
@pytest.mark.parametrize("mode", [None, "int8"])
@pytest.mark.parametrize("ext", ["keras", "weights.h5"])
def test_lora_files_move_both_ways(mode, ext, tmp_path):
    x = _floats(4, 6)
    ours = _lora_model(L, mode)
    dense = ours.layers[-1]
    dense.set_weights(
        [
            _floats(*w.shape) * 0.3 if v.name.startswith("lora") else w
            for v, w in zip(dense.weights, dense.get_weights(), strict=True)
        ]
    )
    _save(ours, tmp_path / f"ours.{ext}")
    theirs = _load(keras, mode, tmp_path / f"ours.{ext}")
    back = _load(lamina, mode, tmp_path / f"ours.{ext}")
    # Loaded: LoRA still on (the config carries lora_rank), the factors zero, the update merged
    # into the kernel (re-quantized for int8, so that model's outputs move by a rounding).
    for model in (theirs, back):
        loaded = model.layers[-1]
        assert loaded.lora_enabled and loaded.lora_rank == 2
        assert not _numpy(loaded.lora_kernel_a).any() and not _numpy(loaded.lora_kernel_b).any()
    want = back.predict(x, verbose=0)
    if mode is None:  # the merged kernel computes what the factors did
        np.testing.assert_array_equal(want, ours.predict(x, verbose=0))
    # Keras's model adds its bias after the matmul, lamina's Dense fuses it (addmm): a rounding.
    np.testing.assert_allclose(_numpy(theirs.predict(x, verbose=0)), want, rtol=1e-6, atol=1e-6)
    # Keras's file back: saving merges (and, for int8, re-quantizes) again, on both sides.
    _save(theirs, tmp_path / f"theirs.{ext}")
    again = _load(lamina, mode, tmp_path / f"theirs.{ext}")
    reference = _load(keras, mode, tmp_path / f"theirs.{ext}")
    np.testing.assert_allclose(
        again.predict(x, verbose=0), _numpy(reference.predict(x, verbose=0)), rtol=1e-6, atol=1e-6
    )
