"""`optimizer.variables` lists what Keras's lists, for every built-in optimizer: the same length,
order, paths, names, shapes, dtypes and values after the same training (before it too), as
`lamina.Variable`s that read and write the optimizer's own state."""

import numpy as np
import pytest
import torch

import lamina
from tests.optimizers.test_keras_optimizer_api import mini_adam, momentum_sgd
from tests.parity.reference import flat_by_path, keras_run

# name -> optimizer from `optimizers` (lamina's or Keras's)
CASES = {
    "sgd": lambda o: o.SGD(0.1),
    "sgd-momentum": lambda o: o.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda o: o.Adam(0.01),
    "adam-amsgrad": lambda o: o.Adam(0.01, amsgrad=True),
    "adamw": lambda o: o.AdamW(0.01),
    "adamax": lambda o: o.Adamax(0.01),
    "adagrad": lambda o: o.Adagrad(0.1),
    "adadelta": lambda o: o.Adadelta(1.0),
    "rmsprop": lambda o: o.RMSprop(0.01),
    "rmsprop-centered-momentum": lambda o: o.RMSprop(0.01, momentum=0.5, centered=True),
    "nadam": lambda o: o.Nadam(0.01),
    "ftrl": lambda o: o.Ftrl(0.1),
    "lion": lambda o: o.Lion(0.01),
    "lamb": lambda o: o.Lamb(0.01),
    "adafactor": lambda o: o.Adafactor(0.01),
    "muon": lambda o: o.Muon(0.01),
    "schedule-free-adamw": lambda o: o.ScheduleFreeAdamW(0.01),
    "schedule": lambda o: o.Adam(o.schedules.ExponentialDecay(0.01, 2, 0.5)),
    "ema": lambda o: o.Adam(0.01, use_ema=True),
    "accumulation": lambda o: o.SGD(0.1, momentum=0.9, gradient_accumulation_steps=2),
    "loss-scale": lambda o: o.LossScaleOptimizer(o.SGD(0.1, momentum=0.9), initial_scale=8.0),
    "loss-scale-nadam": lambda o: o.LossScaleOptimizer(o.Nadam(0.01)),
    "multi": lambda o: o.MultiOptimizer(
        o.OptimizerMap(o.Adam(0.01), {"sequential/head/kernel": o.SGD(0.1, momentum=0.5)})
    ),
}

rng = np.random.default_rng(0)
X = rng.standard_normal((8, 3)).astype("float32")
Y = rng.standard_normal((8, 2)).astype("float32")
WEIGHTS = [rng.standard_normal(shape).astype("float32") for shape in [(3, 4), (4,), (4, 2), (2,)]]


def _listed(optimizer):
    return [
        (v.path, v.name, tuple(v.shape), str(v.dtype), np.asarray(v.numpy(), dtype="float64"))
        for v in optimizer.variables
    ]


def _train(library, make, epochs=2):
    """The variables of `make(library.optimizers)` before `compile`, once built, and after
    `epochs` epochs of 2 batches on a two-Dense model with fixed weights."""
    model = library.Sequential(
        [
            library.Input((3,)),
            library.layers.Dense(4, activation="tanh"),
            library.layers.Dense(2, name="head"),
        ]
    )
    model.set_weights(WEIGHTS)
    optimizer = make(library.optimizers)
    before = _listed(optimizer)
    optimizer.build(model.trainable_variables)
    built = _listed(optimizer)
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(X, Y, batch_size=4, epochs=epochs, shuffle=False, verbose=0)
    return before, built, _listed(optimizer)


def _fitted(library, case):
    """A two-Dense model with fixed weights, compiled with `CASES[case]`, after one epoch."""
    model = library.Sequential(
        [library.Input((3,)), library.layers.Dense(4), library.layers.Dense(2, name="head")]
    )
    model.set_weights(WEIGHTS)
    model.compile(optimizer=CASES[case](library.optimizers), loss="mse")
    model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model


def _assert_same(ours, theirs, rtol=2e-5, unread=()):
    assert [v[:4] for v in ours] == [v[:4] for v in theirs]
    for mine, reference in zip(ours, theirs, strict=True):
        if not mine[0].endswith(unread):
            np.testing.assert_allclose(mine[4], reference[4], rtol=rtol, atol=1e-6, err_msg=mine[0])


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_variables_match_keras_before_and_after_training(case):
    # ScheduleFreeAdamW: one epoch, as the weights lamina's leaves at an epoch's end are not
    # Keras's (its slots still are), so the next epoch's gradients differ.
    epochs = 1 if case == "schedule-free-adamw" else 2
    theirs = keras_run(lambda keras: _train(keras, CASES[case], epochs))
    before, built, trained = _train(lamina, CASES[case], epochs)
    _assert_same(before, theirs[0])
    # Before the first update, nothing reads the moving averages (it overwrites them): Keras's
    # are zeros, lamina's a copy of the weights.
    _assert_same(built, theirs[1], unread="_average")
    _assert_same(trained, theirs[2])


def test_elements_are_live_variables_of_the_torch_state():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    optimizer = lamina.optimizers.Adam(0.01)
    model.compile(optimizer, "mse")
    model.fit(X, Y[:, :2], batch_size=4, verbose=0)
    variables = optimizer.variables
    assert all(isinstance(v, lamina.Variable) for v in variables)
    assert optimizer.variables[2] is variables[2]  # made once per build
    kernel = model.layers[0].kernel
    momentum = variables[2]
    assert momentum.value is optimizer.torch_optimizer.state[kernel]["exp_avg"]
    momentum.assign(np.ones((3, 2), "float32"))
    assert optimizer.torch_optimizer.state[kernel]["exp_avg"].sum().item() == 6.0
    variables[0].assign(7)
    variables[1].assign(0.5)
    assert int(optimizer.iterations) == 7 and float(optimizer.learning_rate) == 0.5
    assert optimizer.torch_optimizer.state[kernel]["step"].item() == 7  # its bias correction's


