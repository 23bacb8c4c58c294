"""Keras's Optimizer API on lamina's optimizers, against Keras 3.15.1: a custom optimizer written
as Keras documents it (build / add_variable_from_reference / update_step / assign*) runs unchanged,
steps as in Keras and moves its slots between the two through files; and the built-ins'
exclude_from_weight_decay, set_weights, save_own_variables and stateless_apply take Keras's
variables in Keras's order."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import lamina
from lamina.saving import optimizer_state
from tests.parity.reference import keras, keras_optimizer_trajectory, keras_run


def momentum_sgd(k):
    """Keras's documented custom optimizer (SGD with momentum), for framework `k`."""

    class MomentumSGD(k.optimizers.Optimizer):
        def __init__(self, learning_rate=0.05, momentum=0.9, name="momentum_sgd", **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)
            self.momentum = momentum

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self.momentums = [
                self.add_variable_from_reference(reference_variable=v, name="momentum")
                for v in var_list
            ]

        def update_step(self, gradient, variable, learning_rate):
            learning_rate = k.ops.cast(learning_rate, variable.dtype)
            gradient = k.ops.cast(gradient, variable.dtype)
            m = self.momentums[self._get_variable_index(variable)]
            self.assign(
                m,
                k.ops.subtract(
                    k.ops.multiply(m, k.ops.cast(self.momentum, variable.dtype)),
                    k.ops.multiply(gradient, learning_rate),
                ),
            )
            self.assign_add(variable, m)

        def get_config(self):
            return {**super().get_config(), "momentum": self.momentum}

    return MomentumSGD


def mini_adam(k):
    """A custom Adam: two slots per weight made together, a variable of its own, the step count."""

    class MiniAdam(k.optimizers.Optimizer):
        def build(self, var_list):
            super().build(var_list)
            self.m, self.v = self.add_optimizer_variables(var_list, ["m", "v"])
            self.steps_seen = self.add_variable((), name="steps_seen")

        def update_step(self, gradient, variable, learning_rate):
            index = self._get_variable_index(variable)
            m, v = self.m[index], self.v[index]
            t = k.ops.cast(self.iterations + 1, variable.dtype)
            self.assign(m, 0.9 * m + 0.1 * gradient)
            self.assign(v, 0.999 * v + 0.001 * k.ops.square(gradient))
            m_hat = m / (1 - k.ops.power(0.9, t))
            v_hat = v / (1 - k.ops.power(0.999, t))
            self.assign_sub(variable, learning_rate * m_hat / (k.ops.sqrt(v_hat) + 1e-7))
            if index == 0:
                self.assign_add(self.steps_seen, 1.0)

    return MiniAdam


NAMES = ["dense/kernel", "dense/bias"]


def _problem(steps=4, seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.standard_normal((3, 2)).astype("float32"), rng.standard_normal(2)]
    initial[1] = initial[1].astype("float32")
    grads = [
        [rng.standard_normal(w.shape).astype("float32") for w in initial] for _ in range(steps)
    ]
    return initial, grads


def _weights(initial):
    weights = [torch.tensor(w, requires_grad=True) for w in initial]
    for weight, path in zip(weights, NAMES, strict=True):
        weight.path = path
    return weights


def _keras_variables(k, initial):
    return [k.Variable(w, name=n.split("/")[1]) for w, n in zip(initial, NAMES, strict=True)]


def _run(optimizer, weights, grads):
    for step_grads in grads:
        optimizer.apply([torch.tensor(g) for g in step_grads], weights)


CUSTOM_CASES = [
    (momentum_sgd, {}),
    (momentum_sgd, {"weight_decay": 0.05, "clipnorm": 0.5}),
    (momentum_sgd, {"use_ema": True, "gradient_accumulation_steps": 2}),
    (mini_adam, {"learning_rate": 0.1, "global_clipnorm": 1.0}),
]


