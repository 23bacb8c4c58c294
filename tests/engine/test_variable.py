"""lamina.Variable: Keras's variable API (values, dtypes, assignment, operators, against Keras),
and a Variable assigned to a layer as one of its weights (listed, saved, trained, regularized)."""

import numpy as np
import pytest
import torch

import lamina
from tests.parity import reference

MATRIX = [[1.5, -2.0], [3.0, 4.25]]

# Each takes (variable, module): the module is `keras` or `lamina`, so one table drives both.
FLOAT_OPERATIONS = {
    "add": lambda v, m: v + 2.0,
    "radd": lambda v, m: 2.0 + v,
    "sub": lambda v, m: v - 1.0,
    "rsub": lambda v, m: 1.0 - v,
    "mul": lambda v, m: v * 3.0,
    "truediv": lambda v, m: v / 2.0,
    "rtruediv": lambda v, m: 1.0 / v,
    "floordiv": lambda v, m: v // 2.0,
    "mod": lambda v, m: v % 2.0,
    "pow": lambda v, m: v**2,
    "matmul": lambda v, m: v @ np.eye(2, dtype="float32"),
    "neg": lambda v, m: -v,
    "abs": lambda v, m: abs(v),
    "getitem": lambda v, m: v[1],
    "eq": lambda v, m: v == 3.0,
    "lt": lambda v, m: v < 2.0,
    "ge": lambda v, m: v >= 3.0,
    "ops_add": lambda v, m: m.ops.add(v, 1.0),
    "ops_matmul": lambda v, m: m.ops.matmul(v, v),
    "ops_sum": lambda v, m: m.ops.sum(v),
    "assign_returns": lambda v, m: v.assign(np.ones((2, 2), "float32")),
    "assign_add_returns": lambda v, m: v.assign_add(np.ones((2, 2), "float32")),
    "value_after_assign_sub": lambda v, m: (v.assign_sub(np.ones((2, 2), "float32")), v.value)[1],
}
INT_OPERATIONS = {
    "add_int": lambda v, m: v + 1,
    "add_float": lambda v, m: v + 0.5,
    "floordiv": lambda v, m: v // 2,
    "truediv": lambda v, m: v / 2,
    "mul_array": lambda v, m: v * np.array([2, 3], dtype="int32"),
}


def lamina_results(initial, fns, **kwargs):
    results = {}
    for name, fn in fns.items():
        out = fn(lamina.Variable(initial, **kwargs), lamina)
        out = out.value if isinstance(out, lamina.Variable) else out
        results[name] = (lamina.ops.convert_to_numpy(out), lamina.backend.dtype_name(out.dtype))
    return results


@pytest.mark.parity
@pytest.mark.parametrize(
    ("initial", "fns", "kwargs"),
    [
        (MATRIX, FLOAT_OPERATIONS, {}),
        ([[4, 7], [-3, 9]], INT_OPERATIONS, {"trainable": False}),
    ],
    ids=["float32", "int32"],
)
def test_operators_values_and_dtypes_match_keras(initial, fns, kwargs):
    expected = reference.keras_variable_results(initial, fns, **kwargs)
    got = lamina_results(initial, fns, **kwargs)
    for name, (value, dtype) in expected.items():
        assert got[name][1] == dtype, name
        np.testing.assert_allclose(got[name][0], value, rtol=1e-6, err_msg=name)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("initial", "kwargs"),
    [
        (1.0, {}),
        (3, {"trainable": False}),
        (np.zeros((2, 3), "float64"), {"name": "w"}),
        ([1.0, 2.0], {"dtype": "float16", "trainable": False}),
    ],
)
def test_name_path_shape_dtype_match_keras(initial, kwargs):
    expected = reference.keras_variable_facts(initial, scopes=("outer", "inner"), **kwargs)
    with lamina.name_scope("outer"), lamina.name_scope("inner"):
        variable = lamina.Variable(initial, **kwargs)
    assert variable.path == f"outer/inner/{variable.name}"
    assert variable.path.rsplit("/", 1)[0] == expected["path"].rsplit("/", 1)[0]
    if "name" in kwargs:
        assert (variable.name, variable.path) == (expected["name"], expected["path"])
    assert variable.shape == expected["shape"]
    assert variable.dtype == expected["dtype"]
    assert variable.trainable == expected["trainable"]


def test_initializer_needs_a_shape_and_draws_by_seed():
    with pytest.raises(ValueError, match="an initializer needs `shape=`"):
        lamina.Variable("zeros")
    a = lamina.Variable(lamina.initializers.RandomNormal(seed=3), shape=(4, 2))
    b = lamina.Variable(lamina.initializers.RandomNormal(seed=3), shape=(4, 2))
    assert a.shape == (4, 2) and a.dtype == "float32"
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(lamina.Variable("ones", shape=(3,)).numpy(), np.ones(3))


def test_assignment_is_in_place_and_checks_the_shape():
    variable = lamina.Variable([1.0, 2.0])
    stored = variable.value
    returned = variable.assign([5.0, 6.0])
    assert variable.value is stored  # same tensor, new contents: an optimizer keeps its handle
    assert returned.tolist() == [5.0, 6.0] and variable.numpy().tolist() == [5.0, 6.0]
    with pytest.raises(ValueError, match=r"variable.shape=\(2,\), Received: value.shape=\(3,\)"):
        variable.assign([1.0, 2.0, 3.0])


