"""lamina.applications: the famous architectures, built from lamina's public layers.

Every `keras.applications` model, with Keras's arguments, layer names and parameter counts;
`weights="imagenet"` loads Keras's HDF5 files from `~/.keras/models` or `~/.lamina/models`,
offline (nothing is downloaded), and `weights=path` loads such a file from anywhere. Each family's
submodule (`applications.resnet_v2`, ...) holds its `preprocess_input` and `decode_predictions`,
as in Keras. LeNet5 and AlexNet are lamina's own.
"""

# resnet50, vgg16 and vgg19 are Keras's per-model module names, importable as in tf.keras-era
# code (`from keras.applications.resnet50 import preprocess_input, decode_predictions`).
from lamina.applications import (
    convnext,
    densenet,
    efficientnet,
    efficientnet_v2,
    imagenet_utils,
    inception_resnet_v2,
    inception_v3,
    mobilenet,
    mobilenet_v2,
    mobilenet_v3,
    nasnet,
    resnet,
    resnet50,
    resnet_v2,
    vgg16,
    vgg19,
    xception,
)
from lamina.applications.classic import AlexNet, LeNet5
from lamina.applications.convnext import (
    ConvNeXtBase,
    ConvNeXtLarge,
    ConvNeXtSmall,
    ConvNeXtTiny,
    ConvNeXtXLarge,
)
from lamina.applications.densenet import (
    DenseNet121,
    DenseNet169,
    DenseNet201,
)
from lamina.applications.efficientnet import (
    EfficientNetB0,
    EfficientNetB1,
    EfficientNetB2,
    EfficientNetB3,
    EfficientNetB4,
    EfficientNetB5,
    EfficientNetB6,
    EfficientNetB7,
)
from lamina.applications.efficientnet_v2 import (
    EfficientNetV2B0,
    EfficientNetV2B1,
    EfficientNetV2B2,
    EfficientNetV2B3,
    EfficientNetV2L,
    EfficientNetV2M,
    EfficientNetV2S,
)
from lamina.applications.inception_resnet_v2 import (
    InceptionResNetV2,
)
from lamina.applications.inception_v3 import (
    InceptionV3,
)
from lamina.applications.mobilenet import (
    MobileNet,
)
from lamina.applications.mobilenet_v2 import (
    MobileNetV2,
)
from lamina.applications.mobilenet_v3 import (
    MobileNetV3Large,
    MobileNetV3Small,
)
from lamina.applications.nasnet import (
    NASNetLarge,
    NASNetMobile,
)
from lamina.applications.resnet import (
    ResNet50,
    ResNet101,
    ResNet152,
)
from lamina.applications.resnet_v2 import (
    ResNet50V2,
    ResNet101V2,
    ResNet152V2,
)
from lamina.applications.vgg import (
    VGG16,
    VGG19,
)
from lamina.applications.xception import (
    Xception,
)

__all__ = [
    "AlexNet",
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtTiny",
    "ConvNeXtXLarge",
    "DenseNet121",
    "DenseNet169",
    "DenseNet201",
    "EfficientNetB0",
    "EfficientNetB1",
    "EfficientNetB2",
    "EfficientNetB3",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2B0",
    "EfficientNetV2B1",
    "EfficientNetV2B2",
    "EfficientNetV2B3",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "InceptionResNetV2",
    "InceptionV3",
    "LeNet5",
    "MobileNet",
    "MobileNetV2",
    "MobileNetV3Large",
    "MobileNetV3Small",
    "NASNetLarge",
    "NASNetMobile",
    "ResNet101",
    "ResNet101V2",
    "ResNet152",
    "ResNet152V2",
    "ResNet50",
    "ResNet50V2",
    "VGG16",
    "VGG19",
    "Xception",
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
