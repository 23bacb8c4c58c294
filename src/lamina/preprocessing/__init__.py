"""lamina.preprocessing: image utilities (`image`); `sequence` and `text` add their lines here."""

from lamina.preprocessing import image
from lamina.preprocessing.image import image_dataset_from_directory

__all__ = ["image", "image_dataset_from_directory"]
