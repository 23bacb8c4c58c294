"""`keras.applications.resnet50`: the module tf.keras-era code imports ResNet50's helpers from
(`from tensorflow.keras.applications.resnet50 import preprocess_input, decode_predictions`).
It names the ones `applications.resnet` defines, as Keras's does.

Example:
    >>> from lamina.applications.resnet50 import preprocess_input
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0)).round(3).tolist()
    [[[[151.061, 138.221, 131.32]]]]
"""

from lamina.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
