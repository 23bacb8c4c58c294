"""plot_confusion_matrix: the drawn image is the matrix, every cell is annotated with its value."""

import numpy as np
import pytest
from sklearn import metrics as sk

from lamina.visualization import plot_confusion_matrix
from tests.visualization.helpers import png_size

RNG = np.random.default_rng(1)
Y_TRUE = RNG.integers(0, 10, size=400)
Y_PRED = np.where(RNG.random(400) < 0.7, Y_TRUE, RNG.integers(0, 10, size=400))


def _cell_texts(axes) -> np.ndarray:
    """The annotation of each cell, placed by its (x, y) position, as a (rows, columns) array."""
    size = len(axes.get_yticks())
    grid = np.full((size, size), "", dtype=object)
    for text in axes.texts:
        column, row = text.get_position()
        grid[int(row), int(column)] = text.get_text()
    return grid


@pytest.mark.parametrize("normalize", [None, "true", "pred"], ids=["counts", "true", "pred"])
def test_the_image_is_sklearns_matrix_and_every_cell_is_annotated(normalize):
    figure = plot_confusion_matrix(Y_TRUE, Y_PRED, normalize=normalize)
    axes = figure.axes[0]
    expected = sk.confusion_matrix(Y_TRUE, Y_PRED, labels=range(10), normalize=normalize)
    np.testing.assert_allclose(axes.images[0].get_array(), expected, atol=1e-12)
    form = "{:d}" if normalize is None else "{:.2f}"
    assert _cell_texts(axes).tolist() == [[form.format(v) for v in row] for row in expected]
    assert axes.get_xlabel() == "Predicted" and axes.get_ylabel() == "True"
    assert axes.get_title().startswith("Confusion matrix")


def test_probability_rows_and_class_names():
    names = ["zero", "one", "two", "<b>x</b>"]
    y_true = np.array([0, 1, 2, 3, 3, 2])
    probabilities = np.eye(4)[[0, 2, 2, 3, 1, 2]] * 0.7 + 0.075
    figure = plot_confusion_matrix(y_true, probabilities, class_names=names)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == names
    assert [label.get_text() for label in axes.get_yticklabels()] == names
    np.testing.assert_array_equal(
        axes.images[0].get_array(), sk.confusion_matrix(y_true, [0, 2, 2, 3, 1, 2])
    )


def test_class_names_are_drawn_as_plain_text(tmp_path):
    # A '$' would start matplotlib's math mode; an unknown command there fails when drawing.
    names = [r"$\notacommand$", "50% $"]
    figure = plot_confusion_matrix([0, 1], [1, 1], class_names=names, path=tmp_path / "c.png")
    assert [label.get_text() for label in figure.axes[0].get_xticklabels()] == names


def test_class_names_add_classes_missing_from_the_data():
    figure = plot_confusion_matrix([0, 1], [1, 1], class_names=["a", "b", "c"])
    assert figure.axes[0].images[0].get_array().shape == (3, 3)


def test_readable_for_ten_classes(tmp_path):
    figure = plot_confusion_matrix(Y_TRUE, Y_PRED, path=tmp_path / "confusion.png")
    width, height = png_size((tmp_path / "confusion.png").read_bytes())
    # At least ~50 pixels per cell for 10 classes, and every label at a readable size.
    assert width >= 600 and height >= 600
    assert min(text.get_fontsize() for text in figure.axes[0].texts) >= 8


def test_many_classes_are_drawn_without_cell_labels():
    labels = np.arange(40)
    figure = plot_confusion_matrix(labels, labels)
    assert figure.axes[0].images[0].get_array().shape == (40, 40)
    assert len(figure.axes[0].texts) == 0


def test_class_names_fewer_than_the_labels_is_an_error():
    with pytest.raises(
        ValueError,
        match=r"confusion_matrix expects class ids in \[0, 2\) "
        r"\(num_classes=2\); received a class id 2\. Hint: pass a "
        r"larger num_classes \(or as many class_names\)\.",
    ):
        plot_confusion_matrix([0, 1, 2], [0, 1, 2], class_names=["a", "b"])


def test_unknown_normalize_is_rejected_before_drawing():
    with pytest.raises(
        ValueError,
        match=r"normalize expects one of None, 'true', 'pred'; "
        r"received normalize='rows'\.",
    ):
        plot_confusion_matrix([0, 1], [0, 1], normalize="rows")