@pytest.mark.parity
@pytest.mark.parametrize(("make", "options"), CUSTOM_CASES)
def test_custom_optimizer_steps_and_variables_equal_keras(make, options):
    initial, grads = _problem()
    expected = keras_optimizer_trajectory(lambda k: make(k)(**options), initial, grads, NAMES)
    ours = make(lamina)(**options)
    weights = _weights(initial)
    _run(ours, weights, grads)
    for mine, theirs in zip(weights, expected[-1], strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs, atol=1e-5)

    def keras_store(k):
        variables = _keras_variables(k, initial)
        optimizer = make(k)(**options)
        for step_grads in grads:
            optimizer.apply([k.ops.convert_to_tensor(g) for g in step_grads], variables)
        store = {}
        optimizer.save_own_variables(store)
        return store

    theirs, mine = keras_run(keras_store), {}
    ours.save_own_variables(mine)
    assert sorted(mine) == sorted(theirs)
    for key, value in theirs.items():
        np.testing.assert_allclose(mine[key], value, atol=1e-6, err_msg=key)
    # `variables`: Keras's list, the ones it made last, in the order it made them
    assert len(ours.variables) == len(theirs)
    assert len(ours._added_variables) == (5 if make is mini_adam else 2)
    for variable, key in zip(ours.variables, sorted(theirs, key=int), strict=True):
        np.testing.assert_allclose(variable.numpy(), theirs[key], atol=1e-6)


def _model(k):
    k.utils.set_random_seed(0)
    return k.Sequential(
        [k.Input((4,)), k.layers.Dense(3, activation="tanh"), k.layers.Dense(1)], name="net"
    )


@pytest.mark.parity
def test_custom_optimizer_fits_and_its_file_moves_between_lamina_and_keras(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 4)).astype("float32")
    y = rng.standard_normal((32, 1)).astype("float32")
    model = _model(lamina)
    model.compile(optimizer=momentum_sgd(lamina)(), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "lamina.keras")
    ours = optimizer_state.to_keras(model.optimizer)

    def keras_side(k):
        custom = {"MomentumSGD": momentum_sgd(k)}
        loaded = k.saving.load_model(tmp_path / "lamina.keras", custom_objects=custom)
        variables = [k.ops.convert_to_numpy(v) for v in loaded.optimizer.variables]
        loaded.train_on_batch(x[:8], y[:8])
        loaded.save(tmp_path / "keras.keras")
        stepped = [k.ops.convert_to_numpy(v) for v in loaded.optimizer.variables]
        return variables, stepped, loaded.get_weights()

    loaded, stepped, weights = keras_run(keras_side)
    assert len(loaded) == len(ours) == 2 + 4  # iteration, learning_rate, one momentum per weight
    for mine, theirs in zip(ours, loaded, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)
    model.train_on_batch(x[:8], y[:8])
    for mine, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)
    back = lamina.saving.load_model(
        tmp_path / "keras.keras", custom_objects={"MomentumSGD": momentum_sgd(lamina)}
    )
    for mine, theirs in zip(optimizer_state.to_keras(back.optimizer), stepped, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_custom_optimizer_runs_inside_loss_scaling_and_multi_optimizer():
    initial, grads = _problem(steps=2)
    plain = momentum_sgd(lamina)()
    reference = _weights(initial)
    _run(plain, reference, grads)
    scaled = lamina.optimizers.LossScaleOptimizer(momentum_sgd(lamina)(), initial_scale=4.0)
    weights = _weights(initial)
    for step_grads in grads:  # the gradients of a loss scaled by 4
        scaled.apply([torch.tensor(g) * 4.0 for g in step_grads], weights)
    for mine, theirs in zip(weights, reference, strict=True):
        torch.testing.assert_close(mine, theirs)
    multi = lamina.optimizers.MultiOptimizer(
        lamina.optimizers.OptimizerMap(
            momentum_sgd(lamina)(), {".*bias": lamina.optimizers.SGD(0.0)}
        )
    )
    weights = _weights(initial)
    _run(multi, weights, grads)
    torch.testing.assert_close(weights[0], reference[0])
    torch.testing.assert_close(weights[1], torch.tensor(initial[1]), msg="SGD(0) keeps the bias")


@pytest.mark.parity
@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("AdamW", {"weight_decay": 0.2}),
        ("SGD", {"weight_decay": 0.2, "momentum": 0.5}),
        ("Muon", {"weight_decay": 0.2, "adam_weight_decay": 0.3}),  # decays in its torch rule
    ],
)
@pytest.mark.parametrize("how", ["var_names", "var_list"])
def test_exclude_from_weight_decay_matches_keras(name, options, how):
    initial, grads = _problem()

    def make(k, variables):
        optimizer = getattr(k.optimizers, name)(learning_rate=0.1, **options)
        if how == "var_names":
            optimizer.exclude_from_weight_decay(var_names=["bias"])
        else:
            optimizer.exclude_from_weight_decay(var_list=variables[1:])
        return optimizer

    def keras_side(k):
        variables = _keras_variables(k, initial)
        optimizer = make(k, variables)
        for step_grads in grads:
            optimizer.apply([k.ops.convert_to_tensor(g) for g in step_grads], variables)
        return [k.ops.convert_to_numpy(v) for v in variables]

    expected = keras_run(keras_side)
    weights = _weights(initial)
    ours = make(lamina, weights)
    _run(ours, weights, grads)
    for mine, theirs in zip(weights, expected, strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs, atol=1e-5)
    # Without exclusion the bias would have decayed: the exclusion did something.
    plain = getattr(lamina.optimizers, name)(learning_rate=0.1, **options)
    decayed = _weights(initial)
    _run(plain, decayed, grads)
    assert not np.allclose(decayed[1].detach().numpy(), expected[1], atol=1e-4)
    with pytest.raises(ValueError, match="before"):
        ours.exclude_from_weight_decay(var_names=["kernel"])


