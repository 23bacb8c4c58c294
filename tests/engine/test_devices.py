"""Device semantics as Keras has them: what a user hands lamina moves to the weights' device, what
lamina hands back as NumPy comes through the CPU, and state (metrics, optimizer slots) follows the
weights. The cross-device cases need a GPU and skip without one (`bash .gpu/run.sh` runs them)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, models

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    return x, (x.sum(axis=1, keepdims=True) > 0).astype("float32")


def mlp(device=None):
    model = models.Sequential(
        [layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dense(1, "sigmoid")]
    )
    if device is not None:
        model.to(device)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_weights_device_is_found_after_build_and_forgotten_by_to():
    model = mlp()
    default = lamina.backend.default_device()
    assert model._weights_device().type == default.type
    assert layers.Flatten()._weights_device() is None
    model.to("meta")
    assert model._weights_device() is None  # meta weights: no device to move inputs to


def test_numpy_and_lists_into_a_model_land_on_its_device():
    model = mlp()
    x, _ = data()
    default = lamina.backend.default_device()
    assert model(x).device.type == default.type
    inputs = layers.Input((4,))
    pair = models.Model([inputs, layers.Input((4,))], layers.Add()([inputs, inputs]))
    assert pair([x, x]).device.type == default.type


def test_evaluate_twice_then_fit_resets_metric_state():
    model = mlp()
    x, y = data()
    first = model.evaluate(x, y, verbose=0)
    second = model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(first, second, rtol=1e-6)
    model.fit(x, y, epochs=1, verbose=0)


@needs_cuda
def test_cpu_tensors_and_arrays_go_to_a_cuda_model():
    model = mlp("cuda")
    x, y = data()
    assert model(torch.from_numpy(x)).device.type == "cuda"
    assert model([x][0]).device.type == "cuda"
    assert isinstance(model.predict(x, verbose=0), np.ndarray)
    model.fit(torch.from_numpy(x), torch.from_numpy(y), epochs=1, verbose=0)
    model.train_on_batch(x, y)
    model.test_on_batch(x, y)
    assert isinstance(model.predict_on_batch(torch.from_numpy(x)), np.ndarray)


@needs_cuda
def test_evaluate_on_cuda_twice_then_fit():
    model = mlp("cuda")
    x, y = data()
    model.evaluate(x, y, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=1, verbose=0)


@needs_cuda
def test_a_model_moved_after_training_carries_its_optimizer_state():
    x, y = data()
    moved = mlp("cpu")
    moved.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    stayed = mlp("cpu")
    stayed.set_weights(moved.get_weights())
    stayed.optimizer.torch_optimizer.load_state_dict(moved.optimizer.torch_optimizer.state_dict())
    moved.to("cuda")
    slots = [t for s in moved.optimizer.torch_optimizer.state.values() for t in s.values()]
    assert all(t.device.type == "cuda" for t in slots if t.dim() > 0)
    moved.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    stayed.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(moved.get_weights(), stayed.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


@needs_cuda
def test_a_model_saved_on_cuda_loads_on_the_cpu(tmp_path):
    x, y = data()
    model = mlp("cuda")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    previous = lamina.backend.default_device()
    lamina.backend.set_default_device("cpu")
    try:
        loaded = models.load_model(tmp_path / "m.keras")
        assert loaded._weights_device().type == "cpu"
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5
        )
    finally:
        lamina.backend.set_default_device(previous)


@needs_cuda
def test_a_seed_gives_the_same_initial_weights_on_every_device():
    built = {}
    for device in ("cpu", "cuda"):
        lamina.utils.set_random_seed(7)
        layer = layers.Dense(5)
        layer(torch.zeros(1, 4, device=device))
        built[device] = layer.get_weights()
    for cpu, cuda in zip(built["cpu"], built["cuda"], strict=True):
        np.testing.assert_array_equal(cpu, cuda)
