"""Parity with Keras 3 (torch backend) for the sequence layers: Keras's random weights copied in,
outputs, final states, input gradients and weight gradients compared.

Tolerances: see tests/sequence_cases.py (1e-5; 1e-4 for the 50-step cases).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch

import lamina
from tests import sequence_cases as cases
from tests.cases import case_id
from tests.parity.reference import assert_layer_matches_keras

pytestmark = pytest.mark.parity

MASKS = {
    # batch of 3, 7 steps
    "right-padded": np.array([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5], bool),
    "left-padded": np.array([[1] * 7, [0] * 3 + [1] * 4, [0] * 5 + [1] * 2], bool),
    "holes": np.array([[1, 0, 1, 1, 0, 1, 1], [1] * 7, [0, 1, 1, 0, 1, 1, 0]], bool),
    "mixed-sides": np.array([[1] * 5 + [0] * 2, [0] * 2 + [1] * 5, [1] * 7], bool),
}


@pytest.mark.parametrize("case", cases.RECURRENT + cases.STATEFUL_OUTPUTS, ids=case_id)
def test_recurrent_layer_matches_keras(case):
    assert_layer_matches_keras(case.layer, case.config, case.input_shape, seed=case.seed)


@pytest.mark.parametrize("case", cases.LONG, ids=case_id)
def test_long_sequences_match_keras_to_1e4(case):
    assert_layer_matches_keras(case.layer, case.config, case.input_shape, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("mask_name", list(MASKS))
@pytest.mark.parametrize("layer_name", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
def test_masked_recurrent_layer_matches_keras(layer_name, mask_name, return_sequences):
    config = {"units": 5, "return_sequences": return_sequences, "return_state": True}
    assert_layer_matches_keras(
        layer_name, config, cases.SEQ, call_kwargs={"mask": torch.tensor(MASKS[mask_name])}
    )


@pytest.mark.parametrize("mask_name", ["right-padded", "left-padded"])
def test_masked_backwards_lstm_matches_keras(mask_name):
    config = {"units": 4, "return_sequences": True, "go_backwards": True}
    assert_layer_matches_keras(
        "LSTM", config, cases.SEQ, call_kwargs={"mask": torch.tensor(MASKS[mask_name])}
    )


@pytest.mark.parametrize("layer_name,count", [("LSTM", 2), ("GRU", 1), ("SimpleRNN", 1)])
def test_initial_state_matches_keras(layer_name, count):
    rng = np.random.default_rng(3)
    states = [torch.tensor(rng.standard_normal((3, 5)).astype("float32")) for _ in range(count)]
    assert_layer_matches_keras(
        layer_name,
        {"units": 5, "return_sequences": True, "return_state": True},
        cases.SEQ,
        call_kwargs={"initial_state": states, "mask": torch.tensor(MASKS["left-padded"])},
    )


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
def test_bidirectional_matches_keras(merge_mode, return_sequences):
    def make(module):
        inner = module.layers.LSTM(4, return_sequences=return_sequences, return_state=True)
        return module.layers.Bidirectional(inner, merge_mode=merge_mode)

    assert_layer_matches_keras(
        "Bidirectional",
        {},
        cases.SEQ,
        keras_layer=make(keras),
        lamina_layer=make(lamina),
        call_kwargs={"mask": torch.tensor(MASKS["right-padded"])},
    )


def test_bidirectional_gru_with_backward_layer_matches_keras():
    def make(module):
        return module.layers.Bidirectional(
            module.layers.GRU(3, return_sequences=True),
            backward_layer=module.layers.SimpleRNN(3, return_sequences=True, go_backwards=True),
        )

    assert_layer_matches_keras(
        "Bidirectional", {}, cases.SEQ, keras_layer=make(keras), lamina_layer=make(lamina)
    )


def test_time_distributed_dense_matches_keras():
    def make(module):
        return module.layers.TimeDistributed(module.layers.Dense(3, activation="tanh"))

    assert_layer_matches_keras(
        "TimeDistributed", {}, (2, 5, 4), keras_layer=make(keras), lamina_layer=make(lamina)
    )


def test_embedding_matches_keras():
    ours, _ = assert_layer_matches_keras(
        "Embedding",
        {"input_dim": 10, "output_dim": 4, "mask_zero": True},
        (3, 6),
        input_dtype="int64",
    )
    assert ours.compute_mask(torch.tensor([[0, 3]])).tolist() == [[False, True]]


def test_embedding_mask_reaches_lstm_like_keras():
    """Embedding(mask_zero) -> LSTM: the padded ids 0 are skipped exactly as Keras skips them."""
    ids = np.array([[0, 0, 3, 4, 5], [1, 2, 3, 4, 5], [0, 0, 0, 0, 7]], "int64")
    keras_model = keras.Sequential(
        [keras.layers.Embedding(10, 4, mask_zero=True), keras.layers.LSTM(3)]
    )
    expected = keras_model(ids)
    ours = lamina.layers.Embedding(10, 4, mask_zero=True)
    lstm = lamina.layers.LSTM(3)
    lstm(ours(torch.tensor(ids)))
    ours.set_weights(keras_model.layers[0].get_weights())
    lstm.set_weights(keras_model.layers[1].get_weights())
    torch.testing.assert_close(
        lstm(ours(torch.tensor(ids))), expected.detach(), atol=1e-6, rtol=1e-5
    )


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"use_scale": True},
        {"score_mode": "concat"},
        {"use_scale": True, "score_mode": "concat"},
    ],
    ids=["dot", "scale", "concat", "concat-scale"],
)
@pytest.mark.parametrize("causal", [False, True], ids=["", "causal"])
def test_attention_matches_keras(config, causal):
    rng = np.random.default_rng(1)
    query = rng.standard_normal(cases.ATTENTION_INPUTS["query"]).astype("float32")
    value = rng.standard_normal(cases.ATTENTION_INPUTS["value"]).astype("float32")
    masks = [
        torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool),
        torch.tensor([[1, 1, 1, 1, 0], [1, 0, 1, 1, 1]], dtype=torch.bool),
    ]
    reference = keras.layers.Attention(**config)
    reference([query, value])
    # Random scales, not Keras's ones: a scale of 1 hides a missing multiplication.
    reference.set_weights(
        [rng.uniform(0.5, 2.0, w.shape).astype("float32") for w in reference.get_weights()]
    )
    assert_layer_matches_keras(
        "Attention",
        config,
        None,
        inputs=[query, value],
        keras_layer=reference,
        call_kwargs={"mask": masks, "use_causal_mask": causal},
    )


def test_additive_attention_matches_keras():
    rng = np.random.default_rng(2)
    inputs = [
        rng.standard_normal(cases.ATTENTION_INPUTS[k]).astype("float32")
        for k in ("query", "value", "value")
    ]
    assert_layer_matches_keras("AdditiveAttention", {}, None, inputs=inputs)


def _attention_pair(config, query, value):
    """Keras's and lamina's MultiHeadAttention built on the same inputs, Keras's weights in
    both."""
    reference = keras.layers.MultiHeadAttention(**config)
    ours = lamina.layers.MultiHeadAttention(**config)
    reference(query, value)
    ours(torch.tensor(query), torch.tensor(value))
    ours.set_weights(reference.get_weights())
    return reference, ours


MHA_CONFIGS = {
    "2heads": {"num_heads": 2, "key_dim": 4},
    "value-dim-output-shape": {"num_heads": 3, "key_dim": 2, "value_dim": 5, "output_shape": 7},
    "nobias": {"num_heads": 2, "key_dim": 3, "use_bias": False},
    "gated": {"num_heads": 2, "key_dim": 3, "value_dim": 2, "use_gate": True},
    "sliding-window": {"num_heads": 2, "key_dim": 3, "sliding_window": 2},
}


@pytest.mark.parametrize("name", list(MHA_CONFIGS))
# "explicit-masks": query_mask= and value_mask= given for tensors that carry none (Keras uses
# value_mask but reads the query's mask off the query); "own-query-mask": the query's own mask
# wins over a different query_mask=.
@pytest.mark.parametrize(
    "masking",
    ["none", "input-masks", "causal", "attention-mask", "explicit-masks", "own-query-mask"],
)
@pytest.mark.parametrize("scores", [False, True], ids=["sdpa", "scores"])
def test_multi_head_attention_matches_keras(name, masking, scores):
    config = MHA_CONFIGS[name]
    rng = np.random.default_rng(4)
    query = rng.standard_normal((2, 4, 6)).astype("float32")
    value = rng.standard_normal((2, 5, 3)).astype("float32")
    query_mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    value_mask = torch.tensor([[1, 1, 1, 1, 0], [0, 0, 0, 0, 0]], dtype=torch.bool)
    reference, ours = _attention_pair(config, query, value)

    def run(layer):
        q = torch.tensor(query, requires_grad=True)
        v = torch.tensor(value, requires_grad=True)
        q_in, v_in = q * 1.0, v * 1.0  # masks ride on non-leaf tensors, as layer outputs
        kwargs = {"return_attention_scores": scores}
        if masking == "input-masks":
            q_in._keras_mask, v_in._keras_mask = query_mask, value_mask
        elif masking == "causal":
            kwargs["use_causal_mask"] = True
        elif masking == "attention-mask":
            kwargs["attention_mask"] = torch.tensor(rng_mask)
        elif masking == "explicit-masks":
            kwargs.update(query_mask=query_mask, value_mask=value_mask)
        elif masking == "own-query-mask":
            q_in._keras_mask = query_mask
            kwargs["query_mask"] = torch.ones_like(query_mask)
        out = layer(q_in, v_in, **kwargs)
        outputs = list(out) if scores else [out]
        cotangents = [
            torch.tensor(
                np.random.default_rng(5).standard_normal(tuple(o.shape)), dtype=torch.float32
            )
            for o in outputs
        ]
        grads = torch.autograd.grad(outputs, [q, v], cotangents)
        return [o.detach() for o in outputs], grads

    rng_mask = np.random.default_rng(6).random((2, 4, 5)) > 0.3
    expected, expected_grads = run(reference)
    actual, actual_grads = run(ours)
    for a, e in zip(actual + list(actual_grads), expected + list(expected_grads), strict=True):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)


MHA_AXES_CONFIGS = {
    # (query shape, value shape, config): rank-4 and rank-5 inputs
    "all-inner-axes": ((2, 3, 4, 6), (2, 2, 5, 6), {}),
    "axis-2": ((2, 3, 4, 6), (2, 3, 5, 6), {"attention_axes": 2}),
    "axis-1": ((2, 3, 4, 6), (2, 5, 4, 6), {"attention_axes": (1,)}),
    "negative-axis": ((2, 3, 4, 6), (2, 3, 5, 6), {"attention_axes": -2}),
    "output-axes": ((2, 3, 4, 6), (2, 3, 5, 6), {"attention_axes": 2, "output_shape": (2, 5)}),
    "rank5-middle": ((2, 2, 3, 4, 6), (2, 2, 5, 4, 6), {"attention_axes": (2,)}),
    "rank5-two-axes": ((2, 2, 3, 4, 6), (2, 2, 5, 2, 6), {"attention_axes": (2, 3)}),
}


@pytest.mark.parametrize("name", list(MHA_AXES_CONFIGS))
@pytest.mark.parametrize("masking", ["none", "attention-mask", "heads-mask"])
@pytest.mark.parametrize("scores", [False, True], ids=["sdpa", "scores"])
def test_multi_head_attention_over_chosen_axes_matches_keras(name, masking, scores):
    """Keras attends over `attention_axes` of rank > 3 inputs, the other inner axes acting as
    batch axes; outputs, scores (Keras's layout) and input gradients must agree."""
    query_shape, value_shape, config = MHA_AXES_CONFIGS[name]
    config = {"num_heads": 2, "key_dim": 3, **config}
    rng = np.random.default_rng(8)
    query = rng.standard_normal(query_shape).astype("float32")
    value = rng.standard_normal(value_shape).astype("float32")
    reference, ours = _attention_pair(config, query, value)
    kwargs = {"return_attention_scores": scores}
    if masking != "none":
        _, keras_scores = reference(query, value, return_attention_scores=True)
        mask_shape = list(keras_scores.shape)
        if masking == "attention-mask":  # Keras's layout without the heads axis
            heads_axis = len(mask_shape) - 2 * (len(query_shape) - 2) - 1
            if "attention_axes" in config:
                heads_axis = len(mask_shape) - 2 * len(ours._folding.attended) - 1
            del mask_shape[heads_axis]
        kwargs["attention_mask"] = torch.tensor(rng.random(mask_shape) > 0.3)

    def run(layer):
        q = torch.tensor(query, requires_grad=True)
        v = torch.tensor(value, requires_grad=True)
        out = layer(q, v, **kwargs)
        outputs = list(out) if scores else [out]
        cotangents = [torch.tensor(rng.standard_normal(tuple(o.shape))).float() for o in outputs]
        return [o.detach() for o in outputs], torch.autograd.grad(outputs, [q, v], cotangents)

    state = rng.bit_generator.state
    expected, expected_grads = run(reference)
    rng.bit_generator.state = state  # the same cotangents for both
    actual, actual_grads = run(ours)
    for a, e in zip(actual + list(actual_grads), expected + list(expected_grads), strict=True):
        assert a.shape == e.shape
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)


