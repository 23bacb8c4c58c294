"""Under a mixed policy every floating output of a layer is in its compute dtype, as Keras's.

Keras casts a layer's floating inputs to its compute dtype and reads its weights in it, so a
"mixed_bfloat16" layer gives bfloat16 whatever it is given. lamina computes under torch's autocast
and casts at the layer's edges (lamina/mixed_precision/autocast.py). A differential fuzz of the
layers lamina shares with Keras found float32 outputs where a layer got a float32 input (a
model's first layer: pooling, reshaping, activations, merges, Masking, Rescaling ...) or where
autocast ran an op in float32 (layer norm, group norm, adaptive and 3-D pooling, PReLU's
float32 weight, a GRU): pinned here, eagerly, inside a functional model (its symbolic outputs
too) and under the global policy, with values to a 16-bit tolerance and float32 weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras

pytestmark = pytest.mark.parity

POLICIES = {"mixed_bfloat16": torch.bfloat16, "mixed_float16": torch.float16}

# (layer, config, input shape or shapes (a list: a merge's inputs), input kind). The sub-layer
# of a wrapper is named by a string, built in each framework.
CASES = [
    ("Activation", {"activation": "softmax"}, (2, 5), "float"),
    ("Activation", {"activation": "gelu"}, (2, 5), "float"),
    ("Softmax", {}, (2, 5), "float"),
    ("ReLU", {}, (2, 5), "float"),
    ("PReLU", {}, (2, 5), "float"),
    ("LayerNormalization", {}, (2, 4, 3), "float"),
    ("LayerNormalization", {"rms_scaling": True}, (2, 4, 3), "float"),
    ("RMSNormalization", {}, (2, 4, 3), "float"),
    ("GroupNormalization", {"groups": 2}, (2, 4, 4), "float"),
    ("UnitNormalization", {}, (2, 4, 3), "float"),
    ("BatchNormalization", {}, (2, 4, 3), "float"),
    ("Normalization", {"mean": 0.5, "variance": 2.0}, (2, 4, 3), "float"),
    ("Rescaling", {"scale": 0.5, "offset": 1.0}, (2, 4, 3), "float"),
    ("Masking", {}, (2, 4, 3), "float"),
    ("Dropout", {"rate": 0.5}, (2, 5), "float"),
    ("Flatten", {}, (2, 4, 3), "float"),
    ("Reshape", {"target_shape": (12,)}, (2, 4, 3), "float"),
    ("Permute", {"dims": (2, 1)}, (2, 4, 3), "float"),
    ("RepeatVector", {"n": 2}, (2, 3), "float"),
    ("ZeroPadding2D", {}, (2, 4, 4, 3), "float"),
    ("Cropping2D", {"cropping": 1}, (2, 4, 4, 3), "float"),
    ("UpSampling2D", {"interpolation": "bilinear"}, (2, 4, 4, 3), "float"),
    ("Resizing", {"height": 3, "width": 3}, (2, 4, 4, 3), "float"),
    ("MaxPooling2D", {}, (2, 4, 4, 3), "float"),
    ("AveragePooling2D", {"pool_size": 2}, (2, 4, 4, 3), "float"),
    ("MaxPooling3D", {}, (2, 4, 4, 4, 3), "float"),
    ("AdaptiveAveragePooling3D", {"output_size": 2}, (2, 4, 4, 4, 3), "float"),
    ("GlobalAveragePooling2D", {}, (2, 4, 4, 3), "float"),
    ("Add", {}, [(2, 5), (2, 5)], "float"),
    ("Concatenate", {}, [(2, 5), (2, 5)], "float"),
    ("Multiply", {}, [(2, 5), (2, 5)], "float"),
    ("Embedding", {"input_dim": 10, "output_dim": 3}, (2, 5), "int"),
    ("GRU", {"units": 3}, (2, 4, 3), "float"),
    ("Bidirectional", {"layer": "LSTM"}, (2, 4, 3), "float"),
    ("TimeDistributed", {"layer": "Dense"}, (2, 4, 3), "float"),
]


# Given their compute dtype already, these still gave float32: autocast's float32 ops (3-D and
# adaptive pooling on the CPU, a GRU's step, an RMS norm) or a float32 weight (PReLU's alpha).
GIVEN_COMPUTE_DTYPE_CASES = [
    case
    for case in CASES
    if case[0]
    in (
        "AdaptiveAveragePooling3D",
        "MaxPooling3D",
        "PReLU",
        "RMSNormalization",
        "GRU",
        "Bidirectional",
    )
    or case[1] == {"rms_scaling": True}
]


def _case_id(case) -> str:
    name, config = case[0], case[1]
    return name + "".join(f"-{k}={v}" for k, v in config.items())


def _layer(module, name, config, **kwargs):
    config = dict(config)
    if "layer" in config:  # a wrapper: its sub-layer under the same policy
        inner = {"LSTM": {"units": 3}, "Dense": {"units": 3}}[config["layer"]]
        config["layer"] = getattr(module.layers, config["layer"])(**inner, **kwargs)
    return getattr(module.layers, name)(**config, **kwargs)


def _inputs(shape, kind):
    rng = np.random.default_rng(0)
    shapes = shape if isinstance(shape, list) else [shape]
    if kind == "int":
        return [rng.integers(0, 10, s) for s in shapes]
    return [rng.standard_normal(s).astype("float32") for s in shapes]


def _given(arrays, dtype, device="cpu"):
    tensors = [torch.tensor(a, device=device) for a in arrays]
    tensors = [t.to(dtype) if t.is_floating_point() else t for t in tensors]
    return tensors[0] if len(tensors) == 1 else tensors


def _assert_same_outputs(ours, theirs, compute_dtype):
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    assert len(ours) == len(theirs)
    for got, want in zip(ours, theirs, strict=True):
        assert want.dtype == compute_dtype  # Keras's rule, the one pinned
        assert got.dtype == want.dtype, f"{got.dtype} where Keras gives {want.dtype}"
        tolerance = 2e-2 if compute_dtype is torch.bfloat16 else 2e-3
        torch.testing.assert_close(
            got.detach().cpu().float(),
            want.detach().cpu().float(),
            atol=tolerance,
            rtol=tolerance,
        )


def _assert_float32_weights(layer):
    assert layer.weights, "the case has no weights"
    assert {np.asarray(w).dtype for w in layer.get_weights()} == {np.dtype("float32")}


def _check_eager(case, policy, given_compute_dtype):
    name, config, shape, kind = case
    compute_dtype = POLICIES[policy]
    arrays = _inputs(shape, kind)
    reference = _layer(keras, name, config, dtype=policy)
    ours = _layer(lamina, name, config, dtype=policy)
    input_dtype = compute_dtype if given_compute_dtype else torch.float32
    expected = reference(_given(arrays, input_dtype))
    device = lamina.backend.default_device()
    ours(_given(arrays, input_dtype, device))  # builds
    ours.set_weights(reference.get_weights())
    _assert_same_outputs(ours(_given(arrays, input_dtype, device)), expected, compute_dtype)
    assert (ours.compute_dtype, ours.variable_dtype) == (reference.compute_dtype, "float32")
    if reference.weights:
        _assert_float32_weights(ours)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_mixed_layer_given_float32_gives_its_compute_dtype_as_keras(case, policy):
    _check_eager(case, policy, given_compute_dtype=False)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", GIVEN_COMPUTE_DTYPE_CASES, ids=_case_id)
def test_a_mixed_layer_given_its_compute_dtype_gives_it_back_as_keras(case, policy):
    _check_eager(case, policy, given_compute_dtype=True)


def _functional(module, layer, arrays):
    inputs = [module.Input(a.shape[1:], dtype=str(a.dtype)) for a in arrays]
    outputs = layer(inputs[0] if len(inputs) == 1 else inputs)
    return module.Model(inputs, outputs)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_mixed_layer_in_a_functional_model_gives_its_compute_dtype(case, policy):
    """Inside a model the layer takes the fast paths (`Layer._plain_call`, the channels-first
    plan), given the model's float32 input: they cast as the general path does. The global
    policy, not the layer's argument, sets the dtypes here."""
    name, config, shape, kind = case
    compute_dtype = POLICIES[policy]
    arrays = _inputs(shape, kind)
    keras.config.set_dtype_policy(policy)
    try:
        reference = _functional(keras, _layer(keras, name, config), arrays)
    finally:
        keras.config.set_dtype_policy("float32")
    lamina.mixed_precision.set_global_policy(policy)
    ours = _functional(lamina, _layer(lamina, name, config), arrays)
    ours.set_weights(reference.get_weights())
    assert [str(t.dtype) for t in ours.outputs] == [str(t.dtype) for t in reference.outputs]
    device = lamina.backend.default_device()
    expected = reference(_given(arrays, torch.float32))
    _assert_same_outputs(ours(_given(arrays, torch.float32, device)), expected, compute_dtype)
    ours(_given(arrays, torch.float32, device))
    if reference.weights:
        _assert_float32_weights(ours)


