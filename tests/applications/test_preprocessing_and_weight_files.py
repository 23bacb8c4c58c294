"""imagenet_utils and each family's preprocess_input against Keras; decode_predictions offline;
the published weight-file names every builder asks for; the loader's by-order path."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from lamina import applications, layers
from lamina.applications import imagenet_utils
from lamina.applications import weights as weight_files
from lamina.engine.model import Model
from lamina.saving import FileFormatError
from tests.parity.reference import keras

# Keras's submodules of keras.applications, each with preprocess_input and decode_predictions.
SUBMODULES = [
    "convnext",
    "densenet",
    "efficientnet",
    "efficientnet_v2",
    "imagenet_utils",
    "inception_resnet_v2",
    "inception_v3",
    "mobilenet",
    "mobilenet_v2",
    "mobilenet_v3",
    "nasnet",
    "resnet",
    "resnet50",
    "resnet_v2",
    "vgg16",
    "vgg19",
    "xception",
]


@pytest.mark.parity
@pytest.mark.parametrize("module", SUBMODULES)
def test_each_family_preprocesses_as_keras(module):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    ours = getattr(applications, module).preprocess_input(images.copy())
    theirs = getattr(keras.applications, module).preprocess_input(images.copy())
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)
    assert callable(getattr(applications, module).decode_predictions)


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank", [3, 4])
def test_imagenet_preprocessing_modes_equal_keras(mode, data_format, rank):
    rng = np.random.default_rng(2)
    shape = {3: (3, 4, 3), 4: (2, 3, 4, 3)}[rank]
    if data_format == "channels_first":
        shape = (3, 4, 5) if rank == 3 else (2, 3, 4, 5)
    images = rng.integers(0, 256, shape).astype("uint8")
    expected = keras.applications.imagenet_utils.preprocess_input(
        images.astype("float32"), data_format=data_format, mode=mode
    )
    from_numpy = imagenet_utils.preprocess_input(images, data_format=data_format, mode=mode)
    from_tensor = imagenet_utils.preprocess_input(
        torch.tensor(images), data_format=data_format, mode=mode
    )
    assert from_numpy.dtype == np.float32
    assert isinstance(from_tensor, torch.Tensor)
    np.testing.assert_allclose(from_numpy, expected, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(from_tensor.numpy(), expected, rtol=1e-6, atol=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("module", SUBMODULES)
def test_preprocess_input_opens_a_functional_model_as_in_keras(module):
    # Keras's transfer-learning recipe: Input -> preprocess_input -> frozen backbone.
    images = np.random.default_rng(3).uniform(0, 255, (2, 5, 4, 3)).astype("float32")
    inputs = layers.Input((5, 4, 3))
    model = Model(inputs, getattr(applications, module).preprocess_input(inputs))
    expected = getattr(keras.applications, module).preprocess_input(images.copy())
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-6, atol=1e-5)


def test_preprocess_input_leaves_its_argument_alone_and_checks_the_mode():
    images = np.full((1, 2, 2, 3), 255.0, dtype="float32")
    assert imagenet_utils.preprocess_input(images, mode="tf").max() == 1.0
    assert images.max() == 255.0
    with pytest.raises(ValueError, match=r"expects mode 'caffe', 'tf' or 'torch'; received"):
        imagenet_utils.preprocess_input(images, mode="keras")
    with pytest.raises(ValueError, match=r"expects data_format 'channels_first' or"):
        imagenet_utils.preprocess_input(images, data_format="nhwc")


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "lamina"))
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    return tmp_path


def test_decode_predictions_reads_the_class_index_offline(empty_homes):
    folder = empty_homes / "lamina" / "models"
    folder.mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    scores = np.zeros((2, 1000), dtype="float32")
    scores[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    scores[1, 42] = 1.0
    decoded = applications.resnet_v2.decode_predictions(torch.tensor(scores), top=3)
    assert [row[:2] for row in decoded[0]] == [
        ("n00000007", "class_7"),
        ("n00000003", "class_3"),
        ("n00000999", "class_999"),
    ]
    assert decoded[0][0][2] == pytest.approx(0.5)
    assert decoded[1][0][:2] == ("n00000042", "class_42") and len(decoded[1]) == 3


def test_decode_predictions_of_bfloat16_scores(empty_homes):
    folder = empty_homes / "lamina" / "models"
    folder.mkdir(parents=True)
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (folder / "imagenet_class_index.json").write_text(json.dumps(index))
    scores = torch.zeros((1, 1000), dtype=torch.bfloat16)
    scores[0, [5, 9]] = torch.tensor([0.625, 0.375], dtype=torch.bfloat16)
    decoded = applications.resnet_v2.decode_predictions(scores, top=2)[0]
    assert decoded == [("n00000005", "class_5", 0.625), ("n00000009", "class_9", 0.375)]


def test_decode_predictions_errors(empty_homes):
    with pytest.raises(ValueError, match=r"of shape \(samples, 1000\); received shape \(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))
    with pytest.raises(FileNotFoundError) as failure:
        imagenet_utils.decode_predictions(np.zeros((1, 1000)))
    message = str(failure.value)
    assert "ImageNet class index file 'imagenet_class_index.json' not found" in message
    assert str(empty_homes / "keras" / "models" / "imagenet_class_index.json") in message


# (builder, arguments, the file Keras publishes for them)
PUBLISHED_FILES = [
    ("ResNet50V2", {}, "resnet50v2_weights_tf_dim_ordering_tf_kernels.h5"),
    (
        "ResNet152V2",
        {"include_top": False},
        "resnet152v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    ("MobileNet", {"input_shape": (160, 160, 3), "alpha": 0.5}, "mobilenet_5_0_160_tf.h5"),
    (
        "MobileNetV3Large",
        {"input_shape": (224, 224, 3)},
        "weights_mobilenet_v3_large_224_1.0_float.h5",
    ),
    (
        "MobileNetV3Small",
        {"input_shape": (224, 224, 3), "include_top": False, "minimalistic": True},
        "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5",
    ),
    ("EfficientNetB0", {}, "efficientnetb0.h5"),
    ("EfficientNetB7", {"include_top": False}, "efficientnetb7_notop.h5"),
    ("EfficientNetV2S", {"include_top": False}, "efficientnetv2-s_notop.h5"),
    ("EfficientNetV2B3", {}, "efficientnetv2-b3.h5"),
    ("DenseNet169", {}, "densenet169_weights_tf_dim_ordering_tf_kernels.h5"),
    (
        "InceptionV3",
        {"include_top": False},
        "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
    ),
    ("InceptionResNetV2", {}, "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"),
    ("Xception", {}, "xception_weights_tf_dim_ordering_tf_kernels.h5"),
    ("ConvNeXtTiny", {}, "convnext_tiny.h5"),
    ("ConvNeXtXLarge", {"include_top": False}, "convnext_xlarge_notop.h5"),
    ("NASNetMobile", {}, "nasnet_mobile.h5"),
    ("NASNetLarge", {"include_top": False, "input_shape": (331, 331, 3)}, "nasnet_large_no_top.h5"),
]


@pytest.mark.parametrize(
    ("builder", "kwargs", "file_name"), PUBLISHED_FILES, ids=[f[2] for f in PUBLISHED_FILES]
)
def test_imagenet_weights_ask_for_keras_published_file(empty_homes, builder, kwargs, file_name):
    with pytest.raises(FileNotFoundError) as failure:
        getattr(applications, builder)(weights="imagenet", **kwargs)
    message = str(failure.value)
    assert f"Pretrained weights file '{file_name}' not found" in message
    assert str(empty_homes / "keras" / "models" / file_name) in message
    assert "lamina never downloads" in message


def test_unpublished_sizes_fall_back_to_the_224_files_with_a_warning(empty_homes):
    with (
        pytest.warns(UserWarning, match=r"loading the weights published for 224x224 inputs"),
        pytest.raises(FileNotFoundError, match=r"'mobilenet_2_5_224_tf_no_top.h5' not found"),
    ):
        applications.MobileNet(
            weights="imagenet", include_top=False, alpha=0.25, input_shape=(100, 100, 3)
        )
    with (
        pytest.warns(UserWarning, match=r"input_shape is unset, not square or not 224"),
        pytest.raises(FileNotFoundError, match=r"weights_mobilenet_v3_small_224_0.75_float.h5"),
    ):
        applications.MobileNetV3Small(weights="imagenet", alpha=0.75)


ARGUMENT_ERRORS = [
    (
        lambda: applications.MobileNet(weights="imagenet", depth_multiplier=2),
        r"MobileNet\(\) with weights='imagenet' expects depth_multiplier=1; received "
        r"depth_multiplier=2",
    ),
    (
        lambda: applications.MobileNetV3Large(weights="imagenet", alpha=0.5),
        r"expects alpha 0.75 or 1.0 \(1.0 when minimalistic\); received alpha=0.5",
    ),
    (
        lambda: applications.ConvNeXtTiny(weights="imagenet", name="backbone"),
        r"ConvNeXtTiny\(\) with weights='imagenet' expects a name containing 'convnext_tiny'",
    ),
    (
        lambda: applications.NASNetLarge(weights="imagenet", input_shape=(None, None, 3)),
        r"NASNetLarge\(\) with weights='imagenet' expects a static input_shape",
    ),
    (
        lambda: applications.InceptionV3(weights=None, include_top=False, input_shape=(64, 64, 3)),
        r"InceptionV3\(\) expects height and width of at least 75",
    ),
    (
        lambda: applications.EfficientNetB3(weights="imagenet", input_shape=(224, 224, 3)),
        r"expects input_shape=\(300, 300, 3\); received input_shape=\(224, 224, 3\)",
    ),
]


@pytest.mark.parametrize(("trigger", "pattern"), ARGUMENT_ERRORS)
def test_argument_errors_of_the_new_families(empty_homes, trigger, pattern):
    with pytest.raises(ValueError, match=pattern):
        trigger()


def test_efficientnet_with_imagenet_weights_divides_by_the_std_once_more(monkeypatch):
    """Keras adds a Rescaling(1/std) after the Normalization only when loading ImageNet weights
    (the original implementation divided by the variance)."""
    loaded = []
    monkeypatch.setattr(weight_files, "find", lambda name, what="": f"/models/{name}")
    monkeypatch.setattr(
        weight_files, "load_application_weights", lambda model, path: loaded.append(path)
    )
    model = applications.EfficientNetB0(weights="imagenet", include_top=False)
    plain = applications.EfficientNetB0(weights=None, include_top=False)
    kinds = [type(layer).__name__ for layer in model.layers[1:5]]
    assert kinds == ["Rescaling", "Normalization", "Rescaling", "ZeroPadding2D"]
    assert [type(layer).__name__ for layer in plain.layers[1:4]] == [
        "Rescaling",
        "Normalization",
        "ZeroPadding2D",
    ]
    assert loaded == ["/models/efficientnetb0_notop.h5"]
    np.testing.assert_allclose(
        model.layers[3].scale, [1 / np.sqrt(s) for s in (0.229, 0.224, 0.225)]
    )


def _write_legacy_h5(path, named_arrays):
    """A Keras legacy-layout weights file: `layer_names`, each group's `weight_names`."""
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [name.encode() for name, _ in named_arrays]
        for name, arrays in named_arrays:
            group = file.create_group(name)
            group.attrs["weight_names"] = [f"{name}/w{i}".encode() for i in range(len(arrays))]
            for i, array in enumerate(arrays):
                group.create_dataset(f"{name}/w{i}", data=array)


