"""What the classic tf.keras-era example programs (keras-team/keras `examples/*.py`) need of lamina.

Each test is a small reproduction of one gap a port of those programs met: a program Keras 3
(torch backend) runs that lamina failed on, or a Keras 2 name both reject where lamina now says
what the Keras 3 spelling is.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import lamina
from lamina import backend
from tests.parity.reference import keras


@pytest.mark.parametrize("name", ["RMSprop", "Adam", "SGD"])
def test_optimizer_accepts_keras2_decay_with_keras_warning(name):
    # cifar10_cnn passes `decay=1e-6`; Keras 3 warns and ignores it instead of failing.
    with pytest.warns(UserWarning, match="decay") as ours:
        optimizer = getattr(lamina.optimizers, name)(learning_rate=0.01, decay=1e-6)
    with pytest.warns(UserWarning, match="decay") as theirs:
        getattr(keras.optimizers, name)(learning_rate=0.01, decay=1e-6)
    assert str(ours[0].message) == str(theirs[0].message)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_optimizer_with_ignored_decay_trains_as_without_it():
    x = np.random.default_rng(0).random((8, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    weights = []
    for options in ({}, {"decay": 0.5}):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
        with pytest.warns(UserWarning, match="decay") if options else contextlib.nullcontext():
            optimizer = lamina.optimizers.RMSprop(learning_rate=0.1, **options)
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(x, y, batch_size=4, epochs=2, verbose=0)
        weights.append(model.get_weights())
    for ours, plain in zip(*weights, strict=True):
        np.testing.assert_allclose(ours, plain, rtol=0, atol=0)


def test_optimizer_lr_keyword_names_learning_rate():
    with pytest.raises(TypeError, match=r"\['lr'\].*`learning_rate=`"):
        lamina.optimizers.RMSprop(lr=0.001)


@pytest.mark.parametrize(
    ("name", "replacement"),
    [("int_shape", "x.shape"), ("mean", "keras.ops.mean"), ("l2_normalize", "ops.normalize")],
)
def test_removed_keras2_backend_function_names_its_replacement(name, replacement):
    assert not hasattr(backend, name)  # as in Keras 3, where `hasattr(K, name)` is False
    assert not hasattr(keras.backend, name)
    with pytest.raises(AttributeError, match="Keras 3 removed") as error:
        getattr(backend, name)
    assert replacement in str(error.value)


def test_unknown_backend_name_keeps_the_plain_attribute_error():
    with pytest.raises(AttributeError) as error:
        backend.no_such_function  # noqa: B018
    assert str(error.value) == "module 'lamina.backend' has no attribute 'no_such_function'"


def _tiny_model():
    return lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize(
    ("method", "replacement"),
    [
        ("fit_generator", "model.fit(generator"),
        ("evaluate_generator", "model.evaluate(generator"),
        ("predict_generator", "model.predict(generator"),
        ("predict_classes", "np.argmax(model.predict(x), axis=-1)"),
        ("predict_proba", "model.predict(x)"),
    ],
)
def test_removed_keras2_model_method_names_its_replacement(method, replacement):
    # addition_rnn calls model.predict_classes; Keras 3 raises a bare AttributeError there too.
    model = _tiny_model()
    assert not hasattr(keras.Model, method)
    with pytest.raises(AttributeError, match="Keras 3 removed") as error:
        getattr(model, method)(np.zeros((1, 2), "float32"))
    assert replacement in str(error.value)
    assert f"'Sequential' object has no attribute '{method}'" in str(error.value)


def test_subclass_may_still_define_a_removed_keras2_method_name():
    class Classifier(lamina.Model):
        def __init__(self):
            super().__init__()
            self.head = lamina.layers.Dense(3, activation="softmax")

        def call(self, inputs):
            return self.head(inputs)

        def predict_classes(self, x):
            return np.argmax(self.predict(x, verbose=0), axis=-1)

    assert Classifier().predict_classes(np.zeros((4, 2), "float32")).shape == (4,)


def test_sequential_rank_error_on_a_symbolic_input_shows_its_unknown_batch():
    # mnist_acgan multiplies a (None, 100) latent by a (None, 1, 100) embedding and feeds the
    # result to a Sequential built for (None, 100): the error names the symbolic shape.
    stack = lamina.Sequential([lamina.Input((100,)), lamina.layers.Dense(4)])
    symbolic = lamina.Input((1, 100))
    with pytest.raises(ValueError, match=r"received an input of shape \(None, 1, 100\)"):
        stack(symbolic)
    with pytest.raises(ValueError, match=r"received an input of shape \(3, 1, 100\)"):
        stack(np.zeros((3, 1, 100), "float32"))


def _loss_graph(module):
    """A functional model whose outputs are loss functions of graph tensors, as the classic
    variational autoencoder computes its reconstruction loss."""
    inputs, decoded = module.Input((4,)), module.Input((4,))
    probabilities = module.layers.Activation("softmax")(decoded)
    outputs = [
        module.losses.mean_squared_error(inputs, decoded),
        module.losses.binary_crossentropy(inputs, module.layers.Activation("sigmoid")(decoded)),
        module.losses.categorical_crossentropy(inputs, probabilities),
    ]
    return module.Model([inputs, decoded], outputs)


def test_loss_functions_take_graph_tensors_as_keras(tmp_path):
    # lamina raised "A symbolic KerasTensor has no len()"; Keras computes them symbolically.
    rng = np.random.default_rng(0)
    x, y = rng.random((3, 4), dtype=np.float32), rng.standard_normal((3, 4), dtype=np.float32)
    theirs = _loss_graph(keras)
    ours = _loss_graph(lamina)
    assert [tuple(t.shape) for t in ours.outputs] == [tuple(t.shape) for t in theirs.outputs]
    expected = theirs.predict([x, y], verbose=0)
    got = ours.predict([x, y], verbose=0)
    for value, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(value, reference, rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "losses.keras")
    reloaded = lamina.models.load_model(tmp_path / "losses.keras").predict([x, y], verbose=0)
    for value, reference in zip(reloaded, got, strict=True):
        np.testing.assert_array_equal(value, reference)
