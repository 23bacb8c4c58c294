"""ops.unstack on symbolic tensors: `num` gives the count where the axis size is unknown."""

import numpy as np
import pytest

import lamina
from tests.parity import reference

UNSTACKS = [((None, 3, 4), {"num": 2, "axis": 0}), ((None, 3, 4), {"axis": 1}),
            ((2, None), {"num": 5, "axis": -1}), ((None, 3), {"num": 3, "axis": 1})]  # fmt: skip


def _unstacked_shapes(m):
    return [
        [tuple(t.shape) for t in m.ops.unstack(m.KerasTensor(shape), **kwargs)]
        for shape, kwargs in UNSTACKS
    ]


@pytest.mark.parity
def test_symbolic_unstack_shapes_match_keras():
    assert _unstacked_shapes(lamina) == reference.keras_run(_unstacked_shapes)


def test_symbolic_unstack_of_an_unknown_axis_without_num_asks_for_num():
    with pytest.raises(ValueError, match=r"shape \(None, 3\) .*axis 0.*Pass num="):
        lamina.ops.unstack(lamina.KerasTensor((None, 3)))


@pytest.mark.parametrize("x", [lamina.KerasTensor((None, 3)), np.ones((2, 3))])
def test_unstack_num_that_contradicts_a_known_size_is_refused(x):
    with pytest.raises(ValueError, match=r"num to equal the size of axis 1 \(3\); received num=2"):
        lamina.ops.unstack(x, num=2, axis=1)


def test_a_model_unstacks_its_features_with_num():
    x = lamina.Input((3,))
    first, _, third = lamina.ops.unstack(x, num=3, axis=1)
    model = lamina.Model(x, first * third)
    out = model.predict(np.array([[2.0, 5.0, 3.0]], "float32"), verbose=0)
    np.testing.assert_allclose(out, [6.0])


def test_roll_by_one_shift_along_several_axes_as_numpy():
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(lamina.ops.roll(x, 1, axis=[0, 1]), np.roll(x, 1, axis=[0, 1]))
    assert lamina.ops.roll(lamina.KerasTensor((None, 3)), 1, axis=[0, 1]).shape == (None, 3)
