"""Gaps the Keras developer guides (core half) found in lamina, one small reproduction each.

Grouped by guide. Each test is our own few lines that failed before its fix; where numbers are
involved they are checked against Keras (tests/parity/reference.py imports it).
"""

from __future__ import annotations

import warnings

import numpy as np

import lamina
from tests.parity.reference import keras

# --- making_new_layers_and_models_via_subclassing: the VAE's Sampling layer ---------------------


def _noisy_model(api):
    """A subclassed model whose call draws from `random` with a seed stream, as the guide's VAE
    (Sampling) and the engineers' guide's MyDropout do."""

    class Noise(api.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seeds = api.random.SeedGenerator(7)

        def call(self, x):
            dropped = api.random.dropout(x, 0.5, seed=self.seeds)
            return dropped + api.random.normal(api.ops.shape(x), seed=self.seeds)

    class Model(api.Model):
        def __init__(self):
            super().__init__()
            self.noise = Noise()
            self.head = api.layers.Dense(1)

        def call(self, x):
            return self.head(self.noise(x))

    return Model()


def _fit_once(model):
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), batch_size=4, verbose=0)


def test_subclassed_model_drawing_random_numbers_builds_without_a_warning():
    model = _noisy_model(lamina)
    # Recorded, not raised: fit's meta build swallows an exception and retries on real data.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _fit_once(model)
    assert [str(w.message) for w in caught] == []  # was: "could not run call() ... device meta"
    assert model.noise.built and model.head.kernel.shape == (3, 1)


def test_symbolic_build_draws_no_seed_from_the_stream_as_keras():
    ours, theirs = _noisy_model(lamina), _noisy_model(keras)
    _fit_once(ours)
    _fit_once(theirs)
    # One step of two draws: the build's meta probes take none (they took six before).
    expected = np.asarray(keras.ops.convert_to_numpy(theirs.noise.seeds.state.value))
    assert np.asarray(ours.noise.seeds.state).tolist() == expected.tolist() == [7, 2]
