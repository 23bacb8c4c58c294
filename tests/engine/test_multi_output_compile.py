"""compile() for several outputs: losses and metrics as lists or dicts, loss_weights, and the
per-output names Keras 3 logs (`<output>_loss`, `<output>_<metric>`)."""

import collections

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity import reference
from tests.parity.reference import keras


def model_and_data(dict_outputs):
    rng = np.random.default_rng(0)
    inputs = layers.Input((4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    price = layers.Dense(1)(hidden)  # auto-named dense_1: Keras logs dense_1_loss
    kind = layers.Dense(3, activation="softmax")(hidden)  # dense_2
    outputs = {"price": price, "kind": kind} if dict_outputs else [price, kind]
    model = lamina.Model(inputs, outputs)
    x = rng.random((32, 4), dtype=np.float32)
    y_price, y_kind = rng.random((32, 1), dtype=np.float32), rng.integers(0, 3, 32)
    return model, x, y_price, y_kind


LIST_CASES = {
    "lists": dict(
        loss=["mse", "sparse_categorical_crossentropy"],
        metrics=[["mae"], ["accuracy"]],
        loss_weights=[0.5, 2.0],
    ),
    "dicts-keyed-by-layer-name": dict(
        loss={"dense_1": "mse", "dense_2": "sparse_categorical_crossentropy"},
        metrics={"dense_1": ["mae"], "dense_2": ["accuracy"]},
        loss_weights=[0.5, 2.0],
    ),
}


@pytest.mark.parametrize("name", list(LIST_CASES))
def test_list_outputs_log_each_output_under_its_layer_name(name):
    model, x, y_price, y_kind = model_and_data(dict_outputs=False)
    model.compile(optimizer="sgd", **LIST_CASES[name])
    history = model.fit(x, [y_price, y_kind], epochs=2, batch_size=8, verbose=0)
    expected = {"loss", "dense_1_loss", "dense_2_loss", "dense_1_mae", "dense_2_accuracy"}
    assert set(history.history) == expected
    assert all(len(values) == 2 for values in history.history.values())


def test_loss_is_the_weighted_sum_of_the_output_losses():
    model, x, y_price, y_kind = model_and_data(dict_outputs=False)
    model.compile(
        optimizer="sgd", loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.5, 2.0]
    )
    logs = model.evaluate(x, [y_price, y_kind], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(
        0.5 * logs["dense_1_loss"] + 2.0 * logs["dense_2_loss"], rel=1e-5
    )
    price, kind = model.predict(x, verbose=0)
    assert logs["dense_1_loss"] == pytest.approx(float(np.mean((price - y_price) ** 2)), rel=1e-5)
    picked = kind[np.arange(32), y_kind]
    assert logs["dense_2_loss"] == pytest.approx(float(np.mean(-np.log(picked))), rel=1e-5)


def test_dict_outputs_are_named_by_their_keys_and_labels_matched_by_key():
    model, x, y_price, y_kind = model_and_data(dict_outputs=True)
    model.compile(
        optimizer="sgd",
        loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
        metrics={"kind": ["accuracy"]},
        loss_weights={"price": 0.5, "kind": 1.0},
    )
    # Labels given in the other order than the outputs: matched by name, not by position.
    labels = {"kind": y_kind, "price": y_price}
    history = model.fit(x, labels, epochs=1, batch_size=8, verbose=0)
    assert set(history.history) == {"loss", "price_loss", "kind_loss", "kind_accuracy"}
    logs = model.evaluate(x, labels, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    assert logs["price_loss"] == pytest.approx(
        float(np.mean((out["price"] - y_price) ** 2)), rel=1e-5
    )
    assert logs["loss"] == pytest.approx(0.5 * logs["price_loss"] + logs["kind_loss"], rel=1e-5)


def test_an_output_without_a_loss_is_left_out_of_the_total():
    model, x, y_price, y_kind = model_and_data(dict_outputs=True)
    model.compile(optimizer="sgd", loss={"price": "mse"})
    logs = model.evaluate(x, {"price": y_price, "kind": y_kind}, verbose=0, return_dict=True)
    out = model.predict(x, verbose=0)
    assert list(logs) == ["loss"]  # one output has a loss: no per-output tracker, as in Keras
    assert logs["loss"] == pytest.approx(float(np.mean((out["price"] - y_price) ** 2)), rel=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(loss={"prize": "mse"}),
            r"loss expects keys among the output names \['kind', 'price'\]",
        ),
        (dict(loss=["mse"]), r"loss expects one entry per output \(2\); received 1 entries"),
        (dict(loss="mse", loss_weights=[1.0]), r"loss_weights expects one entry per output"),
    ],
    ids=["unknown-key", "short-list", "short-weights"],
)
def test_per_output_specs_that_do_not_fit_the_outputs(kwargs, message):
    model, x, y_price, y_kind = model_and_data(dict_outputs=True)
    model.compile(optimizer="sgd", **kwargs)
    with pytest.raises(ValueError, match=message):
        model.fit(x, {"price": y_price, "kind": y_kind}, epochs=1, verbose=0)


def test_label_keys_that_name_no_output_are_refused():
    # Keras refuses labels whose structure differs from the outputs'; ignoring the extra key would
    # hide a misspelt output name whose loss then never trains.
    model, x, y_price, y_kind = model_and_data(dict_outputs=True)
    model.compile(optimizer="sgd", loss={"price": "mse", "kind": "sparse_categorical_crossentropy"})
    labels = {"price": y_price, "kind": y_kind, "colour": y_kind}
    with pytest.raises(ValueError, match=r"received labels with the extra keys \['colour'\]"):
        model.fit(x, labels, epochs=1, verbose=0)


def test_abbreviated_loss_and_metric_names_as_keras():
    # "bce" names binary crossentropy in Keras's losses and metrics, as "mse" does its own.
    def history_keys(k):
        x = k.Input((3,), name="input_a")
        outputs = [k.layers.Dense(1, name="a")(x), k.layers.Dense(1, "sigmoid", name="b")(x)]
        model = k.Model(x, outputs)
        model.compile("sgd", loss=["mse", "bce"], metrics=[["bce", "mae"], ["mse", "acc"]])
        data = np.random.default_rng(0).random((4, 3)).astype("float32")
        labels = (data[:, :1], (data[:, 1:2] > 0.5).astype("float32"))
        return sorted(model.fit(data, labels, batch_size=2, verbose=0).history)

    assert history_keys(lamina) == history_keys(keras)


@pytest.mark.parametrize("argument", ["metrics", "weighted_metrics"])
def test_metrics_dict_with_an_unknown_output_name_is_refused(argument):
    x = lamina.Input((3,))
    model = lamina.Model(x, {"a": layers.Dense(1)(x), "b": layers.Dense(1)(x)})
    model.compile("sgd", loss="mse", **{argument: {"c": ["mae"]}})
    data = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"output names \['a', 'b'\]; received \['c'\]"):
        model.fit(data, {"a": data[:, :1], "b": data[:, :1]}, verbose=0)