@pytest.mark.parametrize("policy", POLICIES)
def test_a_float32_layer_of_a_mixed_model_sees_the_input_and_gives_float32(policy):
    """Keras's advice for the final softmax: a dtype="float32" layer computes and gives float32
    in a mixed model, and a model casts nothing itself, so a float32 first layer sees its input
    unrounded (Keras's Functional and a Sequential built on an Input)."""
    lamina.mixed_precision.set_global_policy(policy)
    x = torch.randn(3, 4) / 3
    sequential = lamina.Sequential([lamina.Input((4,)), lamina.layers.Identity(dtype="float32")])
    inputs = lamina.Input((4,))
    hidden = lamina.layers.Dense(5)(inputs)
    functional = lamina.Model(
        inputs, [lamina.layers.Activation("softmax", dtype="float32")(hidden), hidden]
    )
    assert torch.equal(sequential(x), x)
    probabilities, logits = functional(x)
    assert (probabilities.dtype, logits.dtype) == (torch.float32, POLICIES[policy])
    assert [str(t.dtype) for t in functional.outputs] == ["float32", str(POLICIES[policy])[6:]]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", ["Identity", "Flatten", "Masking"])
def test_autocast_false_leaves_a_mixed_layers_inputs_as_keras(name, policy):
    """Keras's `autocast=False`: the layer's inputs are not cast (nor its weights read in 16
    bits), so a layer that computes nothing with weights gives its float32 input's dtype."""
    x = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
    reference = getattr(keras.layers, name)(dtype=policy, autocast=False)
    ours = getattr(lamina.layers, name)(dtype=policy, autocast=False)
    expected = reference(torch.tensor(x))
    got = ours(torch.tensor(x, device=lamina.backend.default_device()))
    assert got.dtype == expected.dtype == torch.float32
    assert ours.compute_dtype == reference.compute_dtype
    torch.testing.assert_close(got.cpu(), expected.cpu())