def test_converted_sgd_momentum_reads_and_writes_through_the_rate():
    # Keras's momentum slot is -lr * b of torch's buffer b: reading multiplies, assigning divides.
    w = torch.nn.Parameter(torch.zeros(2))
    optimizer = lamina.optimizers.SGD(0.5, momentum=0.9)
    optimizer.apply_gradients([(torch.tensor([1.0, 2.0]), w)])
    momentum = optimizer.variables[2]
    np.testing.assert_allclose(momentum.numpy(), [-0.5, -1.0])
    momentum.assign([1.0, 1.0])
    assert optimizer.torch_optimizer.state[w]["momentum_buffer"].tolist() == [-2.0, -2.0]


@pytest.mark.parametrize("case", ["adam", "sgd-momentum", "nadam", "accumulation"])
def test_assigned_variables_drive_the_next_step_as_in_keras(case):
    # Each variable set to a value of its own in both, then one more epoch: same weights.
    def program(library):
        model = _fitted(library, case)
        for index, variable in enumerate(model.optimizer.variables):
            if variable.name == "iteration":
                variable.assign(5 if case != "accumulation" else 4)
            elif variable.name == "learning_rate":
                variable.assign(0.02)
            else:
                shape = tuple(variable.shape)
                variable.assign(np.full(shape, 0.01 * (index + 1), "float32"))
        model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        return [np.asarray(w) for w in model.get_weights()], _listed(model.optimizer)

    their_weights, theirs = keras_run(program)
    our_weights, ours = program(lamina)
    for mine, reference in zip(our_weights, their_weights, strict=True):
        np.testing.assert_allclose(mine, reference, rtol=2e-5, atol=1e-6)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("make", [momentum_sgd, mini_adam])
def test_custom_optimizer_variables_match_keras(make):
    # A custom optimizer's own variables follow Keras's iteration and learning_rate.
    def program(library):
        return _train(library, lambda optimizers: make(library)(learning_rate=0.05))

    for mine, reference in zip(program(lamina), keras_run(program), strict=True):
        _assert_same(mine, reference)


def test_loss_scaled_nadam_saves_and_loads_keras_variables():
    # Keras's LossScaleOptimizer leaves its inner Nadam's momentum product out of its list and
    # its files; lamina's list, store and loading follow it.
    def program(library):
        model = library.Sequential([library.Input((3,)), library.layers.Dense(2)])
        model.set_weights([WEIGHTS[0][:, :2], WEIGHTS[3]])
        model.compile(optimizer=CASES["loss-scale-nadam"](library.optimizers), loss="mse")
        model.fit(X, Y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        store = {}
        model.optimizer.save_own_variables(store)
        return model, store

    _, theirs = keras_run(program)
    model, ours = program(lamina)
    assert sorted(ours) == sorted(theirs)
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key], value, rtol=2e-5, atol=1e-6, err_msg=key)
    model.optimizer.load_own_variables({**theirs, "4": np.asarray(3, "int32")})
    assert model.optimizer.inner_optimizer.iterations == 3  # loaded, not skipped


@pytest.mark.parametrize("case", ["ema", "accumulation", "loss-scale", "multi"])
def test_state_tree_holds_the_variables_under_their_keras_paths(case):
    def program(library):
        model = _fitted(library, case)
        return flat_by_path(model.get_state_tree("numpy_array")["optimizer_variables"])

    theirs, ours = keras_run(program), program(lamina)
    assert list(ours) == list(theirs)
    for path, value in theirs.items():
        np.testing.assert_allclose(ours[path], value, rtol=2e-5, atol=1e-6, err_msg=path)


def test_iterations_learning_rate_and_set_weights_agree_with_the_list():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    optimizer = lamina.optimizers.SGD(0.1, momentum=0.9)
    model.compile(optimizer, "mse")
    model.fit(X, Y, batch_size=4, verbose=0)
    variables = optimizer.variables
    assert variables[0].numpy() == optimizer.iterations == 2
    assert variables[1].numpy() == np.float32(optimizer.learning_rate)
    # set_weights takes the list's values, in its order and shapes
    values = [np.full(v.shape, 0.5, v.dtype) for v in variables]
    optimizer.set_weights(values)
    assert [float(np.ravel(v.numpy())[0]) for v in variables] == [0.0, 0.5, 0.5, 0.5]
    assert optimizer.iterations == 0 and float(optimizer.learning_rate) == 0.5


def test_state_tree_keeps_both_of_adafactors_alike_named_factors():
    # Keras names a weight's row and column factors alike, and its get_state_tree raises on
    # them; lamina's tree suffixes the repeat, and the tree sets the state back.
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer=lamina.optimizers.Adafactor(0.01), loss="mse")
    model.fit(X, Y, batch_size=4, verbose=0)
    tree = model.get_state_tree("numpy_array")["optimizer_variables"]
    flat = flat_by_path(tree)
    assert {"adafactor/kernel", "adafactor/kernel_1"} <= set(flat)
    assert len(flat) == len(model.optimizer.variables)
    doubled = {path: value * 2 for path, value in flat.items()}
    model.set_state_tree({"optimizer_variables": _nested(doubled)})
    after = flat_by_path(model.get_state_tree("numpy_array")["optimizer_variables"])
    for path, value in doubled.items():
        np.testing.assert_allclose(after[path], value, err_msg=path)


def _nested(flat):
    tree = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree
