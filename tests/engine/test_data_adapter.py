"""The array adapter: strings in `x` travel as host NumPy arrays (torch has no string tensors),
so a model with a string `Input` trains, evaluates and predicts on raw text as Keras's does;
strings anywhere else are still refused."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine import data_adapter

TEXTS = np.array([["the cat sat"], ["a dog"], ["the dog sat"], ["a cat"], ["sat"]])
LABELS = np.array([[1.0], [0.0], [1.0], [0.0], [1.0]], dtype="float32")


def text_model():
    vectorizer = layers.TextVectorization(output_sequence_length=3)
    vectorizer.adapt(TEXTS)
    text = lamina.Input(shape=(1,), dtype="string")
    vectors = layers.Embedding(vectorizer.vocabulary_size(), 4)(vectorizer(text))
    score = layers.Dense(1)(layers.GlobalAveragePooling1D()(vectors))
    model = lamina.Model(text, score)
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_string_x_is_batched_as_numpy_and_shuffled_with_its_labels():
    data = data_adapter.ArrayData(TEXTS, LABELS, batch_size=2, shuffle=True)
    batches = list(data)
    assert [len(x) for x, _, _ in batches] == [2, 2, 1]
    assert all(isinstance(x, np.ndarray) and x.dtype.kind == "U" for x, _, _ in batches)
    pairs = {
        str(text[0]): float(label[0])
        for x, y, _ in batches
        for text, label in zip(x, y.cpu(), strict=True)
    }
    assert pairs == {str(t[0]): float(v[0]) for t, v in zip(TEXTS, LABELS, strict=True)}


def test_strings_as_labels_are_still_refused():
    with pytest.raises(
        ValueError, match=r"y expects a numeric array; received an array of strings"
    ):
        data_adapter.ArrayData(LABELS, TEXTS)


def test_a_string_input_model_fits_evaluates_and_predicts_on_raw_text():
    model = text_model()
    direct = model(TEXTS).detach().cpu().numpy()
    np.testing.assert_allclose(model.predict(TEXTS, batch_size=2, verbose=0), direct, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(TEXTS), direct, rtol=1e-6)
    before = model.evaluate(TEXTS, LABELS, verbose=0)
    history = model.fit(TEXTS, LABELS, batch_size=2, epochs=3, shuffle=True, verbose=0)
    assert len(history.history["loss"]) == 3
    assert model.evaluate(TEXTS, LABELS, verbose=0) < before
    assert torch.isfinite(torch.as_tensor(history.history["loss"])).all()