def _chunk_cell(framework):
    """A custom cell whose steps are (batch, chunk, features) and whose state is (batch, chunk,
    units), as an attention-per-chunk cell keeps it; built the same way in both libraries."""

    class ChunkCell(framework.layers.Layer):
        def __init__(self, chunk, units, **kwargs):
            super().__init__(**kwargs)
            self.chunk, self.units = chunk, units
            self.state_size = [(chunk, units)]
            self.mix = framework.layers.Dense(units, activation="tanh")

        def build(self, input_shape):
            self.mix.build((*input_shape[:-1], input_shape[-1] + self.units))

        def get_initial_state(self, batch_size=None):
            return [framework.ops.zeros((batch_size, self.chunk, self.units))]

        def call(self, inputs, states):
            state = self.mix(framework.ops.concatenate([inputs, states[0]], axis=-1))
            return state * 2.0, [state]

    return ChunkCell(3, 4)


@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
@pytest.mark.parametrize("return_sequences", [False, True], ids=["last", "sequences"])
def test_custom_cell_over_n_d_steps_matches_keras(masked, return_sequences):
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 6)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 1, 0]], bool) if masked else None
    reference, ours = (
        framework.layers.RNN(_chunk_cell(framework), return_sequences=return_sequences)
        for framework in (keras, lamina)
    )
    reference(x[:, :1])
    ours(x[:, :1])
    ours.set_weights(reference.get_weights())
    expected = keras.ops.convert_to_numpy(reference(x, mask=mask))
    got = lamina.ops.convert_to_numpy(ours(x, mask=mask))
    assert got.shape == expected.shape == ((2, 5, 3, 4) if return_sequences else (2, 3, 4))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def _temperature_attention(library):
    """A Keras-style subclass: a learnt temperature in `_compute_attention` (the hook that
    locality self-attention and similar layers override), built on Keras's helpers."""
    ops = library.ops

    class TemperatureAttention(library.layers.MultiHeadAttention):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.tau = library.Variable(float(self._key_dim) ** 0.5 * 0.5, trainable=True)

        def _compute_attention(self, query, key, value, attention_mask=None, training=None, *_):
            query = ops.multiply(query, 1.0 / self.tau)
            scores = ops.einsum(self._dot_product_equation, key, query)
            scores = self._masked_softmax(scores, attention_mask)
            dropped = self._dropout_layer(scores, training=training)
            return ops.einsum(self._combine_equation, dropped, value), scores

    return TemperatureAttention(num_heads=2, key_dim=3, value_dim=2)


