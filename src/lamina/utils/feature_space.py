"""FeatureSpace: Keras's one-stop preprocessing of structured (tabular) data, on lamina's
preprocessing layers: name each column's type, `adapt` on the data, and call it on a dict of
columns to get one encoded vector per row (or a dict of encoded features)."""

from __future__ import annotations

import torch

from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.engine.symbolic import Input, KerasTensor, Node, flatten_symbolic
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.hashing import HashedCrossing
from lamina.layers.preprocessing.numeric import Normalization
from lamina.saving.model_config import register_saveable
from lamina.saving.object_serialization import serialize_keras_object
from lamina.utils import feature_data, feature_specs
from lamina.utils.feature_specs import Cross, Feature

_NOT_ADAPTED_HINT = "call feature_space.adapt(data) with training data first."


@register_saveable
class FeatureSpace(Layer):
    """One-stop preprocessing and encoding of structured data, as Keras's `FeatureSpace`.

    Each feature names its type, by string (with this FeatureSpace's defaults) or through a class
    method: `"float"` (as is), `"float_rescaled"` (`Rescaling`), `"float_normalized"`
    (`Normalization`), `"float_discretized"` (`Discretization`, one-hot), `"integer_categorical"`
    / `"string_categorical"` (`IntegerLookup` / `StringLookup`, one-hot), `"integer_hashed"` /
    `"string_hashed"` (`Hashing`, one-hot). `FeatureSpace.feature(dtype, preprocessor,
    output_mode)` takes any lamina preprocessing layer.

    `adapt(data)` learns the statistics and vocabularies. lamina has no `tf.data`: `data` is a dict
    of arrays (read by 32 rows, as Keras slices and batches it), or an iterable of dicts (batches
    from a list or generator, or a `lamina.data.Dataset`, batched or not; `(x, y)` elements count
    by `x`). Calling the FeatureSpace on a dict of columns (a batch, or one sample of scalars)
    returns the encoded features: in "concat" mode one float32 tensor whose columns are the
    features in sorted name order, then the crosses in sorted name order; in "dict" mode a dict of
    them. Keys of the dict that are not features (a label column) are ignored.

    `get_inputs()` gives a dict of symbolic `Input`s, `get_encoded_features()` the symbolic
    encoded features, for functional models: train on `feature_space(x)` with a model whose
    input is the encoded features, and serve raw dicts with `Model(get_inputs(), outputs)`.

    The class method `float` shadows `torch.nn.Module.float()` here, as Keras's API requires; a
    FeatureSpace has no parameters of its own to cast.

    Args:
        features: `{name: type}`, each type a string above or a `FeatureSpace.<type>(...)`.
        output_mode: "concat" (default; one vector per row) or "dict".
        crosses: pairs (or longer tuples) of feature names to cross, or `FeatureSpace.cross(...)`;
            a cross hashes its features' preprocessed values into `crossing_dim` bins.
        crossing_dim: the bins of crosses given as tuples (default 32).
        hashing_dim: the bins of `"integer_hashed"` / `"string_hashed"` features (default 32).
        num_discretization_bins: the bins of `"float_discretized"` features (default 32).
        name: the layer's name.

    Example:
        >>> data = {"price": [1.0, 3.0, 1.0, 3.0], "color": ["red", "blue", "red", "red"]}
        >>> space = FeatureSpace({"price": "float_normalized", "color": "string_categorical"})
        >>> space.adapt(data)
        >>> space(data).tolist()[0]  # color one-hot ([UNK], red, blue), then price normalized
        [0.0, 1.0, 0.0, -1.0]
    """

    # ----------------------------------------------------------------------------------------------
    # Feature and cross specifications (Keras's class methods)

    @classmethod
    def cross(cls, feature_names, crossing_dim, output_mode="one_hot"):
        """A cross of `feature_names`, hashed into `crossing_dim` bins ("one_hot" or "int")."""
        return Cross(feature_names, crossing_dim, output_mode=output_mode)

    @classmethod
    def feature(cls, dtype, preprocessor, output_mode):
        """A feature with your own preprocessing layer ("int", "one_hot" or "float" output)."""
        return Feature(dtype, preprocessor, output_mode)

    @classmethod
    def float(cls, name=None):
        """Float values, passed on as float32."""
        return feature_specs.float_feature(name=name)

    @classmethod
    def float_rescaled(cls, scale=1.0, offset=0.0, name=None):
        """Float values times `scale` plus `offset` (a `Rescaling` layer)."""
        return feature_specs.float_rescaled(scale=scale, offset=offset, name=name)

    @classmethod
    def float_normalized(cls, name=None):
        """Float values standardised to the adapted mean and variance (`Normalization`)."""
        return feature_specs.float_normalized(name=name)

    @classmethod
    def float_discretized(cls, num_bins, bin_boundaries=None, output_mode="one_hot", name=None):
        """Float values bucketed (`Discretization`) into `num_bins` adapted quantile bins."""
        return feature_specs.float_discretized(num_bins, bin_boundaries, output_mode, name)

    @classmethod
    def integer_categorical(
        cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None
    ):
        """Integer categories, indexed by an adapted vocabulary (`IntegerLookup`)."""
        return feature_specs.integer_categorical(max_tokens, num_oov_indices, output_mode, name)

    @classmethod
    def string_categorical(
        cls, max_tokens=None, num_oov_indices=1, output_mode="one_hot", name=None
    ):
        """String categories, indexed by an adapted vocabulary (`StringLookup`)."""
        return feature_specs.string_categorical(max_tokens, num_oov_indices, output_mode, name)

    @classmethod
    def string_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Strings hashed into `num_bins` bins (`Hashing`)."""
        return feature_specs.string_hashed(num_bins, output_mode, name)

    @classmethod
    def integer_hashed(cls, num_bins, output_mode="one_hot", name=None):
        """Integers hashed into `num_bins` bins (`Hashing`)."""
        return feature_specs.integer_hashed(num_bins, output_mode, name)

    # ----------------------------------------------------------------------------------------------
    # Construction

    def __init__(
        self,
        features,
        output_mode="concat",
        crosses=None,
        crossing_dim=32,
        hashing_dim=32,
        num_discretization_bins=32,
        name=None,
    ):
        super().__init__(name=name)
        if not features:
            raise errors.value_error(self, "a non-empty `features` dict", f"features={features!r}")
        if output_mode not in ("concat", "dict"):
            raise errors.value_error(
                self, "`output_mode` 'concat' or 'dict'", f"output_mode={output_mode!r}"
            )
        self.output_mode = output_mode
        self.crossing_dim = crossing_dim
        self.hashing_dim = hashing_dim
        self.num_discretization_bins = num_discretization_bins
        self.features = {name: self._standardize_feature(name, f) for name, f in features.items()}
        self.crosses = [self._standardize_cross(cross) for cross in crosses or []]
        self.crosses_by_name = {cross.name: cross for cross in self.crosses}
        self.preprocessors = {name: f.preprocessor for name, f in self.features.items()}
        self.crossers = {
            cross.name: HashedCrossing(cross.crossing_dim, name=cross.name)
            for cross in self.crosses
        }
        self.inputs = {
            name: Input(shape=(1,), dtype=f.dtype, name=name) for name, f in self.features.items()
        }
        self.one_hot_encoders = {}
        self.encoded_features = None
        self._is_adapted = False
        self._sublayers_built = False
        self.built = True

    def _standardize_feature(self, name, feature):
        if isinstance(feature, Feature):
            return feature
        if isinstance(feature, dict):
            return feature_specs.deserialize(feature)
        return feature_specs.from_shorthand(
            name, feature, self.hashing_dim, self.num_discretization_bins
        )

    def _standardize_cross(self, cross):
        if isinstance(cross, dict):
            cross = feature_specs.deserialize(cross)
        if not isinstance(cross, Cross):
            if not self.crossing_dim:
                raise errors.value_error(
                    self, "a `crossing_dim` with `crosses`", f"crossing_dim={self.crossing_dim!r}"
                )
            cross = Cross(cross, crossing_dim=self.crossing_dim)
        unknown = [name for name in cross.feature_names if name not in self.features]
        if unknown:
            raise errors.value_error(
                self,
                "crosses of features present in the `features` dict",
                f"unknown features {unknown} in the cross {cross.feature_names}",
            )
        return cross

    @property
    def layers(self) -> list:
        # The preprocessors keep their state in their configs: nothing for a weights file.
        return []

    # ----------------------------------------------------------------------------------------------
    # Adapting

    def _list_adaptable_preprocessors(self) -> list:
        names = []
        for name, preprocessor in self.preprocessors.items():
            if isinstance(preprocessor, Normalization) and preprocessor.input_mean is not None:
                continue  # fixed mean and variance: nothing to learn
            if isinstance(preprocessor, Discretization) and preprocessor.num_bins is None:
                continue  # fixed bin boundaries
            if hasattr(preprocessor, "adapt"):
                names.append(name)
        return names

    def adapt(self, dataset):
        """Learn every adaptable preprocessor's state (statistics, vocabularies, bins).

        Args:
            dataset: a dict of arrays or lists (one per feature), or an iterable of such dicts
                (a list or generator of batches, or a `lamina.data.Dataset`; `(x, y)` elements
                count by `x`).
        """
        names = self._list_adaptable_preprocessors()
        columns = feature_data.adapt_columns(
            dataset, {name: self.features[name].dtype for name in names}
        )
        for name in names:
            self.preprocessors[name].adapt(columns[name])
        self._is_adapted = True
        self._finish_build()

    def _check_if_adapted(self):
        if self._is_adapted:
            return
        adaptable = self._list_adaptable_preprocessors()
        # A FeatureSpace rebuilt from a config holds its vocabularies and statistics already.
        if all(feature_specs.holds_learned_state(self.preprocessors[n]) for n in adaptable):
            self._is_adapted = True
            return
        raise errors.value_error(
            self,
            "adapt(dataset) before use",
            f"a call before adapt (features {adaptable} learn from data)",
            _NOT_ADAPTED_HINT,
        )

    # ----------------------------------------------------------------------------------------------
    # Encoding

    def _output_names(self) -> list:
        return sorted(self.features) + sorted(self.crosses_by_name)

    def _spec(self, name):
        return self.features.get(name) or self.crosses_by_name[name]

    def _finish_build(self):
        """The one-hot encoders (their widths are known once adapted) and the concat check."""
        self._check_if_adapted()
        self.one_hot_encoders = {}
        for name in self._output_names():
            spec = self._spec(name)
            if spec.output_mode == "one_hot":
                layer = self.preprocessors.get(name) or self.crossers.get(name)
                width = feature_specs.cardinality(layer)
                if width is None:
                    raise errors.value_error(
                        self,
                        f"a standard categorical preprocessor for feature {name!r} with "
                        "output_mode='one_hot'",
                        f"{type(layer).__name__}, whose number of ids is not known",
                        "use output_mode='int' for this feature.",
                    )
                self.one_hot_encoders[name] = CategoryEncoding(
                    num_tokens=width, output_mode="multi_hot"
                )
            elif spec.output_mode == "int" and self.output_mode == "concat":
                raise errors.value_error(
                    self,
                    "encoded (one_hot or float) features to concatenate",
                    f"feature {name!r} with output_mode='int'",
                    "use FeatureSpace(..., output_mode='dict') for integer features.",
                )
        self._sublayers_built = True

    def _encode(self, columns: dict):
        preprocessed = {name: self.preprocessors[name](columns[name]) for name in self.features}
        crossed = {
            cross.name: self.crossers[cross.name]([preprocessed[n] for n in cross.feature_names])
            for cross in self.crosses
        }
        encoded = {}
        for name in self._output_names():
            value = preprocessed[name] if name in preprocessed else crossed[name]
            encoder = self.one_hot_encoders.get(name)
            encoded[name] = encoder(value) if encoder is not None else value
        if self.output_mode == "dict":
            return encoded
        return torch.cat([value.to(torch.float32) for value in encoded.values()], dim=-1)

    def __call__(self, data, *args, **kwargs):
        if not isinstance(data, dict):
            raise errors.value_error(
                self, "a dict of feature values", f"data of type {type(data).__name__}"
            )
        if not self._sublayers_built:
            self._finish_build()
        if flatten_symbolic(data):
            return self._call_symbolic(data)
        return self.call(data)

    def call(self, data):
        columns, single = {}, False
        for name, feature in self.features.items():
            value = feature_data.as_call_value(feature_data.value_of(data, name), feature.dtype)
            if value.ndim == 0:
                value, single = value.reshape(1, 1), True
            elif value.ndim == 1:
                value = value.reshape(-1, 1)
            columns[name] = value
        encoded = self._encode(columns)
        if not single:
            return encoded
        if self.output_mode == "concat":
            return encoded.squeeze(0)
        return {
            name: x.squeeze(0) if x.ndim == 2 and x.shape[0] == 1 else x
            for name, x in encoded.items()
        }

    def _call_symbolic(self, data):
        """Record this FeatureSpace as one node of a functional graph; its outputs' shapes come
        from encoding one placeholder row."""
        example = {name: [feature_specs.placeholder(f)] for name, f in self.features.items()}
        encoded = self.call(example)
        as_symbolic = lambda x: KerasTensor((None, *x.shape[1:]), x.dtype)  # noqa: E731
        if self.output_mode == "dict":
            outputs = {name: as_symbolic(x) for name, x in encoded.items()}
        else:
            outputs = as_symbolic(encoded)
        node = Node(self, (data,), {}, outputs)
        for index, tensor in enumerate(flatten_symbolic(outputs)):
            tensor.node, tensor.index, tensor.name = node, index, f"{self.name}/out{index}"
        self._inbound_nodes.append(node)
        return outputs

    def get_inputs(self):
        """The dict of symbolic `Input`s (shape `(1,)`), one per feature."""
        if not self._sublayers_built:
            self._finish_build()
        return self.inputs

    def get_encoded_features(self):
        """The symbolic encoded features: a tensor ("concat") or a dict of them ("dict")."""
        self._check_if_adapted()
        if self.encoded_features is None:
            self.encoded_features = self(self.inputs)
        return self.encoded_features

    # ----------------------------------------------------------------------------------------------
    # Config and saving

    def get_config(self):
        return {
            "name": self.name,
            "features": serialize_keras_object(self.features),
            "output_mode": self.output_mode,
            "crosses": serialize_keras_object(self.crosses),
            "crossing_dim": self.crossing_dim,
            "hashing_dim": self.hashing_dim,
            "num_discretization_bins": self.num_discretization_bins,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def save(self, filepath):
        """Save to a `.keras` file; `lamina.saving.load_model(filepath)` reloads it, adapted.

        Args:
            filepath: a path ending in `.keras`.
        """
        from lamina.saving import keras_format

        if not str(filepath).endswith(".keras"):
            raise errors.value_error(self, "a filepath ending in .keras", f"{str(filepath)!r}")
        keras_format.save(self, filepath)
