"""Operations recorded in a functional graph (`x + y`, `ops.mean(x, axis=1)`, `x[:, 0]`) are
saved as Keras saves them (operation classes `Add`, `Mean`, `GetItem`) and rebuilt by name;
summary() names them by those classes too."""

import numpy as np
import pytest

import lamina
from tests.parity import reference

X = np.random.default_rng(0).random((2, 4, 3)).astype("float32")


def _graph_with_operations(m, reduce=True):
    inputs = m.Input((4, 3))
    hidden = m.layers.Dense(3)(inputs) + inputs * 2.0
    hidden = m.ops.mean(hidden, axis=1) if reduce else hidden[:, 1]
    return m.Model(inputs, m.layers.Dense(2)(hidden) - inputs[:, 0, 1:])


def _saved(m, path, reduce=True):
    model = _graph_with_operations(m, reduce)
    model.save(path)
    return model.predict(X, verbose=0)


def test_a_graph_with_operations_reloads_with_its_names_and_numbers(tmp_path):
    model = _graph_with_operations(lamina)
    path = str(tmp_path / "ops.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(
        loaded.predict(X, verbose=0), model.predict(X, verbose=0), rtol=1e-6, atol=1e-7
    )


def test_summary_names_an_operation_by_its_keras_class(capsys):
    _graph_with_operations(lamina).summary()
    table = capsys.readouterr().out
    assert "add (Add)" in table and "get_item (GetItem)" in table and "OpLayer" not in table


@pytest.mark.parity
def test_lamina_loads_operations_keras_saved(tmp_path):
    path = str(tmp_path / "keras_ops.keras")
    expected = reference.keras_run(lambda m: _saved(m, path))  # Mean keeps axis in its config
    loaded = lamina.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parity
def test_keras_loads_arithmetic_and_indexing_lamina_saved(tmp_path):
    path = str(tmp_path / "lamina_ops.keras")
    expected = _saved(lamina, path, reduce=False)

    def load(m):
        return m.models.load_model(path).predict(X, verbose=0)

    np.testing.assert_allclose(reference.keras_run(load), expected, rtol=1e-5, atol=1e-6)
