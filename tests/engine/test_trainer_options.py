"""compile()'s execution options (run_eagerly, steps_per_execution, jit_compile, auto_scale_loss)
and summary()'s layer_range / expand_nested: each works as in Keras or is refused clearly."""

import re

import numpy as np
import pytest

import lamina
from lamina import layers
from tests.parity import reference


def mlp():
    return lamina.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(1)])


def arrays(n=20):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


class Hooks(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_begin(self, batch, logs=None):
        self.seen.append(("begin", batch))

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append(("end", batch))

    def on_test_batch_end(self, batch, logs=None):
        self.seen.append(("test_end", batch))


def test_defaults_before_and_after_compile_are_keras_s():
    model = mlp()
    assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == (False, 1, False)
    model.compile(loss="mse")
    assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == (False, 1, False)


def test_options_set_before_compile_are_kept_until_compile_sets_them():
    model = mlp()
    model.jit_compile = False  # Keras allows it on a model that predicts uncompiled
    model.run_eagerly = True
    model.steps_per_execution = 2
    assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == (True, 2, False)
    assert model.predict(arrays(4)[0], verbose=0).shape == (4, 1)
    model.compile(loss="mse")
    assert (model.run_eagerly, model.steps_per_execution, model.jit_compile) == (False, 1, False)
    with pytest.raises(ValueError, match="steps_per_execution expects a positive integer"):
        mlp().steps_per_execution = 0


def test_steps_per_execution_groups_the_batch_hooks_but_runs_every_step():
    model = mlp()
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=3)
    assert model.steps_per_execution == 3
    hooks = Hooks()
    x, y = arrays(20)  # batch 2: 10 steps, groups 0-2, 3-5, 6-8, 9
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, shuffle=False, callbacks=[hooks])
    assert hooks.seen == [
        ("begin", 0), ("end", 2), ("begin", 3), ("end", 5),
        ("begin", 6), ("end", 8), ("begin", 9), ("end", 9),
    ]  # fmt: skip
    assert model.optimizer.iterations == 10


