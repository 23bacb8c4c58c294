"""Cross-entropy of a softmax/sigmoid output computes from the logits the activation saved (as
Keras on TensorFlow): the same loss and gradients as Keras on torch where probabilities are not
saturated, the exact value where they are, and the probability formula whenever the logits can no
longer stand in (in-place change, another axis, a masked softmax, inference mode)."""

import math

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import lamina
from lamina import activations, layers, losses, metrics, mixed_precision
from lamina.engine import saved_logits
from tests.parity.reference import keras_dense_loss_and_grads

RNG = np.random.default_rng(11)
N, FEATURES, CLASSES = 8, 5, 4
CLIPPED = -math.log(1e-7)  # 16.118: the probability formula's cap


def _dense_case(units, activation):
    x = RNG.standard_normal((N, FEATURES)).astype("float32")
    weights = [
        (0.5 * RNG.standard_normal((FEATURES, units))).astype("float32"),
        (0.1 * RNG.standard_normal(units)).astype("float32"),
    ]
    return x, weights


def _labels(loss_class, units):
    if loss_class == "SparseCategoricalCrossentropy":
        return RNG.integers(0, units, N).astype("int64")
    if loss_class == "CategoricalCrossentropy":
        return np.eye(units, dtype="float32")[RNG.integers(0, units, N)]
    return RNG.integers(0, 2, (N, units)).astype("float32")


