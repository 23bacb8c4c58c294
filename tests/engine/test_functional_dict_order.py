"""Dict inputs and outputs of functional models flatten by sorted key, as in Keras 3: the order of
`model.inputs` / `model.outputs`, `output_names`, the shapes, `model.layers`, the keys of what
`predict` returns, and the pairing of a list of losses, metrics or labels with dict outputs."""

import numpy as np
import pytest

import lamina
from tests.parity import reference

X = np.arange(8, dtype=np.float32).reshape(4, 2)


def dict_outputs(layers, lib):
    """Outputs written "b" then "a"; each Dense has a constant bias, so its output tells it."""
    inputs = lib.Input((2,), name="x")
    b = layers.Dense(1, name="db", kernel_initializer="zeros", bias_initializer="ones")(inputs)
    a = layers.Dense(2, name="da", kernel_initializer="zeros", bias_initializer="zeros")(inputs)
    return lib.Model(inputs, {"b": b, "a": a})


def dict_inputs(layers, lib):
    """Inputs written "zz" then "aa" (keys equal to names); the output concatenates zz, aa."""
    zz, aa = lib.Input((1,), name="zz"), lib.Input((2,), name="aa")
    return lib.Model({"zz": zz, "aa": aa}, layers.Concatenate(name="join")([zz, aa]))


def facts(model, feed):
    called, predicted = model(feed), model.predict(feed, verbose=0)
    return {
        "inputs": [t.node.layer.name for t in model.inputs],
        "outputs": [t.node.layer.name for t in model.outputs],
        "output_names": list(model.output_names),
        "input_shape": model.input_shape,
        "output_shape": model.output_shape,
        "layers": [layer.name for layer in model.layers],
        "call_keys": list(called) if isinstance(called, dict) else None,
        "predict_keys": list(predicted) if isinstance(predicted, dict) else None,
    }


@pytest.mark.parity
def test_dict_outputs_list_in_sorted_key_order_as_in_keras():
    ours = facts(dict_outputs(lamina.layers, lamina), X)
    assert ours["outputs"] == ["da", "db"] and ours["predict_keys"] == ["a", "b"]
    assert ours == reference.keras_functional_facts(dict_outputs, X)


@pytest.mark.parity
def test_dict_inputs_list_in_sorted_key_order_as_in_keras():
    feed = {"zz": X[:, :1], "aa": X}
    ours = facts(dict_inputs(lamina.layers, lamina), feed)
    assert ours["inputs"] == ["aa", "zz"] and ours["input_shape"] == [(None, 2), (None, 1)]
    assert ours == reference.keras_functional_facts(dict_inputs, feed)


@pytest.mark.parity
@pytest.mark.parametrize(
    "compile_kwargs",
    [
        {"loss": ["mae", "mse"]},
        {"loss": "mae", "metrics": [["mae"], ["mse"]]},
        {"loss": {"b": "mse", "a": "mae"}, "loss_weights": [10.0, 1.0]},
    ],
    ids=["losses", "metrics", "loss-weights"],
)
@pytest.mark.parametrize("labels", ["list", "dict"])
def test_lists_pair_with_dict_outputs_by_sorted_key_as_in_keras(compile_kwargs, labels):
    model = dict_outputs(lamina.layers, lamina)
    a, b = np.full((4, 2), 3.0, np.float32), np.full((4, 1), 5.0, np.float32)
    y = [a, b] if labels == "list" else {"b": b, "a": a}
    model.compile(optimizer="sgd", **compile_kwargs)
    ours = model.evaluate(X, y, verbose=0, return_dict=True)
    expected = reference.keras_evaluate(
        dict_outputs, model.get_weights(), X, y, optimizer="sgd", **compile_kwargs
    )
    assert ours == pytest.approx(expected, rel=1e-6)
    # "a" (outputs 0) meets its label 3 through the first loss; "b" (outputs 1) meets 5.
    if compile_kwargs["loss"] == ["mae", "mse"]:
        assert ours["a_loss"] == pytest.approx(3.0) and ours["b_loss"] == pytest.approx(16.0)


@pytest.mark.parity
def test_a_list_fed_to_a_dict_model_follows_keras():
    def sorted_inputs(layers, lib):
        aa, zz = lib.Input((2,), name="aa"), lib.Input((1,), name="zz")
        return lib.Model({"aa": aa, "zz": zz}, layers.Concatenate(name="join")([zz, aa]))

    feed = [X, X[:, :1]]  # sorted key order: aa, then zz
    expected, warned = reference.keras_call_outcome(sorted_inputs, feed)
    assert len(warned) == 1 and "doesn't match the expected structure" in warned[0]
    with pytest.warns(UserWarning, match=r"keys \['aa', 'zz'\]; data given as a list"):
        ours = sorted_inputs(lamina.layers, lamina)(feed)
    np.testing.assert_array_equal(ours.numpy(), expected)
    # Keys written out of sorted order leave the positions ambiguous: Keras refuses, so do we.
    keras_text, _ = reference.keras_call_outcome(dict_inputs, [X, X[:, :1]])
    assert "doesn't match the expected structure" in keras_text
    with pytest.raises(ValueError, match=r"keys \['zz', 'aa'\] \(the model's inputs are a dict\)"):
        dict_inputs(lamina.layers, lamina)([X, X[:, :1]])
