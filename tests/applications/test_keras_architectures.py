"""Every application against Keras's own build (weights=None): parameter counts, layer names,
layer kinds and output shape. Equal names are what lets Keras's HDF5 weight files load by name.

The default run builds each family's smallest member at a small input, with and without the top;
the large members (whose Keras builds take seconds each) are marked slow.
"""

from __future__ import annotations

import importlib
import re

import pytest

from tests.parity.reference import keras, keras_nasnet_mobile

# (lamina submodule, builder, arguments): the default run.
FAST = [
    ("vgg", "VGG16", {"input_shape": (32, 32, 3), "classes": 10}),
    ("resnet", "ResNet50", {"include_top": False, "input_shape": (32, 32, 3), "pooling": "max"}),
    ("mobilenet_v2", "MobileNetV2", {"alpha": 0.35, "input_shape": (96, 96, 3), "classes": 10}),
    ("resnet_v2", "ResNet50V2", {"include_top": False, "input_shape": (32, 32, 3)}),
    ("resnet_v2", "ResNet50V2", {"input_shape": (32, 32, 3), "classes": 10}),
    (
        "mobilenet",
        "MobileNet",
        {"include_top": False, "input_shape": (32, 32, 3), "pooling": "avg"},
    ),
    (
        "mobilenet",
        "MobileNet",
        {"alpha": 0.5, "depth_multiplier": 2, "input_shape": (64, 64, 3), "classes": 7},
    ),
    ("mobilenet_v3", "MobileNetV3Small", {"minimalistic": True, "alpha": 0.75, "classes": 5}),
    ("efficientnet", "EfficientNetB0", {"input_shape": (32, 32, 3), "classes": 10}),
    ("efficientnet_v2", "EfficientNetV2B0", {"include_top": False, "input_shape": (32, 32, 3)}),
    ("densenet", "DenseNet121", {"input_shape": (32, 32, 3), "classes": 10}),
    ("inception_v3", "InceptionV3", {"include_top": False, "input_shape": (75, 75, 3)}),
    (
        "inception_resnet_v2",
        "InceptionResNetV2",
        {"include_top": False, "input_shape": (75, 75, 3), "pooling": "avg"},
    ),
    ("xception", "Xception", {"input_shape": (71, 71, 3), "classes": 10}),
    ("convnext", "ConvNeXtTiny", {"input_shape": (32, 32, 3), "classes": 10}),
    ("convnext", "ConvNeXtTiny", {"include_top": False, "input_shape": (32, 32, 3)}),
    ("nasnet", "NASNetMobile", {"input_shape": (32, 32, 3), "classes": 10}),
]
# The other members (Keras's builds of the largest take 10-30 s each on 2 busy cores): with the
# top at Keras's default input where affordable, else without it at a small input (parameter
# counts do not depend on the input size; the heads are checked on the small members).
SLOW = [
    ("vgg", "VGG19", {}),
    ("resnet", "ResNet101", {}),
    ("resnet", "ResNet152", {"include_top": False}),
    ("resnet_v2", "ResNet50V2", {}),
    ("resnet_v2", "ResNet101V2", {}),
    ("resnet_v2", "ResNet152V2", {}),
    ("resnet_v2", "ResNet152V2", {"include_top": False, "pooling": "max"}),
    ("mobilenet", "MobileNet", {}),
    ("mobilenet_v3", "MobileNetV3Small", {}),
    ("mobilenet_v3", "MobileNetV3Large", {}),
    ("mobilenet_v3", "MobileNetV3Large", {"include_top": False, "alpha": 0.75}),
    ("mobilenet_v3", "MobileNetV3Small", {"include_top": False}),
    ("efficientnet", "EfficientNetB0", {}),
    *[
        ("efficientnet", f"EfficientNetB{i}", {"include_top": False, "input_shape": (32, 32, 3)})
        for i in range(1, 8)
    ],
    ("efficientnet", "EfficientNetB7", {"pooling": "avg", "include_top": False}),
    ("efficientnet_v2", "EfficientNetV2B0", {}),
    *[
        (
            "efficientnet_v2",
            f"EfficientNetV2{v}",
            {"include_top": False, "input_shape": (32, 32, 3)},
        )
        for v in ("B1", "B2", "B3", "S", "M", "L")
    ],
    (
        "efficientnet_v2",
        "EfficientNetV2B1",
        {"include_preprocessing": False, "include_top": False, "input_shape": (32, 32, 3)},
    ),
    ("densenet", "DenseNet121", {}),
    ("densenet", "DenseNet169", {}),
    ("densenet", "DenseNet201", {}),
    ("densenet", "DenseNet201", {"include_top": False, "pooling": "max"}),
    ("inception_v3", "InceptionV3", {}),
    ("inception_resnet_v2", "InceptionResNetV2", {}),
    ("xception", "Xception", {}),
    ("convnext", "ConvNeXtTiny", {}),
    *[
        ("convnext", f"ConvNeXt{v}", {"include_top": False, "input_shape": (32, 32, 3)})
        for v in ("Small", "Base", "Large", "XLarge")
    ],
    ("convnext", "ConvNeXtSmall", {"include_preprocessing": False, "include_top": False}),
    ("nasnet", "NASNetMobile", {}),
    ("nasnet", "NASNetMobile", {"include_top": False}),
    ("nasnet", "NASNetLarge", {"include_top": False, "input_shape": (64, 64, 3), "pooling": "max"}),
]
CASES = FAST + [pytest.param(*case, marks=pytest.mark.slow) for case in SLOW]


def _snake(name: str) -> str:
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _layers(model) -> list:
    """`model.layers` without lamina's OpLayers: Keras keeps graph arithmetic (MobileNetV3's
    `relu6(x + 3) / 6`) out of `model.layers`, lamina lists it; neither holds weights."""
    return [layer for layer in model.layers if type(layer).__name__ != "OpLayer"]


def _names(model) -> list[str]:
    """Layer names, with Keras's automatic ones (class name + session counter) reduced to the
    class name: only the counter differs from one session's build to the next."""
    names = []
    for layer in _layers(model):
        auto = _snake(type(layer).__name__)
        names.append(auto if re.fullmatch(rf"{auto}(_\d+)?", layer.name) else layer.name)
    return names


def _case_id(case) -> str:
    module, builder, kwargs = case.values if hasattr(case, "values") else case
    described = "-".join(f"{k}={v}" for k, v in kwargs.items()).replace(" ", "")
    return f"{builder}-{described or 'default'}"


@pytest.mark.parity
@pytest.mark.parametrize(("module", "builder", "kwargs"), CASES, ids=[_case_id(c) for c in CASES])
def test_architecture_equals_keras(module, builder, kwargs):
    if builder == "NASNetMobile":
        reference = keras_nasnet_mobile(weights=None, **kwargs)
    else:
        reference = getattr(keras.applications, builder)(weights=None, **kwargs)
    model = getattr(importlib.import_module(f"lamina.applications.{module}"), builder)(
        weights=None, **kwargs
    )
    assert model.count_params() == reference.count_params()
    assert model.name == reference.name
    assert _names(model) == _names(reference)
    assert [type(layer).__name__ for layer in _layers(model)] == [
        type(layer).__name__ for layer in reference.layers
    ]
    assert [layer.count_params() for layer in _layers(model)] == [
        layer.count_params() for layer in reference.layers
    ]
    assert tuple(model.output.shape) == tuple(reference.output.shape)
