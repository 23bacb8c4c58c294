"""Small reproductions of what "Hands-On Machine Learning" (3rd edition), chapters 10 to 13,
asks of lamina, grouped by chapter.

Each test is our own few lines for one pattern the book's notebooks use (callbacks that drive the
learning rate, MC dropout, custom losses, metrics, layers and models saved and loaded,
preprocessing layers); the notebooks themselves are not copied here.
"""

import numpy as np
import pytest

import lamina
from lamina import layers, ops
from tests.parity.reference import keras

# --------------------------------------------------------------------------------------------------
# Chapter 10: neural nets with Keras


def test_a_callback_grows_the_learning_rate_it_reads_back_each_batch():
    # The learning-rate finder: on_batch_end reads `optimizer.learning_rate.numpy()` and assigns
    # a Python float back; every batch must see the rate the previous one set.
    class GrowLearningRate(lamina.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.rates = []

        def on_batch_end(self, batch, logs=None):
            rate = self.model.optimizer.learning_rate.numpy() * 2.0
            self.model.optimizer.learning_rate = rate
            self.rates.append(float(rate))

    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(1)])
    model.compile(loss="mse", optimizer=lamina.optimizers.SGD(learning_rate=1e-3))
    grow = GrowLearningRate()
    model.fit(np.ones((8, 3)), np.ones((8, 1)), batch_size=2, verbose=0, callbacks=[grow])
    assert grow.rates == pytest.approx([1e-3 * 2**k for k in range(1, 5)], rel=1e-6)
    assert float(ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(1.6e-2)


# --------------------------------------------------------------------------------------------------
# Chapter 11: training deep neural networks


def test_keras2_get_value_is_refused_with_its_keras3_replacement():
    # The 1cycle learning-rate finder reads `K.get_value(optimizer.learning_rate)`; Keras 3
    # removed it (Keras raises a bare AttributeError), lamina names the replacement.
    with pytest.raises(AttributeError, match="convert_to_numpy"):
        lamina.backend.get_value(1.0)
    with pytest.raises(AttributeError):
        keras.backend.get_value(1.0)


def test_a_dropout_subclass_that_forces_training_stays_active_in_predict():
    class MonteCarloDropout(layers.Dropout):
        def call(self, inputs, training=None):
            return super().call(inputs, training=True)

    lamina.utils.set_random_seed(0)
    model = lamina.Sequential([lamina.Input((64,)), MonteCarloDropout(0.5)])
    x = np.ones((4, 64), "float32")
    first, second = model.predict(x, verbose=0), model.predict(x, verbose=0)
    assert set(np.unique(first)) <= {0.0, 2.0}
    assert not np.array_equal(first, second)


# --------------------------------------------------------------------------------------------------
# Chapter 12: custom models and training


class _ResidualBlock(lamina.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.hidden = [layers.Dense(units, activation="relu") for _ in range(2)]

    def call(self, inputs):
        z = inputs
        for layer in self.hidden:
            z = layer(z)
        return inputs + z


class _ResidualRegressor(lamina.Model):
    """One block applied three times: its Dense layers are built in its first call and called
    again in the same call of the model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden1 = layers.Dense(4, activation="relu")
        self.block1 = _ResidualBlock(4)
        self.out = layers.Dense(1)

    def call(self, inputs):
        z = self.hidden1(inputs)
        for _ in range(3):
            z = self.block1(z)
        return self.out(z)


def test_a_subclassed_model_reusing_a_block_builds_on_fit_and_reloads(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    y = x[:, :1]
    model = _ResidualRegressor()
    model.compile(loss="mse", optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    assert model.get_build_config() == {"input_shape": (None, 8)}

    path = tmp_path / "residual.keras"
    model.save(path)
    loaded = lamina.models.load_model(
        path, custom_objects={"_ResidualRegressor": _ResidualRegressor}
    )
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_streaming_metric_subclass_accumulates_as_the_book_counts():
    # total / count over every value seen: 14 after the first call, (14 + 0.5 + 6.5) / 3 after
    # the second, with the Huber threshold of 2.
    def huber(y_true, y_pred, threshold=2.0):
        error = ops.abs(y_true - y_pred)
        return ops.where(error < threshold, error**2 / 2, threshold * error - threshold**2 / 2)

    class HuberMetric(lamina.metrics.Metric):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.total = self.add_weight(name="total", initializer="zeros")
            self.count = self.add_weight(name="count", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total.assign_add(ops.sum(huber(y_true, y_pred)))
            self.count.assign_add(ops.cast(ops.size(y_true), "float32"))

        def result(self):
            return self.total / self.count

    metric = HuberMetric()
    assert float(metric(np.array([[2.0]]), np.array([[10.0]]))) == pytest.approx(14.0)
    assert float(metric(np.array([[0.0], [5.0]]), np.array([[1.0], [9.25]]))) == pytest.approx(7.0)
    metric.reset_state()
    assert [float(ops.convert_to_numpy(v)) for v in metric.variables] == [0.0, 0.0]


# --------------------------------------------------------------------------------------------------
# Chapter 13: preprocessing layers


def test_count_nonzero_keeps_the_counted_axes_when_asked():
    # The "mean embedding times sqrt(n words)" Lambda counts words with keepdims, as
    # tf.math.count_nonzero and NumPy allow.
    x = np.array([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0], [6.0, 0.0]]])
    for axis in (-1, 1, (1, 2), None):
        got = ops.convert_to_numpy(ops.count_nonzero(x, axis=axis, keepdims=True))
        np.testing.assert_array_equal(got, np.count_nonzero(x, axis=axis, keepdims=True))
    symbolic = ops.count_nonzero(lamina.Input((3, 2)), axis=-1, keepdims=True)
    assert tuple(symbolic.shape) == (None, 3, 1)


def test_a_masked_embedding_feeds_a_mean_embedding_lambda_in_a_text_model():
    def mean_embedding(inputs):
        not_pad = ops.count_nonzero(inputs, axis=-1)
        n_words = ops.count_nonzero(not_pad, axis=-1, keepdims=True)
        return ops.sum(inputs, axis=1) / ops.sqrt(ops.cast(n_words, "float32"))

    texts = np.array(["good film", "bad bad plot here", "good"])
    vectorize = layers.TextVectorization(max_tokens=10, output_mode="int")
    vectorize.adapt(texts)
    model = lamina.Sequential(
        [
            vectorize,
            layers.Embedding(10, 3, mask_zero=True),
            layers.Lambda(mean_embedding),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="nadam")
    with pytest.warns(UserWarning, match="does not support masking"):  # as Keras warns
        history = model.fit(texts, np.array([1, 0, 1]), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    embedded = model.layers[1](vectorize(texts[:1]))
    expected = ops.convert_to_numpy(ops.sum(embedded, axis=1)) / np.sqrt(2.0)
    np.testing.assert_allclose(ops.convert_to_numpy(mean_embedding(embedded)), expected, rtol=1e-6)