@pytest.mark.parametrize(
    "loss", [{"a": ["mse"], "b": "bce"}, ["mse", ["bce"]], [["mse"], ("bce",)]]
)
def test_a_loss_in_a_list_of_one_is_that_loss_as_keras(loss):
    def history_keys(k):
        x = k.Input((3,))
        outputs = [k.layers.Dense(1, name="a")(x), k.layers.Dense(1, "sigmoid", name="b")(x)]
        model = k.Model(x, outputs)
        model.compile("sgd", loss=loss)
        data = np.ones((4, 3), "float32")
        return sorted(model.fit(data, (data[:, :1], data[:, :1]), verbose=0).history)

    assert history_keys(lamina) == history_keys(keras) == ["a_loss", "b_loss", "loss"]


def _struct_loss_program(loss, loss_weights=None, outputs="list", jit_compile=False):
    """A two-output model compiled with a loss structure; fit and evaluate logs, as both
    frameworks give them."""

    def program(m):
        def whole(y_true, y_pred):  # a loss over the whole output structure
            pairs = zip(m.tree.flatten(y_true), m.tree.flatten(y_pred), strict=True)
            return sum(m.ops.mean(m.ops.abs(t - p), axis=-1) for t, p in pairs)

        spec = loss(whole)
        x = m.Input((3,))
        a = m.layers.Dense(1, name="y1", kernel_initializer="ones")(x)
        b = m.layers.Dense(1, name="y2", kernel_initializer="ones")(x)
        model = m.Model(x, {"a": a, "b": b} if outputs == "dict" else [a, b])
        model.compile("sgd", loss=spec, loss_weights=loss_weights, jit_compile=jit_compile)
        rng = np.random.default_rng(0)
        data = rng.random((8, 3), dtype="float32")
        y1, y2 = rng.random((8, 1), dtype="float32"), rng.random((8, 1), dtype="float32")
        y = {"a": y1, "b": y2} if outputs == "dict" else [y1, y2]
        history = model.fit(data, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        logs = model.evaluate(data, y, batch_size=4, verbose=0, return_dict=True)
        return {k: v for k, v in history.history.items()}, {k: float(v) for k, v in logs.items()}

    return program


STRUCT_CASES = {
    "whole-and-each": dict(loss=lambda whole: (whole, ["mse", "mae"])),
    "nested-weights": dict(
        loss=lambda whole: (whole, ["mse", "mae"]), loss_weights=(0.3, [0.5, 2.0])
    ),
    "flat-weights": dict(loss=lambda whole: (whole, ["mse", "mae"]), loss_weights=[0.3, 0.5, 2]),
    "dict-whole-and-each": dict(
        loss=lambda whole: [whole, {"a": "mse", "b": "mae"}], outputs="dict"
    ),
    "several-on-one": dict(loss=lambda whole: {"a": ["mse", "mae"], "b": "mae"}, outputs="dict"),
    "several-on-one-list": dict(loss=lambda whole: ["mse", ["mse", "mae"]]),
}


@pytest.mark.parametrize("case", list(STRUCT_CASES), ids=list(STRUCT_CASES))
def test_a_loss_structure_scores_and_logs_as_keras(case):
    # A loss over the whole output structure, several losses summed on one output, and
    # loss_weights in the loss's structure or flat: Keras 3's compile(loss=...) rules.
    ours = _struct_loss_program(**STRUCT_CASES[case])(lamina)
    theirs = reference.keras_run(_struct_loss_program(**STRUCT_CASES[case]))
    assert sorted(ours[0]) == sorted(theirs[0])
    for key in theirs[0]:
        np.testing.assert_allclose(ours[0][key], theirs[0][key], rtol=1e-5, err_msg=key)
        np.testing.assert_allclose(ours[1][key], theirs[1][key], rtol=1e-5, err_msg=key)


def test_a_loss_structure_trains_the_same_in_the_captured_step():
    case = STRUCT_CASES["nested-weights"]
    eager = _struct_loss_program(**case)(lamina)
    captured = _struct_loss_program(**case, jit_compile=True)(lamina)
    for key in eager[0]:
        np.testing.assert_allclose(captured[0][key], eager[0][key], rtol=1e-5, err_msg=key)


def test_several_losses_on_a_single_output_are_summed():
    # Keras's rules sum them; Keras 3.15's single-output fast path returns only the first
    # (a bug lamina does not copy).
    x = lamina.Input((3,))
    model = lamina.Model(x, layers.Dense(1)(x))
    model.compile("sgd", loss=["mse", "mae"], loss_weights=[0.5, 2.0])
    data = np.random.default_rng(0).random((4, 3), dtype="float32")
    y = np.ones((4, 1), "float32")
    pred = model.predict(data, verbose=0)
    expected = 0.5 * np.mean((pred - y) ** 2) + 2.0 * np.mean(np.abs(pred - y))
    logs = model.evaluate(data, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(float(expected), rel=1e-5)


def test_a_loss_structure_that_does_not_fit_the_outputs_is_refused():
    x = lamina.Input((3,))
    model = lamina.Model(x, {"a": layers.Dense(1)(x), "b": layers.Dense(1)(x)})
    model.compile("sgd", loss=["mse", {"a": "mse", "c": ["mae", "mse"]}])
    data = np.ones((2, 3), "float32")
    with pytest.raises(ValueError, match=r"loss expects keys among the outputs' \['a', 'b'\]"):
        model.fit(data, {"a": data[:, :1], "b": data[:, :1]}, verbose=0)
    model.compile("sgd", loss=(["mse", "mae"], "mse"), loss_weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="loss_weights expects one weight per loss"):
        model.fit(data, {"a": data[:, :1], "b": data[:, :1]}, verbose=0)


def _subclassed_dict_outputs(m):
    """A subclassed model returning a dict: losses, weights and metrics keyed by its keys."""

    class TwoHeads(m.Model):
        def __init__(self):
            super().__init__()
            self.one = m.layers.Dense(2, kernel_initializer="ones")
            self.two = m.layers.Dense(2, kernel_initializer="zeros")

        def call(self, x):
            return {"y_one": self.one(x), "y_two": self.two(x)}

    model = TwoHeads()
    model.compile(
        optimizer="sgd",
        loss={"y_one": "mse", "y_two": "mae"},
        loss_weights={"y_one": 0.5, "y_two": 2.0},
        metrics={"y_one": ["mae"], "y_two": ["mse"]},
    )
    x = np.ones((4, 3), "float32")
    y = {"y_one": np.zeros((4, 2), "float32"), "y_two": np.ones((4, 2), "float32")}
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0, shuffle=False)
    return history.history


def test_a_subclassed_models_dict_outputs_take_losses_by_key_as_keras():
    ours = _subclassed_dict_outputs(lamina)
    theirs = reference.keras_run(_subclassed_dict_outputs)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-5, err_msg=key)


