"""`quantize("gptq")` and `quantize("awq")` against Keras 3: the same float weights, calibration
tokens, structure and config give the same integer kernels, scales, zero points, AWQ scales,
g_idx and predictions, and the quantized models' files move both ways.

Tolerance: exact (0). Both sides accumulate the Hessian (the input maxima) with the same float32
torch ops, invert it with the same `torch.linalg.inv`, quantize with the same float32 arithmetic
(round half to even) and multiply by the same dequantized kernel.

Keras needs a tokenizer even for token ids (lamina does not): the reference gets a stand-in.

Keras 3.15.1 records a layer's inputs by replacing its `call`, but a layer with a quantized
policy runs `quantized_call` instead, so its statistics stay zero: its GPTQ reduces to rounding
each weight to the nearest level and its AWQ keeps every scale at 1. The reference here records
them from `quantized_call` (`_keras_records_inputs`), the algorithms Keras means;
`test_keras_as_shipped_only_rounds` pins the shipped behaviour: lamina given no statistics
reproduces it.
"""

from __future__ import annotations

import contextlib
import gc
import warnings

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import assert_weights_equal_keras, keras

TOKENS = np.random.default_rng(0).integers(0, 20, (48,)).astype("int32")


@pytest.fixture(autouse=True)
def same_windows_in_every_process(monkeypatch):
    """Both frameworks start the calibration windows at `hash(("gptq-calib", 42)) % n`, and
    Python salts that hash per process: the windows, and with them the statistics the
    tolerances below were measured on, would change from run to run. Here both see one hash."""
    import importlib
    import zlib

    def fixed_hash(value):
        return zlib.crc32(repr(value).encode())

    for module in ("lamina.quantizers.calibration", "keras.src.quantizers.gptq_core"):
        monkeypatch.setattr(importlib.import_module(module), "hash", fixed_hash, raising=False)


def _block_class(base):
    class Block(base.layers.Layer):
        """Attention-like projections and a feed-forward pair, each with a residual."""

        def __init__(self, width, hidden, **kwargs):
            super().__init__(**kwargs)
            layers = base.layers
            self.query = layers.EinsumDense("abc,cde->abde", (None, 2, width // 2), bias_axes="de")
            self.merge = layers.EinsumDense("abcd,cde->abe", (None, width), bias_axes="e")
            self.up = layers.Dense(hidden, activation="relu")
            self.down = layers.Dense(width)

        def call(self, x):
            h = x + self.merge(self.query(x))
            return h + self.down(self.up(h))

    return Block


def _model(base, hidden):
    block = _block_class(base)
    embedding = base.layers.Embedding(20, 8)
    blocks = [block(8, hidden), block(8, hidden), base.layers.Dense(20)]
    inputs = base.Input((None,), dtype="int32")
    x = embedding(inputs)
    for layer in blocks:
        x = layer(x)
    structure = {"pre_block_layers": [embedding], "sequential_blocks": blocks}
    return base.Model(inputs, x), structure


def _keras_records_inputs(update):
    """Keras's `stream_hessians` / `stream_activations`, hooked on the method a quantized layer
    really runs; `update` names the statistics' method."""

    @contextlib.contextmanager
    def stream(layers_map, statistics):
        originals = {name: layer.quantized_call for name, layer in layers_map.items()}

        def hook(name, original):
            def record(*args, **kwargs):
                inputs = args[0] if args else kwargs["inputs"]
                rows = statistics[name].rows
                getattr(statistics[name], update)(keras.ops.reshape(inputs, (-1, rows)))
                return original(*args, **kwargs)

            return record

        try:
            for name, layer in layers_map.items():
                layer.quantized_call = hook(name, originals[name])
            yield
        finally:
            for name, layer in layers_map.items():
                layer.quantized_call = originals[name]

    return stream


# mode -> (Keras's module, its streaming function, the statistics' update method)
_KERAS_STREAMS = {
    "gptq": ("gptq_core", "stream_hessians", "update_hessian_with_batch"),
    "awq": ("awq_core", "stream_activations", "update_activation_magnitudes"),
}


def _quantize_keras(model, settings, structure, mode="gptq", record=True):
    import importlib

    module, stream, update = _KERAS_STREAMS[mode]
    config_class = keras.quantizers.GPTQConfig if mode == "gptq" else keras.quantizers.AWQConfig
    config = config_class(
        TOKENS, tokenizer=object(), quantization_layer_structure=structure, **settings
    )
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as monkeypatch:
        warnings.simplefilter("ignore")  # Keras's note that it skips the Embedding
        if record:
            core = importlib.import_module(f"keras.src.quantizers.{module}")
            monkeypatch.setattr(core, stream, _keras_records_inputs(update))
        # Keras collects garbage at each kernel it deletes (0.2 s a layer in a test session):
        # not while it quantizes here.
        monkeypatch.setattr(gc, "collect", lambda *args: 0)
        model.quantize(mode, config=config)
    # Keras's layers keep this config; its serialiser recurses into the structure's layers.
    config.quantization_layer_structure = None


def _quantize_lamina(model, settings, structure, mode="gptq"):
    config_class = lamina.quantizers.GPTQConfig if mode == "gptq" else lamina.quantizers.AWQConfig
    config = config_class(TOKENS, None, quantization_layer_structure=structure, **settings)
    model.quantize(mode, config=config)


def _assert_same(theirs, ours, ids):
    for their_layer, our_layer in zip(theirs.layers, ours.layers, strict=True):
        assert our_layer.dtype_policy.name == their_layer.dtype_policy.name
    assert_weights_equal_keras(ours, theirs)
    np.testing.assert_array_equal(
        ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0))
    )


