"""bench/conv_kernel_view.py: its torch-layout stand-in trains the numbers lamina trains, and what
it measures is what the Keras-shaped kernel's view costs (two permutes per convolution, no copy
the hand-written loop does not make)."""

import importlib
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("conv_kernel_view")


@pytest.mark.parametrize("workload", ["cnn", "resnet"])
def test_the_torch_layout_stand_in_trains_the_same_numbers(bench, workload):
    keras_losses, keras_weights = bench.trained(workload, "keras", steps=3)
    torch_losses, torch_weights = bench.trained(workload, "torch", steps=3)
    assert keras_losses == torch_losses
    assert [tuple(w.shape) for w in keras_weights] == [tuple(w.shape) for w in torch_weights]
    assert all(torch.equal(a, b) for a, b in zip(keras_weights, torch_weights, strict=True))


def test_the_keras_view_costs_two_permutes_per_convolution_and_no_copy(bench):
    keras_model, keras_step = bench.lamina_step("resnet", "keras")
    convolutions = sum(isinstance(layer, bench.convolutional._Conv) for layer in keras_model.layers)
    assert convolutions == 15
    keras_view = bench.step_profile(keras_step)
    stand_in = bench.step_profile(bench.lamina_step("resnet", "torch")[1])
    hand_written = bench.step_profile(bench.torch_step("resnet"))
    assert keras_view["permutes"] - stand_in["permutes"] == 2 * convolutions  # forward, backward
    assert keras_view["aten ops"] - stand_in["aten ops"] == 2 * convolutions
    # torch's CPU convolution backward converts channels_last kernels' gradients for both.
    backward = "aten::convolution_backward"
    assert keras_view["4-D copies"][backward] == hand_written["4-D copies"][backward]
