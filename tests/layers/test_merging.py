"""Merging layers: hand-computable values, symbolic shapes, configs and every error message."""

from __future__ import annotations

import pytest
import torch

from lamina import layers

T = torch.tensor

VALUE_CASES = [
    ("Add", {}, [T([[1.0, 2.0]]), T([[10.0, 20.0]])], T([[11.0, 22.0]])),
    ("Subtract", {}, [T([[1.0, 2.0]]), T([[10.0, 20.0]])], T([[-9.0, -18.0]])),
    ("Multiply", {}, [T([[1.0, 2.0]]), T([[10.0, 20.0]]), T([[2.0, 0.5]])], T([[20.0, 20.0]])),
    ("Average", {}, [T([[1.0, 2.0]]), T([[3.0, 8.0]])], T([[2.0, 5.0]])),
    ("Maximum", {}, [T([[1.0, 9.0]]), T([[3.0, 8.0]])], T([[3.0, 9.0]])),
    ("Minimum", {}, [T([[1.0, 9.0]]), T([[3.0, 8.0]])], T([[1.0, 8.0]])),
    ("Concatenate", {}, [T([[1.0]]), T([[2.0, 3.0]])], T([[1.0, 2.0, 3.0]])),
    ("Concatenate", {"axis": 1}, [T([[[1.0]]]), T([[[2.0]]])], T([[[1.0], [2.0]]])),
    ("Dot", {"axes": 1}, [T([[1.0, 2.0]]), T([[3.0, 4.0]])], T([[11.0]])),
    ("Dot", {"axes": 1, "normalize": True}, [T([[3.0, 0.0]]), T([[1.0, 1.0]])], T([[2**-0.5]])),
    # broadcast: (1, 2) meets (1, 2, 2) through an axis added after the batch axis
    (
        "Add",
        {},
        [T([[1.0, 2.0]]), T([[[0.0, 0.0], [10.0, 10.0]]])],
        T([[[1.0, 2.0], [11.0, 12.0]]]),
    ),
]


@pytest.mark.parametrize(
    ("layer", "config", "inputs", "expected"),
    VALUE_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(VALUE_CASES)],
)
def test_hand_computed_values(layer, config, inputs, expected):
    output = getattr(layers, layer)(**config)(inputs)
    torch.testing.assert_close(output, expected)


SHAPE_CASES = [
    ("Add", {}, [(3,), (4, 3)], (None, 4, 3)),
    ("Add", {}, [(None, 3), (None, 1)], (None, None, 3)),
    ("Multiply", {}, [(1, 3), (4, 1)], (None, 4, 3)),
    ("Concatenate", {}, [(8, 8, 3), (8, 8, 5)], (None, 8, 8, 8)),
    ("Concatenate", {"axis": 1}, [(2, 4), (None, 4)], (None, None, 4)),
    ("Dot", {"axes": (2, 1)}, [(4, 3), (3, 5)], (None, 4, 5)),
    ("Dot", {"axes": 1}, [(3,), (3,)], (None, 1)),
]


@pytest.mark.parametrize(
    ("layer", "config", "shapes", "expected"),
    SHAPE_CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(SHAPE_CASES)],
)
def test_symbolic_output_shape(layer, config, shapes, expected):
    output = getattr(layers, layer)(**config)([layers.Input(s) for s in shapes])
    assert output.shape == expected


@pytest.mark.parametrize(
    ("layer", "config"),
    [("Add", {}), ("Concatenate", {"axis": 2}), ("Dot", {"axes": [1, 2], "normalize": True})],
)
def test_config_round_trip(layer, config):
    cls = getattr(layers, layer)
    original = cls(**config)
    clone = cls.from_config(original.get_config())
    for key, value in config.items():
        assert getattr(clone, key) == (list(value) if isinstance(value, tuple) else value)
    assert clone.count_params() == 0 if clone.built else True


def test_functional_forms_match_layers():
    a, b = torch.randn(2, 3), torch.randn(2, 3)
    torch.testing.assert_close(layers.add([a, b]), a + b)
    torch.testing.assert_close(layers.subtract([a, b]), a - b)
    torch.testing.assert_close(layers.multiply([a, b]), a * b)
    torch.testing.assert_close(layers.average([a, b]), (a + b) / 2)
    torch.testing.assert_close(layers.maximum([a, b]), torch.maximum(a, b))
    torch.testing.assert_close(layers.minimum([a, b]), torch.minimum(a, b))
    torch.testing.assert_close(layers.concatenate([a, b], axis=0), torch.cat([a, b]))
    torch.testing.assert_close(layers.dot([a, b], axes=1), (a * b).sum(1, keepdim=True))