SETTINGS = [
    dict(weight_bits=4, group_size=-1),
    dict(weight_bits=4, group_size=16, symmetric=True),
    dict(weight_bits=8, group_size=-1, activation_order=True),
    dict(weight_bits=8, group_size=32, symmetric=True, activation_order=True),
    dict(weight_bits=4, group_size=4, per_channel=False),
    dict(weight_bits=3, group_size=16, activation_order=True, hessian_damping=0.1),
]


@pytest.mark.parity
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: "-".join(f"{v}" for v in s.values()))
def test_gptq_model_matches_keras(settings):
    # A 160-wide hidden layer gives `down` two 128-row blocks; Keras fails there per channel.
    hidden = 16 if settings["group_size"] == -1 else 160
    settings = dict(num_samples=3, sequence_length=6, **settings)
    theirs, their_structure = _model(keras, hidden)
    ours, our_structure = _model(lamina, hidden)
    ours.set_weights(theirs.get_weights())
    _quantize_keras(theirs, settings, their_structure)
    _quantize_lamina(ours, settings, our_structure)
    _assert_same(theirs, ours, TOKENS[:10].reshape(2, 5))


AWQ_SETTINGS = [
    dict(group_size=-1, num_grid_points=5),
    dict(group_size=16, num_grid_points=4),
    dict(group_size=5, num_grid_points=3),  # the last group of 8 rows padded, as Keras pads it
]


@pytest.mark.parity
@pytest.mark.parametrize("settings", AWQ_SETTINGS, ids=lambda s: f"group{s['group_size']}")
def test_awq_model_matches_keras(settings):
    hidden = 160 if settings["group_size"] == 16 else 16
    settings = dict(num_samples=3, sequence_length=6, **settings)
    # Keras's global seed stream moves with every test before this one: without a reset the
    # weights (and whether the search leaves a layer's scales at 1) would depend on test order.
    keras.utils.set_random_seed(0)
    theirs, their_structure = _model(keras, hidden)
    ours, our_structure = _model(lamina, hidden)
    ours.set_weights(theirs.get_weights())
    _quantize_keras(theirs, settings, their_structure, mode="awq")
    _quantize_lamina(ours, settings, our_structure, mode="awq")
    assert float(ours.layers[2].up.awq_scales.std()) > 0  # scales were searched, not left at 1
    _assert_same(theirs, ours, TOKENS[:10].reshape(2, 5))


def _attention_block_class(base):
    class AttentionBlock(base.layers.Layer):
        """Self-attention and a feed-forward pair, each with a residual."""

        def __init__(self, width, **kwargs):
            super().__init__(**kwargs)
            self.attention = base.layers.MultiHeadAttention(num_heads=2, key_dim=4)
            self.up = base.layers.Dense(16, activation="relu")
            self.down = base.layers.Dense(width)

        def call(self, x):
            h = x + self.attention(x, x)
            return h + self.down(self.up(h))

    return AttentionBlock


