"""LeNet-5 and AlexNet: the seeds' "famous architectures" that Keras does not ship (lamina's own).

LeNet5() (LeCun et al., 1998, in its common modern form): 32x32x1 input; Conv(6, 5x5, tanh) -
AvgPool 2 - Conv(16, 5x5, tanh) - AvgPool 2 - Flatten - Dense 120 - Dense 84 (tanh) - Dense 10
(softmax). 61,706 parameters at the defaults.

AlexNet() (Krizhevsky et al., 2012, single-tower form with BatchNormalization in place of local
response normalisation): 227x227x3 input; Conv(96, 11x11/4) - MaxPool 3/2 - Conv(256, 5x5, same) -
MaxPool 3/2 - Conv 384 - Conv 384 - Conv 256 (3x3, same) - MaxPool 3/2 - Flatten - Dense 4096 -
Dropout - Dense 4096 - Dropout - Dense 1000. 62,379,752 parameters at the defaults: 62,378,344 in
the convolutions and Dense layers, 1,408 in BatchNormalization (4 x (96 + 256)), of which the 704
moving statistics are non-trainable.
"""

from __future__ import annotations

from lamina import layers
from lamina.engine.model import Model


def LeNet5(
    input_shape=(32, 32, 1),
    classes=10,
    activation="tanh",
    classifier_activation="softmax",
    name="lenet5",
):
    """LeNet-5. 61,706 parameters with the defaults (28x28 inputs: use `input_shape=(28, 28, 1)`,
    the first convolution then pads 'same' as in the MNIST variants, keeping the same count).

    Args:
        input_shape: `(height, width, channels)`; (32, 32, 1) as in the paper.
        classes: units of the classifier.
        activation: hidden activation ("tanh" as in the paper; "relu" is the modern choice).
        classifier_activation: activation of the classifier.

    Example:
        >>> LeNet5().count_params()
        61706
    """
    inputs = layers.Input(shape=input_shape)
    padding = "same" if input_shape[0] < 32 else "valid"
    x = layers.Conv2D(6, 5, padding=padding, activation=activation, name="c1")(inputs)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="c5")(x)
    x = layers.Dense(84, activation=activation, name="f6")(x)
    outputs = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return Model(inputs, outputs, name=name)


def AlexNet(
    input_shape=(227, 227, 3),
    classes=1000,
    dropout=0.5,
    classifier_activation="softmax",
    name="alexnet",
):
    """AlexNet. 62,379,752 parameters with the defaults (62,379,048 of them trainable).

    Args:
        input_shape: `(height, width, channels)`; (227, 227, 3) as in the paper's arithmetic.
        classes: units of the classifier (default 1000).
        dropout: rate of the two dropout layers of the classifier (default 0.5).
        classifier_activation: activation of the classifier (default softmax).
        name: the model's name (default "alexnet").

    It is built with random weights (no pretrained file exists for it in Keras's collection);
    BatchNormalization stands where the paper had local response normalisation.

    Example:
        >>> # 62 million weights take seconds to initialise, so not run here:
        >>> model = AlexNet(classes=10)  # doctest: +SKIP
        >>> model.output.shape, model.count_params()  # doctest: +SKIP
        ((None, 10), 58323722)
        >>> AlexNet(input_shape=(32, 32, 3))  # too small: nothing is left to pool after conv2
        Traceback (most recent call last):
        ...
        ValueError: Layer 'pool2' (MaxPooling2D) expects spatial sizes at least pool_size (3, 3)...
    """
    inputs = layers.Input(shape=input_shape)
    x = layers.Conv2D(96, 11, strides=4, activation="relu", name="conv1")(inputs)
    x = layers.BatchNormalization(name="norm1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    x = layers.Conv2D(256, 5, padding="same", activation="relu", name="conv2")(x)
    x = layers.BatchNormalization(name="norm2")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool2")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.Conv2D(384, 3, padding="same", activation="relu", name="conv4")(x)
    x = layers.Conv2D(256, 3, padding="same", activation="relu", name="conv5")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool5")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc6")(x)
    x = layers.Dropout(dropout, name="drop6")(x)
    x = layers.Dense(4096, activation="relu", name="fc7")(x)
    x = layers.Dropout(dropout, name="drop7")(x)
    outputs = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    return Model(inputs, outputs, name=name)
