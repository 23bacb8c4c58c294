"""torch.func transforms over lamina layers and models: `grad`, `vjp`, `jvp`, `vmap`,
`functional_call`, `stack_module_state`, and `stateless_call` inside them, against plain autograd
(which runs lamina's fused kernels and hand-written backwards) and per-example loops."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import (
    functional_call,
    grad,
    jacfwd,
    jacrev,
    jvp,
    stack_module_state,
    vjp,
    vmap,
)

from lamina import config, layers, models, ops, quantizers
from lamina.layers.recurrent.lstm_sequence import LSTMSequence
from tests.conftest import TEST_DEVICE

# torch's first forward-mode call loads its jvp decompositions through torch.jit.script.
pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)


@pytest.fixture
def float64():
    """Layers built and computing in float64, so that the transformed paths (plain torch
    compositions) and autograd's (lamina's fused kernels) agree to rounding."""
    config.set_floatx("float64")
    yield
    config.set_floatx("float32")


def _randn(*shape, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64).to(TEST_DEVICE)


def _input(shape):
    # dtype named: lamina's Input(dtype=None) is float32, where Keras's is floatx.
    return layers.Input(shape, dtype=config.floatx())


def _functional_cnn():
    inputs = _input((6, 6, 2))
    x = layers.Conv2D(3, 3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    skip = layers.Conv2D(3, 1)(inputs)
    x = layers.Add()([x, skip])
    x = layers.GlobalAveragePooling2D()(x)
    return models.Model(inputs, layers.Dense(2)(x))


def _masked_lstm():
    """An LSTM behind Masking: the padded steps (zeros) carry the state over."""
    return models.Sequential([_input((4, 2)), layers.Masking(), layers.LSTM(3)])


def _sequential_cnn():
    return models.Sequential(
        [
            _input((6, 6, 2)),
            layers.Conv2D(3, 3),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(2),
        ]
    )


def _int8_dense():
    layer = layers.Dense(3)
    layer.build((None, 5))
    layer.quantize("int8")
    return layer


class _Attention(layers.Layer):
    """MultiHeadAttention called on (query, value) given as one input, for the tests' one-input
    harness."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(num_heads=2, key_dim=2)

    def call(self, x):
        return self.attention(x, x.flip(1))


# name: (layer factory, input shape, training).
CASES = {
    "dense": (lambda: layers.Dense(3), (4, 5), False),
    "int8_dense": (_int8_dense, (4, 5), False),
    "conv1d": (lambda: layers.Conv1D(3, 3), (3, 6, 2), False),
    "conv2d": (lambda: layers.Conv2D(3, 3, padding="same"), (3, 5, 5, 2), False),
    "conv3d": (lambda: layers.Conv3D(2, 2), (2, 3, 3, 3, 2), False),
    "depthwise_conv2d": (lambda: layers.DepthwiseConv2D(3), (3, 5, 5, 2), False),
    "separable_conv2d": (lambda: layers.SeparableConv2D(3, 3), (3, 5, 5, 2), False),
    "conv2d_transpose": (lambda: layers.Conv2DTranspose(3, 3, strides=2), (3, 4, 4, 2), False),
    "batch_norm_inference": (lambda: layers.BatchNormalization(), (4, 3, 3, 3), False),
    "batch_norm_training": (lambda: layers.BatchNormalization(), (4, 3, 3, 3), True),
    "batch_norm_training_2d": (lambda: layers.BatchNormalization(), (6, 3), True),
    "batch_norm_training_channels_first": (
        lambda: layers.BatchNormalization(axis=1),
        (4, 3, 3, 3),
        True,
    ),
    "layer_norm": (lambda: layers.LayerNormalization(), (4, 5), False),
    "group_norm": (lambda: layers.GroupNormalization(groups=2), (3, 4, 4, 4), False),
    "group_norm_2d": (lambda: layers.GroupNormalization(groups=2), (3, 4), False),
    "rms_norm": (lambda: layers.RMSNormalization(), (4, 5), False),
    "lstm": (lambda: layers.LSTM(3), (3, 4, 2), False),
    "lstm_sequences": (lambda: layers.LSTM(3, return_sequences=True), (3, 4, 2), False),
    "masked_lstm": (_masked_lstm, (3, 4, 2), False),
    "gru": (lambda: layers.GRU(3), (3, 4, 2), False),
    "simple_rnn": (lambda: layers.SimpleRNN(3), (3, 4, 2), False),
    "bidirectional": (lambda: layers.Bidirectional(layers.LSTM(3)), (3, 4, 2), False),
    "multi_head_attention": (_Attention, (3, 4, 4), False),
    "max_pooling2d": (lambda: layers.MaxPooling2D(), (3, 4, 4, 2), False),
    "average_pooling1d": (lambda: layers.AveragePooling1D(), (3, 4, 2), False),
    "global_average_pooling2d": (lambda: layers.GlobalAveragePooling2D(), (3, 4, 4, 2), False),
    "functional_cnn": (_functional_cnn, (3, 6, 6, 2), True),
    "sequential_cnn": (_sequential_cnn, (3, 6, 6, 2), True),
}
# Statistics across the batch: vmap gives each example its own batch, which these refuse.
_BATCH_COUPLED = {name for name, (_, _, training) in CASES.items() if training}


