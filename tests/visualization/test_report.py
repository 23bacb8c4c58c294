"""html_report: one self-contained, escaped HTML page with every section of a run."""

import base64
import html.parser
import os
import re

import numpy as np
import pytest

from lamina.visualization import build_report, html_report
from tests.visualization.helpers import png_size, small_cnn

HOSTILE = "<b>x</b>"
ALL_SECTIONS = [
    "details",
    "model",
    "training-curves",
    "final-metrics",
    "confusion-matrix",
    "per-class",
    "feature-maps",
]


class PageParser(html.parser.HTMLParser):
    """Collects what a check needs: tags, attributes, section ids, text, and nesting errors."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attributes, self.sections, self.text, self.open = [], [], [], [], []
        self.mismatched = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs
        if tag == "section":
            self.sections.append(dict(attrs)["id"])
        if tag not in ("meta", "img"):  # the void elements this page uses
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.mismatched.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def trained(digits):
    """The small CNN after 2 epochs on 400 digits: (model, history, test probabilities)."""
    import lamina

    lamina.utils.set_random_seed(0)
    x_train, y_train, x_test, _ = digits
    model = small_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x_train[:400], y_train[:400], epochs=2, batch_size=64, validation_split=0.25, verbose=0
    )
    return model, history, model.predict(x_test[:120], verbose=0)


@pytest.fixture(scope="module")
def page(trained, digits, tmp_path_factory):
    """The full report, written to a file, and its parse."""
    model, history, probabilities = trained
    path = tmp_path_factory.mktemp("report") / "run.html"
    class_names = [HOSTILE] + [f"digit {i}" for i in range(1, 10)]
    written = html_report(
        path,
        title=f"Run {HOSTILE}",
        history=history,
        model=model,
        y_true=digits[3][:120],
        y_pred=probabilities,
        class_names=class_names,
        images=digits[2][:4],
        extra={"test accuracy": 0.98765, HOSTILE: "& more"},
    )
    assert written == str(path)
    source = path.read_text(encoding="utf-8")
    parser = PageParser()
    parser.feed(source)
    parser.close()
    return source, parser


def test_every_section_is_there_in_order(page):
    _, parser = page
    assert parser.sections == ALL_SECTIONS
    assert parser.mismatched == [] and parser.open == []  # every element closed, properly nested


def test_figures_are_embedded_pngs(page):
    _, parser = page
    sources = [value for name, value in parser.attributes if name == "src"]
    assert len(sources) == 3  # curves, confusion matrix, feature maps
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        width, height = png_size(base64.b64decode(source.split(",", 1)[1], validate=True))
        assert width >= 300 and height >= 250


def test_nothing_outside_the_file_and_no_scripts(page):
    source, parser = page
    assert "script" not in parser.tags and "<script" not in source.lower()
    assert {"link", "iframe", "object", "embed"}.isdisjoint(parser.tags)
    without_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", source)
    assert "http" not in without_images and "//" not in without_images
    assert all(not name.startswith("on") for name, _ in parser.attributes)  # no event handlers


def test_hostile_text_is_escaped(page):
    source, parser = page
    assert "b" not in parser.tags  # the class name, title and extra label never became markup
    assert HOSTILE not in source and "&lt;b&gt;x&lt;/b&gt;" in source
    text = "".join(parser.text)
    assert f"Run {HOSTILE}" in text and "& more" in text
    assert text.count(HOSTILE) >= 4  # title, h1, details label, per-class row


def test_tables_hold_the_numbers(trained, digits, page):
    model, history, probabilities = trained
    _, parser = page
    text = "".join(parser.text)
    summary = []
    model.summary(print_fn=summary.append)
    assert "\n".join(summary) in text
    assert f"{history.history['val_accuracy'][-1]:.4g}" in text
    assert "0.9877" in text  # extra values: 4 significant digits
    accuracy = np.mean(probabilities.argmax(1) == digits[3][:120])
    assert f"Accuracy {accuracy:.4f} on 120 samples" in text


def test_the_write_is_atomic_and_overwrites(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    html_report(target, title="only a title")
    assert os.listdir(tmp_path) == ["report.html"]  # no temporary file left behind
    parser = PageParser()
    parser.feed(target.read_text())
    assert parser.sections == [] and "only a title" in "".join(parser.text)


def test_build_report_returns_the_page_and_the_pngs(trained):
    model, history, _ = trained
    report = build_report(title="t", history=history.history, model=model)
    assert set(report.figures) == {"history.png"}
    png_size(report.figures["history.png"])
    assert base64.b64encode(report.figures["history.png"]).decode() in report.html


ERRORS = [
    (
        "y-true-alone",
        {"y_true": [0, 1]},
        r"html_report expects y_true and y_pred together; received only y_true\. Hint: pass both",
    ),
    ("y-pred-alone", {"y_pred": [0, 1]}, r"received only y_pred\."),
    (
        "images-without-model",
        {"images": np.zeros((1, 8, 8, 1))},
        r"html_report\(images=\.\.\.\) expects a model to take feature maps from; received images "
        r"without model=\.",
    ),
]


@pytest.mark.parametrize("kwargs, message", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_html_report_errors(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        html_report(tmp_path / "r.html", title="t", **kwargs)
    assert not (tmp_path / "r.html").exists()
