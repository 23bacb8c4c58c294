"""Gaps TensorFlow's Keras guides (tensorflow.org/guide/keras, the tf.keras 2 versions) found in
lamina, each reproduced in a few lines of our own, grouped by guide. The guides themselves are not
copied here. Where the guides use a tf.keras 2 API that Keras 3 removed, lamina (like Keras 3)
refuses it; the tests check that the refusal names the Keras 3 replacement.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving import FileFormatError


def _small_model():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


# functional / save_and_serialize: tf.keras 2 saved a SavedModel folder for `model.save("path")`
# and a TF checkpoint for `save_weights("ckpt")`; Keras 3 refuses both, lamina names the file to
# use instead.


def test_save_without_extension_names_the_keras_file_to_use(tmp_path):
    target = tmp_path / "path_to_my_model"
    with pytest.raises(ValueError, match=r"SavedModel.*model\.save\('.*path_to_my_model\.keras'\)"):
        _small_model().save(str(target))
    assert not target.exists()


def test_save_format_tf_is_refused_with_the_same_hint(tmp_path):
    with pytest.raises(ValueError, match=r"model\.save\('.*my_model\.keras'\)"):
        _small_model().save(str(tmp_path / "my_model"), save_format="tf")


def test_a_bad_save_extension_keeps_the_weights_hint(tmp_path):
    with pytest.raises(ValueError, match=r"save_weights\('name\.weights\.h5'\)"):
        _small_model().save(str(tmp_path / "model.pt"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ckpt", "ckpt.weights.h5"), ("weights.h5", "weights.weights.h5"), ("w.hdf5", "w.weights.h5")],
)
def test_save_weights_names_the_weights_h5_file(tmp_path, name, expected):
    model = _small_model()
    with pytest.raises(ValueError, match=rf"save_weights\('.*{expected.replace('.', '[.]')}'\)"):
        model.save_weights(str(tmp_path / name))
    model.save_weights(str(tmp_path / expected))  # the hinted name is one that saves
    assert (tmp_path / expected).is_file()


def test_load_model_names_a_tensorflow_savedmodel_folder(tmp_path):
    (tmp_path / "my_model").mkdir()
    (tmp_path / "my_model" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(FileFormatError, match="TensorFlow SavedModel folder.*name.keras"):
        lamina.models.load_model(str(tmp_path / "my_model"))


def test_load_model_of_a_plain_folder_is_still_a_format_error(tmp_path):
    with pytest.raises(FileFormatError, match="is a directory"):
        lamina.models.load_model(str(tmp_path))


# mixed_precision: the TF 2.1-2.3 guide imported `mixed_precision.experimental` and called
# `set_policy`; Keras 3 has neither, lamina says what replaced them.


@pytest.mark.parametrize("name", ["set_policy", "experimental"])
def test_removed_mixed_precision_names_point_to_keras_3(name):
    with pytest.raises(AttributeError, match="removed in Keras 3.*set_global_policy"):
        getattr(lamina.mixed_precision, name)


def test_mixed_precision_other_missing_names_stay_plain_attribute_errors():
    assert not hasattr(lamina.mixed_precision, "no_such_name")
    assert lamina.mixed_precision.Policy("mixed_float16").compute_dtype == "float16"


# train_and_evaluate: ModelCheckpoint("mymodel_{epoch}") wrote SavedModel folders in tf.keras 2, and
# the save-and-load tutorial's ModelCheckpoint("training_1/cp.ckpt", save_weights_only=True) a TF
# checkpoint; Keras 3 refuses both, lamina names the path to pass instead.


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"filepath": "mymodel_{epoch}"}, "'mymodel_{epoch}.keras'"),
        ({"filepath": "ckpt/ckpt-loss={loss:.2f}"}, "'ckpt/ckpt-loss={loss:.2f}.keras'"),
        (
            {"filepath": "training_1/cp.ckpt", "save_weights_only": True},
            "'training_1/cp.ckpt.weights.h5'",
        ),
        ({"filepath": "w.h5", "save_weights_only": True}, "'w.weights.h5'"),
    ],
)
def test_model_checkpoint_names_the_keras_3_path(kwargs, expected):
    with pytest.raises(ValueError, match=re.escape(expected)):
        lamina.callbacks.ModelCheckpoint(**kwargs)


def test_model_checkpoint_with_the_hinted_name_saves(tmp_path):
    model = _small_model()
    path = str(tmp_path / "mymodel_{epoch}.keras")
    checkpoint = lamina.callbacks.ModelCheckpoint(path)
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=1, verbose=0, callbacks=[checkpoint])
    assert (tmp_path / "mymodel_1.keras").is_file()


# overview (TF 2.0): model.to_yaml() / tf.keras.models.model_from_yaml; Keras 3 kept only JSON.


def test_model_from_yaml_points_to_model_from_json():
    with pytest.raises(AttributeError, match=r"removed in Keras 3.*model_from_json"):
        lamina.models.model_from_yaml  # noqa: B018 - the attribute access is the test
    assert not hasattr(lamina.models, "no_such_name")
    model = _small_model()
    assert lamina.models.model_from_json(model.to_json()).count_params() == model.count_params()


# rnn: a stateful layer's `states` seed another layer; after reset_states() they read as zeros of
# the same shapes (Keras's behaviour), not None.


def test_reset_states_leaves_zero_states_of_the_carried_shapes():
    lstm = layers.LSTM(4, stateful=True)
    lstm.reset_states()
    assert lstm.states is None  # nothing carried before the first call
    lstm(np.random.default_rng(0).random((2, 3, 5), dtype=np.float32))
    assert [tuple(state.shape) for state in lstm.states] == [(2, 4), (2, 4)]
    assert any(state.any() for state in lstm.states)
    lstm.reset_states()
    assert [tuple(state.shape) for state in lstm.states] == [(2, 4), (2, 4)]
    assert not any(state.any() for state in lstm.states)
    seeded = layers.LSTM(4)(np.ones((2, 3, 5), np.float32), initial_state=lstm.states)
    assert tuple(seeded.shape) == (2, 4)


# transfer_learning: a base model called with training=False keeps its BatchNormalization in
# inference mode after `base_model.trainable = True` and a recompile, as the guide says (Keras 3
# on torch updates the moving statistics there; lamina follows the guide).


def test_unfrozen_base_called_with_training_false_keeps_batchnorm_statistics():
    base = lamina.Sequential(
        [lamina.Input((6, 6, 3)), layers.Conv2D(4, 3), layers.BatchNormalization()]
    )
    base.trainable = False
    inputs = lamina.Input((6, 6, 3))
    features = layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = lamina.Model(inputs, layers.Dense(1)(features))
    x = np.random.default_rng(1).random((8, 6, 6, 3), dtype=np.float32) * 10
    y = np.ones((8, 1), np.float32)
    base.trainable = True
    model.compile(optimizer="adam", loss="mse")
    kernel_before = base.layers[0].get_weights()[0].copy()
    model.fit(x, y, epochs=1, verbose=0)
    moving_mean, moving_variance = base.layers[1].get_weights()[2:]
    np.testing.assert_array_equal(moving_mean, np.zeros(4, np.float32))
    np.testing.assert_array_equal(moving_variance, np.ones(4, np.float32))
    assert not np.array_equal(base.layers[0].get_weights()[0], kernel_before)  # it did train