def _built(name):
    factory, shape, training = CASES[name]
    layer = factory()
    layer(_randn(*shape))
    x = _randn(*shape, seed=1)
    if name == "masked_lstm":
        x[0, -1] = x[1, 0] = 0.0  # padding after, padding before
    params = {k: v.detach() for k, v in layer.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in layer.named_buffers()}
    return layer, training, x, params, buffers


def _loss_of(layer, training, buffers):
    """A scalar of the layer's output against a fixed random cotangent (a sum would have a zero
    gradient through a normalized output)."""

    def loss(params, x):
        outputs = functional_call(layer, (params, buffers), (x,), {"training": training})
        return (outputs * _cotangent(outputs)).sum()

    return loss


def _cotangent(outputs):
    """Fixed, varied weights (no random draw: this runs inside vmap too)."""
    return (
        torch.arange(outputs.numel(), dtype=outputs.dtype, device=outputs.device)
        .reshape(outputs.shape)
        .mul(0.37)
        .sin()
    )


def _autograd(loss, params, x):
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    x = x.clone().requires_grad_()
    value = loss(leaves, x)
    grads = torch.autograd.grad(value, [*leaves.values(), x])
    return value, dict(zip(leaves, grads[:-1], strict=True)), grads[-1]


def _assert_close(got, expected):
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", CASES)
def test_grad_and_vjp_equal_autograd(name, float64):
    layer, training, x, params, buffers = _built(name)
    loss = _loss_of(layer, training, dict(buffers))
    value, param_grads, input_grad = _autograd(_loss_of(layer, training, dict(buffers)), params, x)

    got_params, got_input = grad(loss, argnums=(0, 1))(params, x)
    _assert_close(got_params, param_grads)
    _assert_close(got_input, input_grad)
    got_value, pullback = vjp(loss, params, x)
    _assert_close(got_value, value)
    _assert_close(pullback(torch.ones_like(got_value)), (param_grads, input_grad))


@pytest.mark.parametrize("name", CASES)
def test_jvp_equals_the_gradient_along_the_tangent(name, float64):
    layer, training, x, params, buffers = _built(name)
    loss = _loss_of(layer, training, buffers)
    _, param_grads, input_grad = _autograd(loss, params, x)
    tangents = {k: _randn(*v.shape, seed=3) for k, v in params.items()}
    x_tangent = _randn(*x.shape, seed=4)

    _, derivative = jvp(loss, (params, x), (tangents, x_tangent))
    expected = (input_grad * x_tangent).sum() + sum(
        (param_grads[k] * tangents[k]).sum() for k in params
    )
    _assert_close(derivative, expected)


