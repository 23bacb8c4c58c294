"""plot_history: one subplot per metric, train and validation lines holding the history's values."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.visualization import plot_history
from tests.visualization.helpers import png_size

LOGS = {
    "loss": [0.9, 0.6, 0.45, 0.4],
    "accuracy": [0.5, 0.7, 0.8, 0.85],
    "val_loss": [1.0, 0.7, 0.6, 0.62],
    "val_accuracy": [0.45, 0.65, 0.75, 0.74],
}


def _lines(axes):
    """{legend label: (x, y)} of the lines on one subplot."""
    return {line.get_label(): (line.get_xdata(), line.get_ydata()) for line in axes.get_lines()}


@pytest.fixture(scope="module")
def fitted_history():
    """A real History: a small MLP, 3 epochs with a validation split."""
    lamina.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(96, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    model = lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(4,)),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0)


def test_one_subplot_per_metric_with_train_and_validation_lines():
    figure = plot_history(LOGS)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    for axes, name in zip(figure.axes, ["loss", "accuracy"], strict=True):
        lines = _lines(axes)
        assert set(lines) == {"train", "validation"}
        np.testing.assert_array_equal(lines["train"][0], [1, 2, 3, 4])  # epochs start at 1
        np.testing.assert_array_equal(lines["train"][1], LOGS[name])
        np.testing.assert_array_equal(lines["validation"][0], [1, 2, 3, 4])
        np.testing.assert_array_equal(lines["validation"][1], LOGS["val_" + name])
        assert axes.get_xlabel() == "epoch" and axes.get_ylabel() == name
        assert axes.get_legend() is not None


def test_a_history_object_plots_its_values(fitted_history):
    figure = plot_history(fitted_history)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "accuracy"]
    loss = _lines(figure.axes[0])
    np.testing.assert_allclose(loss["train"][1], fitted_history.history["loss"])
    np.testing.assert_allclose(loss["validation"][1], fitted_history.history["val_loss"])
    np.testing.assert_array_equal(loss["train"][0], [1, 2, 3])


@pytest.mark.parametrize(
    "metrics, titles",
    [("accuracy", ["accuracy"]), (["accuracy", "loss"], ["accuracy", "loss"])],
    ids=["one-name", "chosen-order"],
)
def test_metrics_selects_and_orders_the_subplots(metrics, titles):
    assert [axes.get_title() for axes in plot_history(LOGS, metrics=metrics).axes] == titles


def test_training_only_history_has_no_validation_line():
    figure = plot_history({"loss": [3.0, 2.0], "mae": [1.0, 0.5], "learning_rate": [0.1, 0.05]})
    assert [axes.get_title() for axes in figure.axes] == ["loss", "mae", "learning_rate"]
    assert all(set(_lines(axes)) == {"train"} for axes in figure.axes)


def test_more_than_three_metrics_wrap_onto_rows():
    figure = plot_history({f"m{i}": [float(i)] for i in range(5)})
    rows_and_columns = {axes.get_subplotspec().get_geometry()[:2] for axes in figure.axes}
    assert rows_and_columns == {(2, 3)}


def test_validation_every_other_epoch_is_drawn_at_its_epochs():
    # fit(validation_freq=2) over 6 epochs logs val_loss after epochs 2, 4 and 6.
    figure = plot_history({"loss": [6.0, 5, 4, 3, 2, 1], "val_loss": [5.5, 3.5, 1.5]})
    np.testing.assert_array_equal(_lines(figure.axes[0])["validation"][0], [2, 4, 6])


def test_path_writes_a_png(tmp_path):
    figure = plot_history(LOGS, path=tmp_path / "curves.png")
    width, height = png_size((tmp_path / "curves.png").read_bytes())
    assert (width, height) == tuple(int(v) for v in figure.get_size_inches() * 100)
    assert width > 600 and height > 250
    assert list(tmp_path.iterdir()) == [tmp_path / "curves.png"]  # no temporary file left behind


ERRORS = [
    (
        "unknown-metric",
        (LOGS,),
        {"metrics": ["acc"]},
        ValueError,
        r"plot_history\(metrics=\.\.\.\) expects names from the history: \['loss', 'accuracy'\]; "
        r"received \['acc'\]\. Hint: drop the 'val_' prefix",
    ),
    (
        "val-prefixed-metric",
        (LOGS,),
        {"metrics": "val_loss"},
        ValueError,
        r"received \['val_loss'\]\. Hint: drop the 'val_' prefix",
    ),
    (
        "empty-history",
        ({},),
        {},
        ValueError,
        r"history expects at least one epoch of logs; received an empty history\. "
        r"Hint: plot after fit\(\) has run at least one epoch\.",
    ),
    (
        "not-a-history",
        ([0.1, 0.2],),
        {},
        TypeError,
        r"history expects a History \(what fit\(\) returns\) or its \.history dict; "
        r"received list\.",
    ),
]


@pytest.mark.parametrize(
    "args, kwargs, error, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_plot_history_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        plot_history(*args, **kwargs)


PER_CLASS = {
    "loss": [0.9, 0.6, 0.5],
    "f1_score": [np.array([0.1, 0.5]), np.array([0.2, 0.6]), np.array([0.3, 0.7])],
    "val_f1_score": [np.array([0.0, 0.4]), np.array([0.1, 0.5]), np.array([0.2, 0.6])],
}


def test_a_per_class_metric_draws_a_line_per_class_on_its_axes():
    # F1Score(average=None) logs a vector per epoch; float() of it used to end the plot.
    figure = plot_history(PER_CLASS)
    assert [axes.get_title() for axes in figure.axes] == ["loss", "f1_score"]
    lines = _lines(figure.axes[1])
    assert set(lines) == {"train[0]", "train[1]", "validation[0]", "validation[1]"}
    np.testing.assert_allclose(lines["train[1]"][1], [0.5, 0.6, 0.7])
    np.testing.assert_allclose(lines["validation[0]"][1], [0.0, 0.1, 0.2])
    colours = {line.get_label(): line.get_color() for line in figure.axes[1].get_lines()}
    assert colours["train[0]"] == colours["validation[0]"] != colours["train[1]"]


def test_a_per_class_metric_is_chosen_by_its_name_or_one_class():
    assert [axes.get_title() for axes in plot_history(PER_CLASS, "f1_score").axes] == ["f1_score"]
    only = plot_history(PER_CLASS, "f1_score[1]").axes[0]
    assert only.get_title() == "f1_score"
    assert set(_lines(only)) == {"train[1]", "validation[1]"}


def test_a_per_class_metric_of_changing_width_is_refused():
    with pytest.raises(ValueError, match=r"history\['f1_score'\].*same number of values"):
        plot_history({"f1_score": [np.array([0.1, 0.2]), np.array([0.1, 0.2, 0.3])]})
