"""Keras's Model API for programs that drive their own loop, against Keras: the step functions
(`make_train_function` & co), `get_state_tree` / `set_state_tree`, `stateless_compute_loss`,
and `export`."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import flat_by_path, keras

RNG = np.random.default_rng(0)
X = RNG.standard_normal((8, 3)).astype("float32")
Y = RNG.standard_normal((8, 1)).astype("float32")


def _model(k, optimizer="sgd"):
    model = k.Sequential(
        [
            k.Input((3,)),
            k.layers.BatchNormalization(name="bn"),
            k.layers.Dense(4, kernel_regularizer="l2", name="d"),
            k.layers.Dense(1, name="o"),
        ],
        name="net",
    )
    # Named: Keras numbers its optimizers' names per process (`adam_1`), lamina does not.
    make = {
        "sgd": lambda: k.optimizers.SGD(0.01, name="sgd"),
        "adam": lambda: k.optimizers.Adam(0.01, name="adam"),
    }
    model.compile(optimizer=make[optimizer](), loss="mse", metrics=["mae"])
    return model


def _pair(optimizer="sgd"):
    theirs, ours = _model(keras, optimizer), _model(lamina, optimizer)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


def _np(value):
    """A Keras variable's or a lamina tensor's value (on any device) as NumPy."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(keras.ops.convert_to_numpy(value))


def _floats(logs):
    return {key: float(_np(v)) for key, v in logs.items()}


def test_step_functions_match_keras():
    theirs, ours = _pair()
    results = []
    for model in (theirs, ours):
        model.make_train_function()
        train = [_floats(model.train_function([(X, Y)])) for _ in range(2)]
        model.make_test_function()
        test = _floats(model.test_function([(X, Y)]))
        model.make_predict_function()
        predicted = _np(model.predict_function([X]))
        results.append((train, test, predicted))
    (k_train, k_test, k_pred), (l_train, l_test, l_pred) = results
    for got, expected in [*zip(l_train, k_train, strict=True), (l_test, k_test)]:
        assert got.keys() == expected.keys()
        np.testing.assert_allclose(list(got.values()), list(expected.values()), rtol=1e-5)
    np.testing.assert_allclose(l_pred, k_pred, rtol=1e-5, atol=1e-6)


def test_step_functions_are_kept_until_compile_and_take_an_iterator():
    model = _model(lamina)
    assert model.train_function is None
    function = model.make_train_function()
    assert model.train_function is function and model.make_train_function() is function
    assert model.make_train_function(force=True) is not function
    logs = model.train_function(iter([(X, Y), (X, Y)]))
    assert set(logs) == {"loss", "mae"}
    model.compile(optimizer="sgd", loss="mse")
    assert model.train_function is None


def test_state_tree_matches_kerass_structure_and_values():
    theirs, ours = _pair("adam")
    for model in (theirs, ours):
        model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    expected = flat_by_path(theirs.get_state_tree("numpy_array"), _np)
    got = flat_by_path(ours.get_state_tree("numpy_array"), _np)
    assert list(got) == list(expected)
    for path, value in expected.items():
        np.testing.assert_allclose(got[path], value, rtol=1e-4, atol=1e-6, err_msg=path)
    assert isinstance(
        ours.get_state_tree()["trainable_variables"]["net"]["d"]["kernel"], torch.Tensor
    )


def test_a_keras_state_tree_sets_a_lamina_model():
    theirs, ours = _pair("adam")
    theirs.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    ours.fit(X[:4], Y[:4], batch_size=4, epochs=1, verbose=0)  # builds the optimizer's state
    tree = theirs.get_state_tree("numpy_array")
    ours.set_state_tree(tree)
    expected, got = flat_by_path(tree, _np), flat_by_path(ours.get_state_tree("numpy_array"), _np)
    for path, value in expected.items():
        np.testing.assert_allclose(got[path], value, rtol=1e-6, err_msg=path)
    np.testing.assert_allclose(
        ours.predict(X, verbose=0), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6
    )


def test_state_tree_refuses_an_unknown_format():
    with pytest.raises(ValueError, match="value_format"):
        _model(lamina).get_state_tree("lists")


