"""What Imperial College's "TensorFlow 2 for Deep Learning" course 1 (tf 2.0-2.2) needs of lamina.

Each test is a small reproduction of one gap a port of the course's notebooks met: a tf.keras 2
habit the course teaches that Keras 3 (torch backend) rejects too, where lamina now says which
Keras 3 spelling replaced it; or a program Keras 3 runs that lamina failed on.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


def _tiny_model(library):
    model = library.Sequential([library.Input((4,)), library.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_load_weights_of_a_tf_checkpoint_prefix_names_the_weights_h5_file(tmp_path):
    # The course saves with ModelCheckpoint('model_checkpoints/checkpoint', save_weights_only=True)
    # and reloads with model.load_weights('model_checkpoints/checkpoint'): a TF checkpoint prefix
    # ('checkpoint.index' beside it). Keras 3 refuses the path by its missing extension.
    prefix = tmp_path / "model_checkpoints" / "checkpoint"
    prefix.parent.mkdir()
    (tmp_path / "model_checkpoints" / "checkpoint.index").write_bytes(b"tf index")
    with pytest.raises(ValueError, match="File format not supported"):
        _tiny_model(keras).load_weights(str(prefix))
    with pytest.raises(ValueError, match="TF-checkpoint prefix") as error:
        _tiny_model(lamina).load_weights(str(prefix))
    assert f"model.save_weights('{prefix}.weights.h5')" in str(error.value)
    assert not isinstance(error.value, FileNotFoundError)


def test_load_model_of_a_savedmodel_path_names_the_keras_file(tmp_path):
    # `model.save('my_model')` then `load_model('my_model')`: tf.keras 2's SavedModel.
    path = str(tmp_path / "my_model")
    with pytest.raises(ValueError, match="File format not supported"):
        keras.models.load_model(path)
    with pytest.raises(ValueError, match="SavedModel folder") as error:
        lamina.models.load_model(path)
    assert f"model.save('{path}.keras')" in str(error.value)


def test_a_missing_keras_3_file_still_says_no_file(tmp_path):
    model = _tiny_model(lamina)
    with pytest.raises(FileNotFoundError, match="No file at"):
        model.load_weights(str(tmp_path / "absent.weights.h5"))


def test_weights_saved_under_the_named_replacement_load_back(tmp_path):
    source, target = _tiny_model(lamina), _tiny_model(lamina)
    path = str(tmp_path / "checkpoint.weights.h5")
    source.save_weights(path)
    target.load_weights(path)
    for ours, theirs in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_to_yaml_names_to_json():
    # "Saving model architecture" prints model.to_yaml() after model.to_json().
    assert not hasattr(keras.Model, "to_yaml")
    model = _tiny_model(lamina)
    with pytest.raises(AttributeError, match="Keras 3 removed") as error:
        model.to_yaml()
    assert "model.to_json()" in str(error.value)
    rebuilt = lamina.models.model_from_json(model.to_json())
    assert rebuilt.get_config() == model.get_config()


@pytest.mark.parametrize("keyword", ["frequency", "period"])
def test_model_checkpoint_keras2_keyword_names_save_freq(tmp_path, keyword):
    # The course writes ModelCheckpoint(path, frequency='epoch', ...), which tf 2.0 ignored.
    path = str(tmp_path / "checkpoint.weights.h5")
    with pytest.raises(TypeError, match=f"unexpected keyword argument '{keyword}'"):
        keras.callbacks.ModelCheckpoint(path, save_weights_only=True, **{keyword: "epoch"})
    with pytest.raises(
        TypeError, match=rf"unexpected keyword argument\(s\) \['{keyword}'\]"
    ) as error:
        lamina.callbacks.ModelCheckpoint(path, save_weights_only=True, **{keyword: "epoch"})
    assert "save_freq='epoch'" in str(error.value)


def test_model_checkpoint_other_unknown_keyword_is_a_plain_type_error(tmp_path):
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument\(s\) \['save_weight_only'\]\.$"
    ):
        lamina.callbacks.ModelCheckpoint(str(tmp_path / "m.keras"), save_weight_only=True)


@pytest.mark.parametrize(
    ("module", "model"), [("resnet50", "ResNet50"), ("vgg16", "VGG16"), ("vgg19", "VGG19")]
)
def test_per_model_application_modules_import_as_in_keras(module, model):
    # "Loading pre-trained Keras models": from ...applications.resnet50 import preprocess_input,
    # decode_predictions. lamina had these names only as attributes, not importable modules.
    ours = importlib.import_module(f"lamina.applications.{module}")
    theirs = importlib.import_module(f"keras.applications.{module}")
    assert sorted(ours.__all__) == sorted(n for n in dir(theirs) if not n.startswith("_"))
    assert getattr(ours, model) is getattr(lamina.applications, model)
    images = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(
        ours.preprocess_input(images.copy()), theirs.preprocess_input(images.copy()), atol=1e-4
    )


def test_decode_predictions_without_the_class_index_names_its_own_url(tmp_path, monkeypatch):
    # Offline, the course's decode_predictions(model.predict(x)) needs imagenet_class_index.json;
    # the message named the weights folder and weights= arguments decode_predictions lacks.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "lamina"))
    monkeypatch.setattr(lamina.applications.imagenet_utils, "_class_index", None)
    with pytest.raises(FileNotFoundError, match="imagenet_class_index.json") as error:
        lamina.applications.resnet50.decode_predictions(np.zeros((1, 1000), "float32"))
    message = str(error.value)
    assert "https://storage.googleapis.com/download.tensorflow.org/data/" in message
    assert "weights=" not in message


def test_an_initializer_class_is_instantiated_as_keras_does():
    # Week 3's assignment, as course-takers write it: Dense(..., kernel_initializer=HeUniform).
    x = np.ones((4, 5), "float32")
    ours = lamina.layers.Dense(3, kernel_initializer=lamina.initializers.Ones)
    theirs = keras.layers.Dense(3, kernel_initializer=keras.initializers.Ones)
    np.testing.assert_allclose(np.asarray(ours(x).detach()), np.asarray(theirs(x).detach()))
    assert type(lamina.initializers.get(lamina.initializers.HeUniform)).__name__ == "HeUniform"
