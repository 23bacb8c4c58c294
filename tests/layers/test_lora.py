"""LoRA (layers/lora.py): what enable_lora refuses, what freezes, what the config carries, and
training under jit_compile=True. Numbers against Keras: tests/parity/test_lora_parity.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

X = torch.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype("float32"))


def built_dense(**kwargs):
    layer = layers.Dense(3, **kwargs)
    layer.build((None, 5))
    return layer


def test_an_unbuilt_layer_is_refused_with_a_hint():
    with pytest.raises(ValueError, match=r"'dense' \(Dense\) expects to be built before enable_"):
        layers.Dense(3).enable_lora(2)


def test_a_second_enable_is_refused():
    layer = built_dense()
    layer.enable_lora(2)
    with pytest.raises(ValueError, match="enable_lora\\(\\) once; received a second call"):
        layer.enable_lora(2)


def test_a_kernel_constraint_is_refused_by_name():
    layer = built_dense(kernel_constraint="non_neg")
    with pytest.raises(ValueError, match="remove the kernel_constraint argument"):
        layer.enable_lora(2)


@pytest.mark.parametrize("rank", [0, -1, 2.5, True])
def test_a_rank_that_is_not_a_positive_integer_is_refused(rank):
    with pytest.raises(ValueError, match="positive integer"):
        built_dense().enable_lora(rank)
    with pytest.raises(ValueError, match="lora_rank="):
        layers.Conv2D(4, 3, lora_rank=rank)


def test_float8_layers_are_refused():
    layer = built_dense()
    layer.quantize("float8")
    with pytest.raises(NotImplementedError, match="float, int8 and int4 kernels"):
        layer.enable_lora(2)


def test_the_kernel_freezes_and_stays_frozen_when_the_layer_is_unfrozen():
    layer = built_dense(kernel_regularizer="l2")
    layer.enable_lora(2)
    kernel = layer.weights[0]  # the stored base kernel (`layer.kernel` reads the merged one)
    assert kernel.name == "kernel" and not kernel.requires_grad
    layer.trainable = False
    layer.trainable = True
    assert not kernel.requires_grad
    assert [w.name for w in layer.trainable_weights] == ["bias", "lora_kernel_a", "lora_kernel_b"]
    # Keras's penalties follow the trainable weights: the factors', not the frozen kernel's.
    assert len(layer.losses) == 2


def test_a_layer_starts_unchanged_and_its_factors_get_gradients():
    layer = built_dense()
    before = layer(X)
    layer.enable_lora(2)
    torch.testing.assert_close(layer(X), before, rtol=0, atol=0)
    layer(X).square().sum().backward()
    assert layer.weights[0].grad is None
    assert layer.lora_kernel_a.grad is not None  # B is zero: A's gradient is zero, but flows
    assert layer.lora_kernel_b.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("make", "shape", "alpha"),
    [
        # Keras's Dense and Embedding enable at build with alpha = rank; the others keep it.
        (lambda: layers.Dense(3, lora_rank=2, lora_alpha=8), (None, 5), 2),
        (lambda: layers.Embedding(10, 3, lora_rank=2, lora_alpha=8), (None, 4), 2),
        (lambda: layers.Conv1D(3, 2, lora_rank=2, lora_alpha=8), (None, 6, 4), 8),
        (lambda: layers.EinsumDense("ab,bc->ac", 3, lora_rank=2, lora_alpha=8), (None, 5), 8),
    ],
    ids=["Dense", "Embedding", "Conv1D", "EinsumDense"],
)
def test_lora_rank_enables_at_build_and_the_config_rebuilds_it(make, shape, alpha):
    layer = make()
    layer.build(shape)
    assert layer.lora_enabled and (layer.lora_rank, layer.lora_alpha) == (2, alpha)
    config = layer.get_config()
    assert (config["lora_rank"], config["lora_alpha"]) == (2, alpha)
    again = type(layer).from_config(config)
    again.build(shape)
    assert again.lora_enabled
    assert [w.name for w in again.weights] == [w.name for w in layer.weights]


def test_a_layer_without_lora_writes_no_lora_arguments_as_keras():
    assert "lora_rank" not in built_dense().get_config()
    assert "lora_rank" not in layers.EinsumDense("ab,bc->ac", 3).get_config()


def test_loading_a_file_merges_into_the_kernel_and_zeroes_the_factors(tmp_path):
    model = lamina.Sequential([layers.Input((5,)), layers.Dense(3, lora_rank=2)])
    dense = model.layers[0]
    with torch.no_grad():
        dense.lora_kernel_b.normal_()
    want = model.predict(X, verbose=0)
    model.save_weights(tmp_path / "m.weights.h5")
    model.load_weights(tmp_path / "m.weights.h5")
    assert not dense.lora_kernel_a.any() and not dense.lora_kernel_b.any()
    np.testing.assert_allclose(model.predict(X, verbose=0), want, rtol=1e-6, atol=1e-6)


def test_a_reversible_embedding_projects_through_the_adapted_table():
    layer = layers.ReversibleEmbedding(10, 4)
    layer.build((None, 3))
    layer.enable_lora(2)
    with torch.no_grad():
        layer.lora_embeddings_b.normal_()
    hidden = torch.ones(1, 4)
    expected = hidden @ layer._lora_kernel().T
    torch.testing.assert_close(layer(hidden, reverse=True), expected)


@pytest.mark.slow
def test_jit_compile_trains_the_factors_as_the_eager_step():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((32, 5)).astype("float32"), rng.standard_normal((32, 3))
    results = []
    for jit_compile in (False, True):
        lamina.utils.set_random_seed(0)
        model = lamina.Sequential([layers.Input((5,)), layers.Dense(3, lora_rank=2)])
        model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
        model.fit(x, y.astype("float32"), batch_size=8, epochs=2, shuffle=False, verbose=0)
        state = model._compile_state.captured
        assert not jit_compile or (not state.disabled and state._compiled is not None)
        results.append(model.get_weights())
    for eager, captured in zip(*results, strict=True):
        np.testing.assert_allclose(captured, eager, rtol=1e-5, atol=1e-6)
    assert np.abs(results[1][3]).sum() > 0  # B moved


def test_the_kernel_attribute_reads_the_merged_kernel_while_files_and_state_keep_the_base():
    layer = built_dense()
    base = layer.kernel
    assert layer.kernel is base  # no LoRA: the weight itself
    layer.enable_lora(2)
    with torch.no_grad():
        layer.lora_kernel_a.fill_(0.5)
        layer.lora_kernel_b.fill_(0.25)
    merged = layer.kernel
    assert merged is not base and not isinstance(merged, torch.nn.Parameter)
    torch.testing.assert_close(merged, base + 2 * 0.5 * 0.25)
    assert layer.weights[0] is base and layer.state_dict()["kernel"] is not None
    torch.testing.assert_close(layer.state_dict()["kernel"], base.detach())
    np.testing.assert_array_equal(layer.get_weights()[0], base.detach().numpy())
    torch.testing.assert_close(layer(X), X @ merged + layer.bias)
    merged.sum().backward()  # the merged kernel's gradient reaches the factors, not the base
    assert base.grad is None and layer.lora_kernel_a.grad is not None


def test_a_subclass_may_still_set_and_delete_a_plain_kernel_attribute():
    layer = layers.Dense(3)
    layer.kernel = None  # a placeholder before build, as some subclasses write
    assert layer.kernel is None
    del layer.kernel
    layer.build((None, 5))
    assert [name for name, _ in layer.named_parameters()] == ["kernel", "bias"]


def test_moving_or_casting_a_lora_layer_keeps_its_stored_kernel():
    layer = built_dense()
    layer.enable_lora(2)
    with torch.no_grad():
        layer.lora_kernel_b.fill_(0.5)
    base = layer.weights[0].detach().clone()
    layer.to(torch.float64)
    stored = layer.weights[0]
    assert stored.name == "kernel" and isinstance(stored, torch.nn.Parameter)
    torch.testing.assert_close(stored.detach(), base.double())
    assert layer.state_dict()["kernel"].dtype == torch.float64
    layer.to(torch.float32)
    torch.testing.assert_close(layer.weights[0].detach(), base)
