"""Gaps that DeepLearning.AI's "TensorFlow Developer" courses 1 and 2 (computer vision) found in
lamina, each reproduced in a few lines of our own. The course notebooks are not copied here; each
test's comment names the workflow it stands for.
"""

from __future__ import annotations

import numpy as np

import lamina
from lamina import layers


class _batches(lamina.utils.PyDataset):
    """What ImageDataGenerator.flow hands fit: batches of `size`, the last one partial."""

    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, index):
        rows = slice(index * self.size, (index + 1) * self.size)
        return self.x[rows], self.y[rows]


def _counting_callback():
    class CountBatches(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.train, self.test = 0, 0

        def on_train_batch_end(self, batch, logs=None):
            self.train += 1

        def on_test_batch_end(self, batch, logs=None):
            self.test += 1

    return CountBatches()


def test_fractional_steps_run_the_last_partial_batch_as_tf_keras_did():
    # Course 2's sign-language assignment: fit(datagen.flow(x, y, batch_size=32),
    # steps_per_epoch=len(x) / 32, validation_steps=len(x_val) / 32). tf.keras 2 looped while
    # `step < steps`, so 10 / 4 = 2.5 steps ran 3 batches: every sample, the last batch partial.
    x = np.random.default_rng(0).normal(size=(10, 3)).astype("float32")
    y = np.arange(10, dtype="float32")[:, None]
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    counter = _counting_callback()
    history = model.fit(
        _batches(x, y, 4),
        steps_per_epoch=len(x) / 4,
        validation_data=_batches(x, y, 4),
        validation_steps=len(x) / 4,
        epochs=1,
        callbacks=[counter],
        verbose=0,
    )
    assert (counter.train, counter.test) == (3, 3)
    assert len(history.history["val_loss"]) == 1
    evaluated = _counting_callback()
    model.evaluate(_batches(x, y, 4), steps=2.5, callbacks=[evaluated], verbose=0)
    assert evaluated.test == 3
    assert model.predict(_batches(x, y, 4), steps=2.5, verbose=0).shape == (10, 1)


def test_a_flat_list_of_numbers_is_one_batch_of_samples():
    # Course 1's first lesson: fit y = 2x - 1 on six numbers, then model.predict([10.0]).
    # A flat list of numbers can only be samples (an input's array has a batch axis), so it is
    # read as tf.keras read it; Keras 3 refuses it. Nested lists still get the error with its fix.
    model = lamina.Sequential([layers.Input((1,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    as_array = model.predict(np.array([[10.0], [-1.0]]), verbose=0)
    np.testing.assert_allclose(model.predict([10.0, -1.0], verbose=0), as_array)
    assert model.predict((3, 4, 5), verbose=0).shape == (3, 1)
    loss = model.evaluate([10.0, -1.0], np.array([19.0, -3.0]), verbose=0)
    np.testing.assert_allclose(loss, np.mean((as_array[:, 0] - [19.0, -3.0]) ** 2), rtol=1e-5)
