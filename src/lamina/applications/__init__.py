"""lamina.applications: the famous architectures, built from lamina's public layers.

VGG16, VGG19, ResNet50, ResNet101, ResNet152 and MobileNetV2 follow `keras.applications` (same
arguments, layer names and parameter counts; `weights="imagenet"` loads Keras's HDF5 files from
`~/.keras/models` or `~/.lamina/models`, offline). LeNet5 and AlexNet are lamina's own.
"""

from lamina.applications import mobilenet_v2, resnet, vgg
from lamina.applications.classic import AlexNet, LeNet5
from lamina.applications.mobilenet_v2 import MobileNetV2
from lamina.applications.resnet import ResNet50, ResNet101, ResNet152
from lamina.applications.vgg import VGG16, VGG19

# Keras's module names: `applications.vgg16.preprocess_input`, `applications.resnet50...`.
vgg16 = vgg19 = vgg
resnet50 = resnet

__all__ = [
    "AlexNet",
    "LeNet5",
    "MobileNetV2",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "VGG16",
    "VGG19",
    "mobilenet_v2",
    "resnet",
    "resnet50",
    "vgg16",
    "vgg19",
]