def _unnamed_model():
    inputs = layers.Input((4, 4, 3))
    x = layers.Conv2D(2, 1)(inputs)
    x = layers.BatchNormalization()(x)
    return Model(inputs, layers.Dense(3, name="predictions")(layers.Flatten()(x)))


def test_a_file_with_other_automatic_names_loads_in_order(tmp_path):
    """Keras's published files name unnamed layers after the session that wrote them
    (conv2d_93...): with as many layers as the model, the loader pairs them in order."""
    model = _unnamed_model()
    rng = np.random.default_rng(3)
    arrays = [
        [rng.standard_normal(w.shape).astype("float32") for w in layer.get_weights()]
        for layer in model.layers
        if layer.get_weights()
    ]
    path = tmp_path / "old_session.h5"
    _write_legacy_h5(
        path, list(zip(["conv2d_93", "batch_normalization_93", "dense_7"], arrays, strict=True))
    )
    weight_files.load_application_weights(model, path)
    loaded = [layer.get_weights() for layer in model.layers if layer.get_weights()]
    for ours, theirs in zip(loaded, arrays, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b)
    _write_legacy_h5(tmp_path / "short.h5", [("conv2d_93", arrays[0])])
    with pytest.raises(ValueError, match=r"has no weights for layer 'conv2d(_\d+)?'"):
        weight_files.load_application_weights(model, tmp_path / "short.h5")


