"""Gaps the Keras developer guides (second half) found in lamina, each reproduced in a few lines of
our own, grouped by guide. The guides themselves are not copied here; see each test's docstring
for the workflow it stands for.
"""

from __future__ import annotations

import json
import warnings
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina import ops
from tests.parity.reference import keras


def _clipped_quantizer_class(base):
    """A user quantizer on `base` (lamina's or Keras's `Quantizer`): abs-max scaled to half the
    int8 range, the kind of custom scheme a `QuantizationConfig` takes."""

    class HalfRangeQuantizer(base):
        def __init__(self, limit=63, output_dtype="int8"):
            super().__init__(output_dtype=output_dtype)
            self.limit = limit

        def __call__(self, x, axis, to_numpy=False):
            peak = ops.max(ops.abs(x), axis=axis, keepdims=True)
            scale = ops.divide(self.limit, ops.add(peak, 1e-7))
            q = ops.clip(ops.round(ops.multiply(x, scale)), -self.limit, self.limit)
            return ops.cast(q, self.output_dtype), scale

        def get_config(self):
            return {"limit": self.limit, "output_dtype": self.output_dtype}

    return HalfRangeQuantizer


# customizing_quantization: a model quantized with a user's activation quantizer is saved and
# loaded back with that class in custom_objects (or a custom_object_scope), as in Keras.


def _quantized_with(quantizer_cls):
    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(4)])
    config = lamina.quantizers.Int8QuantizationConfig(
        weight_quantizer=lamina.quantizers.AbsMaxQuantizer(axis=0),
        activation_quantizer=quantizer_cls(limit=31),
    )
    model.quantize(config=config)
    return model


@pytest.mark.parametrize("how", ["custom_objects", "scope"])
def test_custom_activation_quantizer_survives_save_and_load(how, tmp_path):
    quantizer_cls = _clipped_quantizer_class(lamina.quantizers.Quantizer)
    model = _quantized_with(quantizer_cls)
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    expected = ops.convert_to_numpy(model(x))
    model.save(tmp_path / "m.keras")

    objects = {"HalfRangeQuantizer": quantizer_cls}
    if how == "scope":
        with lamina.saving.custom_object_scope(objects):
            loaded = lamina.saving.load_model(tmp_path / "m.keras")
    else:
        loaded = lamina.saving.load_model(tmp_path / "m.keras", custom_objects=objects)

    quantizer = loaded.layers[0].inputs_quantizer
    assert isinstance(quantizer, quantizer_cls) and quantizer.limit == 31
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), expected)


def test_custom_quantizer_entry_reads_as_keras_writes_it():
    ours = _clipped_quantizer_class(lamina.quantizers.Quantizer)(limit=31)
    theirs = _clipped_quantizer_class(keras.quantizers.Quantizer)(limit=31)
    assert lamina.quantizers.serialize(ours) == keras.saving.serialize_keras_object(theirs)
    # Built-in quantizers keep Keras's module name.
    builtin = lamina.quantizers.serialize(lamina.quantizers.AbsMaxQuantizer(axis=0))
    assert builtin["module"] == "keras.quantizers" and builtin["registered_name"] is None


def test_registered_custom_quantizer_is_found_by_its_registered_name():
    base = _clipped_quantizer_class(lamina.quantizers.Quantizer)
    registered = lamina.saving.register_keras_serializable(package="guides_more")(base)
    try:
        entry = lamina.quantizers.serialize(registered(limit=15))
        assert entry["registered_name"] == "guides_more>HalfRangeQuantizer"
        again = lamina.quantizers.deserialize(entry)
        assert type(again) is registered and again.limit == 15
    finally:
        lamina.saving.get_custom_objects().pop("guides_more>HalfRangeQuantizer", None)


def test_keras_file_with_custom_quantizer_loads_in_lamina(tmp_path):
    keras_cls = _clipped_quantizer_class(keras.quantizers.Quantizer)
    theirs = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    config = keras.quantizers.Int8QuantizationConfig(
        weight_quantizer=keras.quantizers.AbsMaxQuantizer(axis=0),
        activation_quantizer=keras_cls(limit=31),
    )
    with warnings.catch_warnings():  # Keras's own: "InputLayer does not have a quantize method"
        warnings.simplefilter("ignore", UserWarning)
        theirs.quantize(config=config)
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    expected = keras.ops.convert_to_numpy(theirs(x))
    theirs.save(tmp_path / "theirs.keras")

    lamina_cls = _clipped_quantizer_class(lamina.quantizers.Quantizer)
    ours = lamina.saving.load_model(
        tmp_path / "theirs.keras", custom_objects={"HalfRangeQuantizer": lamina_cls}
    )
    assert isinstance(ours.layers[0].inputs_quantizer, lamina_cls)
    np.testing.assert_allclose(ops.convert_to_numpy(ours(x)), expected, rtol=1e-6, atol=1e-6)