@pytest.mark.parametrize(
    "name", ["batch_norm_training", "group_norm", "lstm", "multi_head_attention", "sequential_cnn"]
)
def test_reverse_and_forward_jacobians_agree(name, float64):
    layer, training, x, params, buffers = _built(name)

    def call(x):
        return functional_call(layer, (params, buffers), (x,), {"training": training})

    _assert_close(jacrev(call)(x), jacfwd(call)(x))


@pytest.mark.parametrize("name", sorted(set(CASES) - _BATCH_COUPLED))
def test_per_example_gradients_equal_the_loop(name, float64):
    layer, training, x, params, buffers = _built(name)
    loss = _loss_of(layer, training, buffers)

    def example_loss(params, example):
        return loss(params, example[None])

    got = vmap(grad(example_loss), in_dims=(None, 0))(params, x)
    for i in range(x.shape[0]):
        _, expected, _ = _autograd(loss, params, x[i : i + 1])
        _assert_close({k: v[i] for k, v in got.items()}, expected)


@pytest.mark.parametrize("name", sorted(_BATCH_COUPLED))
def test_per_example_batch_statistics_are_refused_with_a_hint(name, float64):
    layer, training, x, params, buffers = _built(name)
    loss = _loss_of(layer, training, buffers)
    with pytest.raises(ValueError, match="BatchNormalization.*training=False"):
        vmap(grad(loss), in_dims=(None, 0))(params, x[:, None])


def test_grad_through_stateless_call_returns_the_new_moving_statistics():
    model = _sequential_cnn()
    x = _randn(4, 6, 6, 2).float()
    trainable = [v.detach().clone() for v in model.trainable_variables]
    non_trainable = [v.detach().clone() for v in model.non_trainable_variables]
    before = [w.copy() for w in model.get_weights()]

    def loss(trainable):
        outputs, state = model.stateless_call(trainable, non_trainable, x, training=True)
        return outputs.square().sum(), state

    grads, state = grad(loss, has_aux=True)(trainable)

    leaves = [t.clone().requires_grad_() for t in trainable]
    outputs, expected_state = model.stateless_call(leaves, non_trainable, x, training=True)
    expected = torch.autograd.grad(outputs.square().sum(), leaves)
    torch.testing.assert_close(grads, list(expected), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(state, expected_state, rtol=1e-6, atol=1e-7)
    assert not torch.equal(state[0], non_trainable[0])  # the moving mean moved, in the copy
    for kept, now in zip(before, model.get_weights(), strict=True):
        assert (kept == now).all()  # the model itself is untouched


def test_ensemble_with_stacked_weights_trains_each_members_batch_norm():
    template = _sequential_cnn()
    members = [copy.deepcopy(template) for _ in range(3)]  # stacking wants the same names
    for seed, member in enumerate(members):
        member.set_weights([_randn(*w.shape, seed=seed).float() for w in member.get_weights()])
    x = _randn(4, 6, 6, 2).float()
    params, buffers = stack_module_state(members)

    def member(params, buffers):
        return functional_call(template, (params, buffers), (x,), {"training": True})

    got = vmap(member)(params, buffers)
    for i, model in enumerate(members):
        expected = model(x, training=True)  # updates the member's own moving statistics
        torch.testing.assert_close(got[i], expected, rtol=1e-5, atol=1e-6)
        for key, value in model.named_buffers():
            torch.testing.assert_close(buffers[key][i], value, rtol=1e-6, atol=1e-7)


def test_hessian_vector_product_equals_the_finite_difference_of_gradients(float64):
    model = _functional_cnn()
    x = _randn(3, 6, 6, 2)
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach().clone() for k, v in model.named_buffers()}
    loss = _loss_of(model, True, buffers)
    direction = {k: _randn(*v.shape, seed=5) for k, v in params.items()}

    _, got = jvp(lambda p: grad(loss)(p, x), (params,), (direction,))

    step = 1e-6  # central differences of plain autograd (lamina's own backward), float64

    def gradient_at(sign):
        shifted = {k: v + sign * step * direction[k] for k, v in params.items()}
        return _autograd(loss, shifted, x)[1]

    plus, minus = gradient_at(1.0), gradient_at(-1.0)
    expected = {k: (plus[k] - minus[k]) / (2 * step) for k in params}
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_dropout_under_vmap_follows_the_randomness_flag():
    layer = layers.Dropout(0.5)
    x = torch.ones(4, 1, 64, device=TEST_DEVICE)

    def call(example):
        return layer(example, training=True)

    different = vmap(call, randomness="different")(x)
    same = vmap(call, randomness="same")(x)
    assert not torch.equal(different[0], different[1])
    assert all(torch.equal(same[0], same[i]) for i in range(1, 4))
    assert set(same.unique().tolist()) == {0.0, 2.0}


