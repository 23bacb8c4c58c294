"""How a functional model matches a dict of data to its inputs, against Keras 3: a model built on a
dict of Inputs is fed by that dict's keys, a model built on Inputs (one or a list) by the Input
layers' names; missing keys are an error naming them, extra keys are dropped (with a warning when
the model's inputs are a dict)."""

import numpy as np
import pytest

import lamina
from tests.parity import reference

P = np.arange(6, dtype=np.float32).reshape(2, 3)
Q = -np.arange(4, dtype=np.float32).reshape(2, 2) - 1.0


def keyed_model(layers, lib):
    """Inputs keyed "p", "q" but named "p_in", "q_in": the output concatenates them, so which
    array went where shows in the values."""
    p, q = lib.Input((3,), name="p_in"), lib.Input((2,), name="q_in")
    return lib.Model({"p": p, "q": q}, layers.Concatenate()([p, q]))


def listed_model(layers, lib):
    p, q = lib.Input((3,), name="p_in"), lib.Input((2,), name="q_in")
    return lib.Model([p, q], layers.Concatenate()([p, q]))


def build_quietly(build):
    with pytest.warns(UserWarning, match=r"Model\(inputs=dict\) maps the key"):
        return build(lamina.layers, lamina)


@pytest.mark.parity
def test_inputs_keyed_apart_from_their_names_warn_as_keras_does():
    assert len(reference.keras_construction_warnings(keyed_model)) == 2
    with pytest.warns(UserWarning) as caught:
        keyed_model(lamina.layers, lamina)
    assert [str(w.message).split(";")[0] for w in caught] == [
        "Model(inputs=dict) maps the key 'p' to the input named 'p_in'",
        "Model(inputs=dict) maps the key 'q' to the input named 'q_in'",
    ]


@pytest.mark.parity
@pytest.mark.parametrize("method", ["call", "predict"])
def test_a_dict_is_matched_by_the_keys_the_model_was_built_with(method):
    model = build_quietly(keyed_model)
    feed = {"q": Q, "p": P}
    ours = model(feed) if method == "call" else model.predict(feed, verbose=0)
    expected, warned = reference.keras_call_outcome(keyed_model, feed, method)
    assert warned == []
    np.testing.assert_array_equal(np.asarray(ours), np.concatenate([P, Q], axis=1))
    np.testing.assert_array_equal(np.asarray(ours), expected)


def test_fit_and_evaluate_feed_a_dict_by_the_models_keys():
    def scored(layers, lib):
        p, q = lib.Input((3,), name="p_in"), lib.Input((2,), name="q_in")
        joined = layers.Concatenate()([p, q])
        return lib.Model({"p": p, "q": q}, layers.Dense(1, kernel_initializer="ones")(joined))

    model = build_quietly(scored)
    model.compile(optimizer=lamina.optimizers.SGD(0.0), loss="mse")
    feed, target = {"p": P, "q": Q}, np.zeros((2, 1), np.float32)
    mse = float(np.mean(np.concatenate([P, Q], axis=1).sum(axis=1) ** 2))
    history = model.fit(feed, target, batch_size=2, epochs=1, verbose=0)
    assert history.history["loss"][0] == pytest.approx(mse, rel=1e-6)
    assert model.evaluate(feed, target, verbose=0) == pytest.approx(mse, rel=1e-6)


@pytest.mark.parity
def test_the_input_names_do_not_feed_a_model_keyed_otherwise():
    model = build_quietly(keyed_model)
    keras_text, _ = reference.keras_call_outcome(keyed_model, {"p_in": P, "q_in": Q})
    assert 'Missing data for input "p"' in keras_text
    with pytest.raises(ValueError, match=r"keys \['p', 'q'\]; received keys \['p_in', 'q_in'\]"):
        model({"p_in": P, "q_in": Q})
    with pytest.raises(ValueError, match=r"received keys \['p'\], without \['q'\]"):
        model.predict({"p": P}, verbose=0)


@pytest.mark.parity
def test_extra_keys_warn_for_a_keyed_model_and_are_dropped():
    model = build_quietly(keyed_model)
    feed = {"p": P, "q": Q, "r": P}
    expected, warned = reference.keras_call_outcome(keyed_model, feed)
    assert len(warned) == 1 and "doesn't match the expected structure" in warned[0]
    with pytest.warns(UserWarning, match=r"the data's keys \['r'\] match no input"):
        ours = model(feed)
    np.testing.assert_array_equal(ours.numpy(), expected)


