"""Feature maps, confusion matrices and the HTML report of bfloat16 models: the values drawn are
the model's bfloat16 values widened to float32 (exactly)."""

import ml_dtypes
import numpy as np
import pytest
import torch
from sklearn import metrics as sk

import lamina
from lamina import layers
from lamina.visualization import (
    build_report,
    confusion_matrix,
    plot_confusion_matrix,
    plot_feature_maps,
)

IMAGES = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")


def _bfloat16_cnn():
    inputs = lamina.Input((8, 8, 1))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", dtype="bfloat16")(inputs)
    x = layers.Flatten(dtype="bfloat16")(x)
    outputs = layers.Dense(3, activation="softmax", dtype="bfloat16")(x)
    return lamina.Model(inputs, outputs, name="bf16_cnn")


def _tiles(figure) -> np.ndarray:
    return np.stack([np.asarray(axes.images[0].get_array()) for axes in figure.axes])


@pytest.mark.parametrize("as_tensor", [False, True], ids=["array", "bfloat16-tensor"])
def test_feature_maps_of_a_bfloat16_model(as_tensor):
    model = _bfloat16_cnn()
    conv = model.get_layer("conv2d")
    assert conv.kernel.dtype == torch.bfloat16
    images = torch.from_numpy(IMAGES).to(torch.bfloat16) if as_tensor else IMAGES
    figure = plot_feature_maps(model, images)
    with torch.no_grad():
        expected = conv(torch.from_numpy(IMAGES[:1]).to(torch.bfloat16))[0].float().numpy()
    tiles = _tiles(figure)
    assert tiles.dtype == np.float32
    np.testing.assert_array_equal(tiles, np.moveaxis(expected, -1, 0))


def test_confusion_matrix_of_bfloat16_predictions():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    probabilities = np.eye(3)[[0, 2, 2, 1, 1, 0]] * 0.75 + 0.125
    expected = sk.confusion_matrix(y_true, [0, 2, 2, 1, 1, 0], labels=range(3))
    as_array = probabilities.astype(ml_dtypes.bfloat16)  # what predict gives a bfloat16 model
    as_tensor = torch.tensor(probabilities, dtype=torch.bfloat16)
    for y_pred in (as_array, as_tensor):
        np.testing.assert_array_equal(confusion_matrix(y_true, y_pred), expected)
        figure = plot_confusion_matrix(y_true, y_pred)
        np.testing.assert_array_equal(figure.axes[0].images[0].get_array(), expected)


def test_bfloat16_sigmoid_column_is_thresholded():
    y_true = np.array([0, 1, 1, 0])
    column = torch.tensor([[0.25], [0.75], [0.375], [0.625]], dtype=torch.bfloat16)
    np.testing.assert_array_equal(confusion_matrix(y_true, column), [[1, 1], [1, 1]])


def test_html_report_of_a_bfloat16_model():
    model = _bfloat16_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    y = np.array([0, 1, 2, 0, 1, 2])
    history = model.fit(IMAGES, y, epochs=2, batch_size=3, verbose=0)
    y_pred = model.predict(IMAGES, verbose=0)
    assert y_pred.dtype == ml_dtypes.bfloat16
    report = build_report(
        title="bf16", history=history, model=model, y_true=y, y_pred=y_pred, images=IMAGES[:1]
    )
    assert set(report.figures) == {"history.png", "confusion_matrix.png", "feature_maps.png"}
    samples = int(confusion_matrix(y, y_pred).sum())
    assert samples == 6 and f"on {samples} samples" in report.html
