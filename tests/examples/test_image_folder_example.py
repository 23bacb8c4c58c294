"""examples/image_folder_classification.py trains end to end on PNG folders written by Pillow."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "image_folder_classification.py"


def load_example():
    spec = importlib.util.spec_from_file_location("image_folder_classification", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_image_folder_example_learns_the_classes(tmp_path):
    example = load_example()
    directory = tmp_path / "images"
    example.write_image_folders(str(directory), per_class=40)
    assert sorted(p.name for p in directory.iterdir()) == ["one", "seven", "zero"]
    assert len(list((directory / "zero").glob("*.png"))) == 40
    history, accuracy = example.main(str(directory), epochs=4, verbose=0)
    assert len(history.history["val_accuracy"]) == 4
    assert accuracy > 0.8
