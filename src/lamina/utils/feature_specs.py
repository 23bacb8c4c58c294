"""What a `FeatureSpace` is made of: `Feature` (a column's dtype, its preprocessing layer and how
its result is encoded), `Cross` (columns hashed together), and the factories behind
`FeatureSpace.float_normalized()`, `FeatureSpace.string_categorical()`, ... and their string
shorthands ("float_normalized", "string_categorical", ...)."""

from __future__ import annotations

import numpy as np
import torch

from lamina import backend
from lamina.engine import errors, naming
from lamina.engine.layer import Layer
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import Hashing
from lamina.layers.preprocessing.lookups import IntegerLookup, StringLookup
from lamina.layers.preprocessing.numeric import Normalization, Rescaling
from lamina.saving.object_serialization import deserialize_keras_object, serialize_keras_object

FEATURE_OUTPUT_MODES = ("int", "one_hot", "float")
CROSS_OUTPUT_MODES = ("int", "one_hot")


class FloatIdentity(Layer):
    """The preprocessor of a plain `"float"` feature: its values as float32, unchanged.

    Example:
        >>> FloatIdentity()(np.array([[1], [2]])).tolist()
        [[1.0], [2.0]]
    """

    def __call__(self, inputs, *args, **kwargs):
        return self.call(inputs)

    def call(self, inputs):
        if isinstance(inputs, torch.Tensor):
            return inputs.to(torch.float32)
        array = np.asarray(inputs, dtype="float32")
        return torch.as_tensor(array, device=backend.default_device())


# The classes a FeatureSpace's saved config names that are not in lamina's public namespaces
# (Keras calls the plain-float preprocessor TFDIdentity: its files load here too).
def _private_classes() -> dict:
    return {"Feature": Feature, "Cross": Cross, "FloatIdentity": FloatIdentity}


def deserialize(config):
    """A Feature, Cross or preprocessor from its serialized dict."""
    return deserialize_keras_object(
        config, custom_objects={**_private_classes(), "TFDIdentity": FloatIdentity}
    )