@pytest.mark.parity
def test_set_weights_takes_a_keras_optimizers_variables():
    initial, grads = _problem()

    def keras_side(k):
        variables = _keras_variables(k, initial)
        optimizer = k.optimizers.Adam(learning_rate=0.1)
        for step_grads in grads[:3]:
            optimizer.apply([k.ops.convert_to_tensor(g) for g in step_grads], variables)
        state = [k.ops.convert_to_numpy(v) for v in optimizer.variables]
        weights = [k.ops.convert_to_numpy(v) for v in variables]
        optimizer.apply([k.ops.convert_to_tensor(g) for g in grads[3]], variables)
        return state, weights, [k.ops.convert_to_numpy(v) for v in variables]

    state, before, after = keras_run(keras_side)
    weights = _weights(before)
    ours = lamina.optimizers.Adam(learning_rate=0.1)
    ours.build(weights)
    ours.set_weights(state)
    assert int(ours.iterations) == 3
    _run(ours, weights, grads[3:])
    for mine, theirs in zip(weights, after, strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs, atol=1e-5)
    with pytest.raises(ValueError, match="expected 6 arrays"):
        ours.set_weights(state[:2])


@pytest.mark.parity
def test_stateless_apply_matches_keras_and_changes_nothing():
    initial, grads = _problem(steps=3)
    expected = keras_optimizer_trajectory(
        lambda k: k.optimizers.Adam(learning_rate=0.1), initial, grads, NAMES, stateless=True
    )
    weights = _weights(initial)
    ours = lamina.optimizers.Adam(learning_rate=0.1)
    ours.build(weights)
    store = {}
    ours.save_own_variables(store)
    slots = [store[str(i)] for i in range(len(store))]
    values = [torch.tensor(w) for w in initial]
    for step, step_grads in enumerate(grads):
        values, slots = ours.stateless_apply(slots, [torch.tensor(g) for g in step_grads], values)
        for mine, theirs in zip(values, expected[step], strict=True):
            np.testing.assert_allclose(mine.numpy(), theirs, atol=1e-5)
    assert int(slots[0]) == 3
    assert int(ours.iterations) == 0
    for weight, value in zip(weights, initial, strict=True):
        np.testing.assert_array_equal(weight.detach().numpy(), value)