@pytest.mark.parametrize(
    "builder", ["ResNet50V2", "MobileNetV3Small", "DenseNet121", "ConvNeXtTiny", "Xception"]
)
def test_input_tensor_and_pooling_of_the_new_families(builder):
    image = layers.Input((96, 96, 3))
    scaled = layers.Rescaling(1.0)(image)
    model = getattr(applications, builder)(
        weights=None, include_top=False, input_tensor=scaled, pooling="max"
    )
    assert model.inputs[0] is image
    assert len(model.output.shape) == 2
    with torch.no_grad():
        out = model(torch.zeros(1, 96, 96, 3))
    assert tuple(out.shape) == (1, model.output.shape[-1])


def test_every_keras_application_name_is_in_lamina():
    names = {n for n in dir(keras.applications) if not n.startswith("_")}
    missing = sorted(n for n in names if not hasattr(applications, n))
    assert missing == []


def _named_model_and_arrays():
    model = _unnamed_model()
    arrays = [layer.get_weights() for layer in model.layers if layer.get_weights()]
    names = [layer.name for layer in model.layers if layer.get_weights()]
    return model, list(zip(names, arrays, strict=True))


def test_an_external_link_in_a_weights_file_is_refused(tmp_path):
    """An application weights file is read through the same guard as a saved model: a link to
    another file on the host is refused, and the model keeps its weights."""
    model, named = _named_model_and_arrays()
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as file:
        file.create_dataset("kernel", data=np.ones((1, 1, 3, 2), "float32"))
    path = tmp_path / "linked.h5"
    _write_legacy_h5(path, named)
    first = named[0][0]
    with h5py.File(path, "r+") as file:
        del file[f"{first}/{first}/w0"]
        file[f"{first}/{first}/w0"] = h5py.ExternalLink(str(secret), "kernel")
    before = model.get_weights()
    with pytest.raises(FileFormatError, match=r"is an external link to 'kernel'"):
        weight_files.load_application_weights(model, path)
    for a, b in zip(model.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_huge_declared_weight_is_refused_before_reading(tmp_path):
    model, named = _named_model_and_arrays()
    path = tmp_path / "huge.h5"
    _write_legacy_h5(path, named)
    last = named[-1][0]
    with h5py.File(path, "r+") as file:  # 14.4 GB declared, nothing stored
        del file[f"{last}/{last}/w0"]
        file.create_dataset(
            f"{last}/{last}/w0", shape=(60000, 60000), dtype="float32", chunks=(1000, 1000)
        )
    with pytest.raises(ValueError, match=r"holds weights of shapes \[\(60000, 60000\), \(3,\)\]"):
        weight_files.load_application_weights(model, path)


def test_a_damaged_weights_file_gets_a_clear_error(tmp_path):
    model, named = _named_model_and_arrays()
    path = tmp_path / "damaged.h5"
    _write_legacy_h5(path, named)
    path.write_bytes(path.read_bytes().replace(b"SNOD", b"XXXX", 1))
    with pytest.raises(FileFormatError, match=r"damaged.h5 is damaged: HDF5 cannot read"):
        weight_files.load_application_weights(model, path)