def test_stateless_compute_loss_matches_keras_and_leaves_the_metrics():
    theirs, ours = _pair()
    for model in (theirs, ours):
        model.fit(X, Y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    results = []
    device = lamina.backend.default_device()
    to_lamina = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
    for model, convert in ((theirs, keras.ops.convert_to_tensor), (ours, to_lamina)):
        trainable = [convert(_np(v) * 0.5) for v in model.trainable_variables]
        non_trainable = [convert(_np(v)) for v in model.non_trainable_variables]
        metrics = [convert(_np(v)) for v in model.metrics_variables]
        before = [_np(v).copy() for v in model.metrics_variables]
        loss, (_, _, new_metrics) = model.stateless_compute_loss(
            trainable, non_trainable, metrics, x=convert(X), y=convert(Y), y_pred=convert(Y * 2)
        )
        for kept, now in zip(before, model.metrics_variables, strict=True):
            np.testing.assert_array_equal(kept, _np(now))
        results.append((float(_np(loss)), len(new_metrics)))
    (k_loss, k_count), (l_loss, l_count) = results
    assert l_count == k_count
    np.testing.assert_allclose(l_loss, k_loss, rtol=1e-5)


def test_stateless_compute_loss_differentiates_in_the_given_weights():
    model = _model(lamina)
    model(X[:1])
    trainable = [v.detach().clone().requires_grad_() for v in model.trainable_variables]
    loss, _ = model.stateless_compute_loss(
        trainable,
        list(model.non_trainable_variables),
        model.metrics_variables,
        x=torch.as_tensor(X, device=trainable[0].device),
        y=torch.as_tensor(Y, device=trainable[0].device),
        y_pred=torch.as_tensor(Y, device=trainable[0].device),
    )
    loss.backward()  # mse of y against itself is 0: only the l2 penalty on `d`'s kernel
    torch.testing.assert_close(trainable[2].grad, 0.02 * trainable[2].detach())
    assert model.trainable_variables[2].grad is None


def test_export_torch_runs_as_the_model(tmp_path):
    x = lamina.Input((3,))
    extra = lamina.Input((2,))
    outputs = lamina.layers.Concatenate()([lamina.layers.Dense(2)(x), extra])
    model = lamina.Model([x, extra], outputs)
    path = model.export(tmp_path / "model.pt2", format="torch", verbose=False)
    device = lamina.backend.default_device()  # the suite's (LAMINA_TEST_DEVICE)
    a, b = torch.randn(1, 3, device=device), torch.randn(1, 2, device=device)
    torch.testing.assert_close(torch.export.load(path).module()([a, b]), model([a, b]))


def test_export_torch_keeps_a_dict_of_inputs_and_takes_one_inputs_axes_as_keras(tmp_path):
    # A model built on a dict of inputs exports taking that dict (before, lamina traced a list
    # and the program refused the dict the model takes); `dynamic_shapes={0: Dim}` is Keras's
    # short form for a single input's axes.
    outputs = {}
    programs = {}
    for k in (keras, lamina):
        x, y = k.Input((4,), name="x"), k.Input((4,), name="y")
        model = k.Model({"x": x, "y": y}, k.layers.Dense(2, name="d")(k.layers.Add()([x, y])))
        if k is lamina:
            model.set_weights(programs["keras_weights"])
        else:
            programs["keras_weights"] = model.get_weights()
        path = str(tmp_path / f"{k.__name__}_dict.pt2")
        model.export(path, format="torch", verbose=False)  # Keras's returns None
        feed = {"x": torch.full((1, 4), 0.5), "y": torch.arange(4.0).reshape(1, 4)}
        if k is lamina:
            feed = {key: value.to(lamina.backend.default_device()) for key, value in feed.items()}
        outputs[k] = torch.export.load(path).module()(feed).detach().cpu()

        single = k.Sequential([k.Input((3,)), k.layers.Dense(2)])
        batch = torch.export.Dim("batch", min=1, max=16)
        path = str(tmp_path / f"{k.__name__}_dyn.pt2")
        single.export(
            path,
            format="torch",
            verbose=False,
            dynamic_shapes={0: batch},
        )
        device = lamina.backend.default_device() if k is lamina else "cpu"
        program = torch.export.load(path).module()
        programs[k] = [tuple(program(torch.ones(n, 3, device=device)).shape) for n in (3, 5)]
    torch.testing.assert_close(outputs[lamina], outputs[keras])
    assert programs[lamina] == programs[keras] == [(3, 2), (5, 2)]


def test_export_names_what_a_format_needs(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    with pytest.raises(ImportError, match="tensorflow"):
        model.export(tmp_path / "saved")
    with pytest.raises(ValueError, match=".pt2"):
        model.export(tmp_path / "model.bin", format="torch")
    with pytest.raises(ValueError, match="format"):
        model.export(tmp_path / "model", format="tflite")


def test_state_tree_before_any_step_matches_keras():
    trees = []
    for k in (keras, lamina):
        model = k.Sequential([k.layers.Dense(1, name="d")], name="unbuilt")
        model.compile(optimizer=k.optimizers.Adam(0.01, name="adam"), loss="mse")
        trees.append(flat_by_path(model.get_state_tree("numpy_array"), _np))
    expected, got = trees
    assert list(got) == list(expected)
    for path, value in expected.items():
        np.testing.assert_allclose(got[path], value, err_msg=path)


def test_compile_without_an_optimizer_evaluates_and_saves_as_keras(tmp_path):
    # Keras takes compile(optimizer=None) for a model that only evaluates and predicts; lamina
    # refused it (TypeError). Now both evaluate alike, lamina loads either side's file compiled,
    # and fit names the missing optimizer.
    x = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(4, 2)
    y = np.ones((4, 3), dtype="float32")
    results, models = {}, {}
    for k in (keras, lamina):
        model = k.Sequential([k.Input((2,)), k.layers.Dense(3, kernel_regularizer="l2")])
        if k is lamina:
            model.set_weights(models[keras].get_weights())
        model.compile(optimizer=None, loss="mse", metrics=["mae"])
        results[k] = model.evaluate(x, y, verbose=0)
        models[k] = model
        assert model.optimizer is None
    np.testing.assert_allclose(results[lamina], results[keras], rtol=1e-6)

    models[keras].save(tmp_path / "keras.keras")
    models[lamina].save(tmp_path / "lamina.keras")
    # (Keras 3.15.1 itself fails to load such a file: its compile_from_config builds None.)
    for name in ("keras", "lamina"):
        loaded = lamina.models.load_model(tmp_path / f"{name}.keras")
        assert loaded.compiled and loaded.optimizer is None
        np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), results[keras], rtol=1e-6)

    with pytest.raises(ValueError, match=r"fit\(\) expects an optimizer.*optimizer=None"):
        models[lamina].fit(x, y, verbose=0)
    with pytest.raises(ValueError, match=r"train_on_batch\(\) expects an optimizer"):
        models[lamina].train_on_batch(x, y)


