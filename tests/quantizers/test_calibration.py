"""`Model.quantize("gptq" / "awq")`: the calibration pass, the solvers, the policies, refusals.

The numbers against Keras's are in tests/parity/test_gptq_parity.py; this file pins lamina's own
behaviour: which layers change, what GPTQ buys over rounding, the token windows, the errors.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import dtype_policies, quantizers
from lamina import layers as L
from lamina.quantizers import calibration, gptq

TOKENS = np.random.default_rng(0).integers(0, 16, (40,)).astype("int32")


class _Structured(lamina.Model):
    """A model that names its own blocks, as Keras's `get_quantization_layer_structure`."""

    def get_quantization_layer_structure(self, mode):
        return {"pre_block_layers": self.layers[1:2], "sequential_blocks": self.layers[2:4]}


def _model(cls=lamina.Model):
    inputs = L.Input((None,), dtype="int32")
    embedded = L.Embedding(16, 8)(inputs)
    hidden = L.Dense(12, activation="relu")(embedded)
    projected = L.EinsumDense("abc,cd->abd", (None, 8), bias_axes="d")(hidden)
    return cls(inputs, L.Dense(16)(projected))


def _config(**settings):
    return quantizers.GPTQConfig(TOKENS, None, num_samples=3, sequence_length=6, **settings)


def test_blocks_quantize_and_the_rest_stays_float():
    model = _model(_Structured)
    ids = TOKENS[:12].reshape(2, 6)
    before = model.predict(ids, verbose=0)
    model.quantize("gptq", config=_config(weight_bits=8, group_size=4))
    dense, einsum, head = model.layers[2], model.layers[3], model.layers[4]
    assert dense.dtype_policy.name == "gptq/8/4_from_float32"
    assert isinstance(dense.dtype_policy, dtype_policies.GPTQDTypePolicy)
    assert [(tuple(w.shape), w.dtype) for w in dense.weights] == [
        ((12,), torch.float32),
        ((12, 8), torch.uint8),
        ((12, 2), torch.float32),
        ((12, 2), torch.uint8),
        ((8,), torch.float32),
    ]
    assert (
        einsum.zero_point.shape == (8, 3) and einsum.get_config()["gptq_unpacked_column_size"] == 8
    )
    assert head.quantization_mode is None and model.layers[1].quantization_mode is None
    np.testing.assert_allclose(model.predict(ids, verbose=0), before, atol=0.05)


def test_filters_leave_the_other_block_layers_float():
    model = _model(_Structured)
    model.quantize("gptq", config=_config(), filters=lambda layer: isinstance(layer, L.Dense))
    assert model.layers[2].quantization_mode == "gptq"
    assert model.layers[3].quantization_mode is None  # the EinsumDense


def test_error_feedback_beats_rounding_on_the_calibration_inputs():
    torch.manual_seed(0)
    kernel, inputs = torch.randn(6, 40), torch.randn(200, 40) @ torch.randn(40, 40)
    config = _config(weight_bits=3, group_size=-1)
    accumulator = gptq.HessianAccumulator(40)
    accumulator.update(inputs)
    rounded = gptq.HessianAccumulator(40)  # a zero Hessian: plain rounding to the nearest level
    errors = []
    for statistics in (accumulator, rounded):
        values = gptq.quantize_matrix(kernel, statistics, config)
        scale, zero = values["kernel_scale"], values["kernel_zero"].float()
        dequantized = (values["kernel"].float() - zero) * scale
        errors.append(float(((inputs @ (dequantized - kernel).T) ** 2).mean()))
    assert errors[0] < 0.85 * errors[1]  # Keras's variant (plain inverse): about 25 % here


@pytest.mark.parametrize(
    "config",
    [
        _config(weight_bits=4, group_size=-1, activation_order=True),
        quantizers.AWQConfig(TOKENS, None, num_samples=3, sequence_length=6, group_size=4),
    ],
    ids=["gptq", "awq"],
)
def test_a_saved_model_reloads_with_its_integers(config, tmp_path):
    model = _model(_Structured)
    model.quantize(config=config)
    model.save(tmp_path / "quantized.keras")
    back = lamina.models.load_model(
        tmp_path / "quantized.keras", custom_objects={"_Structured": _Structured}
    )
    policy = f"{config.dtype_policy_string()}_from_float32"
    assert back.layers[2].dtype_policy.name == model.layers[2].dtype_policy.name == policy
    for mine, reloaded in zip(model.get_weights(), back.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, reloaded)
    ids = TOKENS[:12].reshape(2, 6)
    np.testing.assert_array_equal(back.predict(ids, verbose=0), model.predict(ids, verbose=0))