def _levels(weights: np.ndarray, packed: bool) -> np.ndarray:
    return np.stack([weights & 15, weights >> 4]).astype(int) if packed else weights.astype(int)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("mode", "settings"),
    [
        ("gptq", dict(weight_bits=4, group_size=4)),
        ("gptq", dict(weight_bits=8, group_size=-1, activation_order=True)),
        ("awq", dict(group_size=4, num_grid_points=5)),
    ],
    ids=["gptq4", "gptq8", "awq"],
)
def test_attention_projections_match_keras(mode, settings, tmp_path):
    """Keras calibrates MultiHeadAttention's EinsumDense sub-layers; lamina its projections.

    Tolerance: lamina's attention core is torch's fused SDPA, Keras's an einsum and a softmax,
    a last bit apart; the next layers' statistics move by as much. GPTQ's integers and scales
    (from the weights) come out equal; AWQ's scales (from the input maxima) within 4e-6
    relative, so 1 level in 100 may flip and the outputs move by up to 2e-3 (seen 1.7e-3).
    """
    settings = dict(num_samples=3, sequence_length=6, **settings)
    keras.utils.set_random_seed(0)  # the tolerances were measured on these weights (and 3 more)
    made = []
    for base in (keras, lamina):
        block = _attention_block_class(base)
        embedding, blocks = base.layers.Embedding(20, 8), [block(8), block(8)]
        inputs = base.Input((None,), dtype="int32")
        x = embedding(inputs)
        for layer in blocks:
            x = layer(x)
        made.append(
            (base.Model(inputs, x), {"pre_block_layers": [embedding], "sequential_blocks": blocks})
        )
    (theirs, their_structure), (ours, our_structure) = made
    ours.set_weights(theirs.get_weights())
    _quantize_keras(theirs, settings, their_structure, mode)
    _quantize_lamina(ours, settings, our_structure, mode)
    assert (
        ours.layers[2].attention.dtype_policy.name
        == theirs.layers[2].attention.query_dense.dtype_policy.name
    )
    want, got = [np.asarray(w) for w in theirs.get_weights()], ours.get_weights()
    assert [(w.shape, w.dtype) for w in got] == [(w.shape, w.dtype) for w in want]
    flipped = total = 0
    for mine, keras_one in zip(got, want, strict=True):
        if mine.dtype == np.uint8:
            packed = settings.get("weight_bits", 4) == 4
            difference = np.abs(_levels(mine, packed) - _levels(keras_one, packed))
            assert difference.max() <= 1
            flipped, total = flipped + int((difference > 0).sum()), total + difference.size
        else:
            np.testing.assert_allclose(mine, keras_one, rtol=4e-6, atol=1e-7)
    assert flipped <= total // 100
    ids = TOKENS[:10].reshape(2, 5)
    np.testing.assert_allclose(
        ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0)), atol=2e-3
    )
    # lamina's weights file carries every projection's variables into Keras's sub-layers.
    ours.save_weights(tmp_path / "ours.weights.h5")
    theirs.load_weights(tmp_path / "ours.weights.h5")
    for mine, keras_one in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, np.asarray(keras_one))


def _stack(base):
    """Single layers as the blocks: a model both frameworks save and load without custom
    classes (a block keeps 3-D outputs: the pass feeds on each output's first item)."""
    layers = base.layers
    return [
        base.Input((None,), dtype="int32"),
        layers.Embedding(20, 8),
        layers.Dense(12, activation="relu"),
        layers.EinsumDense("abc,cd->abd", (None, 10), bias_axes="d"),
        layers.Dense(20),
    ]


def _structure(model):
    return {"pre_block_layers": model.layers[:1], "sequential_blocks": model.layers[1:]}


def _save(model, path, ext):
    model.save(path) if ext == "keras" else model.save_weights(path)


