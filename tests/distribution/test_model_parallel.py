"""ModelParallel on torch's DTensor: two gloo ranks under torchrun against one process.

One torchrun launch (module fixture) runs tests/distribution/model_parallel_scenarios.py on 2
ranks: the same model fit on a mesh of shape (1, 2) (kernels split over "model") and (2, 1)
(batches split over "batch"). The tests compare what each rank pickled with the same run here in
one process; the checks that need no second process run here, in a one-process group.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor, Replicate, Shard

import lamina
from lamina import distribution, layers
from tests.distribution import model_parallel_scenarios as scenarios
from tests.distribution.test_data_parallel import _environment, torchrun

MESH_SHAPES = scenarios.MESH_SHAPES


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """(rank 0's findings, rank 1's findings, the run's folder)."""
    out = tmp_path_factory.mktemp("model_parallel")
    ranks = torchrun(Path(scenarios.__file__), out, 2)
    return ranks[0], ranks[1], out


@pytest.fixture(scope="module")
def one_process():
    return scenarios.train(None)


@pytest.mark.slow
@pytest.mark.parametrize("mesh_shape", MESH_SHAPES)
def test_a_mesh_fit_gives_the_losses_predictions_and_weights_of_one_process(
    launched, one_process, mesh_shape
):
    for found in (launched[0][mesh_shape], launched[1][mesh_shape]):
        assert found["history"].keys() == one_process["history"].keys()
        for key, values in one_process["history"].items():
            np.testing.assert_allclose(found["history"][key], values, rtol=0, atol=1e-5)
        np.testing.assert_allclose(found["evaluate"], one_process["evaluate"], atol=1e-5)
        for name in ("predict", "call"):
            assert found[name].shape == one_process[name].shape
            np.testing.assert_allclose(found[name], one_process[name], rtol=0, atol=1e-5)
        assert len(found["weights"]) == len(one_process["weights"])
        for a, b in zip(found["weights"], one_process["weights"], strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_kernels_are_split_over_model_and_batches_over_batch(launched):
    for rank, found in enumerate(launched[:2]):
        split = found[(1, 2)]["local_shapes"]  # the layout map's kernels: half on each rank
        assert split["sequential/embedding/embeddings"] == (scenarios.VOCABULARY, 4)
        assert split["sequential/dense/kernel"] == (30, 4)
        assert split["sequential/dense_1/kernel"] == (4, scenarios.CLASSES)
        assert split["sequential/conv1d/kernel"] == (3, 8, 6)  # unmatched: replicated
        assert found[(1, 2)]["batch_split"] == (1, 0)  # both ranks see every row
        whole = found[(2, 1)]["local_shapes"]
        assert whole["sequential/dense/kernel"] == (30, 8)
        assert found[(2, 1)]["batch_split"] == (2, rank)  # each rank its share of a batch


@pytest.mark.slow
@pytest.mark.parametrize("mesh_shape", MESH_SHAPES)
def test_the_saved_files_load_in_one_process(launched, one_process, mesh_shape):
    stem = f"model_{mesh_shape[0]}x{mesh_shape[1]}"
    assert sorted(p.name for p in launched[2].glob(stem + "*")) == [
        stem + ".keras",
        stem + ".weights.h5",
    ]
    loaded = lamina.saving.load_model(launched[2] / (stem + ".keras"))
    x, _ = scenarios.data()
    np.testing.assert_allclose(
        loaded.predict(x, batch_size=16, verbose=0), one_process["predict"], atol=1e-5
    )
    for a, b in zip(loaded.get_weights(), one_process["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    fresh = scenarios.build_model()
    fresh.load_weights(launched[2] / (stem + ".weights.h5"))
    for a, b in zip(fresh.get_weights(), one_process["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_what_dtensor_cannot_take_is_refused_by_name(launched):
    refusals = launched[0]["refusals"]
    assert refusals == launched[1]["refusals"]
    assert (
        "weight 'sequential/dense/kernel' expected dimension 1 (size 3) divisible by"
        in (refusals["indivisible"])
    )
    assert "mesh axis 'model' (2)" in refusals["indivisible"]
    assert "Layer 'conv1d' (Conv1D)" in refusals["convolution"]
    assert "aten.convolution" in refusals["convolution"]
    assert "replicate its weights in the layout map" in refusals["convolution"]
    assert "expected compile(jit_compile=False)" in refusals["jit_compile"]
    # An error out of DTensor's dispatch names the layer too (it came as a bare RuntimeError).
    assert "Layer 'attention' (MultiHeadAttention) under ModelParallel" in refusals["attention"]
    assert "view size is not compatible" in refusals["attention"]


# --------------------------------------------------------------------------------------------------
# One process: a one-process group and meshes of one


@pytest.fixture
def world_of_one():
    distribution.initialize()
    yield
    distribution.set_distribution(None)
    dist.destroy_process_group()


def _mesh():
    return distribution.DeviceMesh((1, 1), ("batch", "model"))


def test_a_mesh_must_cover_every_process(world_of_one):
    with pytest.raises(ValueError, match=r"product is the number of processes \(1\).*\(1, 2\)"):
        distribution.DeviceMesh((1, 2), ("batch", "model"))
    with pytest.raises(ValueError, match="one axis name per dimension"):
        distribution.DeviceMesh((1,), ("batch", "model"))


def test_layouts_check_axis_names_and_rank(world_of_one):
    mesh = _mesh()
    with pytest.raises(ValueError, match=r"axis names from \('batch', 'model'\).*\['data'\]"):
        distribution.TensorLayout((None, "data"), mesh)
    layout = distribution.TensorLayout(("model", None), mesh)
    assert layout.placements() == [Replicate(), Shard(0)]
    with pytest.raises(ValueError, match=r"layout of rank 3 \(its shape is \(2, 3, 4\)\)"):
        layout.check((2, 3, 4), "this weight")


def test_a_layout_map_matches_paths_in_full_and_refuses_two_matches(world_of_one):
    layout_map = distribution.LayoutMap(_mesh())
    layout_map[".*dense.*/kernel"] = (None, "model")
    layout_map[".*dense_1/kernel"] = ("model", None)
    assert isinstance(layout_map["sequential/dense/kernel"], distribution.TensorLayout)
    assert layout_map["sequential/dense/kernel"].axes == (None, "model")
    assert layout_map["sequential/dense/kernel/extra"] is None  # fullmatch, as Keras 3
    with pytest.raises(ValueError, match=r"at most one key.*'\.\*dense\.\*/kernel'"):
        layout_map["sequential/dense_1/kernel"]
    del layout_map[".*dense_1/kernel"]
    assert layout_map["sequential/dense_1/kernel"].axes == (None, "model")


_KEYS = {
    ".*dense.*/kernel": (None, "model"),
    ".*dense_1/kernel": ("model", None),
    "embedding/embeddings": ("model", None),
    "conv.d/bias": (None,),
}


@pytest.mark.parametrize(
    "path",
    [
        "sequential/dense/kernel",
        "sequential/dense_1/kernel",
        "embedding/embeddings",
        "model/embedding/embeddings",
        "conv1d/bias",
        "conv1d/bias/extra",
        "dense/kernel",
    ],
)
def test_a_layout_map_finds_what_keras_finds(world_of_one, path):
    from tests.parity.reference import keras

    reference = keras.distribution.LayoutMap(
        keras.distribution.DeviceMesh((1, 2), ("batch", "model"), devices=["cpu:0", "cpu:1"])
    )
    layout_map = distribution.LayoutMap(_mesh())
    for key, axes in _KEYS.items():
        reference[key], layout_map[key] = axes, axes
    try:
        expected = reference[path]
    except ValueError:
        with pytest.raises(ValueError, match="at most one key"):
            layout_map[path]
        return
    found = layout_map[path]
    assert (found is None) == (expected is None)
    if expected is not None:
        assert found.axes == expected.axes


def test_model_parallel_takes_a_layout_map_and_a_batch_axis_of_its_mesh(world_of_one):
    layout_map = distribution.LayoutMap(_mesh())
    with pytest.raises(ValueError, match="expected layout_map= a lamina.distribution.LayoutMap"):
        distribution.ModelParallel(layout_map={})
    with pytest.raises(ValueError, match="batch_dim_name from.*received 'data'"):
        distribution.ModelParallel(layout_map=layout_map, batch_dim_name="data")
    parallel = distribution.ModelParallel(layout_map=layout_map)
    assert parallel.batch_dim_name == "batch"
    model = scenarios.build_model()
    x, y = scenarios.data(16)
    with parallel.scope():
        assert distribution.distribution() is parallel
        model.fit(x, y, batch_size=8, verbose=0)
    assert distribution.distribution() is None
    assert all(isinstance(w, DTensor) for w in model.weights)


def test_distribute_tensor_lays_a_tensor_out_on_the_mesh(world_of_one):
    layout = distribution.TensorLayout((None, "model"), _mesh())
    value = torch.arange(6.0).reshape(2, 3)
    distributed = distribution.distribute_tensor(value, layout)
    assert isinstance(distributed, DTensor)
    assert list(distributed.placements) == [Replicate(), Shard(1)]
    torch.testing.assert_close(distributed.full_tensor(), value)


def test_a_mesh_of_one_trains_as_plain_fit(world_of_one):
    plain = scenarios.train(None)
    layout_map = distribution.LayoutMap(_mesh())
    for key, axes in scenarios.LAYOUTS.items():
        layout_map[key] = axes
    distribution.set_distribution(distribution.ModelParallel(layout_map=layout_map))
    model = scenarios.build_model()
    x, y = scenarios.data()
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:20], y[:20]), verbose=0)
    assert all(isinstance(w, DTensor) for w in model.weights)
    for key, values in plain["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=0, atol=1e-5)
    for a, b in zip(model.get_weights(), plain["weights"], strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


class _AddsAPlainTensor(layers.Layer):
    def call(self, inputs):
        return inputs + torch.ones(inputs.shape[-1])  # a plain tensor beside a DTensor


def test_an_op_dtensor_cannot_run_names_the_layer_and_the_op(world_of_one):
    layout_map = distribution.LayoutMap(_mesh())
    distribution.set_distribution(distribution.ModelParallel(layout_map=layout_map))
    model = lamina.Sequential(
        [layers.Input((3,)), layers.Dense(4), _AddsAPlainTensor(name="adds_ones")]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 3), "float32")
    with pytest.raises(
        ValueError, match=r"Layer 'adds_ones' \(_AddsAPlainTensor\).*aten\.add"
    ) as refused:
        model.fit(x, np.ones((4, 4), "float32"), verbose=0)
    # A layer without weights: the hint is not the layout map (it has no weights to replicate).
    assert "make that tensor from the input" in str(refused.value)
    assert "layout map" not in str(refused.value)


def test_dropout_on_a_mesh_of_one_trains_as_plain_fit(world_of_one):
    # Its random mask was a plain tensor beside the DTensor input: refused (aten.mul, mixed
    # torch.Tensor and DTensor).
    x, y = scenarios.hardening_data()
    plain = scenarios.hardening_model("dropout")
    expected = plain.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    layout_map = distribution.LayoutMap(_mesh())
    for key, axes in scenarios.HARDENING_LAYOUTS.items():
        layout_map[key] = axes
    distribution.set_distribution(distribution.ModelParallel(layout_map=layout_map))
    model = scenarios.hardening_model("dropout")
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert all(isinstance(w, DTensor) for w in model.weights)
    np.testing.assert_allclose(history["loss"], expected["loss"], rtol=0, atol=1e-5)
    for a, b in zip(model.get_weights(), plain.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


def test_an_embedding_table_split_by_rows_is_refused_before_anything_changes(world_of_one):
    layout_map = distribution.LayoutMap(_mesh())
    layout_map[".*embedding/embeddings"] = ("model", None)
    distribution.set_distribution(distribution.ModelParallel(layout_map=layout_map))
    model = scenarios.build_model()
    x, y = scenarios.data(16)
    with pytest.raises(ValueError, match=r"Layer 'embedding' \(Embedding\).*split by rows"):
        model.fit(x, y, verbose=0)
    assert not any(isinstance(w, DTensor) for w in model.weights)


def test_importing_lamina_leaves_torch_dtensor_unloaded():
    # torch.distributed.tensor costs about 1 s of import: paid by ModelParallel's users alone.
    code = (
        "import sys, lamina; assert 'torch.distributed.tensor' not in sys.modules; "
        "lamina.distribution.ModelParallel; assert 'torch.distributed.tensor' in sys.modules"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=_environment(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_saving_callbacks_run_on_every_rank_and_a_resumed_run_keeps_its_slots(launched):
    # ModelCheckpoint, OrbaxCheckpoint and BackupAndRestore each gather the shards to save: a
    # silent stand-in off rank 0 left rank 0 waiting in that gather until the launch timed out.
    folder = launched[2]
    reference = scenarios.resume(None, None)
    for found in launched[:2]:
        resumed = found["resume"]
        np.testing.assert_allclose(resumed["first"], reference["first"], atol=1e-5)
        # Adam's slots followed the restored weights onto the mesh (rebuilt empty, they moved
        # this loss by 9e-3).
        np.testing.assert_allclose(resumed["second"], reference["second"], rtol=0, atol=1e-5)
        for a, b in zip(resumed["weights"], reference["weights"], strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    for saved in (folder / "epoch.keras", folder / "orbax"):
        loaded = lamina.saving.load_model(saved)
        for a, b in zip(loaded.get_weights(), reference["first_weights"], strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
    assert sorted(p.name for p in (folder / "orbax").iterdir()) == ["0"]  # rank 0 wrote, once


@pytest.fixture(scope="module")
def hardened_one_process():
    return scenarios.harden(None)


@pytest.mark.slow
@pytest.mark.parametrize("case", scenarios.HARDENING)
@pytest.mark.parametrize("mesh_shape", MESH_SHAPES)
def test_penalties_clipping_optimizers_and_a_custom_step_train_as_one_process(
    launched, hardened_one_process, mesh_shape, case
):
    # Before: a sharded kernel's L2 penalty failed in backward (a DTensor added to the plain
    # loss), SGD died in aten._fused_sgd_ (no DTensor rule), clipvalue's in-place clamp met a
    # partial-sum gradient, and a custom train_step's self(x, training=True) took the rows as
    # replicated: on (2, 1) the processes' weights drifted apart.
    expected = hardened_one_process[case]
    for found in (launched[0]["harden"][mesh_shape][case], launched[1]["harden"][mesh_shape][case]):
        assert isinstance(found, dict), found  # else the error's message
        assert found["history"].keys() == expected["history"].keys()
        for key, values in expected["history"].items():
            np.testing.assert_allclose(found["history"][key], values, rtol=0, atol=1e-5)
        np.testing.assert_allclose(found["predict"], expected["predict"], rtol=0, atol=1e-5)
        for a, b in zip(found["weights"], expected["weights"], strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
        if expected["first_call"] is not None:
            np.testing.assert_allclose(found["first_call"], expected["first_call"], atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["batch_norm", "dropout"])
def test_batch_norm_and_dropout_train_on_a_model_axis_and_are_refused_on_a_split_batch(
    launched, case
):
    # On (2, 1) DTensor normalized each process's rows alone: losses 8e-4 off one process's.
    # Dropout's plain mask met a DTensor on any mesh; on (2, 1) each process would draw the
    # same mask for its own rows.
    reference = scenarios.hardening_model(case)
    x, y = scenarios.hardening_data()
    history = reference.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    name = {"batch_norm": "batch_normalization", "dropout": "dropout"}[case]
    layer = {"batch_norm": "BatchNormalization", "dropout": "Dropout"}[case]
    for found in launched[:2]:
        on_model_axis = found["harden"][(1, 2)][case]
        assert isinstance(on_model_axis, dict), on_model_axis
        np.testing.assert_allclose(
            on_model_axis["history"]["loss"], history.history["loss"], rtol=0, atol=1e-5
        )
        for a, b in zip(on_model_axis["weights"], reference.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)
        refused = found["harden"][(2, 1)][case]
        assert f"Layer '{name}' ({layer})" in refused
        assert "batch axis has one process" in refused
        assert "mesh shape (1, n)" in refused