class Feature:
    """One column of a FeatureSpace: its input dtype, the layer that preprocesses it, and how
    the layer's result is encoded ("one_hot": integer ids become one-hot vectors; "int" and
    "float": passed on as they are).

    Args:
        dtype: the column's dtype ("float32", "int32", "string", ...): the dtype of its `Input`.
        preprocessor: a lamina preprocessing layer (or its serialized dict).
        output_mode: "int", "one_hot" or "float".

    Example:
        >>> feature = Feature("float32", lamina.layers.Rescaling(2.0), "float")
        >>> feature.output_mode
        'float'
    """

    def __init__(self, dtype, preprocessor, output_mode):
        if output_mode not in FEATURE_OUTPUT_MODES:
            raise errors.value_error(
                "Feature",
                f"`output_mode` in {FEATURE_OUTPUT_MODES}",
                f"output_mode={output_mode!r}",
            )
        self.dtype = dtype
        if isinstance(preprocessor, dict):
            preprocessor = deserialize(preprocessor)
        self.preprocessor = preprocessor
        self.output_mode = output_mode

    def get_config(self):
        return {
            "dtype": self.dtype,
            "preprocessor": serialize_keras_object(_with_learned_state(self.preprocessor)),
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _with_learned_state(preprocessor):
    """An adapted Normalization keeps its mean and variance in weights, not in its config: a
    config copy gets them as fixed statistics, so a reloaded FeatureSpace computes the same."""
    if not isinstance(preprocessor, Normalization) or preprocessor.input_mean is not None:
        return preprocessor
    if not preprocessor.adapted:
        return preprocessor
    config = preprocessor.get_config()
    config["mean"] = backend.as_numpy(preprocessor.adapt_mean).tolist()
    config["variance"] = backend.as_numpy(preprocessor.adapt_variance).tolist()
    return Normalization.from_config(config)


class Cross:
    """Features crossed together: each combination of their (preprocessed) values is hashed
    into one of `crossing_dim` bins.

    Args:
        feature_names: the names of the crossed features (two or more).
        crossing_dim: the number of hash bins.
        output_mode: "one_hot" (default) or "int".

    Example:
        >>> Cross(("color", "size"), crossing_dim=16).name
        'color_X_size'
    """

    def __init__(self, feature_names, crossing_dim, output_mode="one_hot"):
        if output_mode not in CROSS_OUTPUT_MODES:
            raise errors.value_error(
                "Cross",
                f"`output_mode` in {CROSS_OUTPUT_MODES}",
                f"output_mode={output_mode!r}",
            )
        self.feature_names = tuple(feature_names)
        self.crossing_dim = crossing_dim
        self.output_mode = output_mode

    @property
    def name(self) -> str:
        return "_X_".join(self.feature_names)

    def get_config(self):
        return {
            "feature_names": self.feature_names,
            "crossing_dim": self.crossing_dim,
            "output_mode": self.output_mode,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


# --------------------------------------------------------------------------------------------------
# The factories (FeatureSpace's class methods call these)


def _preprocessor_name(name, kind):
    return f"{name or naming.unique_name(kind)}_preprocessor"


def float_feature(name=None):
    return Feature("float32", FloatIdentity(name=_preprocessor_name(name, "float")), "float")


def float_rescaled(scale=1.0, offset=0.0, name=None):
    layer = Rescaling(scale=scale, offset=offset, name=_preprocessor_name(name, "float_rescaled"))
    return Feature("float32", layer, "float")


def float_normalized(name=None):
    layer = Normalization(axis=-1, name=_preprocessor_name(name, "float_normalized"))
    return Feature("float32", layer, "float")


def float_discretized(num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
    layer = Discretization(
        num_bins=num_bins,
        bin_boundaries=bin_boundaries,
        name=_preprocessor_name(name, "float_discretized"),
    )
    return Feature("float32", layer, output_mode)


def integer_categorical(max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
    layer = IntegerLookup(
        max_tokens=max_tokens,
        num_oov_indices=num_oov_indices,
        name=_preprocessor_name(name, "integer_categorical"),
    )
    return Feature("int32", layer, output_mode)


def string_categorical(max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None):
    layer = StringLookup(
        max_tokens=max_tokens,
        num_oov_indices=num_oov_indices,
        name=_preprocessor_name(name, "string_categorical"),
    )
    return Feature("string", layer, output_mode)


def string_hashed(num_bins, output_mode="one_hot", name=None):
    layer = Hashing(num_bins=num_bins, name=_preprocessor_name(name, "string_hashed"))
    return Feature("string", layer, output_mode)


def integer_hashed(num_bins, output_mode="one_hot", name=None):
    layer = Hashing(num_bins=num_bins, name=_preprocessor_name(name, "integer_hashed"))
    return Feature("int32", layer, output_mode)


FEATURE_TYPES = (
    "float",
    "float_rescaled",
    "float_normalized",
    "float_discretized",
    "integer_categorical",
    "string_categorical",
    "integer_hashed",
    "string_hashed",
)


def from_shorthand(name, kind, hashing_dim, num_discretization_bins):
    """The Feature a string names, with the FeatureSpace's defaults."""
    if kind == "float":
        return float_feature(name=name)
    if kind == "float_rescaled":
        return float_rescaled(name=name)
    if kind == "float_normalized":
        return float_normalized(name=name)
    if kind == "float_discretized":
        return float_discretized(num_discretization_bins, name=name)
    if kind == "integer_categorical":
        return integer_categorical(name=name)
    if kind == "string_categorical":
        return string_categorical(name=name)
    if kind == "integer_hashed":
        return integer_hashed(hashing_dim, name=name)
    if kind == "string_hashed":
        return string_hashed(hashing_dim, name=name)
    raise errors.value_error(
        "FeatureSpace",
        f"a feature type among {FEATURE_TYPES}, or a FeatureSpace.feature(...)",
        f"Invalid feature type: {kind!r} for feature {name!r}",
    )


def cardinality(preprocessor):
    """How many ids a categorical preprocessor produces (the one-hot width), or None."""
    from lamina.layers.preprocessing.category_encoding import CategoryEncoding
    from lamina.layers.preprocessing.hashing import HashedCrossing

    if isinstance(preprocessor, (IntegerLookup, StringLookup)):
        return preprocessor.vocabulary_size()
    if isinstance(preprocessor, CategoryEncoding):
        return preprocessor.num_tokens
    if isinstance(preprocessor, Discretization):
        if preprocessor.num_bins is not None:
            return preprocessor.num_bins
        if preprocessor.bin_boundaries is not None:
            return len(preprocessor.bin_boundaries) + 1
        return None
    if isinstance(preprocessor, (Hashing, HashedCrossing)):
        return preprocessor.num_bins
    return None


def holds_learned_state(preprocessor) -> bool:
    """Whether an adaptable preprocessor already holds what adapt() learns (a rebuilt one)."""
    if hasattr(preprocessor, "get_vocabulary"):  # the lookups, TextVectorization
        return bool(preprocessor.get_vocabulary(include_special_tokens=False))
    if isinstance(preprocessor, Discretization):
        return preprocessor.bin_boundaries is not None
    if isinstance(preprocessor, Normalization):
        return preprocessor.adapted
    return False


def placeholder(feature):
    """A value any feature's preprocessor takes (its first known token where it has a
    vocabulary): one row of these gives the shapes of the encoded features."""
    if hasattr(feature.preprocessor, "get_vocabulary"):
        vocabulary = feature.preprocessor.get_vocabulary(include_special_tokens=False)
        if vocabulary:
            return vocabulary[0]
    dtype = str(feature.dtype)
    return "" if dtype == "string" else 0 if dtype.startswith("int") else 0.0