Pair = collections.namedtuple("Pair", ["first", "second"])


def _nested_outputs(m, kind):
    """Outputs nested in a dict, or a tuple / namedtuple: fit's logs and predict's type."""
    x = m.Input((3,))
    a = m.layers.Dense(1, name="a1", kernel_initializer="ones")(x)
    b = m.layers.Dense(1, name="b1", kernel_initializer="ones")(x)
    c = m.layers.Dense(1, name="c1", kernel_initializer="ones")(x)
    data = np.ones((4, 3), "float32")
    y = np.zeros((4, 1), "float32")
    if kind == "nested-dict":
        model = m.Model(x, {"p": (a, b), "q": c})
        model.compile("sgd", loss={"p": ["mse", "mae"], "q": "mse"})
        labels = {"p": (y, y), "q": y}
    else:
        model = m.Model(x, Pair(a, b) if kind == "namedtuple" else (a, b))
        model.compile("sgd", loss="mse")
        labels = (y, y)
    history = model.fit(data, labels, batch_size=2, epochs=1, verbose=0, shuffle=False)
    predicted = model.predict(data, verbose=0)
    return history.history, type(predicted).__name__


@pytest.mark.parametrize("kind", ["nested-dict", "tuple", "namedtuple"])
def test_nested_and_tuple_outputs_train_and_predict_as_keras(kind):
    ours = _nested_outputs(lamina, kind)
    theirs = reference.keras_run(lambda m: _nested_outputs(m, kind))
    assert sorted(ours[0]) == sorted(theirs[0])
    for key in theirs[0]:
        np.testing.assert_allclose(ours[0][key], theirs[0][key], rtol=1e-5, err_msg=key)
    assert ours[1] == theirs[1]
