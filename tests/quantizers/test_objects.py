"""Quantizer objects and configs: Keras's serialized form, round trips, get, and the errors."""

import pytest
import torch

import lamina
from lamina import quantizers
from tests.parity import reference


def test_quantizer_is_the_top_level_class():
    assert quantizers.Quantizer is lamina.Quantizer


def test_abs_max_quantizer_matches_keras_and_function():
    x = torch.tensor([[0.5, -1.0, 0.2], [2.0, 1.0, -3.0]])
    quantizer = quantizers.AbsMaxQuantizer(axis=0)
    q, scale = quantizer(x)
    expected = quantizers.abs_max_quantize(x, 0)
    assert torch.equal(q, expected[0]) and torch.equal(scale, expected[1])
    assert quantizer(x, axis=1)[1].shape == (2, 1)  # the call's axis wins
    name, config, serialized = reference.keras_quantizer_object(
        {"class_name": "AbsMaxQuantizer", "config": {"axis": [0]}}
    )
    assert serialized == quantizers.serialize(quantizer)
    assert config == quantizer.get_config()


def test_saving_writes_and_reads_quantizers_as_keras():
    # The generic serializer (what a layer's config holding a quantizer goes through) wrote
    # module "keras" and could not read Keras's "keras.quantizers" back.
    written = lamina.saving.serialize_keras_object(quantizers.AbsMaxQuantizer())
    assert written == reference.keras.saving.serialize_keras_object(
        reference.keras.quantizers.AbsMaxQuantizer()
    )
    revived = lamina.saving.deserialize_keras_object(written)
    assert type(revived) is quantizers.AbsMaxQuantizer


def test_abs_max_quantizer_rejects_wide_int8_range():
    with pytest.raises(ValueError, match=r"value_range within \[-128, 127\]"):
        quantizers.AbsMaxQuantizer(value_range=(-255, 255))


@pytest.mark.parametrize(
    "build",
    [
        lambda q: q.Int8QuantizationConfig(),
        lambda q: q.Int8QuantizationConfig(
            weight_quantizer=q.AbsMaxQuantizer(axis=0), activation_quantizer=None
        ),
        lambda q: q.Int4QuantizationConfig(),
        lambda q: q.Int4QuantizationConfig(
            weight_quantizer=q.AbsMaxQuantizer(value_range=(-8, 7)), block_size=None
        ),
        lambda q: q.Float8QuantizationConfig(),
        lambda q: q.GPTQConfig(None, None, weight_bits=3, group_size=-1, symmetric=True),
        lambda q: q.AWQConfig(None, None, num_grid_points=5),
    ],
)
def test_configs_serialize_as_keras_does(build):
    ours = build(quantizers)
    keras_serialized = reference.keras_serialized_quantizer(build)
    assert quantizers.serialize(ours) == keras_serialized
    rebuilt = quantizers.deserialize(keras_serialized)
    assert type(rebuilt) is type(ours)
    assert rebuilt.get_config() == ours.get_config()
    assert rebuilt.mode == ours.mode


def test_get_by_name_instance_and_none():
    assert quantizers.get(None) is None
    assert isinstance(quantizers.get("AbsMaxQuantizer"), quantizers.AbsMaxQuantizer)
    assert quantizers.get("int4_quantization_config", block_size=32).block_size == 32
    quantizer = quantizers.AbsMaxQuantizer()
    assert quantizers.get(quantizer) is quantizer
    with pytest.raises(ValueError, match="quantizers.get expects a quantizer"):
        quantizers.get("no_such_quantizer")
    with pytest.raises(ValueError, match="Unknown quantizer 'Nope'"):
        quantizers.deserialize({"class_name": "Nope", "config": {}})


def test_custom_quantizer_round_trips_with_custom_objects():
    class Halve(quantizers.Quantizer):
        def __call__(self, x):
            return x / 2

        def get_config(self):
            return {"output_dtype": self.output_dtype}

    config = quantizers.serialize(Halve(output_dtype="int4"))
    rebuilt = quantizers.deserialize(config, custom_objects={"Halve": Halve})
    assert rebuilt.output_dtype == "int4"
    assert rebuilt(torch.tensor([4.0])).item() == 2.0


def test_config_validation_messages():
    with pytest.raises(ValueError, match="output_dtype='int8'; received output_dtype='int16'"):
        quantizers.Int8QuantizationConfig(
            weight_quantizer=quantizers.AbsMaxQuantizer(output_dtype="int16")
        )
    with pytest.raises(ValueError, match="block_size None, -1 or a positive integer"):
        quantizers.Int4QuantizationConfig(block_size=0)
    with pytest.raises(ValueError, match="no custom quantizers with sub-channel groups"):
        quantizers.Int4QuantizationConfig(weight_quantizer=quantizers.AbsMaxQuantizer())
    with pytest.raises(ValueError, match=r"value_range=\(-8, 7\); received"):
        quantizers.Int4QuantizationConfig(
            weight_quantizer=quantizers.AbsMaxQuantizer(), block_size=-1
        )
    with pytest.raises(ValueError, match="weight_bits 2, 3, 4 or 8"):
        quantizers.GPTQConfig(None, None, weight_bits=5)
    with pytest.raises(ValueError, match=r"hessian_damping in \[0, 1\]"):
        quantizers.GPTQConfig(None, None, hessian_damping=2.0)
    with pytest.raises(ValueError, match="AWQConfig expects weight_bits=4; received"):
        quantizers.AWQConfig(None, None, weight_bits=8)
    with pytest.raises(ValueError, match="positive integer num_grid_points"):
        quantizers.AWQConfig(None, None, num_grid_points=0)
    with pytest.raises(NotImplementedError, match="Do not instantiate"):
        _ = quantizers.QuantizationConfig().mode
