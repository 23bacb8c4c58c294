"""What the Layer base does for every layer, against Keras: activity penalties recorded once per
call (each output's penalty over its batch size) and the regularizer / constraint config keys."""

import warnings

import numpy as np
import pytest
import torch

import lamina
from tests.parity.reference import keras, keras_activity_losses, keras_layer_config

ACTIVITY_CASES = [
    ("Dense", {"units": 3, "activity_regularizer": "l2"}, (4, 5)),
    (
        "Dense",
        {"units": 2, "activity_regularizer": {"class_name": "L1", "config": {"l1": 0.3}}},
        (6, 3, 5),
    ),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "activity_regularizer": "l1"}, (3, 6, 6, 2)),
    ("LSTM", {"units": 3, "activity_regularizer": "l2"}, (4, 5, 2)),
    # return_state: Keras regularizes every output tensor (the output and both states).
    ("LSTM", {"units": 3, "return_state": True, "activity_regularizer": "l1l2"}, (2, 4, 3)),
    ("Embedding", {"input_dim": 7, "output_dim": 3, "activity_regularizer": "l2"}, (4, 5)),
]


@pytest.mark.parametrize(("name", "config", "shape"), ACTIVITY_CASES)
def test_activity_penalty_matches_keras(name, config, shape):
    rng = np.random.default_rng(0)
    if name == "Embedding":
        x = rng.integers(0, 7, shape)
    else:
        x = rng.standard_normal(shape).astype("float32")
    expected, weights = keras_activity_losses(name, config, x)

    layer = getattr(lamina.layers, name)(**config)
    layer(torch.as_tensor(x))
    layer.set_weights(weights)
    layer._clear_activity_losses()
    layer(torch.as_tensor(x))

    got = [float(loss.detach()) for loss in layer.losses]
    assert len(got) == len(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_activity_penalty_is_divided_by_the_batch_size():
    layer = lamina.layers.Dense(2, kernel_initializer="ones", activity_regularizer="l1")
    layer(torch.ones(4, 3))
    # Each output is 3; four samples of two outputs: l1 = 0.01 * 24, over a batch of 4.
    assert [round(float(v.detach()), 6) for v in layer.losses] == [0.06]


def test_activity_penalty_of_an_empty_batch_is_zero():
    layer = lamina.layers.Dense(2, activity_regularizer="l2")
    layer(torch.ones(0, 3))
    assert [float(v.detach()) for v in layer.losses] == [0.0]


def test_a_custom_layer_gets_the_activity_penalty_from_the_base():
    class Double(lamina.layers.Layer):
        def call(self, inputs):
            return inputs * 2

    layer = Double(activity_regularizer=lamina.regularizers.L1(0.5))
    layer(torch.ones(2, 3))
    assert [float(v.detach()) for v in layer.losses] == [3.0]  # 0.5 * 12 / 2
    assert layer.get_config()["activity_regularizer"]["class_name"] == "L1"


def test_a_symbolic_call_records_no_activity_penalty():
    layer = lamina.layers.Dense(2, activity_regularizer="l2")
    layer(lamina.Input((3,)))
    assert layer.losses == []


def _losses_after_calls(ns):
    """Losses seen in a Keras-style custom loop, by `ns` (`keras` or `lamina`): a model of a
    regularized Dense and an add_loss layer called twice, its inner layer called alone, and a
    lone add_loss layer called twice."""

    class AddsItsSum(ns.layers.Layer):
        def call(self, inputs):
            self.add_loss(ns.ops.sum(inputs))
            return inputs

    x = np.arange(12, dtype="float32").reshape(4, 3) / 10
    inner = ns.layers.Dense(2, kernel_initializer="ones", activity_regularizer="l2")
    model = ns.Sequential([ns.Input((3,)), inner, AddsItsSum()])
    seen = []
    for _ in range(2):
        model(x)
        seen.append(sorted(round(float(ns.ops.convert_to_numpy(v)), 4) for v in model.losses))
    inner(x * 2)
    seen.append(len(inner.losses))
    seen.append(len(model.losses))
    alone = AddsItsSum()
    alone(x)
    alone(x)
    seen.append(len(alone.losses))
    return seen


def test_losses_are_those_of_the_latest_outermost_call_as_in_keras():
    import keras

    expected = _losses_after_calls(keras)
    got = _losses_after_calls(lamina)
    assert got == expected
    assert got[0] == got[1] and got[2:] == [1, 2, 1]


CONFIG_CASES = [
    ("Dense", {"units": 3}),
    (
        "Dense",
        {
            "units": 3,
            "kernel_regularizer": "l2",
            "bias_regularizer": "l1",
            "activity_regularizer": "l1l2",
            "kernel_constraint": "non_neg",
            "bias_constraint": {"class_name": "MaxNorm", "config": {"max_value": 2.0}},
        },
    ),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "kernel_constraint": "unit_norm"}),
    ("Conv2D", {"filters": 2, "kernel_size": 3, "activity_regularizer": "l2"}),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "bias_constraint": "non_neg"}),
    ("DepthwiseConv2D", {"kernel_size": 3, "depthwise_constraint": "non_neg"}),
    ("SeparableConv2D", {"filters": 2, "kernel_size": 3, "pointwise_regularizer": "l2"}),
    ("Embedding", {"input_dim": 5, "output_dim": 2, "embeddings_constraint": "non_neg"}),
    ("LSTM", {"units": 2, "recurrent_constraint": "non_neg", "activity_regularizer": "l2"}),
]