def test_embedding_gradients_per_example_and_forward_mode(float64):
    layer = layers.Embedding(10, 3)
    ids = torch.tensor([[1, 4, 4], [7, 1, 0]], device=TEST_DEVICE)
    layer(ids)
    params = {k: v.detach() for k, v in layer.named_parameters()}
    loss = _loss_of(layer, False, {})

    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    expected = torch.autograd.grad(loss(leaves, ids), list(leaves.values()))
    _assert_close(list(grad(loss)(params, ids).values()), list(expected))
    per_example = vmap(grad(lambda p, row: loss(p, row[None])), in_dims=(None, 0))(params, ids)
    tangent = {k: _randn(*v.shape, seed=3) for k, v in params.items()}
    _, derivative = jvp(lambda p: loss(p, ids), (params,), (tangent,))
    _assert_close(
        derivative, sum((g * t).sum() for g, t in zip(expected, tangent.values(), strict=True))
    )
    for i in range(2):
        row = {k: v.clone().requires_grad_() for k, v in params.items()}
        (one,) = torch.autograd.grad(loss(row, ids[i : i + 1]), list(row.values()))
        _assert_close(per_example["embeddings"][i], one)


STATEFUL = {
    # layers whose training call writes state: a power-iteration vector and the kernel,
    # renormalization statistics, a seed generator's counter
    "spectral_normalization": (lambda: layers.SpectralNormalization(layers.Dense(3)), (4, 5)),
    "batch_renormalization": (lambda: layers.BatchNormalization(renorm=True), (6, 3)),
    "seeded_dropout": (lambda: layers.Dropout(0.5, seed=3), (4, 5)),
    "seeded_recurrent_dropout": (
        lambda: layers.LSTM(3, dropout=0.3, recurrent_dropout=0.3, seed=3),
        (3, 4, 2),
    ),
}


@pytest.mark.parametrize("name", STATEFUL)
def test_state_written_in_training_equals_the_eager_call(name, float64):
    factory, shape = STATEFUL[name]
    layer = factory()
    layer(_randn(*shape))
    x = _randn(*shape, seed=1)
    trainable = [v.detach().clone() for v in layer.trainable_variables]
    non_trainable = [v.detach().clone() for v in layer.non_trainable_variables]

    def loss(trainable, x):
        outputs, state = layer.stateless_call(trainable, non_trainable, x, training=True)
        return (outputs * _cotangent(outputs)).sum(), state

    leaves = [t.clone().requires_grad_() for t in [*trainable, x]]
    value, expected_state = loss(leaves[:-1], leaves[-1])
    expected = torch.autograd.grad(value, leaves)
    (got_trainable, got_x), state = grad(loss, argnums=(0, 1), has_aux=True)(trainable, x)

    _assert_close([*got_trainable, got_x], list(expected))
    _assert_close(state, expected_state)  # the state moved the same way, and came back
    assert all(not torch.equal(new, old) for new, old in zip(state, non_trainable, strict=True))


