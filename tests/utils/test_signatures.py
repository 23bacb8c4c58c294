"""The data helpers take Keras 3's arguments, in Keras's order, with Keras's defaults."""

import inspect

import pytest

import lamina
from tests.parity import reference

PATHS = [
    "utils.get_file",
    "utils.split_dataset",
    "utils.text_dataset_from_directory",
    "utils.audio_dataset_from_directory",
    "preprocessing.text_dataset_from_directory",
    "preprocessing.timeseries_dataset_from_array",
    *(
        f"utils.bounding_boxes.{name}"
        for name in (
            "convert_format",
            "compute_iou",
            "compute_ciou",
            "clip_to_image_size",
            "affine_transform",
            "crop",
            "pad",
            "encode_box_to_deltas",
            "decode_deltas_to_boxes",
        )
    ),
    *(
        f"visualization.{name}"
        for name in (
            "draw_bounding_boxes",
            "draw_segmentation_masks",
            "plot_image_gallery",
            "plot_bounding_box_gallery",
            "plot_segmentation_mask_gallery",
        )
    ),
]


@pytest.mark.parity
@pytest.mark.parametrize("path", PATHS)
def test_parameters_match_keras(path):
    ours = lamina
    for part in path.split("."):
        ours = getattr(ours, part)
    parameters = [(p.name, p.default) for p in inspect.signature(ours).parameters.values()]
    assert parameters == reference.keras_parameters(path)


def test_timeseries_format_is_checked():
    with pytest.raises(ValueError, match='`format` should be either "tf" or "grain"'):
        lamina.preprocessing.timeseries_dataset_from_array([1, 2, 3], None, 2, format="jax")
