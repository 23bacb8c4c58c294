"""What the "Deep Learning with Python" 2nd-edition notebooks (tf.keras 2.x) need of lamina.

Each test is a small reproduction, written here, of one gap a port of those notebooks met: a
program Keras 3 (torch backend) runs that lamina failed on or logged differently, or a Keras 2
name both reject where lamina now says what the Keras 3 spelling is. Grouped by chapter.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras

# Chapter 7: working with Keras


def _two_output_subclassed(library):
    class TwoHeads(library.Model):
        def __init__(self):
            super().__init__()
            self.score = library.layers.Dense(1)
            self.classes = library.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.score(inputs), self.classes(inputs)

    return TwoHeads()


def _history_keys(library):
    model = _two_output_subclassed(library)
    model.compile(
        optimizer="sgd",
        loss=["mse", "categorical_crossentropy"],
        metrics=[["mae", "accuracy"], ["accuracy"]],
        weighted_metrics=[["mae"], ["mae"]],
    )
    rng = np.random.default_rng(0)
    x = rng.random((8, 4)).astype("float32")
    y = [rng.random((8, 1)).astype("float32"), np.eye(3, dtype="float32")[rng.integers(0, 3, 8)]]
    history = model.fit(x, y, sample_weight=np.ones(8), epochs=1, verbose=0)
    return sorted(history.history)


def test_subclassed_model_outputs_log_metrics_without_output_prefix():
    # A subclassed model returning a tuple has no output names: Keras logs `accuracy`,
    # `accuracy_1`, `weighted_mae`, ... where lamina logged `output_0_accuracy`, ...
    ours = _history_keys(lamina)
    assert "accuracy_1" in ours and not any(key.startswith("output_") for key in ours)
    assert ours == _history_keys(keras)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [("compiled_loss", "self.compute_loss"), ("compiled_metrics", "self.compute_metrics")],
)
def test_keras2_compiled_loss_and_metrics_name_their_replacement(name, replacement):
    model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    removed = getattr(model, name)
    with pytest.raises(AttributeError, match=f"Keras 3 removed.*{replacement}"):
        removed(np.zeros((1, 1)), np.zeros((1, 1)))
    # The tf.keras spelling reaches for a method of it: that says the same.
    with pytest.raises(AttributeError, match=f"Keras 3 removed.*{replacement}"):
        removed.update_state(np.zeros((1, 1)), np.zeros((1, 1)))


def test_load_model_on_a_tf_keras_savedmodel_folder_says_what_it_is(tmp_path):
    # tf.keras 2.x's ModelCheckpoint("my_checkpoint_path") wrote a SavedModel folder; Keras 3
    # (and lamina) load only .keras / .h5 files. lamina said only "is a directory".
    folder = tmp_path / "my_checkpoint_path"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ValueError, match="SavedModel"):
        keras.models.load_model(folder)
    with pytest.raises(ValueError, match=r"SavedModel folder.*model\.save\('name\.keras'\)"):
        lamina.models.load_model(folder)
    (folder / "saved_model.pb").unlink()
    with pytest.raises(ValueError, match="is a directory"):
        lamina.models.load_model(folder)


# Chapter 8: introduction to deep learning for computer vision


def test_keras2_layers_experimental_names_the_keras3_layers():
    # `layers.experimental.preprocessing.Rescaling(1./255)`: Keras 3 moved the layer to
    # `layers.Rescaling` and answers a bare AttributeError; lamina says where it went.
    assert not hasattr(keras.layers, "experimental")
    assert not hasattr(lamina.layers, "experimental")
    with pytest.raises(AttributeError, match=r"Keras 3 removed.*layers\.Rescaling"):
        lamina.layers.experimental.preprocessing.Rescaling(1.0 / 255)  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute 'Rescalling'$"):
        lamina.layers.Rescalling  # noqa: B018


# Chapter 11: deep learning for text


@pytest.mark.parametrize(("old", "new"), [("binary", "multi_hot"), ("tf-idf", "tf_idf")])
def test_text_vectorization_takes_tf_keras_output_mode_names(old, new):
    # tf.keras 2.x spelled `output_mode="binary"` and "tf-idf"; Keras 3 still maps them to
    # multi_hot and tf_idf (its TextVectorization needs TensorFlow, so only lamina runs here).
    texts = ["the cat sat", "the dog ran", "a cat ran"]
    old_layer = lamina.layers.TextVectorization(max_tokens=10, output_mode=old, ngrams=2)
    new_layer = lamina.layers.TextVectorization(max_tokens=10, output_mode=new, ngrams=2)
    for layer in (old_layer, new_layer):
        layer.adapt(texts)
    assert old_layer.get_config()["output_mode"] == new
    np.testing.assert_array_equal(
        lamina.ops.convert_to_numpy(old_layer(texts)), lamina.ops.convert_to_numpy(new_layer(texts))
    )


def test_string_lookup_takes_tf_idf_with_a_hyphen():
    # Keras's IndexLookup maps "tf-idf" to "tf_idf" too (its StringLookup needs TensorFlow).
    layer = lamina.layers.StringLookup(
        vocabulary=["a", "b"], idf_weights=[0.5, 0.25], output_mode="tf-idf"
    )
    assert layer.output_mode == "tf_idf"
    assert tuple(layer(["a", "b", "b"]).shape) == (3,)  # OOV, "a", "b": one multi-hot row


def test_mask_dropped_warning_comes_from_one_place_so_python_shows_it_once():
    # A custom layer without supports_masking after a masking PositionalEmbedding: Keras warns
    # from one line of its own, so Python's default filter shows it once; lamina pointed at
    # each caller (the model's line, then fit's, then load_model's) and showed it three times.
    class NoMaskSupport(lamina.layers.Layer):
        def call(self, inputs):
            return inputs

    embedding = lamina.layers.Embedding(10, 4, mask_zero=True)
    layer = NoMaskSupport()
    tokens = np.array([[1, 2, 0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer(embedding(lamina.Input((3,), dtype="int64")))  # building the model
        layer(embedding(tokens))  # as fit() and load_model() call it
    dropped = [w for w in caught if "destroy the mask" in str(w.message)]
    assert len(dropped) == 2
    assert len({(w.filename, w.lineno) for w in dropped}) == 1


# Chapter 12: generative deep learning


def _alpha_warning_places(library):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        library.layers.LeakyReLU(alpha=0.2)
        library.layers.LeakyReLU(alpha=0.3)
    return {(w.filename, w.lineno) for w in caught if "`alpha` is deprecated" in str(w.message)}


def test_leaky_relu_alpha_warning_comes_from_one_place_as_in_keras():
    # The GAN's Sequential models write LeakyReLU(alpha=0.2) six times: Keras's warning comes
    # from one line of its own (shown once); lamina's pointed at each call and showed six.
    assert len(_alpha_warning_places(keras)) == 1
    assert len(_alpha_warning_places(lamina)) == 1