# migration_guide_tf_keras_3_0: a seeded Dropout applied to an integer NumPy array in training
# mode (the guide's random-seed cell); the noise layers give float outputs there, as Keras's.

NOISE_LAYERS = [
    ("Dropout", {"rate": 0.5}),
    ("GaussianNoise", {"stddev": 0.1}),
    ("GaussianDropout", {"rate": 0.3}),
    ("AlphaDropout", {"rate": 0.3}),
    ("SpatialDropout1D", {"rate": 0.3}),
]


@pytest.mark.parametrize("name, config", NOISE_LAYERS, ids=[n for n, _ in NOISE_LAYERS])
def test_noise_layers_take_integer_inputs_in_training(name, config):
    x = np.arange(1, 41).reshape(1, 8, 5)  # int64, as np.array of Python ints
    ours = getattr(lamina.layers, name)(seed=3, **config)(x, training=True)
    theirs = getattr(keras.layers, name)(seed=3, **config)(x, training=True)
    assert str(ours.dtype) == str(theirs.dtype) == "torch.float32"
    assert tuple(ours.shape) == x.shape


def test_dropout_on_integers_keeps_scaled_entries_and_zeros():
    x = np.arange(1, 201).reshape(20, 10)
    out = ops.convert_to_numpy(lamina.layers.Dropout(0.5, seed=42)(x, training=True))
    kept = out != 0
    assert 0 < kept.sum() < x.size
    np.testing.assert_allclose(out[kept], x[kept] * 2.0)
    # Inference passes the integers through untouched, as Keras.
    same = lamina.layers.Dropout(0.5, seed=42)(x, training=False)
    assert str(same.dtype) == "torch.int64"


def test_unseeded_dropout_on_integers_off_the_cpu():
    # Off the CPU an unseeded Dropout takes torch's fused kernel, which refuses integers; the
    # meta device takes that branch here without a GPU.
    x = torch.ones(4, 3, dtype=torch.long, device="meta")
    out = lamina.layers.Dropout(0.5)(x, training=True)
    assert out.dtype == torch.float32 and out.shape == x.shape


# serialization_and_saving: a script's own layers and models (module `__main__`) are written with
# no module, as Keras writes them (the guide prints `layers.serialize` of such a layer).


def _script_class(cls):
    cls.__module__ = "__main__"  # as if defined in the script the guide runs
    return cls


@_script_class
class _ScriptScale(lamina.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@_script_class
class _ScriptModel(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = lamina.layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_script_layer_entries_have_no_module_as_keras():
    @_script_class
    class KerasScriptScale(keras.layers.Layer):
        def get_config(self):
            return {**super().get_config(), "factor": 2.0}

    theirs = keras.saving.serialize_keras_object(KerasScriptScale(name="s"))
    ours = lamina.saving.serialize_keras_object(_ScriptScale(name="s"))
    assert ours["module"] is theirs["module"] is None
    assert lamina.layers.serialize(_ScriptScale(name="t"))["module"] is None

    inputs = lamina.Input((3,))
    model = lamina.Model(inputs, _ScriptScale(name="scale")(inputs))
    entry = next(e for e in model.get_config()["layers"] if e["class_name"] == "_ScriptScale")
    assert entry["module"] is None and entry["registered_name"] == "_ScriptScale"


def test_script_classes_save_without_module_and_load_back(tmp_path):
    inputs = lamina.Input((3,))
    functional = lamina.Model(inputs, _ScriptScale(3.0, name="scale")(inputs))
    functional.save(tmp_path / "f.keras")
    again = lamina.saving.load_model(
        tmp_path / "f.keras", custom_objects={"_ScriptScale": _ScriptScale}
    )
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(ops.convert_to_numpy(again(x)), np.full((2, 3), 3.0))

    subclassed = _ScriptModel()
    subclassed(x)
    subclassed.save(tmp_path / "s.keras")
    with zipfile.ZipFile(tmp_path / "s.keras") as archive:
        assert json.loads(archive.read("config.json"))["module"] is None
    again = lamina.saving.load_model(
        tmp_path / "s.keras", custom_objects={"_ScriptModel": _ScriptModel}
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(again(x)), ops.convert_to_numpy(subclassed(x)), rtol=1e-6
    )