def _wrapping_model_class(k):
    """A subclassed model whose get_config() holds its sublayer as an object (Keras's own
    torch_utils test pattern), registered under the same name in `k`."""

    @k.saving.register_keras_serializable(package="parity_wrap")
    class Wrapping(k.Model):
        def __init__(self, inner, **kwargs):
            super().__init__(**kwargs)
            self.inner = inner

        def call(self, x):
            return self.inner(x)

        def get_config(self):
            return {**super().get_config(), "inner": self.inner}

        @classmethod
        def from_config(cls, config):
            config["inner"] = k.saving.deserialize_keras_object(config["inner"])
            return cls(**config)

    return Wrapping


def test_a_subclassed_model_config_holding_a_layer_saves_as_keras(tmp_path):
    # lamina wrote a subclassed model's get_config() as it came, so a sublayer in it failed
    # with "Object of type Dense is not JSON serializable"; Keras writes it as its own entry.
    x = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(2, 4)
    outputs, paths, weights = {}, {}, {}
    for k in (keras, lamina):
        model = _wrapping_model_class(k)(k.layers.Dense(3, name="inner_dense"))
        model(x)
        if k is lamina:
            model.set_weights(weights[keras])
        weights[k] = model.get_weights()
        outputs[k] = np.asarray(model(x).detach().cpu())
        paths[k] = str(tmp_path / f"{k.__name__}.keras")
        model.save(paths[k])
    for k, other in ((keras, lamina), (lamina, keras)):
        loaded = k.models.load_model(paths[other])
        assert loaded.inner.name == "inner_dense" and loaded.inner.units == 3
        np.testing.assert_allclose(np.asarray(loaded(x).detach().cpu()), outputs[other], rtol=1e-6)
