"""Things people would rather look at than read: training curves, confusion matrices, feature maps
and a self-contained HTML report of a run.

Drawing needs matplotlib (`pip install 'lamina[plot]'`); it is imported on the first plot, never by
`import lamina`. `confusion_matrix` and `per_class_scores` are plain numpy and need no matplotlib.
"""

from lamina.visualization.confusion import (
    confusion_matrix,
    normalize_confusion_matrix,
    per_class_scores,
)
from lamina.visualization.confusion_plot import plot_confusion_matrix
from lamina.visualization.feature_maps import feature_extractor, plot_feature_maps
from lamina.visualization.figures import matplotlib_available
from lamina.visualization.history_plot import plot_history
from lamina.visualization.image_drawing import draw_bounding_boxes, draw_segmentation_masks
from lamina.visualization.image_galleries import (
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)
from lamina.visualization.report import Report, build_report, html_report

__all__ = [
    "Report",
    "build_report",
    "confusion_matrix",
    "draw_bounding_boxes",
    "draw_segmentation_masks",
    "feature_extractor",
    "html_report",
    "matplotlib_available",
    "normalize_confusion_matrix",
    "per_class_scores",
    "plot_bounding_box_gallery",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_history",
    "plot_image_gallery",
    "plot_segmentation_mask_gallery",
]