class _SelfAttention(L.Layer):
    """A block around MultiHeadAttention, whose projections GPTQ and AWQ calibrate."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = L.MultiHeadAttention(num_heads=2, key_dim=4)

    def call(self, x):
        return x + self.attention(x, x)


@pytest.mark.parametrize("mode", ["gptq", "awq"])
def test_attention_projections_quantize_and_reload(mode, tmp_path):
    config_class = quantizers.GPTQConfig if mode == "gptq" else quantizers.AWQConfig
    models = []
    for _ in range(2):  # two random initialisations: the second takes the first's file
        inputs = L.Input((None,), dtype="int32")
        outputs = L.Dense(16)(_SelfAttention()(L.Embedding(16, 8)(inputs)))
        models.append(_Structured(inputs, outputs))
        models[-1].quantize(config=config_class(TOKENS, None, num_samples=3, sequence_length=6))
    model, back = models
    attention = model.layers[2].attention
    assert attention.quantization_mode == mode
    assert attention.query_kernel.dtype == torch.uint8 and attention.output_g_idx.shape == (8,)
    model.save_weights(tmp_path / "attention.weights.h5")
    back.load_weights(tmp_path / "attention.weights.h5")
    ids = TOKENS[:12].reshape(2, 6)
    np.testing.assert_array_equal(back.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_token_windows_repeat_short_data_and_tokenize_text():
    config = quantizers.GPTQConfig([np.arange(4)], None, num_samples=2, sequence_length=3)
    windows = calibration.calibration_samples(config)
    assert windows.shape == (2, 1, 3) and windows.dtype == np.int32
    text = quantizers.GPTQConfig(["a b", "c"], str.split, num_samples=1, sequence_length=3)
    with pytest.raises(ValueError, match="invalid literal"):  # the tokenizer's words as ids
        calibration.calibration_samples(text)
    tokenizer = lambda words: [len(w) for w in words.split()]  # noqa: E731
    text.tokenizer = tokenizer
    assert calibration.calibration_samples(text).tolist() == [[[1, 1, 1]]]


def _transposed_block():
    """A block whose kernel sums over its last axis: Keras's row reshape cannot take it."""
    block = L.EinsumDense("ab,cb->ac", (4,))
    block.build((None, 8))
    embedding = L.Embedding(16, 8)
    embedding.build((None,))
    return {"pre_block_layers": [embedding, L.Flatten()], "sequential_blocks": [block]}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.quantize("gptq"), r"config=GPTQConfig\(dataset=.*config=None"),
        (lambda m: m.quantize("gptq", config=_config()), "a layer structure for mode='gptq'"),
        (
            lambda m: m.quantize(
                config=_config(quantization_layer_structure={"sequential_blocks": []})
            ),
            "'sequential_blocks' lists at least one block",
        ),
        (
            lambda m: m.quantize(
                config=quantizers.GPTQConfig(
                    None, None, quantization_layer_structure={"sequential_blocks": m.layers[2:3]}
                )
            ),
            "an iterable of calibration samples",
        ),
        (
            lambda m: m.quantize(
                config=quantizers.GPTQConfig(
                    ["some text"], None, quantization_layer_structure={"sequential_blocks": [1]}
                )
            ),
            "a tokenizer for a dataset of strings",
        ),
        (lambda m: m.layers[2].quantize("gptq", config=_config()), "call model.quantize"),
        (lambda m: m.quantize("awq"), r"config=AWQConfig\(dataset=.*config=None"),
        (
            lambda m: m.quantize(config=_config(quantization_layer_structure=_transposed_block())),
            "contracted axes come first.*'ab,cb->ac'",
        ),
    ],
    ids=[
        "no-config",
        "no-structure",
        "no-blocks",
        "no-dataset",
        "no-tokenizer",
        "one-layer",
        "awq-no-config",
        "kernel-axes",
    ],
)
def test_refusals_name_what_is_missing(call, message):
    with pytest.raises(ValueError, match=message):
        call(_model())


def test_policy_names_are_checked_and_round_trip():
    policy = dtype_policies.get("gptq/3/64_from_mixed_bfloat16")
    assert (policy.weight_bits, policy.group_size, policy.compute_dtype) == (3, 64, "bfloat16")
    assert dtype_policies.deserialize(dtype_policies.serialize(policy)) == policy
    awq = dtype_policies.get("awq/4/-1_from_float32")
    assert isinstance(awq, dtype_policies.AWQDTypePolicy) and awq.quantization_mode == "awq"
    assert dtype_policies.deserialize(dtype_policies.serialize(awq)) == awq
    with pytest.raises(ValueError, match="weight_bits in \\(2, 3, 4, 8\\).*'gptq/5/64'"):
        dtype_policies.GPTQDTypePolicy("gptq/5/64", "float32")
    with pytest.raises(ValueError, match="weight_bits in \\(4\\).*'awq/8/64'"):
        dtype_policies.AWQDTypePolicy("awq/8/64", "float32")
    assert _model().get_quantization_layer_structure("gptq") is None


def test_configs_write_a_structure_of_layers_as_none():
    structure = {"pre_block_layers": [], "sequential_blocks": [L.Dense(2)]}
    config = _config(quantization_layer_structure=structure)
    assert config.get_config()["quantization_layer_structure"] is None
    assert config.quantization_layer_structure is structure