def test_steps_per_execution_trains_the_same_weights_as_one_step_at_a_time():
    x, y = arrays(20)
    results = []
    for steps in (1, 4):
        lamina.utils.set_random_seed(5)
        model = mlp()
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=steps)
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False)
        results.append((history.history["loss"], model.get_weights()))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for a, b in zip(results[0][1], results[1][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_steps_per_execution_applies_to_evaluate():
    model = mlp()
    model.compile(loss="mse", steps_per_execution=2)
    hooks = Hooks()
    x, y = arrays(10)
    model.evaluate(x, y, batch_size=2, verbose=0, callbacks=[hooks])
    assert hooks.seen == [("test_end", 1), ("test_end", 3), ("test_end", 4)]


@pytest.mark.parametrize("value", [0, 1.5, None])
def test_steps_per_execution_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match="steps_per_execution expects a positive integer"):
        mlp().compile(loss="mse", steps_per_execution=value)


def test_run_eagerly_disables_the_compiled_step_and_is_reported():
    model = mlp()
    with pytest.warns(UserWarning, match="jit_compile=True is ignored"):
        model.compile(loss="mse", run_eagerly=True, jit_compile=True)
    assert model.run_eagerly and not model.jit_compile
    assert model._compile_state.captured is None and model._compile_state.forward is model
    x, y = arrays()
    model.fit(x, y, epochs=1, verbose=0)


def test_setting_run_eagerly_after_compile_drops_the_captured_step():
    model = mlp()
    model.compile(loss="mse", jit_compile=True)
    assert model.jit_compile and model._compile_state.captured is not None
    model.run_eagerly = True
    assert not model.jit_compile and model._compile_state.captured is None


def test_auto_scale_loss_is_accepted_and_kept():
    model = mlp()
    model.compile(loss="mse", auto_scale_loss=False)
    assert model._compile_state.auto_scale_loss is False


# --------------------------------------------------------------------------------------------------
# summary


def chain(L, M):
    return M.Sequential(
        [
            L.Input((3,)),
            L.Dense(4, name="first"),
            L.Dense(4, name="second"),
            L.Dense(4, name="third"),
            L.Dense(1, name="last"),
        ]
    )


def printed_layers(text, names):
    return [name for name in names if f"{name} (Dense)" in text]


@pytest.mark.parity
@pytest.mark.parametrize("layer_range", [["second", "third"], ["th.*", "sec"], ["first", "l"]])
def test_layer_range_prints_the_layers_keras_prints(layer_range):
    names = ["first", "second", "third", "last"]
    lines = []
    chain(lamina.layers, lamina).summary(layer_range=layer_range, print_fn=lines.append)
    ours = "\n".join(lines)
    expected = reference.keras_summary_text(chain, layer_range=layer_range)
    assert printed_layers(ours, names) == printed_layers(expected, names)
    assert "Total params: 61 " in ours  # the totals still count the whole model


@pytest.mark.parametrize(
    ("layer_range", "message"),
    [
        (["nothing", "last"], r"layer_range expects names matching layers of the model"),
        (["first"], r"layer_range expects a list of 2 layer names"),
    ],
)
def test_layer_range_that_matches_nothing_is_refused(layer_range, message):
    with pytest.raises(ValueError, match=message):
        chain(lamina.layers, lamina).summary(layer_range=layer_range, print_fn=lambda line: None)


def sequential_in_functional(L, M):
    inner = M.Sequential(
        [L.Input((3,)), L.Dense(4, name="d1"), L.Dense(2, name="d2")], name="inner"
    )
    inputs = L.Input((3,), name="x")
    return M.Model(inputs, L.Dense(1, name="head")(inner(inputs)), name="outer")


def functional_in_functional(L, M):
    deepest = M.Sequential([L.Input((4,)), L.Dense(2, name="e3")], name="deepest")
    a = L.Input((3,), name="a")
    inner = M.Model(a, deepest(L.Dense(4, name="e1")(a)), name="inner_f")
    inputs = L.Input((3,), name="x")
    y = inner(inputs)
    outputs = L.Add(name="add")([L.Dense(1, name="h1")(y), L.Dense(1, name="h2")(y)])
    return M.Model(inputs, outputs, name="outer2")


def _connections(cell):
    """`['h1[0][0]', 'h2[0][0]']` (Keras 2) and `h1[0][0], h2[0][0]` (Keras 3) both as
    `h1[0][0],h2[0][0]`; `[]` and `-` as ``."""
    cell = cell.replace("'", "").replace(" ", "")
    return cell[1:-1] if cell.startswith("[") else cell.strip("-")


def table_rows(text):
    """Each row of either table as `(name cell, shape, params[, connections])`: Keras 3's boxes
    (cells between `│`, rows between rules) or lamina's Keras 2 text (cells at the header's
    column starts, rows between blank lines); wrapped cells joined, and `[(None, 3)]`,
    `['x[0][0]']` and `-` spelled one way."""
    lines = text.splitlines()
    header = next(line for line in lines if "Layer (type)" in line)
    names = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    starts = [header.index(name) for name in names if name in header] + [None]
    rows, current = [], None
    for line in lines[lines.index(header) + 1 :]:
        if line.startswith("│"):
            cells = [cell[1:].rstrip() for cell in line[1:-1].split("│")]
        elif line.startswith(" ") and line.strip() and "params:" not in line:
            cells = [line[a:b].rstrip() for a, b in zip(starts, starts[1:], strict=False)]
        else:
            current = None
            continue
        if current is None:
            current = cells
            rows.append(current)
        else:  # a wrapped row: each cell continues the one above
            current[:] = [
                f"{above} {cell.strip()}".rstrip()
                for above, cell in zip(current, cells, strict=True)
            ]
    return [
        (
            re.sub(r"\s+\(", " (", row[0]),
            row[1].strip().strip("[]"),
            row[2].strip().replace(",", ""),
            *[_connections(cell) for cell in row[3:]],
        )
        for row in rows
    ]


@pytest.mark.parity
@pytest.mark.parametrize("build", [sequential_in_functional, functional_in_functional, chain])
def test_expand_nested_prints_keras_rows_under_each_nested_model(build):
    lines = []
    build(lamina.layers, lamina).summary(expand_nested=True, print_fn=lines.append)
    expected = reference.keras_summary_text(build, expand_nested=True)
    assert table_rows("\n".join(lines)) == table_rows(expected)
    totals = [line.split("(")[0].strip() for line in expected.splitlines() if "params:" in line]
    assert [line.split("(")[0].strip() for line in lines if "params:" in line] == totals


def test_expand_nested_leaves_a_model_without_nesting_unchanged():
    model, expanded, plain = mlp(), [], []
    model.summary(expand_nested=True, print_fn=expanded.append)
    model.summary(print_fn=plain.append)
    assert expanded == plain
