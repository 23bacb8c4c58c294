"""Sequential's attributes before and after it is built (engine/sequential.py), against Keras 3."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity import reference

# `input` / `output` too, except where Keras 3.15 lacks them on a built Sequential (its Layer
# properties want a call of the Sequential itself); lamina keeps tf.keras's `model.input`.
ATTRIBUTES = ("inputs", "outputs", "input_shape", "output_shape")


def _has(m, layers):
    model = m.Sequential(layers(m))
    return {name: hasattr(model, name) for name in ATTRIBUTES}


@pytest.mark.parametrize(
    "layers",
    [lambda m: [], lambda m: [m.layers.Dense(2)], lambda m: [m.Input((3,)), m.layers.Dense(2)]],
    ids=["empty", "unbuilt", "built"],
)
def test_the_graph_attributes_exist_once_built_as_in_keras(layers):
    assert _has(lamina, layers) == reference.keras_run(lambda m: _has(m, layers))


def test_an_unbuilt_sequential_has_no_inputs_until_built():
    model = lamina.Sequential([lamina.layers.Dense(2)], name="head")
    with pytest.raises(AttributeError, match="no attribute 'inputs'"):
        model.inputs  # noqa: B018
    model.build((None, 3))
    assert [tuple(t.shape) for t in model.outputs] == [(None, 2)]
    assert tuple(model.input.shape) == (None, 3)


def _structured_inputs(m, kind):
    """A Sequential whose first layer takes a dict or a list of inputs whole."""

    class Joined(m.layers.Layer):
        def call(self, inputs):
            parts = [inputs["a"], inputs["b"]] if kind == "dict" else inputs
            assert isinstance(inputs, dict if kind == "dict" else list)
            return parts[0] + parts[1]

    m.utils.set_random_seed(0)
    model = m.Sequential([Joined(), m.layers.Dense(1, kernel_initializer="ones")])
    a = np.linspace(0, 1, 8, dtype="float32").reshape(4, 2)
    x = {"a": a, "b": 2 * a} if kind == "dict" else [a, 2 * a]
    first = m.ops.convert_to_numpy(model(x))
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, np.ones((4, 1), "float32"), batch_size=2, verbose=0, shuffle=False)
    return first, history.history["loss"]


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_a_sequential_passes_a_dict_or_list_of_inputs_to_its_first_layer_as_keras(kind):
    ours = _structured_inputs(lamina, kind)
    theirs = reference.keras_run(lambda m: _structured_inputs(m, kind))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-5)


@pytest.mark.parametrize(
    "feed, given",
    [
        ({"wrong": np.ones((4, 4), "float32")}, r"a dict with the keys \['wrong'\]"),
        ([np.ones((4, 4), "float32")] * 2, "a list of 2 arrays"),
    ],
    ids=["dict", "list"],
)
def test_a_structure_given_to_one_input_is_refused_clearly(feed, given):
    # The first Dense got the dict whole and failed in torch's words ("'dict' object has no
    # attribute 'is_floating_point'"); fit gave "an array of shape ()" for the list.
    model = lamina.Sequential([lamina.layers.Input((4,)), lamina.layers.Dense(3)])
    model.compile("adam", "mse")
    with pytest.raises(
        ValueError, match=r"expects one input array .*\(None, 4\).*; received " + given
    ):
        model.fit(feed, np.ones((4, 3), "float32"), verbose=0)
    tensors = lamina.tree.map_structure(torch.from_numpy, feed)
    with pytest.raises(ValueError, match=r"Sequential model '.*' expects one input array of shape"):
        model(tensors)
    assert model.predict([np.ones((2, 4), "float32")], verbose=0).shape == (2, 3)  # Keras's [x]


def test_a_stack_traced_on_texts_takes_a_string_input_with_a_unit_axis():
    # TF's text tutorial exports `Sequential([vectorizer, model, Activation])`, first fit or
    # evaluated on a batch of texts (None,), then called on `Input((1,), dtype="string")`: the
    # rank rule drops the unit axis, as a call on real data does.
    texts = np.array(["a good movie", "a bad film", "good good", "bad"])
    vectorizer = lamina.layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorizer.adapt(texts)
    classifier = lamina.Sequential(
        [
            lamina.layers.Embedding(20, 4),
            lamina.layers.GlobalAveragePooling1D(),
            lamina.layers.Dense(1),
        ]
    )
    export = lamina.Sequential([vectorizer, classifier, lamina.layers.Activation("sigmoid")])
    expected = export.predict(texts, verbose=0)
    inputs = lamina.Input((1,), dtype="string")
    outputs = export(inputs)
    assert outputs.shape == (None, 1)
    model = lamina.Model(inputs, outputs)
    np.testing.assert_array_equal(model.predict(texts[:, None], verbose=0), expected)


def test_a_stack_with_a_unit_axis_input_takes_a_symbolic_input_without_it_as_keras():
    def stack(framework):
        return framework.Sequential(
            [
                framework.Input((3, 1)),
                framework.layers.Flatten(),
                framework.layers.Dense(2),
            ]
        )

    ours, theirs = stack(lamina), stack(reference.keras)
    assert ours(lamina.Input((3,))).shape == theirs(reference.keras.Input((3,))).shape == (None, 2)
