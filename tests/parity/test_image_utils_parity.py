"""keras.utils image helpers against Keras 3: the same arrays give the same PIL pixels."""

import numpy as np
import pytest

import lamina
from tests.parity.reference import keras


@pytest.mark.parity
@pytest.mark.parametrize("offset_scale", [(0.0, 1.0), (5.0, 300.0), (-0.5, 1.0)])
def test_array_to_img_truncates_scaled_pixels_as_keras(offset_scale):
    # A Grad-CAM overlay: a float heatmap plus an image, rescaled to [0, 255] and cast.
    offset, scale = offset_scale
    array = np.random.default_rng(0).random((4, 5, 3)) * scale + offset
    expected = np.asarray(keras.utils.array_to_img(array))
    np.testing.assert_array_equal(np.asarray(lamina.utils.array_to_img(array)), expected)