PARITY_CASES = [
    ("SparseCategoricalCrossentropy", CLASSES, "softmax", {}),
    ("SparseCategoricalCrossentropy", CLASSES, "softmax", {"ignore_class": 2}),
    ("SparseCategoricalCrossentropy", CLASSES, "softmax", {"ignore_class": 2, "reduction": "sum"}),
    ("SparseCategoricalCrossentropy", CLASSES, "softmax", {"reduction": "sum"}),
    ("CategoricalCrossentropy", CLASSES, "softmax", {}),
    ("CategoricalCrossentropy", CLASSES, "softmax", {"label_smoothing": 0.2}),
    ("BinaryCrossentropy", 1, "sigmoid", {}),
    ("BinaryCrossentropy", 3, "sigmoid", {"label_smoothing": 0.1}),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize(("loss_class", "units", "activation", "kwargs"), PARITY_CASES)
def test_loss_and_weight_gradients_match_keras(loss_class, units, activation, kwargs, weighted):
    x, weights = _dense_case(units, activation)
    y = _labels(loss_class, units)
    sample_weight = RNG.uniform(0.2, 2.0, N).astype("float32") if weighted else None
    expected, expected_grads = keras_dense_loss_and_grads(
        units, activation, weights, x, y, loss_class, kwargs, sample_weight
    )

    dense = layers.Dense(units, activation=activation)
    dense.build((None, FEATURES))
    dense.set_weights(weights)
    output = dense(torch.tensor(x))
    assert saved_logits.logits_of(output, activation) is not None  # the path under test
    weight = None if sample_weight is None else torch.tensor(sample_weight)
    loss = getattr(losses, loss_class)(**kwargs)(torch.tensor(y), output, sample_weight=weight)
    loss.backward()

    np.testing.assert_allclose(float(loss.detach()), expected, rtol=1e-5, atol=1e-6)
    kernel_grad = dense.kernel.grad.numpy()  # Keras's (features, units), as the kernel
    np.testing.assert_allclose(kernel_grad, expected_grads[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(dense.bias.grad.numpy(), expected_grads[1], rtol=1e-4, atol=1e-6)


SATURATED = {
    # loss, labels, logits: hand-computed exact loss 40 (the probability formula gives 16.118)
    "sparse": (losses.sparse_categorical_crossentropy, torch.tensor([0]), "softmax"),
    "categorical": (losses.categorical_crossentropy, torch.tensor([[1.0, 0.0]]), "softmax"),
    "binary": (losses.binary_crossentropy, torch.tensor([[0.0, 1.0]]), "sigmoid"),
}


def _saturated_logits(activation):
    # softmax([0, 40]) puts e^-40 on class 0; sigmoid(40) and sigmoid(-40) saturate both labels.
    values = [[0.0, 40.0]] if activation == "softmax" else [[40.0, -40.0]]
    return torch.tensor(values, requires_grad=True)


@pytest.mark.parametrize("case", sorted(SATURATED))
def test_saturated_loss_is_exact_and_keeps_a_gradient(case):
    fn, labels, activation = SATURATED[case]
    logits = _saturated_logits(activation)
    loss = fn(labels, activations.get(activation)(logits)).sum()
    loss.backward()
    # sparse/categorical: logsumexp(0, 40) - 0 = 40 + log(1 + e^-40); binary: mean(40, 40)
    assert float(loss.detach()) == pytest.approx(40.0, rel=1e-6)
    assert float(logits.grad.abs().sum()) > 0.5


@pytest.mark.parametrize("case", sorted(SATURATED))
def test_output_changed_in_place_falls_back_to_probabilities(case):
    fn, labels, activation = SATURATED[case]
    output = activations.get(activation)(_saturated_logits(activation).detach())
    output.mul_(1.0)  # same values, but the logits can no longer be trusted to be behind them
    assert saved_logits.logits_of(output, activation) is None
    value = float(fn(labels, output).sum())
    assert value == float(fn(labels, output.clone()).sum())  # a plain tensor of the same values
    assert value < CLIPPED + 1e-3  # capped by the clipping, not the exact 40


def test_softmax_over_another_axis_is_not_used_by_a_last_axis_loss():
    logits = torch.zeros(1, 2, 2)
    logits[0, 1, 0] = 40.0  # softmax over axis 1 saturates the first class column
    output = activations.softmax(logits, axis=1)
    assert saved_logits.logits_of(output, "softmax") is None
    values = losses.categorical_crossentropy(torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]), output)
    # output[0] = [[~e^-40, 0.5], [~1, 0.5]]; the probability formula renormalises each row over
    # the last axis: row 0 clips class 0 to 1e-7, row 1 gives 1 / 1.5. (The last-axis logits would
    # have given log 2 and ~0.)
    expected = [CLIPPED, math.log(1.5)]
    np.testing.assert_allclose(values[0].numpy(), expected, rtol=1e-4)


def test_a_loss_over_another_axis_does_not_use_a_last_axis_softmax():
    output = activations.softmax(torch.tensor([[[0.0, 40.0], [0.0, 0.0]]]))
    assert saved_logits.logits_of(output, "softmax", axis=-1) is not None
    assert saved_logits.logits_of(output, "softmax", axis=1) is None


def test_masked_softmax_layer_output_is_not_tagged():
    layer = layers.Softmax()
    output = layer(torch.tensor([[0.0, 40.0, 3.0]]), mask=torch.tensor([[True, True, False]]))
    assert saved_logits.logits_of(output, "softmax") is None
    value = losses.sparse_categorical_crossentropy(torch.tensor([0]), output)
    assert float(value) == pytest.approx(CLIPPED, rel=1e-4)


def test_unmasked_softmax_layer_and_activation_layer_are_tagged():
    x = torch.tensor([[0.0, 40.0]])
    for output in (layers.Softmax()(x), layers.Activation("softmax")(x)):
        assert float(losses.sparse_categorical_crossentropy(torch.tensor([0]), output)) == 40.0


def test_inference_mode_outputs_take_the_probability_formula():
    with torch.inference_mode():
        output = activations.softmax(torch.tensor([[0.0, 40.0]]))
        value = losses.sparse_categorical_crossentropy(torch.tensor([0]), output)
    assert float(value) == pytest.approx(CLIPPED, rel=1e-4)


@pytest.mark.parametrize(
    ("fn", "activation", "who"),
    [
        (losses.sparse_categorical_crossentropy, "softmax", "sparse_categorical_crossentropy"),
        (losses.binary_crossentropy, "sigmoid", "binary_crossentropy"),
    ],
)
def test_from_logits_on_an_activation_output_warns_as_keras(fn, activation, who):
    output = activations.get(activation)(torch.tensor([[0.3, -0.2]]))
    labels = torch.tensor([0]) if activation == "softmax" else torch.tensor([[1.0, 0.0]])
    with pytest.warns(UserWarning, match=f"`{who}` received `from_logits=True`, but the"):
        value = fn(labels, output, from_logits=True)
    # what was asked is computed: the probabilities taken as logits, as Keras on torch does
    expected = fn(labels, output.detach().clone(), from_logits=True)
    torch.testing.assert_close(value, expected)


def test_crossentropy_metric_uses_the_logits():
    metric = metrics.SparseCategoricalCrossentropy()
    metric.update_state(torch.tensor([0]), activations.softmax(torch.tensor([[0.0, 40.0]])))
    assert float(metric.result()) == pytest.approx(40.0)


def test_logits_survive_the_float32_cast_of_a_mixed_model_output():
    logits = torch.tensor([[0.0, 40.0]], dtype=torch.bfloat16, requires_grad=True)
    wide = mixed_precision.outputs_to_float32(activations.softmax(logits))
    assert wide.dtype == torch.float32
    value = losses.sparse_categorical_crossentropy(torch.tensor([0]), wide)
    assert value.dtype == torch.float32 and float(value.detach()) == 40.0
    value.sum().backward()
    assert logits.grad is not None and float(logits.grad.float().abs().sum()) > 0.5


def test_mixed_bfloat16_dense_softmax_fit_tracks_float32():
    def train(policy):
        mixed_precision.set_global_policy(policy)
        try:
            lamina.utils.set_random_seed(4)
            model = lamina.Sequential(
                [lamina.Input((6,)), layers.Dense(16, "relu"), layers.Dense(3, "softmax")]
            )
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
            rng = np.random.default_rng(0)
            x = rng.standard_normal((128, 6)).astype("float32")
            y = np.argmax(x[:, :3], axis=1)
            return model.fit(x, y, epochs=3, batch_size=32, verbose=0, shuffle=False).history
        finally:
            mixed_precision.set_global_policy("float32")

    full, mixed = train("float32"), train("mixed_bfloat16")
    # bfloat16's 8 significant bits over 12 Adam steps: measured within 0.6%.
    np.testing.assert_allclose(mixed["loss"], full["loss"], rtol=0.03)


class _CountOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.names: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.append(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


def test_fit_step_of_softmax_and_sparse_crossentropy_runs_the_fused_kernel():
    lamina.utils.set_random_seed(0)
    model = lamina.Sequential(
        [lamina.Input((6,)), layers.Dense(8, "relu"), layers.Dense(4, "softmax")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = torch.randn(16, 6), torch.randint(0, 4, (16,))
    model.train_step((x, y))  # the first step builds the loss and optimizer state
    with _CountOps() as counted:
        model.train_step((x, y))
    names = counted.names
    assert "nll_loss_forward" in names and "_log_softmax" in names
    for probability_op in ("clamp", "gather", "log", "scatter_add", "_softmax_backward_data"):
        assert probability_op not in names
    # measured: 47 aten ops per step (69 with the probability formula, torch 2.13 on the CPU)
    assert len(names) <= 55


@pytest.mark.parametrize("ignore_class", [None, 1])
def test_sequence_outputs_match_the_probability_formula(ignore_class):
    logits = torch.tensor(RNG.standard_normal((2, 3, CLASSES)).astype("float32"))
    labels = torch.tensor(RNG.integers(0, CLASSES, (2, 3)))
    output = activations.softmax(logits)
    plain = output.detach().clone()  # the same probabilities without their logits
    torch.testing.assert_close(
        losses.sparse_categorical_crossentropy(labels, output, ignore_class=ignore_class),
        losses.sparse_categorical_crossentropy(labels, plain, ignore_class=ignore_class),
    )
    one_hot = torch.nn.functional.one_hot(labels, CLASSES).float()
    torch.testing.assert_close(
        losses.categorical_crossentropy(one_hot, output),
        losses.categorical_crossentropy(one_hot, plain),
    )


def test_carry_keeps_the_record_valid_only_while_nothing_changes_in_place():
    x = torch.tensor([[0.0, 40.0]])
    probabilities = saved_logits.attach(torch.softmax(x, dim=1), x, "softmax", 1)
    detached = saved_logits.carry(probabilities, probabilities.detach(), detach=True)
    assert torch.equal(saved_logits.logits_of(detached, "softmax"), x)
    assert not saved_logits.logits_of(detached, "softmax").requires_grad
    assert saved_logits.logits_of(detached, "sigmoid") is None  # the activation is kept
    wide = saved_logits.carry(detached, detached.double())  # a cast: its own version counter
    assert saved_logits.logits_of(wide, "softmax") is not None
    wide.mul_(2)
    assert saved_logits.logits_of(wide, "softmax") is None
    probabilities.mul_(2)  # the source changed in place: nothing to carry any more
    assert saved_logits.carry(probabilities, probabilities.detach()) is not None
    assert (
        saved_logits.logits_of(saved_logits.carry(probabilities, probabilities + 0), "softmax")
        is None
    )
    plain = torch.sigmoid(x)
    plain._lamina_logits = tuple(saved_logits._Saved(x, "sigmoid", None, plain._version, 0))
    assert saved_logits.logits_of(plain, "sigmoid") is x  # a record copied as a plain tuple