def _recording_model(module):
    """A subclassed model whose first layer (autocast=False: it casts nothing itself) records
    the dtype of what the model hands it, then a dense head."""

    class Recorder(module.layers.Layer):
        def __init__(self):
            super().__init__(autocast=False)
            self.seen = []

        def call(self, x):
            self.seen.append(str(x.dtype))
            return x

    class TwoInputs(module.Model):
        def __init__(self):
            super().__init__()
            self.recorder = Recorder()
            self.head = module.layers.Dense(2)

        def call(self, x, extra=None):
            if isinstance(x, dict):
                x = x["features"]
            if extra is not None:
                x = x + self.recorder(extra)
            return self.head(self.recorder(x))

    return TwoInputs()


@pytest.mark.parametrize("policy", POLICIES)
def test_a_subclassed_mixed_model_casts_its_float_inputs_as_keras(policy):
    """Keras's `Layer.__call__` casts a subclassed model's floating inputs (every argument, and
    inside a dict) to its compute dtype; the outputs are its layers'. lamina cast none, so the
    model's own ops ran in float32."""
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    seen = {}
    for name, module in (("keras", keras), ("lamina", lamina)):
        module.mixed_precision.set_global_policy(policy)
        try:
            model = _recording_model(module)
            model(x)
            model.recorder.seen.clear()  # Keras's symbolic build call: not compared
            out = model(x)
            model({"features": x})
            model(x, extra=x)
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, np.zeros((4, 2), "float32"), epochs=1, verbose=0)
            seen[name] = (model.recorder.seen[:5], model.recorder.seen[-1], str(out.dtype))
        finally:
            module.mixed_precision.set_global_policy("float32")
    assert seen["lamina"] == seen["keras"]
    assert seen["keras"][0][0] == str(POLICIES[policy])
