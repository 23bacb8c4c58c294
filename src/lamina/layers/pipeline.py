"""Pipeline: a list of layers applied in turn, the container for preprocessing chains."""

from __future__ import annotations

from lamina.engine import errors
from lamina.engine.layer import Layer
from lamina.engine.serialization import layer_entry
from lamina.layers import layer_serialization


class Pipeline(Layer):
    """Applies its layers one after the other, passing `training` (and masks) along.

    Unlike Sequential it is a layer, not a model: it has no compile/fit, and is meant for
    preprocessing chains (e.g. augmentation in a `Dataset.map`).

    Args:
        layers: the layers, in order.
        name: the layer's name.

    Example:
        >>> pipeline = Pipeline([lamina.layers.Rescaling(1 / 255), lamina.layers.Identity()])
        >>> pipeline(torch.full((1, 2), 255.0)).tolist()
        [[1.0, 1.0]]
    """

    casts_float_inputs = False  # Keras leaves its inputs' dtype as it is

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        self._pipeline_layers = list(layers)
        self.pipeline_layers = self._pipeline_layers  # registered, so their weights are tracked

    @property
    def layers(self) -> list:
        return list(self._pipeline_layers)

    def call(self, inputs, training=True, mask=None):  # Keras's default: augmentations augment
        outputs = inputs
        for layer in self._pipeline_layers:
            if isinstance(layer, Layer):
                kwargs = {"training": training}
                if mask is not None and layer._call_takes_mask:
                    kwargs["mask"] = mask
                outputs = layer(outputs, **kwargs)
            else:
                outputs = layer(outputs)
            # The next layer gets the mask this one's outputs carry (as Keras's Pipeline).
            mask = getattr(outputs, "_keras_mask", None)
        return outputs

    def get_config(self):
        return {
            "layers": [layer_entry(layer) for layer in self._pipeline_layers],
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise errors.value_error(
                "Pipeline.from_config",
                "a config whose 'layers' is a list of serialized layers",
                f"layers={layers!r}",
            )
        return cls(
            [layer_serialization.deserialize(entry, custom_objects) for entry in layers],
            name=config.get("name"),
        )
