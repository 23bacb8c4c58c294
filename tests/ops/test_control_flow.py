"""ops.cond on a symbolic predicate: both branches are traced and must agree, as in Keras."""

import pytest

import lamina
from tests.parity import reference


def _branches(m):
    x = m.KerasTensor((None, 3))
    return {
        "same": (lambda: x * 2, lambda: x),
        "structure": (lambda: x, lambda: (x, x)),
        "dtype": (lambda: x, lambda: m.ops.cast(x, "int32")),
        "shape": (lambda: x, lambda: x[:, :2]),
        "keys": (lambda: {"a": x}, lambda: {"b": x}),
        "constants": (lambda: m.ops.ones((1, 3)), lambda: m.ops.zeros((1, 3))),
    }


def _cond_outcomes(m):
    pred = m.KerasTensor((), dtype="bool")
    outcomes = {}
    for case, (true_fn, false_fn) in _branches(m).items():
        try:
            out = m.ops.cond(pred, true_fn, false_fn)
            outcomes[case] = (tuple(out.shape), str(out.dtype))
        except ValueError:
            outcomes[case] = "ValueError"
    return outcomes


@pytest.mark.parity
def test_symbolic_cond_checks_its_branches_as_keras():
    ours = _cond_outcomes(lamina)
    assert ours["dtype"] == "ValueError"
    assert ours == reference.keras_run(_cond_outcomes)


def test_the_error_shows_both_branches_specs():
    x = lamina.KerasTensor((None, 3))
    pred = lamina.KerasTensor((), dtype="bool")
    with pytest.raises(ValueError, match=r"true_fn gave \(\(None, 3\), 'float32'\) and false_fn"):
        lamina.ops.cond(pred, lambda: x, lambda: x[:, :2])