def _regularization_keys(config: dict) -> dict:
    return {
        key: value for key, value in config.items() if key.endswith(("_regularizer", "_constraint"))
    }


def _class_names(config: dict) -> dict:
    return {k: None if v is None else v["class_name"] for k, v in config.items()}


@pytest.mark.parametrize(("name", "config"), CONFIG_CASES)
def test_regularizer_and_constraint_config_keys_match_keras(name, config):
    expected = _regularization_keys(keras_layer_config(name, config))
    layer = getattr(lamina.layers, name)(**config)
    got = _regularization_keys(layer.get_config())
    assert sorted(got) == sorted(expected)
    assert _class_names(got) == _class_names(expected)

    # The config round trip keeps every regularizer and constraint.
    rebuilt = type(layer).from_config(layer.get_config())
    assert _class_names(_regularization_keys(rebuilt.get_config())) == _class_names(got)


def _rounded(value):
    # Keras's L1 keeps its factor as a float32 tensor (0.01 reads back 0.009999999776482582).
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return round(value, 6) if isinstance(value, float) else value


@pytest.mark.parametrize(("name", "config"), CONFIG_CASES)
def test_initializer_regularizer_and_constraint_entries_equal_keras(name, config):
    # Keras 3 writes each as {"module", "class_name", "config", "registered_name"}; code that
    # reads `config["kernel_initializer"]["module"]` or compares configs sees the same dict.
    def entries(config):
        suffixes = ("_initializer", "_regularizer", "_constraint")
        return {k: _rounded(v) for k, v in config.items() if k.endswith(suffixes)}

    expected = entries(keras_layer_config(name, config))
    assert entries(getattr(lamina.layers, name)(**config).get_config()) == expected


def test_a_registered_user_initializer_round_trips_through_a_layer_config():
    @lamina.saving.register_keras_serializable(package="parity")
    class Halves(lamina.initializers.Initializer):
        def __call__(self, shape, dtype=None):
            return torch.full(shape, 0.5)

    config = lamina.layers.Dense(2, kernel_initializer=Halves()).get_config()
    assert config["kernel_initializer"]["registered_name"] == "parity>Halves"
    rebuilt = lamina.layers.Dense.from_config(config)
    assert isinstance(rebuilt.kernel_initializer, Halves)


STATELESS = [
    ("MaxPooling1D", (2, 4, 3)),
    ("GlobalAveragePooling1D", (2, 4, 3)),
    ("Flatten", (2, 4, 3)),
    ("Dropout", (2, 4, 3)),
    ("ReLU", (2, 4, 3)),
    ("Activation", (2, 4, 3)),
    ("Masking", (2, 4, 3)),
]


def _scaled(base):
    """A subclass of a weightless layer whose own build adds a weight (a user's extension)."""

    class Scaled(base):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

        def call(self, inputs, *args, **kwargs):
            return inputs * self.scale

    return Scaled


@pytest.mark.parity
@pytest.mark.parametrize(("name", "shape"), STATELESS, ids=[name for name, _ in STATELESS])
def test_a_subclass_with_its_own_build_is_built_on_first_call_as_keras(name, shape):
    """Keras builds a weightless layer at construction, but not a subclass that overrides
    build(): lamina marked both built, so the subclass's build never ran (no `scale`)."""
    kwargs = {"activation": "linear"} if name == "Activation" else {}
    kwargs = {"rate": 0.5} if name == "Dropout" else kwargs
    x = np.ones(shape, "float32")
    theirs = _scaled(getattr(keras.layers, name))(**kwargs)
    ours = _scaled(getattr(lamina.layers, name))(**kwargs)
    assert ours.built is theirs.built is False
    theirs(x)
    ours(torch.as_tensor(x))
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["scale"]


class _Stateless:
    """A custom weightless layer that marks itself built as Keras's own layers do."""

    def __init__(self):
        super().__init__()
        self._build_at_init()

    def call(self, inputs):
        return inputs * 2


