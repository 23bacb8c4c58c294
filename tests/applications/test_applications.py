"""Applications: Keras's published parameter counts, argument rules, offline weights errors."""

from __future__ import annotations

import pytest
import torch

from lamina import applications
from lamina.applications import weights as weight_files

# keras.io/api/applications: total parameters with the top; without it, as keras.applications
# builds them (weights=None). Heavy builds are sized down where the count does not depend on size.
PUBLISHED = [
    ("VGG16", {"include_top": False, "input_shape": (32, 32, 3)}, 14_714_688),
    ("VGG19", {"include_top": False, "input_shape": (32, 32, 3)}, 20_024_384),
    ("ResNet50", {"include_top": False, "input_shape": (32, 32, 3)}, 23_587_712),
    ("MobileNetV2", {}, 3_538_984),
    ("MobileNetV2", {"include_top": False, "input_shape": (96, 96, 3)}, 2_257_984),
    ("MobileNetV2", {"include_top": False, "alpha": 0.35, "input_shape": (96, 96, 3)}, 410_208),
    ("LeNet5", {}, 61_706),
]


@pytest.mark.parametrize(
    ("builder", "kwargs", "count"),
    PUBLISHED,
    ids=[
        f"{b}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for b, kw, _ in PUBLISHED
    ],
)
def test_parameter_counts_equal_the_published_figures(builder, kwargs, count):
    if builder != "LeNet5":
        kwargs = {"weights": None, **kwargs}
    assert getattr(applications, builder)(**kwargs).count_params() == count


@pytest.mark.slow
@pytest.mark.parametrize(
    ("builder", "count"),
    [
        ("VGG16", 138_357_544),
        ("VGG19", 143_667_240),
        ("ResNet50", 25_636_712),
        ("ResNet101", 44_707_176),
        ("ResNet152", 60_419_944),
    ],
)
def test_parameter_counts_of_the_heavy_models(builder, count):
    assert getattr(applications, builder)(weights=None).count_params() == count


def test_alexnet_counts_and_trainable_split():
    model = applications.AlexNet()
    assert model.count_params() == 62_379_752
    trainable = sum(w.numel() for w in model.trainable_weights)
    assert trainable == 62_379_048


def test_pooling_and_input_tensor():
    model = applications.ResNet50(
        weights=None, include_top=False, pooling="avg", input_shape=(64, 64, 3)
    )
    assert model.output.shape == (None, 2048)
    assert model.get_layer("avg_pool").output.shape == (None, 2048)
    from lamina import layers

    image = layers.Input((64, 64, 3))
    scaled = layers.Rescaling(1 / 255)(image) if hasattr(layers, "Rescaling") else image
    vgg = applications.VGG16(weights=None, include_top=False, input_tensor=scaled, pooling="max")
    assert vgg.inputs[0] is image
    assert vgg(torch.zeros(1, 64, 64, 3)).shape == (1, 512)


def test_mobilenet_model_names_and_blocks_like_keras():
    model = applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(128, 128, 3), alpha=0.5
    )
    assert model.name == "mobilenetv2_0.50_128"
    names = [layer.name for layer in model.layers]
    assert names[1:4] == ["Conv1", "bn_Conv1", "Conv1_relu"]
    assert "block_16_project_BN" in names and names[-1] == "out_relu"
    assert type(model.get_layer("block_2_add")).__name__ == "Add"


def test_classic_models_run():
    assert applications.LeNet5(input_shape=(28, 28, 1))(torch.zeros(2, 28, 28, 1)).shape == (2, 10)


