"""ModelParallel on 4 gloo ranks under torchrun against one process: meshes (2, 2) and (1, 4).

One torchrun launch (module fixture) runs `main_four` of
tests/distribution/model_parallel_scenarios.py: the Embedding/Conv1D/Dense fit of
test_model_parallel.py on meshes (2, 2) (kernels split over "model" and batches over "batch" at
once) and (1, 4), and the penalty/optimizer/custom-step cases on (2, 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.distribution import model_parallel_scenarios as scenarios
from tests.distribution.test_data_parallel import torchrun

RANKS = 4


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """Each rank's findings."""
    out = tmp_path_factory.mktemp("model_parallel_four")
    return torchrun(Path(scenarios.__file__), out, RANKS, "four")


def _assert_same_fit(found, expected):
    assert isinstance(found, dict), found  # else the error's message
    assert found["history"].keys() == expected["history"].keys()
    for key, values in expected["history"].items():
        np.testing.assert_allclose(found["history"][key], values, rtol=0, atol=1e-5)
    np.testing.assert_allclose(found["predict"], expected["predict"], rtol=0, atol=1e-5)
    assert len(found["weights"]) == len(expected["weights"])
    for a, b in zip(found["weights"], expected["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("mesh_shape", scenarios.FOUR_MESH_SHAPES)
def test_a_mesh_of_four_fits_as_one_process(launched, mesh_shape):
    expected = scenarios.train(None)
    model_axis = mesh_shape[1]
    for rank, found in enumerate(launched):
        _assert_same_fit(found[mesh_shape], expected)
        split = found[mesh_shape]["local_shapes"]
        assert split["sequential/dense/kernel"] == (30, 8 // model_axis)
        assert split["sequential/dense_1/kernel"] == (8 // model_axis, scenarios.CLASSES)
        batch_axis = mesh_shape[0]
        assert found[mesh_shape]["batch_split"] == (batch_axis, rank // model_axis)


@pytest.mark.slow
def test_penalties_clipping_optimizers_and_a_custom_step_on_a_two_by_two_mesh(launched):
    expected = scenarios.harden(None)
    for found in launched:
        for case in scenarios.HARDENING:
            _assert_same_fit(found["harden"][case], expected[case])
        for refused in ("batch_norm", "dropout"):
            assert "batch axis has one process" in found["harden"][refused]
