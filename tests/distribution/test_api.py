"""lamina.distribution in one process: Keras's names, the errors, DDP with a world of one."""

from __future__ import annotations

import numpy as np
import pytest
import torch.distributed as dist

import lamina
from lamina import distribution
from lamina.distribution import sharding
from tests.distribution import scenarios


def test_one_process_has_no_distribution_and_one_cpu_device():
    assert distribution.distribution() is None
    assert distribution.list_devices("cpu") == ["cpu:0"]
    assert distribution.get_device_count("cpu") == 1
    assert distribution.is_chief() and distribution.rank() == 0 and distribution.world_size() == 1


def test_list_devices_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="device_type 'cpu' or 'gpu'; received 'tpu'"):
        distribution.list_devices("tpu")


def test_set_distribution_takes_only_a_distribution():
    with pytest.raises(ValueError, match="expected a lamina.distribution.DataParallel, Model"):
        distribution.set_distribution("data_parallel")


@pytest.mark.parametrize(
    ("size", "world", "expected"),
    [(64, 2, [(0, 32), (32, 64)]), (11, 2, [(0, 6), (6, 11)]), (5, 3, [(0, 2), (2, 4), (4, 5)])],
)
def test_share_bounds_split_a_batch_contiguously_and_evenly(size, world, expected):
    assert [sharding.share_bounds(size, world, r) for r in range(world)] == expected


def test_the_launcher_environment_gives_rank_and_world_before_the_group_starts(monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert distribution.rank() == 3 and distribution.world_size() == 4
    assert not distribution.is_chief()
    assert distribution.list_devices("cpu") == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]


def test_model_save_is_a_no_op_off_rank_zero(monkeypatch, tmp_path):
    model = scenarios.build_model()
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def world_of_one():
    """DataParallel in this process: a one-process gloo group, torn down afterwards."""
    parallel = distribution.DataParallel()
    distribution.set_distribution(parallel)
    yield parallel
    distribution.set_distribution(None)
    dist.destroy_process_group()


def test_data_parallel_checks_devices_against_the_processes(world_of_one):
    assert world_of_one.devices == ["cpu:0"] and distribution.distribution() is world_of_one
    with pytest.raises(ValueError, match=r"one device per process \(1 process\(es\).*received 2"):
        distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    with pytest.raises(ValueError, match="device_mesh= a one-axis lamina.distribution.DeviceMesh"):
        distribution.DataParallel(device_mesh=object())
    mesh = distribution.DeviceMesh((1,), ("batch",))
    assert distribution.DataParallel(device_mesh=mesh).devices == ["cpu:0"]


@pytest.mark.slow
def test_ddp_with_a_world_of_one_trains_as_plain_fit(world_of_one):
    model, history = scenarios.train(1)
    wrapped = model._compile_state._distributed[1]
    assert type(wrapped).__name__ == "DistributedDataParallel"
    distribution.set_distribution(None)
    plain, plain_history = scenarios.train(1)
    assert getattr(plain._compile_state, "_distributed", None) is None
    for a, b in zip(scenarios.weights(model), scenarios.weights(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    assert history["loss"] == pytest.approx(plain_history["loss"], rel=1e-6)


def test_lamina_exposes_the_namespace():
    assert lamina.distribution.DataParallel is distribution.DataParallel


def test_the_docstring_examples_run():
    import doctest

    from lamina.distribution import data_parallel, process_group, rank_callbacks, reduction

    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner()
    for module in (data_parallel, process_group, sharding, reduction, rank_callbacks):
        for test in finder.find(module, globs={**vars(module), "lamina": lamina}):
            runner.run(test)
    assert runner.summarize(verbose=False).failed == 0
