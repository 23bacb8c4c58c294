"""`Model.quantize()` / `Layer.quantize()`: Keras's rules, variables, errors, training, files.

The numbers against Keras's are in tests/parity/test_quantize_parity.py; this file pins lamina's
own behaviour: which layers change and how, what is refused, and that a quantized model still
trains its biases, predicts compiled, and saves and loads.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import dtype_policies, quantizers
from lamina import layers as L

RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6)).astype("float32")


def _model(*extra):
    return lamina.Sequential([L.Input((6,)), L.Dense(5, name="first"), *extra, L.Dense(3)])


def _own(layer):
    names = {id(t): n for n, t in [*layer.named_parameters(), *layer.named_buffers()]}
    return [(names[id(w)], tuple(w.shape), str(w.dtype).split(".")[-1]) for w in layer.weights]


def test_int8_swaps_the_kernel_for_keras_variables():
    model = _model()
    model.quantize("int8")
    first = model.layers[0]
    assert first.dtype_policy == dtype_policies.QuantizedDTypePolicy("int8", "float32")
    assert first.quantization_mode == "int8"
    assert _own(first) == [
        ("bias", (5,), "float32"),
        ("kernel", (6, 5), "int8"),
        ("kernel_scale", (5,), "float32"),
    ]
    assert [w.shape for w in first.trainable_weights] == [(5,)]  # the bias alone still trains
    assert isinstance(first.quantization_config, quantizers.Int8QuantizationConfig)


@pytest.mark.parametrize(("config", "policy", "extra"), [(None, "int4/128", 2), (-1, "int4/-1", 0)])
def test_int4_packs_the_kernel_and_names_the_block_size(config, policy, extra):
    model = _model()
    config = None if config is None else quantizers.Int4QuantizationConfig(block_size=config)
    model.quantize("int4", config=config)
    first = model.layers[0]
    assert first.dtype_policy.name == f"{policy}_from_float32"
    assert isinstance(first.dtype_policy, dtype_policies.Int4DTypePolicy)
    assert _own(first)[1] == ("kernel", (6, 3), "int8")  # two values a byte along the units
    assert len(first.weights) == 3 + extra  # kernel_zero and g_idx with groups


def test_quantized_outputs_stay_close_to_float_ones():
    model = _model()
    want = model.predict(X, verbose=0)
    model.quantize("int8")
    # int8 keeps about 2 decimal digits of each product: the outputs move by ~1% of their size.
    np.testing.assert_allclose(model.predict(X, verbose=0), want, atol=0.05 * np.abs(want).max())


@pytest.mark.parametrize(
    "filters",
    ["first", ["nothing", "^fir"], lambda layer: layer.name == "first"],
    ids=["regex", "list", "callable"],
)
def test_filters_choose_the_layers(filters):
    model = _model()
    model.quantize("int8", filters=filters)
    assert [layer.quantization_mode for layer in model.layers] == ["int8", None]


def test_layers_without_quantize_are_skipped():
    model = lamina.Sequential([L.Input((4, 4, 1)), L.Conv2D(2, 3), L.Flatten(), L.Dropout(0.1)])
    model.add(L.Dense(2))
    with pytest.warns(UserWarning, match="Conv2D does not have a `quantize` method"):
        model.quantize("int8")  # Flatten and Dropout hold no weights: skipped silently
    assert [layer.quantization_mode for layer in model.layers] == [None, None, None, "int8"]


def test_subclasses_are_refused_unless_type_check_is_off():
    class MyDense(L.Dense):
        pass

    model = lamina.Sequential([L.Input((6,)), MyDense(3)])
    with pytest.warns(UserWarning, match="MyDense does not have a `quantize` method"):
        model.quantize("int8")
    assert model.layers[0].quantization_mode is None
    model.quantize("int8", type_check=False)
    assert model.layers[0].quantization_mode == "int8"


def test_nested_models_quantize_their_leaves():
    inner = lamina.Sequential([L.Input((6,)), L.Dense(4)])
    outer = lamina.Sequential([L.Input((6,)), inner, L.Embedding(4, 2)])
    outer.quantize("int8")
    assert inner.layers[0].quantization_mode == "int8"
    assert outer.layers[1].dtype_policy.name == "int8_from_float32"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            lambda m: m.quantize("int3"),
            ValueError,
            r"a mode in \('int8', 'float8', 'int4', 'gptq', 'awq'\).*'int3'",
        ),
        (lambda m: m.quantize(None), ValueError, "a `mode` or a `config`"),
        (lambda m: m.quantize("gptq"), ValueError, r"config=GPTQConfig\(dataset=\.\.\."),
        (
            lambda m: m.quantize("int8", config=quantizers.Int4QuantizationConfig()),
            ValueError,
            "mode='int8'.*config.mode='int4'",
        ),
        (lambda m: m.quantize("int8", config=3), ValueError, "QuantizationConfig"),
        (lambda m: m.quantize("int8", filters=3), ValueError, "a regex string.*received int"),
        (lambda m: m.quantize("int8", colour=1), TypeError, r"\['colour'\]"),
    ],
    ids=["unknown-mode", "no-mode", "gptq", "contradiction", "bad-config", "bad-filters", "kw"],
)
def test_bad_arguments_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call(_model())


def test_refuses_an_unbuilt_model_and_a_second_quantization():
    with pytest.raises(ValueError, match="to be built before quantize"):
        lamina.Sequential([L.Dense(3)]).quantize("int8")
    model = _model()
    model.quantize("int8")
    with pytest.raises(ValueError, match="'first' .*quantized once.*'int8_from_float32'"):
        model.layers[0].quantize("int4")


def test_float16_compute_refuses_int8():
    layer = L.Dense(3, dtype="float16")
    layer.build((None, 4))
    with pytest.raises(ValueError, match="other than float16 for mode='int8'"):
        layer.quantize("int8")


def test_a_quantized_policy_on_a_built_layer_quantizes_it():
    layer = L.Dense(3)
    layer.build((None, 4))
    layer.dtype_policy = "int4/-1_from_float32"
    assert layer.kernel.shape == (4, 2) and len(layer.weights) == 3


def test_input_gradient_flows_through_the_dequantized_kernel():
    layer = L.Dense(3)
    layer.build((None, 6))
    layer.quantize("int8")
    device = layer.kernel.device
    x = torch.tensor(X, requires_grad=True, device=device)
    cotangent = torch.tensor(RNG.standard_normal((4, 3)).astype("float32"), device=device)
    (grad,) = torch.autograd.grad(layer(x), x, cotangent)
    dequantized = layer.kernel.float() / layer.kernel_scale
    torch.testing.assert_close(grad, cotangent @ dequantized.T)


@pytest.mark.parametrize(
    "jit_compile", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["eager", "jit"]
)
def test_quantized_model_trains_its_biases_and_predicts(jit_compile):
    model = _model()
    model.quantize("int8")
    model.compile("sgd", "mse", jit_compile=jit_compile)
    kernel = model.layers[0].kernel.clone()
    bias = model.layers[0].bias.detach().clone()
    model.fit(X, np.ones((4, 3), "float32"), epochs=1, verbose=0)
    assert torch.equal(model.layers[0].kernel, kernel)
    assert not torch.equal(model.layers[0].bias, bias)
    eager = model(torch.tensor(X)).detach().cpu().numpy()
    np.testing.assert_allclose(model.predict(X, verbose=0), eager, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["int8", "int4"])
@pytest.mark.parametrize("ext", ["keras", "weights.h5"])
def test_quantized_model_saves_and_loads(mode, ext, tmp_path):
    def build():
        return lamina.Sequential(
            [
                L.Input((3,), dtype="int32"),
                L.Embedding(10, 6),
                L.EinsumDense("abc,cd->abd", output_shape=(3, 4), bias_axes="d"),
            ]
        )

    model = build()
    model.quantize(mode)
    ids = RNG.integers(0, 10, (2, 3))
    path = tmp_path / f"model.{ext}"
    if ext == "keras":
        model.save(path)
        loaded = lamina.models.load_model(path)
    else:
        model.save_weights(path)
        loaded = build()
        loaded.quantize(mode)
        loaded.load_weights(path)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
    assert [w.dtype for w in loaded.weights] == [w.dtype for w in model.weights]
    assert loaded.layers[1].dtype_policy == model.layers[1].dtype_policy


def test_int4_model_with_a_custom_weight_quantizer_loads_back(tmp_path):
    # The file's JSON turns the quantizer's value_range (-8, 7) into a list [-8, 7].
    model = _model()
    weight_quantizer = quantizers.AbsMaxQuantizer(value_range=(-8, 7), axis=0)
    config = quantizers.Int4QuantizationConfig(weight_quantizer, block_size=-1)
    model.quantize(config=config)
    model.save(tmp_path / "int4.keras")
    loaded = lamina.models.load_model(tmp_path / "int4.keras")
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_quantized_dense_files_kernel_bias_scale_as_keras():
    layer = L.Dense(2)
    layer.build((None, 3))
    layer.quantize("int8")
    store = {}
    layer.save_own_variables(store)
    assert [(key, value.dtype.name, value.shape) for key, value in store.items()] == [
        ("0", "int8", (3, 2)),
        ("1", "float32", (2,)),
        ("2", "float32", (2,)),
    ]


def test_policies_by_name_and_config():
    policy = dtype_policies.get("int4/64_from_mixed_bfloat16")
    assert (policy.block_size, policy.compute_dtype, policy.variable_dtype) == (
        64,
        "bfloat16",
        "float32",
    )
    assert dtype_policies.deserialize(dtype_policies.serialize(policy)) == policy
    with pytest.raises(ValueError, match="'int4/<block_size>'.*'int4/0'"):
        dtype_policies.Int4DTypePolicy("int4/0", "float32")
    with pytest.raises(ValueError, match="'<mode>_from_<source policy>'"):
        dtype_policies.get("int8_float32")
    float8 = dtype_policies.get("float8_from_mixed_bfloat16")
    assert (type(float8).__name__, float8.compute_dtype) == (
        "QuantizedFloat8DTypePolicy",
        "bfloat16",
    )
    gptq = dtype_policies.get("gptq/4/-1_from_float32")
    assert (type(gptq).__name__, gptq.weight_bits, gptq.group_size) == ("GPTQDTypePolicy", 4, -1)


def test_policy_map_finds_exact_then_pattern_then_default():
    policies = dtype_policies.DTypePolicyMap("float32")
    policies["encoder/dense"] = "int8_from_float32"
    policies["encoder/.*"] = "bfloat16"
    assert policies["encoder/dense"].quantization_mode == "int8"
    assert policies["encoder/other"].name == "bfloat16"
    assert policies["decoder"].name == "float32" and policies.name == "map_float32"
    with pytest.raises(ValueError, match="a key not already in the map"):
        policies["encoder/.*"] = "float32"
    policies["enc.*"] = "float16"
    with pytest.raises(ValueError, match="at most one key matching"):
        policies["encoder/x"]
    again = dtype_policies.deserialize(dtype_policies.serialize(policies))
    assert again["encoder/dense"] == policies["encoder/dense"] and len(again) == 3


def test_policy_map_following_the_global_policy_writes_and_reads_as_keras():
    from tests.parity.reference import keras

    def filled(module):
        policies = module.dtype_policies.DTypePolicyMap()  # default: the global policy
        policies["a"] = module.dtype_policies.DTypePolicy("mixed_bfloat16")
        policies["b"] = module.dtype_policies.QuantizedDTypePolicy("int8", "mixed_bfloat16")
        return policies

    config = filled(lamina).get_config()
    assert config == filled(keras).get_config()  # entries' float dtypes written as None
    lamina.config.set_dtype_policy("bfloat16")
    loaded = dtype_policies.DTypePolicyMap.from_config(config)
    names = [loaded[key].name for key in ("a", "b", "not in the map")]
    assert names == ["bfloat16", "int8_from_bfloat16", "bfloat16"]


class _Block(L.Layer):
    """Keras's pattern for a quantized block: its sublayers take the block's DTypePolicyMap."""

    def __init__(self, dtype=None, name="block", **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        self.dense = L.Dense(4, dtype=dtype, name=f"{name}_dense")
        self.relu = L.ReLU(dtype=dtype, name=f"{name}_relu")

    def call(self, inputs):
        return self.relu(self.dense(inputs))

    def get_config(self):
        config = super().get_config()
        policies = dtype_policies.DTypePolicyMap()
        for layer in self._flatten_layers():
            if layer.quantization_mode is not None:
                policies[layer.path] = layer.dtype_policy
        return {**config, "dtype": policies} if len(policies) else config


def test_sublayers_given_a_policy_map_take_their_own_entry(tmp_path):
    # A sublayer given the map builds as the map's entry for its path (quantized here), so a
    # quantized block saved with Keras's pattern loads quantized; the block itself is float.
    inputs = L.Input((6,))
    model = lamina.Model(inputs, _Block()(inputs))
    model.quantize("int8")
    want = model(X)
    lamina.saving.register_keras_serializable("lamina_tests")(_Block)
    model.save(tmp_path / "block.keras")
    loaded = lamina.saving.load_model(tmp_path / "block.keras")
    block = loaded.layers[-1]
    assert block.dense.quantization_mode == "int8" and block.relu.quantization_mode is None
    assert block.quantization_mode is None and block.dense.path == "block/block_dense"
    torch.testing.assert_close(loaded(X), want)


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_einsum_dense_with_an_ellipsis_quantizes(mode):
    # Keras 3.15.1 fails to quantize this equation (it reads the input rank from an int);
    # lamina spells the ellipsis out and quantizes it like "abc,cd->abd".
    layer = L.EinsumDense("...b,bc->...c", output_shape=4, bias_axes="c")
    x = torch.tensor(RNG.standard_normal((2, 3, 6)).astype("float32"))
    want = layer(x).detach()
    layer.quantize(mode)
    if mode == "int8":
        assert layer.kernel_scale.shape == (1, 1, 4)
    got = layer(x).detach()
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=0.2 * float(want.abs().max()), rtol=0)


class _OwnScores(L.MultiHeadAttention):
    """A subclass that changes only how the scores are computed, as keras-io's examples do."""

    def _compute_attention(self, query, key, value, attention_mask=None, training=None):
        return super()._compute_attention(query, key, value, attention_mask, training)


def test_a_multi_head_attention_subclass_is_quantized_by_the_model():
    # Keras's model.quantize() reaches the EinsumDense sub-layers of any attention subclass.
    inputs = lamina.Input((5, 8))
    attention = _OwnScores(num_heads=2, key_dim=4)
    model = lamina.Model(inputs, attention(inputs, inputs))
    x = torch.tensor(RNG.standard_normal((2, 5, 8)).astype("float32"))
    before = model(x)
    model.quantize("int8")
    assert attention.quantization_mode == "int8" and attention.query_kernel.dtype == torch.int8
    torch.testing.assert_close(model(x), before, atol=0.05, rtol=0.05)
    dense = type("OwnDense", (L.Dense,), {})(3)
    dense.build((None, 4))
    with pytest.raises(NotImplementedError):  # other subclasses still need type_check=False
        dense.quantize("int8")