@pytest.mark.parametrize("scores", [False, True])
def test_multi_head_attention_subclass_hook_matches_keras(scores):
    rng = np.random.default_rng(7)
    query = rng.standard_normal((2, 4, 6)).astype("float32")
    value = rng.standard_normal((2, 5, 3)).astype("float32")
    mask = np.eye(4, 5, dtype="int8")[None] == 0  # no query attends to "its own" key
    reference, ours = _temperature_attention(keras), _temperature_attention(lamina)
    reference(query, value)
    ours(torch.tensor(query), torch.tensor(value))
    assert len(ours.get_weights()) == len(reference.get_weights())  # tau included
    ours.set_weights(reference.get_weights())
    kwargs = {"attention_mask": torch.tensor(mask), "return_attention_scores": scores}
    expected = reference(torch.tensor(query), torch.tensor(value), **kwargs)
    actual = ours(torch.tensor(query), torch.tensor(value), **kwargs)
    for a, e in zip(_as_list(actual), _as_list(expected), strict=True):
        torch.testing.assert_close(a, e, atol=1e-5, rtol=1e-5)


def _as_list(value):
    return list(value) if isinstance(value, tuple) else [value]


def _attention_call_outcome(library, layer, inputs, mask):
    try:
        getattr(library.layers, layer)()(inputs, mask=mask)
    except ValueError as error:
        return "ValueError", str(error)
    return "ok", ""