@pytest.mark.parity
def test_build_at_init_without_arguments_as_keras():
    theirs = type("Theirs", (_Stateless, keras.layers.Layer), {})()
    ours = type("Ours", (_Stateless, lamina.layers.Layer), {})()
    assert ours.built is theirs.built is True


@pytest.mark.parametrize("trainable", ["yes", 1, None, 0.0], ids=repr)
def test_layer_refuses_non_boolean_trainable_as_keras(trainable):
    """Keras refuses a `trainable` that is not a bool; lamina took bool(trainable), so "no"
    made a trainable layer."""
    with pytest.raises(ValueError, match="to be a boolean"):
        keras.layers.Dense(2, trainable=trainable)
    with pytest.raises(ValueError, match=r"Dense\(\) expects `trainable` to be a boolean"):
        lamina.layers.Dense(2, trainable=trainable)
    assert lamina.layers.Dense(2, trainable=False).trainable is False


@pytest.mark.parametrize("input_shape", [None, (None, 3), [(None, 3), (None, 4)]])
def test_base_compute_output_shape_raises_not_implemented_as_keras(input_shape):
    with pytest.raises(NotImplementedError):
        keras.layers.Layer().compute_output_shape(input_shape)
    with pytest.raises(NotImplementedError, match="compute_output_shape"):
        lamina.layers.Layer().compute_output_shape(input_shape)


@pytest.mark.parametrize("argument", [None, (None, 3)])
@pytest.mark.parametrize("method", ["call", "compute_output_shape"])
def test_a_base_layer_s_missing_method_is_named_in_keras_s_words(method, argument):
    words = f"does not have a `{method}` method implemented"
    for framework in (keras, lamina):
        layer = framework.layers.Layer()
        with pytest.raises(NotImplementedError, match=words):
            getattr(layer, method)(argument)


def test_compute_output_shape_of_none_raises_not_implemented_on_a_layer_with_call():
    class Doubler(lamina.layers.Layer):
        def call(self, x):
            return x * 2

    assert Doubler().compute_output_shape((None, 3)) == (None, 3)
    with pytest.raises(NotImplementedError, match="input_shape=None"):
        Doubler().compute_output_shape(None)


class _OwnMask:
    """A layer with its own compute_mask (every step kept), whose masking flag a case sets."""

    def call(self, x):
        return x * 2

    def compute_mask(self, inputs, mask=None):
        return inputs[..., 0] != 999.0


def _own_mask_layer(framework, flag):
    if flag == "class":  # declared on the class: Keras reads it as it is
        body = type("_DeclaredOff", (_OwnMask,), {"supports_masking": False})
    else:
        body = _OwnMask
    if framework is keras:
        layer = type(f"Keras{body.__name__}", (body, keras.layers.Layer), {})()
    else:
        layer = type(f"Lamina{body.__name__}", (body, lamina.layers.Layer), {})()
    if flag == "instance":
        layer.supports_masking = False
    return layer


@pytest.mark.parametrize("flag", ["unset", "instance", "class"])
def test_an_own_compute_mask_runs_only_when_masking_is_supported_as_keras(flag):
    ids = np.array([[1, 0, 2]])
    results = []
    for framework in (keras, lamina):
        layer = _own_mask_layer(framework, flag)
        embedded = framework.layers.Embedding(5, 2, mask_zero=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns of the mask it drops (lamina: no)
            eager = layer(embedded(ids))
            symbolic = layer(embedded(framework.Input((3,))))
        mask = getattr(eager, "_keras_mask", None)
        results.append(
            (
                bool(layer.supports_masking),
                None if mask is None else np.asarray(framework.ops.convert_to_numpy(mask)).tolist(),
                getattr(symbolic, "_keras_mask", None) is not None,
            )
        )
    assert results[1] == results[0]
    assert results[0][0] == (flag == "unset")


def _mask_warnings(framework):
    """The mask warnings of a masked sequence into Flatten (no masking support), eagerly and
    symbolically, and into an op and a layer that supports masking (no warning)."""
    embedding = framework.layers.Embedding(5, 2, mask_zero=True, name="embed")
    flatten = framework.layers.Flatten(name="flat")
    dropout = framework.layers.Dropout(0.5, name="drop")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flatten(embedding(np.array([[1, 0, 2]])))
        symbolic = embedding(framework.Input((3,)))
        flatten(symbolic)
        dropout(symbolic)
        framework.ops.multiply(symbolic, 2.0)
    return [str(w.message) for w in caught if "mask" in str(w.message)]


def test_a_masked_input_to_a_layer_without_masking_support_warns_as_keras():
    expected = _mask_warnings(keras)
    assert _mask_warnings(lamina) == expected
    assert len(expected) == 2 and expected[0].startswith("Layer 'flat' (of type Flatten)")