@pytest.mark.parity
def test_a_model_built_on_a_list_is_fed_a_dict_by_input_names():
    model = listed_model(lamina.layers, lamina)
    feed = {"extra": P, "q_in": Q, "p_in": P}
    expected, warned = reference.keras_call_outcome(listed_model, feed, "predict")
    assert warned == []  # extra keys are dropped silently here: filterwarnings=error checks ours
    np.testing.assert_array_equal(model.predict(feed, verbose=0), expected)
    keras_text, _ = reference.keras_call_outcome(listed_model, {"p": P, "q_in": Q})
    assert 'Missing data for input "p_in"' in keras_text
    with pytest.raises(ValueError, match=r"without \['p_in'\]"):
        model({"p": P, "q_in": Q})


def test_a_single_input_model_takes_a_dict_by_its_name():
    inputs = lamina.Input((3,), name="only")
    model = lamina.Model(inputs, lamina.layers.Rescaling(2.0)(inputs))
    np.testing.assert_array_equal(model({"only": P, "other": Q}).numpy(), 2 * P)


def test_input_layer_takes_keras_2_shape_arguments_with_keras_warning():
    # Keras 3 still takes input_shape= (warning that it is deprecated) and batch_input_shape=.
    with pytest.warns(UserWarning, match="`input_shape` is deprecated"):
        layer = lamina.layers.InputLayer(input_shape=(4, 3))
    assert layer.batch_shape == (None, 4, 3)
    assert lamina.layers.InputLayer(batch_input_shape=(2, 5)).batch_shape == (2, 5)
    model = lamina.Sequential([lamina.layers.InputLayer(batch_input_shape=(None, 3))])
    assert model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="InputLayer 'shapeless' expects shape=.*received neither"):
        lamina.layers.InputLayer(name="shapeless")
    # Keras refuses a batch_shape beside shape or batch_size: one would silently win
    with pytest.raises(ValueError, match=r"not both; received batch_shape=\(2, 3\) and shape="):
        lamina.layers.InputLayer(shape=(3,), batch_shape=(2, 3))
    with pytest.raises(ValueError, match=r"not both; received batch_shape=\(2, 3\) and batch_size"):
        lamina.Input(batch_size=4, batch_shape=(2, 3))


def test_input_layer_adopts_an_existing_keras_tensor_as_keras_does():
    # Keras's InputLayer(input_tensor=) / Input(tensor=): the tensor itself becomes the layer's
    # output, so a graph traced from it starts at the new InputLayer.
    hidden = lamina.layers.Dense(3, name="upstream")(lamina.Input((2,)))
    layer = lamina.layers.InputLayer(input_tensor=hidden)
    assert layer.output is hidden and layer.batch_shape == (None, 3)
    assert lamina.Input(tensor=hidden, shape=(3,), dtype="float32") is hidden
    model = lamina.Model(hidden, lamina.layers.Dense(1, name="head")(hidden))
    assert [type(each).__name__ for each in model.layers] == ["InputLayer", "Dense"]
    assert model.predict(P, verbose=0).shape == (2, 1)
    with pytest.raises(ValueError, match=r"agree with input_tensor .*received shape=\(4,\)"):
        lamina.Input(tensor=hidden, shape=(4,))
    with pytest.raises(ValueError, match=r"input_tensor as a KerasTensor .*received ndarray"):
        lamina.layers.InputLayer(input_tensor=P)


def test_wrong_input_count_names_the_model_and_how_to_feed_it():
    p, q = lamina.Input((3,), name="p_in"), lamina.Input((2,), name="q_in")
    model = lamina.Model([p, q], lamina.layers.Concatenate()([p, q]), name="pair")
    with pytest.raises(ValueError, match=r"Model 'pair' expects 2 input array\(s\) .*received 1\."):
        model(P)
    with pytest.raises(ValueError, match=r"a list of 2 arrays in that order, or a dict keyed"):
        model(P)
    fn = lamina.Function([p, q], lamina.ops.concatenate([p, q], axis=-1), name="joined")
    with pytest.raises(ValueError, match=r"Function 'joined' expects 2 input array"):
        fn([P])


def _optional_input_model(k):
    class AddIfGiven(k.layers.Layer):
        def call(self, x, y=None):
            return x if y is None else x + y

        def compute_output_shape(self, x_shape):
            return x_shape

    first, second = k.Input((2,), name="first"), k.Input((2,), name="second", optional=True)
    return k.Model([first, second], AddIfGiven()(first, second))


def test_an_optional_input_takes_none_as_keras():
    ones = np.ones((2, 2), "float32")
    for given in (None, ones):
        results = [
            np.asarray(k.ops.convert_to_numpy(_optional_input_model(k)([ones, given])))
            for k in (lamina, reference.keras)
        ]
        np.testing.assert_allclose(results[0], results[1])
    with pytest.raises(ValueError, match="Input 'first' expects an array .* received None"):
        _optional_input_model(lamina)([None, ones])