def test_recurrent_dropout_draws_per_example_masks_under_vmap():
    layer = layers.LSTM(3, dropout=0.5, recurrent_dropout=0.5)
    x = torch.ones(4, 1, 5, 2, device=TEST_DEVICE)
    layer(x[0])

    def call(example):
        return layer(example, training=True)

    outputs = vmap(call, randomness="different")(x)
    assert not torch.equal(outputs[0], outputs[1])


def _fake_quant(x, low, high):
    return quantizers.fake_quant_with_min_max_vars(x, low, high, num_bits=4, axis=-1)


@ops.custom_gradient
def _clipped_square(x):
    return x * x, lambda upstream: (2 * x * upstream).clamp(-1.0, 1.0)


def test_custom_functions_follow_grad_vmap_and_jvp():
    x = torch.linspace(-2.0, 2.0, 12, device=TEST_DEVICE).reshape(3, 4)
    low = torch.full((4,), -1.0, device=TEST_DEVICE)
    high = torch.tensor([1.0, 0.5, 1.5, 1.0], device=TEST_DEVICE)
    weights = torch.arange(12.0, device=TEST_DEVICE).reshape(3, 4).sin()
    tangents = (
        weights.cos(),
        torch.ones(4, device=TEST_DEVICE),
        -torch.ones(4, device=TEST_DEVICE),
    )

    def quant_loss(x, low, high):
        return (_fake_quant(x, low, high) * weights).sum()

    leaves = [t.clone().requires_grad_() for t in (x, low, high)]
    expected = torch.autograd.grad(quant_loss(*leaves), leaves)
    torch.testing.assert_close(grad(quant_loss, argnums=(0, 1, 2))(x, low, high), expected)
    _, derivative = jvp(quant_loss, (x, low, high), tangents)
    torch.testing.assert_close(
        derivative, sum((g * t).sum() for g, t in zip(expected, tangents, strict=True))
    )
    rows = vmap(grad(lambda row, w: (_fake_quant(row, low, high) * w).sum()))(x, weights)
    torch.testing.assert_close(rows, expected[0])

    leaf = x.clone().requires_grad_()
    (expected,) = torch.autograd.grad((_clipped_square(leaf) * weights).sum(), leaf)
    torch.testing.assert_close(grad(lambda x: (_clipped_square(x) * weights).sum())(x), expected)
    rows = vmap(grad(lambda row, w: (_clipped_square(row) * w).sum()))(x, weights)
    torch.testing.assert_close(rows, expected)


def test_lstm_sequence_function_per_example_gradients_equal_the_loop(float64):
    """The captured train step's hand-written LSTM (an autograd Function) under vmap."""
    x, hidden = _randn(3, 4, 2), _randn(3, 5, seed=1)
    weights = (_randn(20, 2, seed=2), _randn(20, seed=3), _randn(20, 5, seed=4))

    def loss(kernel, bias, recurrent, x, hidden):
        outputs, carry, *_ = LSTMSequence.apply(
            x, kernel, bias, recurrent, hidden, torch.zeros_like(hidden), True
        )
        return (outputs * _cotangent(outputs)).sum() + carry.sum()

    def example_loss(kernel, bias, recurrent, x, hidden):
        return loss(kernel, bias, recurrent, x[None], hidden[None])

    per_example = vmap(grad(example_loss, argnums=(0, 1, 2)), in_dims=(None, None, None, 0, 0))
    got = per_example(*weights, x, hidden)
    for i in range(3):
        leaves = [w.clone().requires_grad_() for w in weights]
        expected = torch.autograd.grad(loss(*leaves, x[i : i + 1], hidden[i : i + 1]), leaves)
        _assert_close([g[i] for g in got], list(expected))
