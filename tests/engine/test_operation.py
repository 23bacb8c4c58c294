"""Operation (computes on tensors, records itself on KerasTensors), Function (a callable graph) and
the Quantizer base class."""

import numpy as np
import pytest
import torch

import lamina


class Clip01(lamina.Operation):
    def call(self, x):
        return torch.clamp(x, 0.0, 1.0)


class Tile2(lamina.Operation):
    """Stated output spec: the last axis doubled (None stays None)."""

    def call(self, x):
        return torch.cat([x, x], dim=-1)

    def compute_output_spec(self, x):
        last = None if x.shape[-1] is None else 2 * x.shape[-1]
        return lamina.KerasTensor((*x.shape[:-1], last), x.dtype)


def test_an_operation_computes_on_tensors_and_records_on_keras_tensors():
    clip = Clip01(name="clip")
    assert clip(torch.tensor([-1.0, 0.25, 3.0])).tolist() == [0.0, 0.25, 1.0]
    inputs = lamina.Input((2, 3))
    outputs = clip(inputs)
    assert isinstance(outputs, lamina.KerasTensor)
    assert outputs.shape == (None, 2, 3) and outputs.dtype == "float32"
    assert clip.input is inputs and clip.output is outputs
    spec = Tile2().compute_output_spec(lamina.KerasTensor((None, 5)))
    assert spec.shape == (None, 10)


def test_a_model_built_on_operations_runs_them_with_its_layers():
    inputs = lamina.Input((3,))
    hidden = Clip01()(lamina.layers.Dense(4)(inputs))
    model = lamina.Model(inputs, Tile2()(hidden))
    assert model.output_shape == (None, 8)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    dense = model.layers[1]
    expected = np.clip(x @ dense.get_weights()[0] + dense.get_weights()[1], 0.0, 1.0)
    np.testing.assert_allclose(
        model(x).detach().numpy(), np.concatenate([expected, expected], -1), rtol=1e-6
    )


def test_a_function_computes_and_nests_as_an_operation():
    a, b = lamina.KerasTensor((None, 3)), lamina.KerasTensor((None, 3))
    function = lamina.Function([a, b], lamina.ops.sigmoid(a + b), name="gate")
    assert function.inputs == [a, b] and len(function.outputs) == 1
    out = function([np.full((2, 3), 1.0, "float32"), np.full((2, 3), -1.0, "float32")])
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 0.5))

    inputs = lamina.Input((3,))
    dense = lamina.layers.Dense(2)
    inner = lamina.Function(inputs, dense(inputs))
    new_input = lamina.Input((3,))
    outer = lamina.Model(new_input, inner(new_input) * 2.0)
    assert outer.output_shape == (None, 2)
    assert inner(lamina.KerasTensor((7, 3))).shape == (7, 2)  # another shape: inferred anew
    assert len(outer.trainable_weights) == 2  # the Function's Dense belongs to the model
    x = np.ones((4, 3), "float32")
    np.testing.assert_allclose(
        outer(x).detach().numpy(), 2.0 * dense(x).detach().numpy(), rtol=1e-6
    )


def test_a_function_gives_output_shapes_and_refuses_empty_ends():
    # As Keras's ops/function_test.py: shapes in the inputs' structure, ValueErrors when empty.
    x = lamina.KerasTensor((None, 3))
    fn = lamina.Function(x, [x**2, lamina.ops.sum(x, axis=1)])
    assert fn.compute_output_shape((None, 3)) == [(None, 3), (None,)]
    assert fn.compute_output_shape((4, 3)) == [(4, 3), (4,)]
    with pytest.raises(ValueError, match="outputs"):
        lamina.Function(x, [])
    with pytest.raises(ValueError, match="inputs"):
        lamina.Function([], x)


def test_layers_are_operations_and_configs_round_trip():
    assert isinstance(lamina.layers.Dense(1), lamina.Operation)
    assert not isinstance(Clip01(), lamina.layers.Layer)
    clip = Clip01(name="clipper")
    assert Clip01.from_config(clip.get_config()).name == "clipper"
    with pytest.raises(ValueError, match="without `/`"):
        Clip01(name="a/b")
    with pytest.raises(NotImplementedError, match="must implement call"):
        lamina.Operation()(torch.ones(1))


def test_the_quantizer_base_passes_values_through_and_subclasses_serialise():
    class Round(lamina.Quantizer):
        def __call__(self, x):
            return torch.round(x).to(torch.int8)

        def get_config(self):
            return {"output_dtype": self.output_dtype}

    x = torch.tensor([0.4, 1.6, -2.5])
    assert lamina.Quantizer()(x) is x
    assert Round()(x).tolist() == [0, 2, -2]
    assert Round.from_config({"output_dtype": "int4"}).output_dtype == "int4"
    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        lamina.Quantizer().get_config()