@pytest.mark.parity
def test_builtin_update_step_and_assign_match_keras():
    initial, grads = _problem(steps=2)

    def program(k):
        variable = k.Variable(initial[0], name="kernel")
        optimizer = k.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        optimizer.build([variable])
        for g in grads:
            optimizer.update_step(k.ops.convert_to_tensor(g[0]), variable, 0.1)
        optimizer.assign_sub(variable, k.ops.ones((3, 2)))
        return k.ops.convert_to_numpy(variable), int(optimizer.iterations)

    expected, iterations = keras_run(program)
    weight = _weights(initial)[0]
    ours = lamina.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    ours.build([weight])
    for g in grads:
        ours.update_step(torch.tensor(g[0]), weight, 0.1)
    ours.assign_sub(weight, torch.ones(3, 2))
    np.testing.assert_allclose(weight.detach().numpy(), expected, atol=1e-6)
    assert int(ours.iterations) == iterations == 0


@pytest.mark.parity
def test_muon_helpers_and_loss_scale_options_match_keras():
    x = np.random.default_rng(2).standard_normal((5, 3)).astype("float32")
    theirs, ours = keras.optimizers.Muon(rms_rate=0.2), lamina.optimizers.Muon(rms_rate=0.2)
    tensor = keras.ops.convert_to_tensor(x)
    for method, args in [("zeropower_via_newtonschulz5", (5,)), ("lr_adjust", ())]:
        expected = keras.ops.convert_to_numpy(getattr(theirs, method)(tensor, *args))
        got = getattr(ours, method)(torch.tensor(x), *args)
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-5, err_msg=method)
    assert tuple(ours.transpose_last_axis(torch.tensor(x)).shape) == (3, 5)
    theirs = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(clipnorm=1.0))
    ours = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(clipnorm=1.0))
    for option in ("clipnorm", "weight_decay", "use_ema", "ema_momentum", "loss_scale_factor"):
        assert getattr(ours, option) == getattr(theirs, option), option
    grads = [np.ones(2, "float32"), np.array([1.0, np.nan], "float32")]
    for given in (grads[:1], grads):
        expected = bool(theirs.check_finite([keras.ops.convert_to_tensor(g) for g in given]))
        assert bool(ours.check_finite([torch.tensor(g) for g in given])) is expected


def test_custom_optimizer_takes_the_eager_step_under_jit_compile_and_says_why():
    x = np.linspace(-1, 1, 32, dtype="float32").reshape(8, 4)
    y = x.sum(axis=1, keepdims=True)
    model = _model(lamina)
    model.compile(optimizer=momentum_sgd(lamina)(), loss="mse", jit_compile=True)
    model._compile_state.forward = model  # not under test here: the compiled forward's own compile
    with pytest.warns(UserWarning, match="custom one: its update_step runs in Python"):
        history = model.fit(x, y, epochs=2, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_custom_optimizer_state_dict_round_trips_and_slots_follow_torchs_state():
    initial, grads = _problem(steps=3)
    ours = mini_adam(lamina)(learning_rate=0.1)
    weights = _weights(initial)
    _run(ours, weights, grads[:2])
    state = copy.deepcopy(ours.state_dict())  # as from a file: torch's state_dict aliases
    resumed = mini_adam(lamina)(learning_rate=0.1)
    again = _weights([w.detach().numpy() for w in weights])
    resumed.build(again)
    resumed.load_state_dict(state)
    assert float(resumed.steps_seen.numpy()) == 2.0
    resumed.follow_parameters()  # torch's load_state_dict again: new tensors behind the slots
    assert resumed.m[0].value is resumed.torch_optimizer.state[again[0]]["m"]
    _run(ours, weights, grads[2:])
    _run(resumed, again, grads[2:])
    for mine, theirs in zip(again, weights, strict=True):
        torch.testing.assert_close(mine, theirs)


def test_loss_scaling_keeps_the_models_weight_constraints():
    x = np.ones((4, 3), "float32")
    model = lamina.Sequential(
        [lamina.Input((3,)), lamina.layers.Dense(2, kernel_constraint="non_neg")]
    )
    optimizer = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(1.0))
    model.compile(optimizer=optimizer, loss="mse")
    model.train_on_batch(x, np.full((4, 2), -50.0, "float32"))
    assert optimizer.has_constraints
    assert model.layers[0].kernel.min() >= 0.0