@pytest.mark.parametrize("layer", ["Attention", "AdditiveAttention"])
@pytest.mark.parametrize(
    "case", ["single-tensor", "four-inputs", "mask-not-list", "one-mask", "valid"]
)
def test_dense_attention_checks_arguments_as_keras(layer, case):
    """A single tensor, a list of 4, a non-list mask or a list of one mask raise a ValueError in
    both libraries; lamina raised TypeError ('int' object is not subscriptable) or took them."""
    t = np.ones((1, 2, 2), dtype="float32")
    inputs, mask = {
        "single-tensor": (t, None),
        "four-inputs": ([t, t, t, t], None),
        "mask-not-list": ([t, t], np.ones((1, 2), dtype=bool)),
        "one-mask": ([t, t], [np.ones((1, 2), dtype=bool)]),
        "valid": ([t, t], [np.ones((1, 2), dtype=bool)] * 2),
    }[case]
    theirs = _attention_call_outcome(keras, layer, inputs, mask)
    ours = _attention_call_outcome(lamina, layer, inputs, mask)
    assert ours[0] == theirs[0]
    if ours[0] == "ValueError":
        assert f"({layer})" in ours[1]


@pytest.mark.parametrize("output_shape", [8.0, object()], ids=["float", "object"])
def test_multi_head_attention_refuses_non_shape_output_shape_as_keras(output_shape):
    """A float (or any non-iterable) output_shape is a ValueError naming the argument, as in
    Keras; lamina raised a raw TypeError from tuple()."""
    with pytest.raises(ValueError):
        keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, output_shape=output_shape)
    with pytest.raises(ValueError, match="output_shape"):
        lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4, output_shape=output_shape)
