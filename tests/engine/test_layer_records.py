"""The Layer base's bookkeeping: named weight records and the thread-local shape-inference flag."""

import threading

import numpy as np
import torch

import lamina
from lamina.engine import layer as layer_module
from lamina.engine.layer import WeightEntry, WeightSpec


def test_weight_records_are_named():
    dense = lamina.layers.Dense(3)
    dense.build((None, 2))
    spec = dense._weight_specs[0]
    assert isinstance(spec, WeightSpec)
    assert (spec.name, spec.trainable) == ("kernel", True)
    assert tuple(dense.kernel.shape) == (2, 3)  # Keras's (input_dim, units)

    entries = dense._weight_entries()
    assert all(isinstance(e, WeightEntry) for e in entries)
    assert [
        (e.owner.name, e.tensor is getattr(dense, s.name))
        for e, s in zip(entries, dense._weight_specs, strict=True)
    ] == [
        (dense.name, True),
        (dense.name, True),
    ]


def test_weight_entries_list_sublayer_weights_with_their_owner():
    model = lamina.Sequential(
        [lamina.Input((2,)), lamina.layers.Dense(3), lamina.layers.BatchNormalization()]
    )
    owners = [e.owner.name for e in model._weight_entries()]
    assert owners == [model.layers[0].name] * 2 + [model.layers[1].name] * 4
    # BatchNormalization's moving statistics are its non-trainable weights.
    assert [e.trainable for e in model._weight_entries()] == [True, True, True, True, False, False]


def test_set_weights_error_names_the_weight():
    dense = lamina.layers.Dense(3)
    dense.build((None, 2))
    try:
        dense.set_weights([np.zeros((3, 3)), np.zeros(3)])
    except ValueError as error:
        assert "weight 'kernel' of shape (2, 3)" in str(error)
    else:
        raise AssertionError("set_weights accepted a kernel of the wrong shape")


def test_meta_inference_flag_is_per_thread():
    entered, checked = threading.Event(), threading.Event()
    seen = {}

    def infer_shapes_in_background():
        with layer_module.meta_inference():
            seen["inside"] = layer_module.in_meta_inference()
            entered.set()
            checked.wait(timeout=10)
        seen["after"] = layer_module.in_meta_inference()

    worker = threading.Thread(target=infer_shapes_in_background)
    worker.start()
    try:
        assert entered.wait(timeout=10)
        # While the worker infers shapes, this thread's layers run on real data.
        assert not layer_module.in_meta_inference()
        dense = lamina.layers.Dense(2, kernel_initializer="ones")
        out = dense(torch.ones(1, 3))
        assert not dense.kernel.is_meta
        assert out.tolist() == [[3.0, 3.0]]
    finally:
        checked.set()
        worker.join()
    assert seen == {"inside": True, "after": False}


def test_meta_inference_nests_and_restores():
    with layer_module.meta_inference():
        with layer_module.meta_inference():
            assert layer_module.in_meta_inference()
        assert layer_module.in_meta_inference()
    assert not layer_module.in_meta_inference()