def test_nesterov_without_momentum_is_a_plain_step_as_keras():
    # Keras's SGD(nesterov=True) with the default momentum 0 steps plainly; torch refuses it.
    grads = [np.full(3, 0.01, "float32"), np.arange(1, 4, dtype="float32") / 10]
    ours, theirs = lamina.Variable(np.ones(3, "float32")), keras.Variable(np.ones(3, "float32"))
    ours_opt, theirs_opt = lamina.optimizers.SGD(nesterov=True), keras.optimizers.SGD(nesterov=True)
    for grad in grads:
        ours_opt.apply_gradients([(torch.tensor(grad), ours)])
        theirs_opt.apply_gradients([(keras.ops.convert_to_tensor(grad), theirs)])
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-6)


def test_build_takes_keras_variables():
    # optimizer.build([keras.Variable(...)]) as Keras's custom loops write it.
    variable = lamina.Variable([1.0, 2.0, 3.0, 4.0])
    optimizer = lamina.optimizers.SGD(learning_rate=0.5)
    optimizer.build([variable])
    optimizer.apply_gradients([(torch.tensor([1.0, 6.0, 7.0, 2.0]), variable)])
    np.testing.assert_allclose(variable.numpy(), [0.5, -1.0, -0.5, 3.0])


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_apply_gradients_takes_numpy_and_float64_gradients(name):
    # Gradients computed by hand (NumPy, float64) for float32 weights: torch refuses such a
    # `.grad` (Keras's torch backend fails on them too); lamina takes them in the weight's dtype
    # and moves as Keras does given the same gradients as float32 tensors.
    gradients = [np.array([0.5, -1.0, 2.0], "float32"), np.array([1.0, 0.25, -0.5])]

    def program(library, convert):
        variable = library.Variable(np.ones(3, "float32"))
        optimizer = getattr(library.optimizers, name)(0.1)
        for gradient in gradients:
            optimizer.apply_gradients([(convert(gradient), variable)])
        return np.asarray(variable.numpy())

    ours = program(lamina, lambda gradient: gradient)
    theirs = keras_run(lambda k: program(k, lambda g: torch.tensor(g, dtype=torch.float32)))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)  # RMSprop: float rounding


@pytest.mark.parity
def test_a_variables_own_constraint_applies_after_apply_gradients_as_keras():
    # No model, no compile: Keras projects a bare Variable through its `constraint` after the
    # update all the same.
    start = np.array([[-0.5, 0.25], [0.75, -1.0]], dtype="float32")
    grad = np.array([[0.1, -0.2], [0.3, -0.4]], dtype="float32")
    results = []
    for ns in (keras, lamina):
        variable = ns.Variable(start)
        variable.constraint = ns.constraints.NonNeg()
        gradient = ns.ops.convert_to_tensor(grad)
        ns.optimizers.SGD(learning_rate=1.0).apply_gradients([(gradient, variable)])
        results.append(variable.numpy())
    np.testing.assert_allclose(results[1], results[0], atol=1e-7)
    assert results[1].min() >= 0.0 and results[1].max() > 0.0


@pytest.mark.parity
def test_missing_gradients_raise_or_warn_as_keras():
    for ns in (keras, lamina):
        variable = ns.Variable([[3.0, 4.0], [5.0, 6.0]])
        other = ns.Variable([[3.0, 4.0], [5.0, 6.0]])
        optimizer = ns.optimizers.SGD(learning_rate=1.0)
        with pytest.raises(ValueError, match="No gradients provided for any variable"):
            optimizer.apply_gradients([(None, variable)])
        ones = ns.ops.ones((2, 2))
        optimizer = ns.optimizers.SGD(learning_rate=1.0)
        with pytest.warns(UserWarning, match=r"(?i)gradients do not exist for variables"):
            optimizer.apply_gradients([(None, variable), (ones, other)])
        np.testing.assert_array_equal(variable.numpy(), [[3, 4], [5, 6]])
        np.testing.assert_array_equal(other.numpy(), [[2, 3], [4, 5]])


@pytest.mark.parity
def test_adamw_refuses_a_missing_weight_decay_as_keras():
    with pytest.raises(ValueError, match="weight_decay"):
        keras.optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match=r"AdamW expects `weight_decay` to be a float; received "):
        lamina.optimizers.AdamW(weight_decay=None)
    assert lamina.optimizers.AdamW(weight_decay=np.float32(0.5)).weight_decay == 0.5