ERROR_CASES = [
    (
        "weights-kind",
        lambda: applications.VGG16(weights=3),
        r"VGG16\(\) expects weights=None \(random\), 'imagenet' or the path to a weights file; "
        r"received weights=3",
    ),
    (
        "classes",
        lambda: applications.ResNet50(weights="imagenet", classes=10),
        r"ResNet50\(\) with weights='imagenet' and include_top=True expects classes=1000",
    ),
    (
        "activation",
        lambda: applications.VGG19(weights="imagenet", classifier_activation="relu"),
        r"expects classifier_activation 'softmax' or None; received classifier_activation='relu'",
    ),
    (
        "pooling",
        lambda: applications.VGG16(weights=None, include_top=False, pooling="sum"),
        r"expects pooling None, 'avg' or 'max'; received pooling='sum'",
    ),
    (
        "imagenet-shape",
        lambda: applications.VGG16(weights="imagenet", input_shape=(64, 64, 3)),
        r"VGG16\(\) with weights='imagenet' and include_top=True expects "
        r"input_shape=\(224, 224, 3\)",
    ),
    (
        "min-size",
        lambda: applications.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3)),
        r"ResNet50\(\) expects height and width of at least 32; received input_shape=\(16, 16, 3\)",
    ),
    (
        "top-needs-size",
        lambda: applications.VGG16(weights=None, input_shape=(None, None, 3)),
        r"with include_top=True expects a fixed input size",
    ),
    (
        "rank",
        lambda: applications.VGG16(weights=None, input_shape=(32, 32)),
        r"expects input_shape=\(height, width, channels\); received input_shape=\(32, 32\)",
    ),
    (
        "mobilenet-alpha",
        lambda: applications.MobileNetV2(weights="imagenet", alpha=0.6),
        r"MobileNetV2\(\) with weights='imagenet' expects alpha in "
        r"\(0.35, 0.5, 0.75, 1.0, 1.3, 1.4\)",
    ),
    (
        "mobilenet-size",
        lambda: applications.MobileNetV2(
            weights="imagenet", include_top=False, input_shape=(100, 100, 3)
        ),
        r"expects a square input of size \(96, 128, 160, 192, 224\); "
        r"received input_shape=\(100, 100",
    ),
]


@pytest.mark.parametrize(
    ("case", "trigger", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES]
)
def test_argument_errors(case, trigger, pattern):
    with pytest.raises(ValueError, match=pattern):
        trigger()


@pytest.fixture
def empty_homes(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("LAMINA_HOME", str(tmp_path / "lamina"))
    return tmp_path


MISSING_FILES = [
    ("VGG16", {}, "vgg16_weights_tf_dim_ordering_tf_kernels.h5"),
    ("VGG19", {"include_top": False}, "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("ResNet50", {"include_top": False}, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("ResNet152", {}, "resnet152_weights_tf_dim_ordering_tf_kernels.h5"),
    ("MobileNetV2", {}, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"),
    (
        "MobileNetV2",
        {"include_top": False, "alpha": 0.35, "input_shape": (160, 160, 3)},
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_160_no_top.h5",
    ),
]


@pytest.mark.parametrize(
    ("builder", "kwargs", "file_name"), MISSING_FILES, ids=[m[2] for m in MISSING_FILES]
)
def test_missing_imagenet_weights_name_the_file_and_where_to_put_it(
    empty_homes, builder, kwargs, file_name, monkeypatch
):
    built = []
    monkeypatch.setattr(
        "lamina.engine.model.Model._set_graph", lambda *args: built.append(args)
    )  # proves nothing gets built first
    with pytest.raises(FileNotFoundError) as failure:
        getattr(applications, builder)(weights="imagenet", **kwargs)
    message = str(failure.value)
    assert f"Pretrained weights file '{file_name}' not found" in message
    assert str(empty_homes / "keras" / "models" / file_name) in message
    assert str(empty_homes / "lamina" / "models") in message
    assert "lamina never downloads" in message
    assert built == []


def test_a_missing_weights_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Weights file '.*nothing.h5' not found"):
        applications.VGG16(weights=str(tmp_path / "nothing.h5"), include_top=False)


def test_search_folders_honour_the_environment(empty_homes):
    assert weight_files.search_folders() == [
        empty_homes / "keras" / "models",
        empty_homes / "lamina" / "models",
    ]
