"""Keras writes an application's weights file (its legacy HDF5 layout, as keras.applications
ships); lamina loads it by layer name (`weights=path` or `weights="imagenet"`): same outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamina import applications
from tests.parity.reference import keras, keras_nasnet_mobile

# (builder, arguments, Keras's file name, how lamina is told: the cache lookup or a path)
CASES = [
    (
        "MobileNetV2",
        {"alpha": 0.35, "input_shape": (96, 96, 3), "include_top": False},
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5",
        "imagenet",
    ),
    (
        "ResNet50",
        {"include_top": False, "input_shape": (32, 32, 3), "pooling": "avg"},
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "path",
    ),
    (
        "ResNet50V2",
        {"input_shape": (32, 32, 3), "classes": 10},
        "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5",
        "path",
    ),
    (
        "MobileNet",
        {"alpha": 0.25, "input_shape": (128, 128, 3), "include_top": False, "pooling": "max"},
        "mobilenet_2_5_128_tf_no_top.h5",
        "imagenet",
    ),
    (
        "MobileNetV3Small",
        {"input_shape": (64, 64, 3), "classes": 10},
        "weights_mobilenet_v3_small_224_1.0_float.h5",
        "path",
    ),
    (
        "EfficientNetB0",
        {"input_shape": (32, 32, 3), "include_top": False},
        "efficientnetb0_notop.h5",
        "path",
    ),
    pytest.param(
        "EfficientNetV2B0",
        {"input_shape": (32, 32, 3), "classes": 10},
        "efficientnetv2-b0.h5",
        "path",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        "DenseNet121",
        {"input_shape": (32, 32, 3), "include_top": False, "pooling": "avg"},
        "densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "imagenet",
        marks=pytest.mark.slow,
    ),
    # Unnamed layers: Keras's file holds its session's automatic names, so lamina loads in order.
    (
        "InceptionV3",
        {"input_shape": (75, 75, 3), "classes": 10},
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "path",
    ),
    pytest.param(
        "InceptionResNetV2",
        {"input_shape": (75, 75, 3), "include_top": False},
        "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "imagenet",
        marks=pytest.mark.slow,
    ),
    (
        "Xception",
        {"input_shape": (71, 71, 3), "include_top": False, "pooling": "avg"},
        "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "imagenet",
    ),
    # Nested Sequential stem / downsampling models, LayerScale, grouped convolutions.
    (
        "ConvNeXtTiny",
        {"input_shape": (32, 32, 3), "classes": 10},
        "convnext_tiny.h5",
        "path",
    ),
    pytest.param(
        "NASNetMobile",
        {"input_shape": (32, 32, 3), "include_top": False, "pooling": "avg"},
        "nasnet_mobile_no_top.h5",
        "imagenet",
        marks=pytest.mark.slow,
    ),
]


def _randomise(model, rng):
    """Random weights everywhere, so a swapped or skipped weight shows; scaled so activations
    stay of order one through deep stacks (kernels ~ N(0, 1/fan_in), scales and variances in
    [0.5, 1.5], offsets and means ~ N(0, 0.1^2))."""
    values = []
    for weight in model.weights:
        shape = tuple(weight.shape)
        leaf = weight.path.rsplit("/", 1)[-1]
        if "variance" in leaf or leaf == "gamma":
            values.append(rng.uniform(0.5, 1.5, shape).astype("float32"))
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            values.append((rng.standard_normal(shape) / np.sqrt(fan_in)).astype("float32"))
        else:
            values.append((rng.standard_normal(shape) * 0.1).astype("float32"))
    for weight, value in zip(model.weights, values, strict=True):
        weight.assign(value)


def _write_keras_legacy_h5(model, path):
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, model)


@pytest.mark.parity
@pytest.mark.parametrize(
    ("builder", "kwargs", "file_name", "how"),
    CASES,
    ids=[f"{c[0]}-{c[3]}" for c in (getattr(c, "values", c) for c in CASES)],
)
def test_keras_weights_file_loads_with_equal_outputs(
    builder, kwargs, file_name, how, tmp_path, monkeypatch
):
    rng = np.random.default_rng(0)
    if builder == "NASNetMobile":
        reference = keras_nasnet_mobile(weights=None, **kwargs)
    else:
        reference = getattr(keras.applications, builder)(weights=None, **kwargs)
    _randomise(reference, rng)
    models_dir = tmp_path / "keras" / "models"
    models_dir.mkdir(parents=True)
    path = models_dir / file_name
    _write_keras_legacy_h5(reference, str(path))

    images = rng.uniform(-1, 1, (2, *kwargs["input_shape"])).astype("float32")
    expected = keras.ops.convert_to_numpy(reference(images, training=False))
    assert expected.std() > 1e-3  # a signal that a wrong weight would change

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    weights = "imagenet" if how == "imagenet" else str(path)
    model = getattr(applications, builder)(weights=weights, **kwargs)
    with torch.no_grad():
        output = model(torch.tensor(images)).cpu().numpy()
    # float32 through ~50 layers of random weights: both sides sum in different orders.
    np.testing.assert_allclose(output, expected, atol=2e-4, rtol=1e-4)


def test_a_file_for_another_architecture_is_refused_whole(tmp_path):
    reference = keras.applications.MobileNetV2(
        weights=None, include_top=False, alpha=0.35, input_shape=(96, 96, 3)
    )
    path = tmp_path / "weights.h5"
    _write_keras_legacy_h5(reference, str(path))
    model = applications.MobileNetV2(
        weights=None, include_top=False, alpha=0.5, input_shape=(96, 96, 3)
    )
    before = [w.copy() for w in model.get_weights()]
    from lamina.applications.weights import load_application_weights

    with pytest.raises(
        ValueError,
        match=r"holds weights of shapes \[\(1, 1, 48, 8\)\] for layer "
        r"'block_1_project', which expects \[\(1, 1, 48, 16\)\]",
    ):
        load_application_weights(model, path)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # nothing half-loaded