def test_python_conversions_and_their_errors():
    scalar = lamina.Variable(2.5)
    assert float(scalar) == 2.5 and int(scalar) == 2
    assert np.asarray(scalar).shape == () and np.asarray(lamina.Variable(MATRIX)).shape == (2, 2)
    with pytest.raises(TypeError, match="cannot be used as a boolean"):
        bool(scalar)
    with pytest.raises(TypeError, match=r"Only scalar variables can be converted to int"):
        int(lamina.Variable(MATRIX))
    with pytest.raises(ValueError, match="without `/`"):
        lamina.Variable(1.0, name="a/b")
    with pytest.raises(ValueError, match="`aggregation` to be one of"):
        lamina.Variable(1.0, aggregation="max")


def test_torch_functions_take_it_and_gradients_reach_it():
    variable = lamina.Variable([1.0, 2.0, 3.0])
    loss = torch.sum(torch.mul(variable, variable))  # a torch function, not an operator
    loss.backward()
    assert variable.value.grad.tolist() == [2.0, 4.0, 6.0]
    inputs = lamina.Variable([[1.0, -1.0]])
    dense = lamina.layers.Dense(1, kernel_initializer="ones")
    dense(inputs).sum().backward()  # a layer takes a Variable as its input, and differentiates it
    assert inputs.value.grad.tolist() == [[1.0, 1.0]]
    frozen = lamina.Variable([1.0], trainable=False)
    assert not frozen.value.requires_grad
    frozen.trainable = True
    assert frozen.value.requires_grad


class Scale(lamina.layers.Layer):
    """y = x * scale; counts its calls in a non-trainable Variable."""

    def build(self, input_shape):
        self.scale = lamina.Variable(np.ones(input_shape[-1], "float32"), name="scale")
        self.calls = lamina.Variable(0, trainable=False, name="calls")

    def call(self, x):
        self.calls.assign_add(1)
        return x * self.scale


def test_a_variable_attribute_is_a_layer_weight():
    layer = Scale(name="scale_layer")
    layer(np.ones((2, 3), "float32"))
    assert layer.scale.path == "scale_layer/scale"  # built inside the layer's name scope
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(3,)]
    assert [tuple(w.shape) for w in layer.non_trainable_weights] == [()]
    assert layer.trainable_weights[0] is layer.scale.value
    assert set(layer.state_dict()) == {"scale_variable", "calls_variable"}
    layer.set_weights([np.array([1.0, 2.0, 3.0], "float32"), np.array(7, "int32")])
    assert layer.scale.numpy().tolist() == [1.0, 2.0, 3.0] and int(layer.calls) == 7
    assert layer(np.ones((1, 3), "float32")).tolist() == [[1.0, 2.0, 3.0]]
    assert int(layer.calls) == 8


def test_a_variable_weight_trains_by_hand_computed_sgd_steps():
    inputs = lamina.Input((1,))
    model = lamina.Model(inputs, Scale()(inputs))
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.1), loss="mse")
    x = np.array([[1.0], [2.0]], "float32")
    model.fit(x, 3.0 * x, batch_size=2, epochs=1, shuffle=False, verbose=0)
    # loss = mean((s*x - 3x)^2), d/ds = mean(2 x^2 (s - 3)) = 2 * 2.5 * (1 - 3) = -10
    np.testing.assert_allclose(model.layers[1].scale.numpy(), [2.0], rtol=1e-6)


def test_a_variable_regularizer_and_constraint_act_through_its_layer():
    class Penalised(lamina.layers.Layer):
        def __init__(self):
            super().__init__()
            variable = lamina.Variable([3.0, -4.0])
            variable.regularizer = lamina.regularizers.L2(0.5)
            variable.constraint = lamina.constraints.NonNeg()
            self.w = variable

        def call(self, x):
            return x * self.w

    layer = Penalised()
    assert [float(p.detach()) for p in layer.losses] == [pytest.approx(0.5 * (9.0 + 16.0))]
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, layer(inputs))
    model.compile(optimizer=lamina.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(np.ones((2, 2), "float32"), np.ones((2, 2), "float32"), verbose=0)
    assert layer.w.numpy().tolist() == [3.0, 0.0]  # lr 0: only the constraint moved it


@pytest.mark.parametrize(
    "read",
    [
        lambda v, m: v.numpy(),
        lambda v, m: m.ops.convert_to_numpy(v),
        lambda v, m: np.asarray(v),
    ],
    ids=["numpy", "convert_to_numpy", "asarray"],
)
@pytest.mark.parametrize("update", ["assign", "assign_add", "assign_sub"])
def test_a_value_read_as_numpy_is_a_snapshot_as_keras(read, update):
    # Keras's reads copy: an optimizer step (or any assign) after the read leaves it as it was.
    snapshots = {}
    for module in (reference.keras, lamina):
        variable = module.Variable(MATRIX)
        snapshots[module.__name__] = read(variable, module)
        getattr(variable, update)(np.ones((2, 2), dtype="float32"))
    np.testing.assert_array_equal(snapshots["lamina"], np.asarray(MATRIX, dtype="float32"))
    np.testing.assert_array_equal(snapshots["lamina"], snapshots["keras"])
