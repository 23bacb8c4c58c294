"""DTypePolicy, the global policy and a layer's dtype attributes, against Keras's."""

import pytest
import torch

import lamina
from lamina import dtype_policies, layers, mixed_precision
from tests.parity import reference

POLICY_NAMES = ["float32", "float64", "bfloat16", "float16", "mixed_float16", "mixed_bfloat16"]


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_policy_reports_what_keras_reports(name):
    policy = lamina.DTypePolicy(name)
    expected = reference.keras_policy_facts(name)
    assert policy.name == expected["name"]
    assert policy.compute_dtype == expected["compute_dtype"]
    assert policy.variable_dtype == expected["variable_dtype"]
    assert policy.quantization_mode is expected["quantization_mode"] is None
    assert repr(policy) == expected["repr"]
    assert dtype_policies.serialize(policy) == expected["serialized"]
    assert dtype_policies.deserialize(expected["serialized"]) == policy


def test_legacy_names_are_the_same_class():
    assert mixed_precision.Policy is mixed_precision.DTypePolicy is lamina.DTypePolicy
    assert dtype_policies.FloatDTypePolicy("float32") == lamina.DTypePolicy("float32")
    assert lamina.DTypePolicy("float32") != lamina.DTypePolicy("mixed_bfloat16")
    assert repr(lamina.FloatDTypePolicy("mixed_float16")) == '<DTypePolicy "mixed_float16">'
    assert dtype_policies.serialize(lamina.FloatDTypePolicy("float16"))["class_name"] == (
        "DTypePolicy"
    )


def test_bad_policy_names_are_rejected():
    with pytest.raises(ValueError, match=r"cannot interpret the name 'mixed_int8'. Valid names"):
        lamina.DTypePolicy("mixed_int8")
    with pytest.raises(TypeError, match=r"name as a string.*received name=3 \(of type int\)"):
        lamina.DTypePolicy(3)
    with pytest.raises(ValueError, match=r"expected a policy name .* received policy=1.5"):
        mixed_precision.set_global_policy(1.5)
    with pytest.raises(ValueError, match=r"Unknown dtype policy class 'Int2DTypePolicy'"):
        dtype_policies.deserialize({"class_name": "Int2DTypePolicy", "config": {}})


def test_get_accepts_names_dtypes_configs_and_policies():
    assert dtype_policies.get(None) is mixed_precision.global_policy()
    assert dtype_policies.get("mixed_bfloat16").compute_dtype == "bfloat16"
    assert dtype_policies.get(torch.float64).name == "float64"
    policy = lamina.DTypePolicy("mixed_float16")
    assert dtype_policies.get(policy) is policy
    config = {"class_name": "DTypePolicy", "config": {"name": "float16"}}
    assert dtype_policies.get(config).variable_dtype == "float16"


def test_global_policy_reaches_new_layers_and_is_reset_by_clear_session():
    assert mixed_precision.global_policy().name == "float32"
    mixed_precision.set_global_policy("mixed_bfloat16")
    assert lamina.config.dtype_policy() is mixed_precision.global_policy()
    assert mixed_precision.dtype_policy().name == "mixed_bfloat16"
    assert layers.Dense(2).dtype_policy.name == "mixed_bfloat16"
    assert layers.Dense(2, dtype="float32").dtype_policy.name == "float32"
    lamina.config.set_dtype_policy(lamina.DTypePolicy("float64"))
    assert layers.Dense(2).compute_dtype == "float64"
    lamina.backend.clear_session()
    assert mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("dtype", [None, *POLICY_NAMES])
def test_layer_dtype_attributes_match_keras(dtype):
    layer = layers.Dense(2, dtype=dtype)
    output = layer(torch.ones(1, 3))
    expected = reference.keras_dense_policy_facts(dtype)
    assert layer.dtype_policy.name == expected["policy"]
    assert layer.dtype == expected["dtype"]
    assert layer.compute_dtype == expected["compute_dtype"]
    assert layer.variable_dtype == expected["variable_dtype"]
    assert layer.get_config()["dtype"] == expected["config_dtype"]
    assert lamina.backend.dtype_name(layer.kernel.dtype) == expected["kernel_dtype"]
    assert lamina.backend.dtype_name(output.dtype) == expected["output_dtype"]


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_layer_under_a_global_mixed_policy_matches_keras(policy):
    mixed_precision.set_global_policy(policy)
    layer = layers.Dense(2)
    output = layer(torch.ones(1, 3))
    expected = reference.keras_dense_policy_facts(global_policy=policy)
    assert layer.dtype_policy.name == expected["policy"] == policy
    assert (layer.compute_dtype, layer.variable_dtype) == (
        expected["compute_dtype"],
        expected["variable_dtype"],
    )
    assert lamina.backend.dtype_name(layer.kernel.dtype) == expected["kernel_dtype"] == "float32"
    assert lamina.backend.dtype_name(output.dtype) == expected["output_dtype"]


def test_config_round_trip_keeps_the_policy():
    layer = layers.Dense(3, dtype="mixed_bfloat16")
    config = layer.get_config()
    assert config["dtype"] == {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "mixed_bfloat16"},
        "registered_name": None,
    }
    clone = layers.Dense.from_config(config)
    assert clone.dtype_policy == layer.dtype_policy
    assert layers.Dense.from_config({"units": 2, "dtype": "mixed_float16"}).compute_dtype == (
        "float16"
    )


def test_dtype_policy_can_be_set_on_a_layer():
    layer = layers.Dense(2)
    layer.dtype_policy = "mixed_bfloat16"
    assert (layer.compute_dtype, layer.variable_dtype) == ("bfloat16", "float32")
    assert layer(torch.ones(1, 3)).dtype == torch.bfloat16
