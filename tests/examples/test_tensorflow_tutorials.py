"""Gaps TensorFlow's Keras tutorials (tensorflow.org/tutorials) found in lamina, each reproduced in
a few lines of our own, grouped by tutorial. The tutorials themselves are not copied here; see each
test's docstring for the workflow it stands for.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity.reference import keras

# keras/regression: one pandas column (a Series) trains a model on Input((1,)), and a frame that
# pd.get_dummies left with bool columns is refused by Normalization.adapt with a hint.


def test_fit_takes_a_pandas_series_for_a_one_feature_input():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"power": np.linspace(50.0, 200.0, 40), "mpg": np.linspace(40, 10, 40)})
    normalizer = layers.Normalization(axis=None)
    normalizer.adapt(np.array(frame["power"]))
    model = lamina.Sequential([lamina.Input((1,)), normalizer, layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(0.1), loss="mean_absolute_error")
    history = model.fit(frame["power"], frame["mpg"], epochs=2, verbose=0, validation_split=0.2)
    assert len(history.history["val_loss"]) == 2
    assert model.evaluate(frame["power"], frame["mpg"], verbose=0) > 0
    assert model.predict(frame["power"], verbose=0).shape == (40, 1)


def test_normalization_adapt_names_an_object_array():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"weight": [1.0, 2.0, 3.0], "usa": [True, False, True]})
    with pytest.raises(ValueError, match="dtype object.*np.array\\(frame, dtype='float32'\\)"):
        layers.Normalization().adapt(np.array(frame))


# keras/overfit_and_underfit: a schedule is called on an array of steps to plot the rate curve.


@pytest.mark.parametrize(
    "name, args",
    [
        ("InverseTimeDecay", (0.001, 20, 1.0)),
        ("ExponentialDecay", (0.1, 10, 0.5)),
        ("CosineDecay", (0.1, 80)),
    ],
)
def test_schedule_takes_an_array_of_steps_as_keras(name, args):
    steps = np.linspace(0, 100, 7)
    ours = getattr(lamina.optimizers.schedules, name)(*args)(steps)
    theirs = getattr(keras.optimizers.schedules, name)(*args)(steps)
    assert tuple(ours.shape) == (7,) and str(ours.dtype) == "torch.float32"
    np.testing.assert_allclose(np.asarray(ours), keras.ops.convert_to_numpy(theirs), rtol=1e-6)
    assert isinstance(getattr(lamina.optimizers.schedules, name)(*args)(3), float)


# images/transfer_learning: the validation folder is split with
# `data.experimental.cardinality` and one test batch is taken with `as_numpy_iterator().next()`.


def test_experimental_cardinality_splits_a_dataset():
    dataset = lamina.data.Dataset.from_tensor_slices(np.arange(50.0)).batch(8)
    batches = lamina.data.experimental.cardinality(dataset)
    assert int(batches) == 7 and batches.numpy() == 7
    test = dataset.take(batches // 5)
    assert int(lamina.data.experimental.cardinality(dataset.skip(batches // 5))) == 6
    first = test.as_numpy_iterator().next()
    assert isinstance(first, np.ndarray) and first.tolist() == list(range(8))
    assert [len(b) for b in dataset.as_numpy_iterator()] == [8] * 6 + [2]


# images/segmentation: masks are resized with nearest interpolation inside Dataset.map; the
# vectorized map gives the right masks without torch's vmap fallback warning (an error here).


def test_nearest_resize_in_a_batched_map_is_quiet_and_exact():
    masks = np.random.default_rng(0).integers(0, 3, (4, 8, 8, 1)).astype("float32")

    def load(mask):
        return lamina.ops.image.resize(mask, (4, 4), interpolation="nearest")

    dataset = lamina.data.Dataset.from_tensor_slices(masks).map(load).batch(4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (batch,) = list(dataset)
    assert [str(w.message) for w in caught] == []
    expected = keras.ops.convert_to_numpy(
        keras.ops.image.resize(masks, (4, 4), interpolation="nearest")
    )
    np.testing.assert_array_equal(np.asarray(batch), expected)


# generative/autoencoder: the anomaly detector scores reconstructions with tf.keras's
# `losses.mae(...)`, the function Keras 3 keeps as the loss string "mae".


def test_tf_keras_short_loss_names_are_the_keras_3_functions():
    y_true = np.random.default_rng(0).uniform(size=(4, 6)).astype("float32")
    y_pred = np.random.default_rng(1).uniform(size=(4, 6)).astype("float32")
    for short, full in [("mae", "mean_absolute_error"), ("MSE", "mean_squared_error")]:
        ours = getattr(lamina.losses, short)(y_true, y_pred)
        theirs = getattr(keras.losses, full)(y_true, y_pred)
        np.testing.assert_allclose(np.asarray(ours), keras.ops.convert_to_numpy(theirs), rtol=1e-6)
    with pytest.raises(AttributeError, match="no attribute 'maee'"):
        lamina.losses.maee  # noqa: B018


# structured_data/imbalanced_data: the oversampled dataset repeats forever and fit is given
# steps_per_epoch=np.ceil(...), a whole float; each epoch runs that many steps.


def test_fit_takes_a_whole_float_steps_per_epoch():
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(64, 3)).astype("float32"), np.ones((64, 1), "float32")
    dataset = lamina.data.Dataset.from_tensor_slices((features, labels)).repeat().batch(8)
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    seen = []
    counter = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    model.fit(
        dataset, steps_per_epoch=np.ceil(2.0 * 10 / 8), epochs=2, verbose=0, callbacks=[counter]
    )
    assert seen == [0, 1, 2, 0, 1, 2]
    seen.clear()  # a fraction runs its last, partial step too, as tf.keras 2 ran it
    model.fit(dataset, steps_per_epoch=2.5, epochs=1, verbose=0, callbacks=[counter])
    assert seen == [0, 1, 2]


# structured_data/preprocessing_layers: the feature dict still holds the 'target' column, which
# matches no Input; like Keras, lamina says so once, not once per fit / evaluate / predict path.


def test_an_unused_dict_key_warns_once_across_fit_evaluate_predict():
    a, b = lamina.Input((1,), name="a"), lamina.Input((1,), name="b")
    model = lamina.Model({"a": a, "b": b}, layers.Dense(1)(layers.concatenate([a, b])))
    model.compile(optimizer="adam", loss="mse")
    ones = np.ones((8, 1), "float32")
    x, y = {"a": ones, "b": ones, "target": ones}, ones
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        model.fit(x, y, epochs=2, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x, verbose=0)
    messages = [str(w.message) for w in caught if "match no input" in str(w.message)]
    assert len(messages) == 1 and "['target']" in messages[0]


# images/segmentation and audio/simple_audio print `ds.element_spec` of a batched pipeline.


def test_element_spec_describes_a_batched_pipeline_as_tf_data():
    images = np.zeros((10, 4, 4, 3), "float32")
    masks = np.zeros((10, 4, 4, 1), "uint8")
    dataset = lamina.data.Dataset.from_tensor_slices((images, masks)).batch(4)
    spec = dataset.map(lambda x, y: (x, y, lamina.ops.ones_like(y, dtype="float32"))).element_spec
    assert [repr(s) for s in spec] == [
        "TensorSpec(shape=(None, 4, 4, 3), dtype=float32, name=None)",
        "TensorSpec(shape=(None, 4, 4, 1), dtype=uint8, name=None)",
        "TensorSpec(shape=(None, 4, 4, 1), dtype=float32, name=None)",
    ]
    exact = lamina.data.Dataset.from_tensor_slices(images).batch(4, drop_remainder=True)
    assert exact.element_spec.shape == (4, 4, 4, 3)
    assert dataset.unbatch().element_spec[0].shape == (4, 4, 3)


# keras/text_classification: the exported model (TextVectorization inside) predicts on a plain
# Python list of reviews.


def test_predict_takes_a_python_list_of_texts():
    vectorize = layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(np.array(["the movie was great", "the movie was awful"]))
    model = lamina.Sequential([vectorize, layers.Embedding(21, 3), layers.Flatten()])
    examples = ["The movie was great!", "The movie was okay.", "The movie was terrible..."]
    from_list = model.predict(examples, verbose=0)
    from_array = model.predict(np.array(examples), verbose=0)
    assert from_list.shape == (3, 12)
    np.testing.assert_array_equal(from_list, from_array)
    # On an Input((1,), dtype="string") the list gains the feature axis, as an array does.
    text = lamina.Input((1,), dtype="string")
    embed, flatten = model.layers[1:]
    with_input = lamina.Model(text, flatten(embed(vectorize(text))))
    np.testing.assert_array_equal(with_input.predict(examples, verbose=0), from_array)
    with_input.compile(optimizer="adam", loss="mse")
    assert with_input.evaluate(examples, np.zeros((3, 12)), verbose=0) >= 0
