"""Gaps the Keras assignments of DeepLearning.AI's Deep Learning Specialization (courses 4 and 5,
tf.keras 2 programs) found in lamina, each reproduced in a few lines of our own. The assignments
themselves are not copied here; each test's docstring names the pattern it stands for.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.parity.reference import assert_call_matches_keras, keras

# --------------------------------------------------------------------------------------------------
# C5 W3 (attention model): one softmax Dense called in a Python loop gives the model ten outputs
# of one layer. tf.keras logged each apart (dense_2_loss, dense_2_1_loss, ...); without distinct
# names the ten trackers share one log key and evaluate repeats one output's loss.


def _shared_head_model():
    inputs = lamina.Input((4,))
    head = layers.Dense(3, activation="softmax")
    hidden = layers.Dense(4)
    outputs = [head(inputs), head(hidden(inputs)), head(hidden(hidden(inputs)))]
    return lamina.Model(inputs, outputs), head


def test_one_layer_called_in_a_loop_logs_each_output_apart():
    lamina.utils.set_random_seed(0)
    model, head = _shared_head_model()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.random((16, 4)).astype("float32")
    labels = [np.eye(3, dtype="float32")[rng.integers(0, 3, 16)] for _ in range(3)]
    history = model.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    name = head.name
    expected = {
        f"{name}{suffix}_{kind}" for suffix in ("", "_1", "_2") for kind in ("loss", "accuracy")
    }
    assert expected <= set(history.history)
    total, *per_output = model.evaluate(x, labels, batch_size=16, verbose=0)[:4]
    predictions = model.predict(x, verbose=0)
    cross_entropy = lamina.losses.CategoricalCrossentropy()
    wanted = [float(cross_entropy(y, p)) for y, p in zip(labels, predictions, strict=True)]
    assert len(set(np.round(wanted, 6))) == 3  # the three outputs do differ
    np.testing.assert_allclose(per_output, wanted, rtol=1e-5)
    np.testing.assert_allclose(total, sum(wanted), rtol=1e-5)


# --------------------------------------------------------------------------------------------------
# C5 W4 (Transformer subclass): layers written `call(self, x, training, mask)` and called
# `layer(x, training, mask)`, tf.keras's habit. Keras 3 refuses the positional bool; its place
# in call()'s own signature says what it is, so lamina takes it there.


class _DropoutThenMask(layers.Layer):
    def __init__(self):
        super().__init__()
        self.dropout = layers.Dropout(0.5)

    def call(self, x, training, mask):
        return self.dropout(x, training=training) * mask


def test_training_given_by_position_reaches_call():
    layer = _DropoutThenMask()
    x = np.ones((4, 64), dtype="float32")
    mask = np.ones((4, 64), dtype="float32")
    mask[:, 0] = 0.0
    inference = np.asarray(layer(x, False, mask))
    np.testing.assert_array_equal(inference, mask)
    lamina.utils.set_random_seed(1)
    training = np.asarray(layer(x, True, mask))
    assert set(np.unique(training)) == {0.0, 2.0}  # dropped, and the kept ones scaled by 2
    assert (training[:, 0] == 0).all()


def test_a_positional_bool_elsewhere_is_still_refused():
    class Flagged(layers.Layer):
        def call(self, x, flag):
            return x if flag else -x

    with pytest.raises(ValueError, match="pass it by keyword"):
        Flagged()(np.ones((2, 2), dtype="float32"), True)


def test_multi_head_attention_reads_a_fourth_positional_argument_as_keras():
    """`mha(x, x, x, mask)`: Keras 3 reads the fourth argument as query_mask (tf.keras read
    attention_mask); the call runs, with Keras's numbers."""
    rng = np.random.default_rng(0)
    query = rng.standard_normal((2, 3, 4)).astype("float32")
    mask = np.array([[1, 0, 1], [1, 1, 0]], dtype="float32")
    reference = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    ours = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    reference(query, query, query)
    ours(torch.tensor(query), torch.tensor(query), torch.tensor(query))
    # Keras 3 lets that mask go unused without a word; lamina says so. (Recorded, not
    # pytest.warns: that re-raises Keras's own NumPy deprecation warning the suite filters.)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert_call_matches_keras(reference, ours, [query, query, query, mask])
    assert any("pass attention_mask=mask by keyword" in str(w.message) for w in caught)


# --------------------------------------------------------------------------------------------------
# C4 W1-W3 graders (test_utils.summary): each layer's `output_shape`, which Keras 3 dropped and
# tf.keras gave an Input as a one-item list, the form lamina's summary prints too.


def test_input_layer_output_shape_is_tf_keras_one_item_list():
    inputs = lamina.Input((64, 64, 3))
    model = lamina.Model(inputs, layers.Conv2D(8, 3, padding="same")(inputs))
    assert [layer.output_shape for layer in model.layers] == [
        [(None, 64, 64, 3)],
        (None, 64, 64, 8),
    ]


# C4 W2 (transfer learning): the grader's row for the nested MobileNetV2 names its class, which
# Keras (3 and tf.keras) reports as Functional for any `Model(inputs, outputs)`.


def test_a_model_from_inputs_and_outputs_is_a_functional_as_keras():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(2)(inputs))
    reference_inputs = keras.Input((4,))
    reference = keras.Model(reference_inputs, keras.layers.Dense(2)(reference_inputs))
    assert type(model).__name__ == type(reference).__name__ == "Functional"
    assert isinstance(model, lamina.Model)
    assert type(lamina.models.clone_model(model)).__name__ == "Functional"

    class Head(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    assert type(Head()) is Head
    assert type(lamina.Sequential([layers.Dense(1)])).__name__ == "Sequential"


# C5 W3 grader: an LSTM called with initial states and return_state=True, its row read as
# tf.keras gave it: output_shape a list of three shapes, input_shape the input and both states.


def test_shapes_of_a_layer_with_several_tensors_are_lists_as_tf_keras():
    inputs = lamina.Input((1, 8))
    state_h = lamina.Input((4,))
    state_c = lamina.Input((4,))
    lstm = layers.LSTM(4, return_state=True)
    lstm(inputs, initial_state=[state_h, state_c])
    assert lstm.output_shape == [(None, 4), (None, 4), (None, 4)]
    assert lstm.input_shape == [(None, 1, 8), (None, 4), (None, 4)]
    dense = layers.Dense(3)
    dense(inputs)
    assert (dense.input_shape, dense.output_shape) == ((None, 1, 8), (None, 1, 3))
