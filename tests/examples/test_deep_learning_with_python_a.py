"""Gaps "Deep Learning with Python", 3rd edition (chapters 2-9) found in lamina, each reproduced in
a few lines of our own, grouped by chapter. The notebooks themselves are not copied here; each
test's docstring names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np

import lamina
from tests.parity.reference import keras

# Chapter 7: a subclassed model with several outputs, compiled with per-output metric lists.


def _two_output_subclass(lib):
    """A subclassed model returning an unnamed tuple of (score, class probabilities)."""

    class TwoHeads(lib.Model):
        def __init__(self):
            super().__init__()
            self.mix = lib.layers.Dense(6, activation="relu")
            self.score = lib.layers.Dense(1, activation="sigmoid")
            self.classes = lib.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            features = self.mix(inputs)
            return self.score(features), self.classes(features)

    return TwoHeads()


def _evaluate_two_heads(lib, x, y, weights):
    model = _two_output_subclass(lib)
    model(x[:2])
    model.set_weights(weights)
    model.compile(
        optimizer="adam",
        loss=["mean_squared_error", "sparse_categorical_crossentropy"],
        metrics=[["mean_absolute_error", "mse"], ["accuracy", "mse"]],
        weighted_metrics=[["mae"], ["mae"]],
    )
    return model.evaluate(x, y, verbose=0, return_dict=True), model.evaluate(x, y, verbose=0)


def test_unnamed_outputs_log_metrics_unprefixed_as_keras():
    """Ch. 7's CustomerTicketModel: a subclassed model's outputs have no names, so Keras logs
    `mean_absolute_error` / `accuracy` (repeats numbered, weighted repeats `weighted_`), and
    evaluate()'s list puts the compiled metrics right after the loss."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = [rng.random((32, 1)).astype("float32"), rng.integers(0, 3, (32, 1))]
    probe = _two_output_subclass(lamina)
    probe(x[:2])
    weights = [rng.normal(size=w.shape).astype("float32") * 0.4 for w in probe.get_weights()]

    ours_dict, ours_list = _evaluate_two_heads(lamina, x, y, weights)
    theirs_dict, theirs_list = _evaluate_two_heads(keras, x, y, weights)

    assert sorted(ours_dict) == sorted(theirs_dict)
    for key, value in theirs_dict.items():
        np.testing.assert_allclose(ours_dict[key], value, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_list, theirs_list, rtol=1e-5, atol=1e-6)


def _history_keys_of_custom_step(lib):
    """fit() on a Functional subclass whose torch-style train_step returns every metric's
    result by name (the compiled metrics as one `compile_metrics` dict)."""
    import torch

    class StepModel(lib.Model):
        def train_step(self, data):
            inputs, targets = data
            predictions = self(inputs, training=True)
            loss = self.compute_loss(y=targets, y_pred=predictions)
            loss.backward()
            weights = list(self.trainable_weights)
            with torch.no_grad():
                self.optimizer.apply([w.value.grad for w in weights], weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(targets, predictions)
            return {m.name: m.result() for m in self.metrics}

    inputs = lib.Input(shape=(4,))
    model = StepModel(inputs, lib.layers.Dense(3, activation="softmax")(inputs))
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[
            lib.metrics.SparseCategoricalAccuracy(),
            lib.metrics.SparseTopKCategoricalAccuracy(k=2),
        ],
    )
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    y = np.arange(16) % 3
    return list(model.fit(x, y, epochs=1, batch_size=8, verbose=0).history)


def test_custom_step_history_orders_keys_as_keras():
    """Ch. 7's "train_step() metrics handling with PyTorch": Keras sorts the step's own keys,
    then spreads `compile_metrics`'s dict in its place, so the compiled metrics come before
    `loss` in the history."""
    assert _history_keys_of_custom_step(lamina) == _history_keys_of_custom_step(keras)
