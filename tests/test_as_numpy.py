"""lamina.backend.as_numpy: the one way a tensor becomes NumPy (any device, any dtype)."""

import ml_dtypes
import numpy as np
import pytest
import torch

import lamina
from lamina.backend import as_numpy


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        ([1.5, -2.0, 65504.0], torch.float16, np.float16),
        ([True, False], torch.bool, np.bool_),
        ([3, -4], torch.int32, np.int32),
        ([3, -4], torch.int64, np.int64),
        ([7, 200], torch.uint8, np.uint8),
        ([0.1, 2.0], torch.float32, np.float32),
        ([0.1, 2.0], torch.float64, np.float64),
    ],
)
def test_dtypes_are_kept(values, dtype, expected):
    array = as_numpy(torch.tensor(values, dtype=dtype))
    assert array.dtype == expected
    np.testing.assert_array_equal(array, np.asarray(values, dtype=expected))


def test_bfloat16_is_ml_dtypes_bfloat16_with_the_same_values():
    tensor = torch.tensor([1.5, -3.140625, 3.0e38], dtype=torch.bfloat16, requires_grad=True)
    array = as_numpy(tensor * 1)  # a non-leaf with a gradient graph: detached on the way
    assert array.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(array.astype(np.float32), tensor.detach().float().numpy())


def test_float32_tensor_with_a_gradient_gives_its_values_unchanged():
    tensor = torch.tensor([[0.1, 0.2]], requires_grad=True)
    array = as_numpy(tensor)
    assert array.dtype == np.float32 and array.shape == (1, 2)
    np.testing.assert_array_equal(array, np.array([[0.1, 0.2]], dtype=np.float32))


def test_non_tensors_pass_through_np_asarray():
    assert as_numpy([1, 2]).tolist() == [1, 2]
    source = np.zeros(3, dtype=np.float16)
    assert as_numpy(source) is source


def test_the_tensor_is_copied_to_the_cpu(monkeypatch):
    # No GPU here: record that the copy to the host is asked for (a CUDA tensor needs it).
    calls = []
    original = torch.Tensor.cpu

    def recording_cpu(self, *args, **kwargs):
        calls.append(self.dtype)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.Tensor, "cpu", recording_cpu)
    as_numpy(torch.ones(2, dtype=torch.bfloat16))
    as_numpy(torch.ones(2, dtype=torch.float16))
    assert calls == [torch.bfloat16, torch.float16]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32"])
def test_variable_numpy_follows_as_numpy(dtype):
    variable = lamina.Variable(np.array([1.5, -0.25]), dtype=dtype)
    array = variable.numpy()
    assert array.dtype.name == dtype
    np.testing.assert_array_equal(array.astype("float32"), [1.5, -0.25])
    assert np.asarray(variable, dtype="float32").tolist() == [1.5, -0.25]
    assert f"dtype={dtype}" in repr(variable)  # repr prints the value through numpy()


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.int32, torch.bool])
def test_from_numpy_inverts_as_numpy_exactly(dtype):
    source = torch.tensor([[1.5, -3.140625], [0.0, 2.0]]).to(dtype)
    back = lamina.backend.from_numpy(as_numpy(source))
    assert back.dtype == dtype and back.device.type == "cpu"
    assert torch.equal(back, source)
    scalar = lamina.backend.from_numpy(as_numpy(source[0, 0]))
    assert scalar.shape == () and scalar.dtype == dtype


def test_convert_to_tensor_takes_bfloat16_arrays():
    array = np.array([1.5, -0.25], dtype=ml_dtypes.bfloat16)
    tensor = lamina.ops.convert_to_tensor(array)
    assert tensor.dtype == torch.bfloat16 and tensor.tolist() == [1.5, -0.25]
    assert lamina.ops.convert_to_tensor(array, dtype="float32").dtype == torch.float32


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_set_weights_takes_what_get_weights_gives(dtype):
    layer = lamina.layers.Conv2D(2, 3, dtype=dtype)  # a kernel with a layout change on the way
    layer.build((None, 5, 5, 1))
    other = lamina.layers.Conv2D(2, 3, dtype=dtype, kernel_initializer="ones")
    other.build((None, 5, 5, 1))
    other.set_weights(layer.get_weights())
    for theirs, ours in zip(layer.get_weights(), other.get_weights(), strict=True):
        assert ours.dtype.name == dtype
        np.testing.assert_array_equal(ours.astype("float32"), theirs.astype("float32"))
    assert torch.equal(other.kernel, layer.kernel)


def test_bfloat16_arrays_feed_predict_fit_and_functional_calls():
    # predict of a bfloat16 model gives ml_dtypes arrays; they go back in as inputs.
    inputs = lamina.Input((2,))
    model = lamina.Model(inputs, lamina.layers.Dense(1, kernel_initializer="ones")(inputs))
    x = np.array([[1.5, 2.0], [0.25, -1.0]], dtype=ml_dtypes.bfloat16)
    np.testing.assert_array_equal(model.predict(x, verbose=0), [[3.5], [-0.75]])
    np.testing.assert_array_equal(as_numpy(model(x)), [[3.5], [-0.75]])
    model.compile(optimizer="sgd", loss="mse")
    assert np.isfinite(model.fit(x, np.zeros((2, 1)), verbose=0).history["loss"][0])
    bad = x.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        model.fit(bad, np.zeros((2, 1)), verbose=0)


def test_bfloat16_dataset_leaves_become_numpy():
    from lamina.data import Dataset, structure

    tensor = torch.tensor([[1.5], [2.5], [3.5], [4.5]], dtype=torch.bfloat16)
    batches = list(Dataset.from_tensor_slices(tensor).batch(2).as_numpy_iterator())
    assert [b.dtype.name for b in batches] == ["bfloat16", "bfloat16"]
    assert [b.ravel().tolist() for b in batches] == [[1.5, 2.5], [3.5, 4.5]]
    gathered = structure.slice_leaf(tensor, np.array([2, 0]))
    assert gathered.dtype == torch.bfloat16 and gathered.ravel().tolist() == [3.5, 1.5]


def test_configs_and_features_take_bfloat16_tensors():
    from lamina.utils import feature_data

    mean, variance = torch.tensor([1.5], dtype=torch.bfloat16), torch.tensor([4.0])
    config = lamina.layers.Normalization(mean=mean, variance=variance).get_config()
    assert (config["mean"], config["variance"]) == ([1.5], [4.0])
    scale = torch.tensor([0.5, 0.25], dtype=torch.bfloat16)
    rescaling = lamina.layers.Rescaling(scale=scale, offset=1.0)
    assert rescaling.get_config()["scale"] == [0.5, 0.25]
    out = rescaling(np.array([[2.0, 4.0]], dtype="float32"))
    assert out.dtype == torch.float32 and out.tolist() == [[2.0, 2.0]]
    values = feature_data.as_array(torch.tensor([0.5, 2.25], dtype=torch.bfloat16), "float32")
    assert values.dtype == np.float32 and values.tolist() == [0.5, 2.25]