FILE_SETTINGS = {
    "gptq": dict(num_samples=2, sequence_length=6, weight_bits=4, group_size=4),
    "awq": dict(num_samples=2, sequence_length=6, group_size=4, num_grid_points=3),
}


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["gptq", "awq"])
@pytest.mark.parametrize("ext", ["keras", "weights.h5"])
def test_files_move_to_keras_and_back_to_lamina(mode, ext, tmp_path):
    ids = TOKENS[:10].reshape(2, 5)
    settings = FILE_SETTINGS[mode]
    model = lamina.Sequential(_stack(lamina))
    _quantize_lamina(model, settings, _structure(model), mode)
    want = model.predict(ids, verbose=0)
    path = tmp_path / f"ours.{ext}"
    _save(model, path, ext)
    if ext == "keras":
        theirs = keras.models.load_model(path)
        back = lamina.models.load_model(path)
    else:
        theirs = keras.Sequential(_stack(keras))
        _quantize_keras(theirs, settings, _structure(theirs), mode)
        theirs.load_weights(path)
        back = lamina.Sequential(_stack(lamina))
        _quantize_lamina(back, settings, _structure(back), mode)
        back.load_weights(path)
    assert [layer.dtype_policy.name for layer in theirs.layers] == [
        layer.dtype_policy.name for layer in model.layers
    ]
    np.testing.assert_array_equal(np.asarray(theirs.predict(ids, verbose=0)), want)
    np.testing.assert_array_equal(back.predict(ids, verbose=0), want)
    for mine, reloaded in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, reloaded)

    # Keras 3.15.1 writes a GPTQ / AWQ Dense without its zero points (its saver skips
    # `kernel_zero` unless LoRA merged one), so neither Keras nor lamina can read its files back.
    count = 5 if mode == "gptq" else 6
    _save(theirs, tmp_path / f"theirs.{ext}", ext)
    with pytest.raises(ValueError, match=f"expected {count} variables, but received {count - 1}"):
        theirs.load_weights(tmp_path / f"theirs.{ext}")
    with pytest.raises(ValueError, match=f"expects {count} weights"):
        back.load_weights(tmp_path / f"theirs.{ext}")


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["gptq", "awq"])
def test_keras_as_shipped_only_rounds(mode, monkeypatch):
    from lamina.quantizers import awq, gptq

    settings = FILE_SETTINGS[mode]
    theirs, their_structure = _model(keras, 16)
    ours, our_structure = _model(lamina, 16)
    ours.set_weights(theirs.get_weights())
    _quantize_keras(theirs, settings, their_structure, mode, record=False)
    accumulator = gptq.HessianAccumulator if mode == "gptq" else awq.ActivationMaxAccumulator
    monkeypatch.setattr(accumulator, "update", lambda self, inputs: None)
    _quantize_lamina(ours, settings, our_structure, mode)
    _assert_same(theirs, ours, TOKENS[:10].reshape(2, 5))


@pytest.mark.parity
def test_layers_outside_the_blocks_stay_float_and_predict_as_keras():
    settings = dict(num_samples=2, sequence_length=6, weight_bits=4, group_size=4)
    theirs, their_structure = _model(keras, 16)
    ours, our_structure = _model(lamina, 16)
    ours.set_weights(theirs.get_weights())
    for structure in (their_structure, our_structure):
        structure["sequential_blocks"] = structure["sequential_blocks"][:2]  # not the head
    _quantize_keras(theirs, settings, their_structure)
    _quantize_lamina(ours, settings, our_structure)
    # Keras gives the head the GPTQ policy but never calibrates it: it keeps computing in float.
    assert theirs.layers[-1].dtype_policy.name == "gptq/4/4_from_float32"
    assert ours.layers[-1].dtype_policy.name == "float32"
    ids = TOKENS[:10].reshape(2, 5)
    np.testing.assert_array_equal(
        ours.predict(ids, verbose=0), np.asarray(theirs.predict(ids, verbose=0))
    )


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["gptq", "awq"])
def test_mixed_bfloat16_layers_compute_as_keras(mode):
    """Under mixed_bfloat16 the scales are read in bfloat16, as Keras reads its variables. The
    calibration itself runs on each framework's bfloat16 float path (a last bit apart), so the
    check copies Keras's quantized variables into lamina and compares every layer exactly."""
    settings = FILE_SETTINGS[mode]
    try:
        keras.config.set_dtype_policy("mixed_bfloat16")
        lamina.mixed_precision.set_global_policy("mixed_bfloat16")
        (theirs, their_structure), (ours, our_structure) = _model(keras, 16), _model(lamina, 16)
    finally:
        keras.config.set_dtype_policy("float32")
        lamina.mixed_precision.set_global_policy("float32")
    ours.set_weights(theirs.get_weights())
    _quantize_keras(theirs, settings, their_structure, mode)
    _quantize_lamina(ours, settings, our_structure, mode)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    rng = np.random.default_rng(1)
    for name, shape in [("query", (1, 5, 8)), ("merge", (1, 5, 2, 4)), ("up", (1, 5, 8))]:
        x = torch.tensor(rng.standard_normal(shape).astype("float32"))
        theirs_layer, our_layer = getattr(theirs.layers[2], name), getattr(ours.layers[2], name)
        assert our_layer.dtype_policy.name == f"{mode}/4/4_from_mixed_bfloat16"
        want = theirs_layer(x)
        assert want.dtype == torch.bfloat16
        torch.testing.assert_close(our_layer(x).cpu(), want.cpu(), rtol=0, atol=0)