def test_masks_combine_with_or_and_concatenate_fills_missing():
    a, b = torch.ones(1, 3, 2), torch.ones(1, 3, 2)
    a._keras_mask = T([[True, False, False]])
    b._keras_mask = T([[False, True, False]])
    assert torch.equal(layers.Add()([a, b])._keras_mask, T([[True, True, False]]))
    c = torch.ones(1, 2, 2)
    joined = layers.Concatenate(axis=1)([a, c])
    assert torch.equal(joined._keras_mask, T([[True, False, False, True, True]]))
    # Maximum: a masked value never wins
    low = torch.full((1, 3, 2), -5.0)
    low._keras_mask = T([[True, True, False]])
    high = torch.full((1, 3, 2), 5.0)
    high._keras_mask = T([[False, True, True]])
    torch.testing.assert_close(layers.Maximum()([low, high])[0, :, 0], T([-5.0, 5.0, 5.0]))


ERROR_CASES = [
    (
        "not-a-list",
        lambda: layers.Add()(torch.ones(2, 3)),
        r"Layer 'add' \(Add\) expects a list of tensors; received a single input of shape \(2, 3\)"
        r".*Hint: call it as Add\(\)\(\[x1, x2\]\)",
    ),
    (
        "batch",
        lambda: layers.Add()([torch.ones(2, 3), torch.ones(3, 3)]),
        r"expects inputs with the same batch size; received shapes \[\(2, 3\), \(3, 3\)\]",
    ),
    (
        "broadcast",
        lambda: layers.Multiply()([layers.Input((3,)), layers.Input((4,))]),
        r"Layer 'multiply' \(Multiply\) expects inputs whose shapes broadcast.*"
        r"received shapes \[\(None, 3\), \(None, 4\)\]",
    ),
    (
        "broadcast-eager",
        lambda: layers.Add()([torch.ones(2, 3), torch.ones(2, 4)]),
        r"expects inputs whose shapes broadcast",
    ),
    (
        "subtract-count",
        lambda: layers.Subtract()([torch.ones(2, 3)] * 3),
        r"Layer 'subtract' \(Subtract\) expects exactly 2 inputs; received 3",
    ),
    (
        "concat-shapes",
        lambda: layers.Concatenate()([layers.Input((3, 4)), layers.Input((4, 4))]),
        r"Layer 'concatenate' \(Concatenate\) expects inputs of equal rank whose shapes match "
        r"except on the concatenation axis \(axis=-1\); received shapes "
        r"\[\(None, 3, 4\), \(None, 4, 4\)\]",
    ),
    (
        "concat-rank",
        lambda: layers.Concatenate()([torch.ones(2, 3, 4), torch.ones(2, 4)]),
        r"inputs of equal rank",
    ),
    (
        "concat-axis-type",
        lambda: layers.Concatenate(axis="x"),
        r"expects an integer `axis`; received axis='x'",
    ),
    (
        "dot-sizes",
        lambda: layers.Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 4)]),
        r"Layer 'dot' \(Dot\) expects equal sizes on the two dot axes; received size 3 \(axis 1 of "
        r"\(2, 3\)\) and size 4 \(axis 1 of \(2, 4\)\)",
    ),
    (
        "dot-count",
        lambda: layers.Dot(axes=1)([torch.ones(2, 3)] * 3),
        r"expects exactly 2 inputs; received 3",
    ),
    (
        "dot-axes",
        lambda: layers.Dot(axes=[1, 2, 3]),
        r"expects `axes` as an int or a list of two ints; received axes=\[1, 2, 3\]",
    ),
    (
        "dot-batch-axis",
        lambda: layers.Dot(axes=0)([torch.ones(2, 3), torch.ones(2, 3)]),
        r"expects `axes` that are not the batch axis \(0\); received axes=0",
    ),
]


@pytest.mark.parametrize(
    ("case", "trigger", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_error_messages(case, trigger, pattern):
    with pytest.raises(ValueError, match=pattern):
        trigger()


def test_resnet_shortcut_in_a_graph():
    inputs = layers.Input((8, 8, 16))
    x = layers.Conv2D(16, 3, padding="same")(inputs)
    y = layers.Add()([x, inputs])
    assert y.shape == (None, 8, 8, 16)


@pytest.mark.parametrize("batch_of_one", [0, 1])
def test_a_batch_of_one_broadcasts_over_a_built_graphs_batch(batch_of_one):
    # Keras checks batch sizes on the symbolic shapes only; on data the op broadcasts a batch of
    # one, as a learned latent array (ops.expand_dims(weight, 0)) added to every sample.
    import lamina

    first, second = lamina.Input((2,)), lamina.Input((2,))
    model = lamina.Model([first, second], layers.Add()([first, second]))
    inputs = [T([[1.0, 2.0]]), T([[10.0, 20.0], [30.0, 40.0]])]
    if batch_of_one:
        inputs.reverse()
    torch.testing.assert_close(model(inputs), T([[11.0, 22.0], [31.0, 42.0]]))


def test_merges_take_a_tuple_of_tensors_as_keras_does():
    x = torch.ones(2, 4, 5)
    assert tuple(layers.Add()((x, x)).shape) == (2, 4, 5)
    assert tuple(layers.Concatenate()((x, x)).shape) == (2, 4, 10)
    layer = layers.Subtract()
    layer.build(((2, 4, 5), (2, 4, 5)))
    assert layer.built
