"""`keras.applications.vgg16`: the module tf.keras-era code imports VGG16's helpers from
(`from tensorflow.keras.applications.vgg16 import preprocess_input`). It names the ones
`applications.vgg` defines, as Keras's does.

Example:
    >>> from lamina.applications.vgg16 import preprocess_input
    >>> preprocess_input(np.full((1, 1, 1, 3), 255.0)).round(3).tolist()
    [[[[151.061, 138.221, 131.32]]]]
"""

from lamina.applications.vgg import VGG16, decode_predictions, preprocess_input

__all__ = ["VGG16", "decode_predictions", "preprocess_input"]
