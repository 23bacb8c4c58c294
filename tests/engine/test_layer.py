"""The Layer base: names, lazy build, weights in Keras's layouts, trainable, config, training
flag."""

import importlib
import inspect
import pkgutil
import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.engine import layer as layer_module


def test_auto_names_count_per_class():
    names = [
        layers.Conv2D(1, 3).name,
        layers.Conv2D(1, 3).name,
        layers.Dense(1).name,
        layers.MaxPooling2D().name,
        layers.GlobalAveragePooling2D().name,
    ]
    assert names == ["conv2d", "conv2d_1", "dense", "max_pooling2d", "global_average_pooling2d"]


def test_clear_session_resets_names():
    layers.Dense(1)
    lamina.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_lazy_build_creates_weights_from_first_input():
    dense = layers.Dense(4)
    assert not dense.built and dense.weights == []
    dense(torch.zeros(2, 3))
    assert dense.built
    assert [tuple(w.shape) for w in dense.get_weights()] == [(3, 4), (4,)]
    assert dense.count_params() == 16
    assert dense.input_shape == (None, 3)


def test_dense_layout_anchor_is_hand_computable():
    # Keras's kernel is (in, out): y = x @ kernel + bias.
    dense = layers.Dense(2)
    dense(torch.zeros(1, 2))
    dense.set_weights(
        [np.array([[1.0, 2.0], [3.0, 4.0]], "float32"), np.array([10.0, 20.0], "float32")]
    )
    y = dense(torch.tensor([[1.0, 1.0]]))
    assert y.tolist() == [[14.0, 26.0]]


def test_conv_layout_anchor_is_hand_computable():
    # Keras's kernel is (kh, kw, in, out); one output channel that sums the top-left pixel of
    # channel 1.
    conv = layers.Conv2D(1, 2, use_bias=False)
    conv(torch.zeros(1, 2, 2, 2))
    kernel = np.zeros((2, 2, 2, 1), "float32")
    kernel[0, 0, 1, 0] = 3.0
    conv.set_weights([kernel])
    x = torch.zeros(1, 2, 2, 2)
    x[0, 0, 0, 1] = 5.0
    assert conv(x).item() == 15.0
    np.testing.assert_array_equal(conv.get_weights()[0], kernel)


def test_set_weights_checks_count_and_shape():
    dense = layers.Dense(2, name="head")
    dense(torch.zeros(1, 3))
    with pytest.raises(
        ValueError, match=r"Layer 'head' \(Dense\) expects a list of 2 weight arrays"
    ):
        dense.set_weights([np.zeros((3, 2))])
    with pytest.raises(
        ValueError, match=r"weight 'kernel' of shape \(3, 2\); received an array of shape \(2, 3\)"
    ):
        dense.set_weights([np.zeros((2, 3)), np.zeros(2)])


def test_trainable_false_moves_weights_to_non_trainable_and_stops_gradients():
    model = lamina.Sequential([layers.Dense(3, input_shape=(2,)), layers.BatchNormalization()])
    assert len(model.trainable_weights) == 4 and len(model.non_trainable_weights) == 2
    model.layers[0].trainable = False
    assert len(model.trainable_weights) == 2
    assert not model.layers[0].kernel.requires_grad
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 6
    model.trainable = True
    assert all(layer.trainable for layer in model.layers)


def test_batchnorm_weight_order_and_moving_statistics():
    bn = layers.BatchNormalization(momentum=0.5)
    x = torch.arange(8.0).reshape(4, 2)
    bn(x, training=True)
    gamma, beta, moving_mean, moving_variance = bn.get_weights()
    np.testing.assert_allclose(moving_mean, 0.5 * np.array([3.0, 4.0]), rtol=1e-6)
    # Keras updates with the biased batch variance (5.0 here), not torch's unbiased one.
    np.testing.assert_allclose(moving_variance, 0.5 + 0.5 * np.array([5.0, 5.0]), rtol=1e-5)


def test_frozen_batchnorm_runs_in_inference_mode():
    bn = layers.BatchNormalization()
    x = torch.randn(8, 3) * 5 + 2
    bn(x)
    bn.trainable = False
    before = bn.get_weights()[2].copy()
    y = bn(x, training=True)
    np.testing.assert_array_equal(bn.get_weights()[2], before)
    expected = x / np.sqrt(1.0 + 1e-3)
    torch.testing.assert_close(y, expected)


def test_layers_start_in_inference_mode_and_training_flag_nests():
    drop = layers.Dropout(0.5)
    x = torch.ones(1000)
    assert torch.equal(drop(x), x)  # outside fit: inference, as in Keras
    assert not torch.equal(drop(x, training=True), x)
    inner = lamina.Sequential([layers.Dropout(0.5)])
    outer = lamina.Sequential([inner])
    assert not torch.equal(outer(x[None], training=True), x[None])
    outer.train()  # torch's mode works too
    assert not torch.equal(outer(x[None]), x[None])
    assert torch.equal(outer(x[None], training=False), x[None])


def test_config_round_trip_reproduces_outputs():
    conv = layers.Conv2D(4, (3, 2), strides=2, padding="same", activation="relu", name="c")
    x = torch.randn(2, 7, 7, 3)
    y = conv(x)
    clone = layers.Conv2D.from_config(conv.get_config())
    clone(x)
    clone.set_weights(conv.get_weights())
    torch.testing.assert_close(clone(x), y)


def test_state_dict_round_trip():
    dense = layers.Dense(3)
    dense(torch.zeros(1, 2))
    other = layers.Dense(3)
    other(torch.zeros(1, 2))
    other.load_state_dict(dense.state_dict())
    torch.testing.assert_close(other.kernel, dense.kernel)


def test_sublayers_set_before_super_init_are_tracked_as_in_keras():
    class Experts(layers.Layer):
        def __init__(self, count):
            self.count = count
            self.route = layers.Dense(count)  # before super().__init__(), as Keras allows
            self.experts = [layers.Dense(2) for _ in range(self.count)]
            self.scale = lamina.Variable(np.ones(2, "float32"))
            super().__init__(name="experts")

        def call(self, x):
            return self.route(x)[..., :1] * self.scale + sum(e(x) for e in self.experts)

    layer = Experts(3)
    assert tuple(layer(torch.zeros(4, 5)).shape) == (4, 2)
    assert layer.name == "experts" and isinstance(layer.experts, torch.nn.ModuleList)
    assert len(layer.trainable_weights) == 2 + 3 * 2 + 1


def test_plain_containers_set_before_super_init_are_kept_as_in_keras():
    # keras-io's CycleGAN sets `self.padding = tuple(padding)` before super().__init__().
    class Padded(layers.Layer):
        def __init__(self, padding=(1, 2)):
            self.padding = tuple(padding)
            self.sizes = [3]
            self.options = {"mode": "constant"}
            self.heads = (layers.Dense(2),)
            super().__init__()

        def call(self, x):
            return self.heads[0](x)

    layer = Padded()
    assert tuple(layer.padding) == (1, 2) and list(layer.sizes) == [3]
    assert dict(layer.options) == {"mode": "constant"}
    assert tuple(layer(torch.zeros(4, 5)).shape) == (4, 2)
    assert len(layer.trainable_weights) == 2


def test_a_read_only_array_is_called_on_without_a_warning():
    # pandas under copy-on-write hands out read-only views; torch warns on them, Keras does not.
    features = np.ones((2, 3), "float32")
    features.flags.writeable = False
    layer = layers.Dense(2, kernel_initializer="ones")
    assert layer(features).tolist() == [[3.0, 3.0], [3.0, 3.0]]  # warnings are errors here


def test_unknown_constructor_argument_is_a_type_error():
    with pytest.raises(
        TypeError, match=r"Dense\(\) got unexpected keyword argument\(s\) \['unitz'\]"
    ):
        layers.Dense(3, unitz=4)


def test_layer_is_a_torch_module_inside_plain_torch_code():
    net = torch.nn.Sequential(layers.Dense(4, activation="relu"), torch.nn.Linear(4, 1))
    y = net(torch.randn(5, 3))
    y.sum().backward()
    assert net[0].kernel.grad is not None


def test_symbolic_shapes_probe_unknown_axes():
    x = lamina.Input(shape=(None, 6))
    y = layers.Dense(3)(x)
    assert y.shape == (None, None, 3)
    z = layers.Conv2D(2, 3, strides=2, padding="same")(lamina.Input(shape=(None, None, 1)))
    assert z.shape == (None, None, None, 2)


def test_compute_output_shape_runs_on_meta_without_touching_weights():
    conv = layers.Conv2D(5, 3, padding="valid")
    conv(torch.zeros(1, 9, 9, 2))
    before = conv.kernel.detach().clone()
    assert conv.compute_output_shape((None, 12, 10, 2)) == (None, 10, 8, 5)
    assert torch.equal(conv.kernel, before) and not conv.kernel.is_meta


@pytest.mark.parametrize(
    "name",
    [
        "relu",
        "sigmoid",
        "tanh",
        "softmax",
        "linear",
        "elu",
        "selu",
        "gelu",
        "swish",
        "silu",
        "leaky_relu",
        "softplus",
        "softsign",
        "exponential",
        "hard_sigmoid",
    ],
)
def test_activation_layer_by_name(name):
    layer = layers.Activation(name)
    assert layer(torch.randn(2, 3)).shape == (2, 3)


@pytest.fixture
def plain_calls_open(monkeypatch):
    """As in a process where no layer has added a loss and no mixed-precision policy was made yet
    (an earlier test's add_loss or policy closes the plain path for the rest of the process)."""
    monkeypatch.setattr(layer_module, "_losses_added", [False])
    monkeypatch.setattr(layer_module.dtype_policies, "mixed_in_use", [False])


@pytest.mark.usefixtures("plain_calls_open")
def test_the_plain_call_still_runs_torch_hooks_and_jit_tracing():
    """Layer.__call__'s shortcut past Module.__call__ (`_plain_call`) is taken only where torch
    would have nothing to run: a layer's own hooks, global module hooks and torch.jit.trace's
    scopes still see every built layer's call."""
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(2)])
    x = torch.ones(5, 3)
    model(x)  # built, weights' device cached: the plain path from here on
    seen = []
    first = model.layers[0]
    handles = [
        first.register_forward_pre_hook(lambda module, args: seen.append("pre")),
        first.register_forward_hook(lambda module, args, output: seen.append(output.shape[-1])),
        torch.nn.modules.module.register_module_forward_hook(
            lambda module, args, output: seen.append(type(module).__name__)
        ),
    ]
    try:
        out = model(x)
    finally:
        for handle in handles:
            handle.remove()
    assert seen == ["pre", "Dense", 4, "Dense", "Sequential"]  # torch runs global hooks first
    seen.clear()
    torch.testing.assert_close(model(x), out)  # hooks gone: the plain path, same values
    assert seen == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jit.trace is deprecated and warns of shape checks
        traced = torch.jit.trace(model, x)
    torch.testing.assert_close(traced(x), out)
    scopes = {node.scopeName() for node in traced.inlined_graph.nodes()}
    assert {"__module.stack_layers.dense", "__module.stack_layers.dense_1"} <= scopes


@pytest.fixture
def general_calls(monkeypatch):
    """The names of the layers whose calls take the general path (`Layer.forward`), in order."""
    names = []
    forward = layer_module.Layer.forward

    def counting_forward(self, *args, **kwargs):
        names.append(self.name)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(layer_module.Layer, "forward", counting_forward)
    return names


@pytest.mark.usefixtures("plain_calls_open")
def test_the_plain_call_is_taken_only_where_the_general_path_has_nothing_to_do(general_calls):
    x = torch.ones(4, 3)
    dense = layers.Dense(2, activation="relu", name="plain")
    dense(x)  # builds: the general path
    dense(x)  # the weights' device is known from here on
    general_calls.clear()
    dense(x)
    assert general_calls == []  # the plain path
    assert dense(np.ones((4, 3))).dtype == torch.float32  # not a tensor: converted first
    masked = layers.Masking()(torch.tensor([[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]]))
    assert dense(masked)._keras_mask.tolist() == [[True, False]]  # a mask to carry
    assert general_calls == ["plain", "masking", "plain"]  # Masking computes a mask too
    penalized = layers.Dense(2, activity_regularizer="l2", name="penalized")
    penalized(x)
    penalized(x)
    assert len(penalized.losses) == 1  # this call's penalty (the first call's was cleared)
    assert general_calls[-2:] == ["penalized", "penalized"]


@pytest.mark.usefixtures("plain_calls_open")
def test_a_merge_of_unmasked_tensors_takes_the_plain_path_and_masks_still_merge(general_calls):
    """`Add()([x, y])`, once per ResNet block per step, skips the general path's mask and tree
    work (`_plain_list_call`) when no input has a mask; masked inputs, hooks and a subclass
    whose own compute_mask makes a mask from unmasked inputs still take the general path."""
    x, y = torch.ones(2, 3), torch.full((2, 3), 2.0)
    add = layers.Add(name="add")
    add([x, y])  # builds
    add([x, y])  # the weights' device (none) is known from here on
    general_calls.clear()
    out = add([x, y])
    assert general_calls == [] and out.tolist() == [[3.0] * 3] * 2
    masked = layers.Masking()(torch.tensor([[[1.0], [0.0]]]))
    assert add([masked, masked])._keras_mask.tolist() == [[True, False]]
    assert general_calls == ["masking", "add"]
    handle = add.register_forward_hook(lambda module, args, output: general_calls.append("hook"))
    add([x, y])
    handle.remove()
    assert general_calls[-2:] == ["add", "hook"]

    class MaskingAdd(layers.Add):
        def compute_mask(self, inputs, mask=None):
            return torch.ones(inputs[0].shape[:1], dtype=torch.bool)

    masking_add = MaskingAdd()
    for _ in range(3):
        result = masking_add([x, y])
    assert result._keras_mask.tolist() == [True, True]


def _seeded_block_state(m):
    """Keras's guide pattern: a layer keeping a SeedGenerator, inside a layer with a Dense. What
    `variables`, `non_trainable_variables` and `weights` list, and the seed state after a draw."""

    class Noise(m.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = m.random.SeedGenerator(1337)

        def call(self, x):
            return m.random.dropout(x, 0.5, seed=self.seed_generator)

    class Block(m.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = m.layers.Dense(2)
            self.noise = Noise()

        def call(self, x):
            return self.noise(self.dense(x))

    block = Block()
    block(np.ones((1, 3), "float32"))
    return {
        "variables": [v.name for v in block.variables],
        "non_trainable": [v.name for v in block.non_trainable_variables],
        "weights": [w.name for w in block.weights],
        "seed_state": [int(s) for s in block.noise.variables[0].numpy()],
        "trainable": [v.trainable for v in block.variables],
    }


@pytest.mark.parity
def test_variables_list_seed_generator_states_as_keras_does():
    from tests.parity import reference

    ours = _seeded_block_state(lamina)
    assert ours["variables"] == ["kernel", "bias", "seed_generator_state"]
    assert ours["weights"] == ["kernel", "bias"]
    assert ours == reference.keras_run(_seeded_block_state)


def _split_masks(m):
    """A layer that halves its input along time and its mask with it: each half carries its own
    half of the mask, as compute_mask returns them, in the outputs' order."""

    class HalveTime(m.layers.Layer):
        def call(self, inputs):
            return m.ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            return None if mask is None else m.ops.split(mask, 2, axis=1)

    x = np.array([[1, 2, 0, 0], [3, 0, 4, 5]], dtype="float32")[..., None] * np.ones(3, "float32")
    masked = m.layers.Masking()(x)
    first, second = HalveTime()(masked)
    return [np.asarray(first._keras_mask), np.asarray(second._keras_mask)]


def test_a_list_of_masks_goes_to_the_list_of_outputs():
    first, second = _split_masks(lamina)
    np.testing.assert_array_equal(first, [[True, True], [True, False]])
    np.testing.assert_array_equal(second, [[False, False], [True, True]])


@pytest.mark.parity
def test_list_of_masks_matches_keras():
    from tests.parity import reference

    ours = _split_masks(lamina)
    theirs = reference.keras_run(_split_masks)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_mask_set_by_call_itself_is_kept():
    class Marks(layers.Layer):
        supports_masking = True

        def call(self, inputs):
            out = inputs * 1.0
            out._keras_mask = torch.tensor([[False, True]])
            return out

    x = layers.Masking()(torch.ones(1, 2, 3))
    assert Marks()(x)._keras_mask.tolist() == [[False, True]]


def test_own_variables_move_between_layers_in_keras_layouts():
    source, target = layers.Dense(2), layers.Dense(2)
    source.build((None, 3))
    target.build((None, 3))
    store = {}
    source.save_own_variables(store)
    assert {k: v.shape for k, v in store.items()} == {"0": (3, 2), "1": (2,)}  # Keras's layout
    target.load_own_variables(store)
    for a, b in zip(source.get_weights(), target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_own_variables_refuses_a_store_of_other_weights():
    layer = layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match=r"2 variables under the keys \['0', '1'\]"):
        layer.load_own_variables({"0": np.zeros((3, 2))})
    with pytest.raises(ValueError, match=r"shape \(3, 2\)"):
        layer.load_own_variables({"0": np.zeros((2, 3)), "1": np.zeros(2)})


@pytest.mark.parity
def test_own_variables_match_keras_store():
    from tests.parity import reference

    def stored(m):
        layer = m.layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")
        layer.build((None, 3))
        store = {}
        layer.save_own_variables(store)
        return {k: np.asarray(v).tolist() for k, v in store.items()}

    assert stored(lamina) == reference.keras_run(stored)


def test_build_config_round_trip():
    layer = layers.Dense(2)
    assert layer.get_build_config() is None
    layer.build((None, 3))
    config = layer.get_build_config()
    assert config == {"input_shape": (None, 3)}
    twin = layers.Dense(2)
    twin.build_from_config({"input_shape": [None, 3]})  # as JSON gives it back
    assert twin.built and twin.get_weights()[0].shape == (3, 2)


def test_add_loss_of_a_graph_tensor_is_refused_not_dropped():
    """Keras 2's `model.add_loss(kl)` on Input-derived tensors: Keras 3 refuses it, and so does
    lamina, rather than keeping a symbolic loss that no forward pass would ever add."""
    inputs = lamina.Input((4,))
    hidden = lamina.layers.Dense(3)(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(2)(hidden))
    penalty = lamina.ops.mean(lamina.ops.square(hidden))
    with pytest.raises(
        ValueError,
        match=(
            r"Layer 'functional' \(Functional\) expects add_loss\(\) of a tensor computed in "
            r"call\(\); received a symbolic <KerasTensor shape=\(\), .*Hint: Keras 3 takes no "
            r"graph losses"
        ),
    ):
        model.add_loss(penalty)
    model(np.ones((2, 4), "float32"))
    assert model.losses == []


def _augmentation_changes(m):
    """Which calls of a RandomFlip / RandomRotation change a batch, written once for both
    frameworks: Keras's augmentations declare `call(..., training=True)`."""
    x = np.arange(2 * 4 * 4, dtype="float32").reshape(2, 4, 4, 1)

    def changes(fn):
        return any(bool(np.abs(m.ops.convert_to_numpy(fn()) - x).max() > 1e-4) for _ in range(8))

    flip = m.layers.RandomFlip("horizontal", seed=1)
    rotate = m.layers.RandomRotation(0.2, seed=1)
    inputs = m.Input((4, 4, 1))
    model = m.Model(inputs, rotate(flip(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    return {
        "direct call": changes(lambda: flip(x)),
        "training=False": changes(lambda: flip(x, training=False)),
        "model call": changes(lambda: model(x)),
        "model call, training=False": changes(lambda: model(x, training=False)),
        "predict": changes(lambda: model.predict(x, verbose=0)),
        "predict_on_batch": changes(lambda: model.predict_on_batch(x)),
    }


@pytest.mark.parity
def test_augmentations_follow_keras_training_default_outside_fit():
    """Called by hand or in a data pipeline, an augmentation augments (Keras's `training=True`
    default); predict and Keras's explicit training=False do not."""
    from tests.parity import reference

    ours = _augmentation_changes(lamina)
    assert ours == reference.keras_run(_augmentation_changes)
    assert ours["direct call"] and ours["model call"] and not ours["predict"]


def test_training_default_of_a_call_signature_is_the_last_resort():
    class Noisy(layers.Layer):
        def call(self, inputs, training=True):
            return inputs + 1.0 if training else inputs

    class Quiet(layers.Layer):
        def call(self, inputs, training=None):
            return inputs + 1.0 if training else inputs

    x = torch.zeros(1)
    noisy, quiet = Noisy(), Quiet()
    assert float(noisy(x)) == 1.0 and float(quiet(x)) == 0.0
    assert float(noisy(x, training=False)) == 0.0
    with layer_module.inference_calls():  # what predict and evaluate run under
        assert float(noisy(x)) == 0.0
    quiet.train()  # torch's train mode, as fit sets it
    assert float(quiet(x)) == 1.0


# Keras fills a layer's `mask` argument only when its call has one tensor argument; with two
# (`call(self, inputs, context, mask=None)`, a transformer decoder's shape) it leaves it None.
MASK_TOKENS = np.array([[1, 2, 0], [3, 0, 0]], dtype="int32")
MASK_CONTEXT = np.arange(2 * 3 * 2, dtype="float32").reshape(2, 3, 2)


def _mask_seen_by_two_input_layer(m):
    class SeesMask(m.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, context, mask=None):
            if mask is None:
                return inputs + context
            keep = m.ops.expand_dims(m.ops.cast(mask, "float32"), -1)
            return (inputs + context) * keep

    tokens = m.Input(shape=(None,), dtype="int32")
    context = m.Input(shape=(None, 2))
    x = m.layers.Embedding(5, 2, mask_zero=True, embeddings_initializer="ones")(tokens)
    model = m.Model([tokens, context], SeesMask()(x, context))
    return model.predict([MASK_TOKENS, MASK_CONTEXT], verbose=0)


def test_a_call_with_two_tensor_arguments_gets_no_automatic_mask():
    out = _mask_seen_by_two_input_layer(lamina)
    np.testing.assert_allclose(out, MASK_CONTEXT + 1.0)  # padded steps kept: no mask applied


def test_a_call_with_one_tensor_argument_still_gets_its_mask():
    seen = []

    class Records(layers.Layer):
        def call(self, inputs, scale=2.0, mask=None):
            seen.append(mask)
            return inputs * scale

    x = layers.Embedding(5, 2, mask_zero=True)(torch.tensor([[1, 0]]))
    with pytest.warns(UserWarning, match="does not support masking"):  # as Keras: no flag set
        Records()(x, scale=3.0)
    assert seen[-1] is not None and seen[-1].tolist() == [[True, False]]


@pytest.mark.parity
def test_a_call_with_two_tensor_arguments_masks_as_in_keras():
    from tests.parity import reference

    ours = _mask_seen_by_two_input_layer(lamina)
    theirs = reference.keras_run(_mask_seen_by_two_input_layer)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# With one list argument (`layer([x, context])`), Keras hands `mask` a list of the elements'
# masks, and the output inherits the first: a decoder's padded steps stay masked downstream.
def _masks_of_a_list_argument(m):
    class SeesMasks(m.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            x, context = inputs
            x_mask, context_mask = mask
            keep = m.ops.cast(m.ops.expand_dims(x_mask, -1), "float32")
            context_count = m.ops.sum(m.ops.cast(context_mask, "float32"), axis=1)
            return x * keep + m.ops.reshape(context_count, (-1, 1, 1))

    tokens = m.Input(shape=(None,), dtype="int32")
    context_tokens = m.Input(shape=(None,), dtype="int32")
    embed = m.layers.Embedding(5, 2, mask_zero=True, embeddings_initializer="ones")
    out = SeesMasks()([embed(tokens), embed(context_tokens)])
    model = m.Model([tokens, context_tokens], m.layers.Dense(1, kernel_initializer="ones")(out))
    model.compile(loss="mse", metrics=["mae"])
    context = np.array([[4, 0, 0, 0], [1, 2, 3, 0]], dtype="int32")
    labels = np.zeros((2, 3, 1), dtype="float32")
    predicted = model.predict([MASK_TOKENS, context], verbose=0)
    evaluated = model.evaluate([MASK_TOKENS, context], labels, verbose=0)
    return predicted, np.asarray(evaluated)


def test_a_list_argument_gets_the_list_of_its_masks():
    predicted, (loss, mae) = _masks_of_a_list_argument(lamina)
    # 2 * (token kept) + 2 * (context tokens kept): each mask reached the call
    np.testing.assert_allclose(predicted[..., 0], [[4.0, 4.0, 2.0], [8.0, 6.0, 6.0]])
    # the output carries the tokens' mask: loss and metric average the 3 unpadded steps only
    np.testing.assert_allclose([loss, mae], [(16 + 16 + 64) / 3, (4 + 4 + 8) / 3], rtol=1e-6)


@pytest.mark.parity
def test_a_list_argument_masks_as_in_keras():
    from tests.parity import reference

    ours = _masks_of_a_list_argument(lamina)
    theirs = reference.keras_run(_masks_of_a_list_argument)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def _inputs_by_keyword(m):
    """A layer whose call's first argument is given by name, eagerly and in a functional graph."""

    class ScaledBy(m.layers.Layer):
        def call(self, logits, scale=None):
            return logits * (2.0 if scale is None else scale)

    x = np.arange(6, dtype="float32").reshape(2, 3)
    eager = ScaledBy()(logits=x, scale=3.0)
    inputs = m.Input((3,))
    graph = m.Model(inputs, ScaledBy()(logits=inputs))
    return np.asarray(eager), np.asarray(graph.predict(x, verbose=0))


def test_inputs_may_be_passed_by_the_name_of_calls_first_argument():
    eager, graph = _inputs_by_keyword(lamina)
    np.testing.assert_allclose(eager, np.arange(6).reshape(2, 3) * 3.0)
    np.testing.assert_allclose(graph, np.arange(6).reshape(2, 3) * 2.0)


@pytest.mark.parity
def test_inputs_by_keyword_match_keras():
    from tests.parity import reference

    for ours, theirs in zip(
        _inputs_by_keyword(lamina), reference.keras_run(_inputs_by_keyword), strict=True
    ):
        np.testing.assert_allclose(ours, theirs)


def test_keyword_only_call_without_the_inputs_names_the_missing_argument():
    class Pair(lamina.layers.Layer):
        def call(self, first, second=None):
            return first

    with pytest.raises(TypeError, match=r"none of them is call\(\)'s first argument 'first'"):
        Pair()(second=np.ones((1, 2), "float32"))


def _numpy_keyword_argument(m):
    """A NumPy array passed by keyword reaches call() as a tensor, as the inputs do."""

    class Offset(m.layers.Layer):
        def call(self, inputs, offset=None):
            return inputs + offset

    x = np.ones((2, 3), "float32")
    out = Offset()(x, offset=np.arange(3, dtype="float64"))
    return m.ops.convert_to_numpy(out), str(m.ops.convert_to_numpy(out).dtype)


def test_numpy_keyword_arguments_become_tensors():
    values, dtype = _numpy_keyword_argument(lamina)
    np.testing.assert_allclose(values, [[1.0, 2.0, 3.0]] * 2)
    assert dtype == "float32"


@pytest.mark.parity
def test_numpy_keyword_arguments_match_keras():
    from tests.parity import reference

    ours, theirs = _numpy_keyword_argument(lamina), reference.keras_run(_numpy_keyword_argument)
    np.testing.assert_allclose(ours[0], theirs[0])
    assert ours[1] == theirs[1]


def _argument_masks_seen(m):
    """A layer with Keras's `<argument>_mask` parameter, fed an Embedding(mask_zero=True) output
    as its second argument: eagerly and in a functional model."""

    class CountContext(m.layers.Layer):
        def call(self, query, context, context_mask=None):
            if context_mask is None:
                return query * 0.0 - 1.0
            kept = m.ops.sum(m.ops.cast(context_mask, "float32"), axis=-1, keepdims=True)
            return query * 0.0 + kept

    tokens = np.array([[1, 2, 0], [3, 0, 0]], dtype="int32")
    query = np.ones((2, 1), "float32")
    embedding = m.layers.Embedding(5, 2, mask_zero=True)
    layer = CountContext()
    eager = m.ops.convert_to_numpy(layer(query, embedding(tokens)))
    query_input, token_input = m.Input((1,)), m.Input((3,), dtype="int32")
    model = m.Model([query_input, token_input], CountContext()(query_input, embedding(token_input)))
    return eager.tolist(), model.predict([query, tokens], verbose=0).tolist()


@pytest.mark.parity
def test_argument_mask_parameters_get_that_arguments_mask_as_in_keras():
    from tests.parity import reference

    ours = _argument_masks_seen(lamina)
    assert ours == ([[2.0], [1.0]], [[2.0], [1.0]])
    assert ours == reference.keras_run(_argument_masks_seen)


def test_a_build_without_a_shape_is_called_with_nothing_as_in_keras():
    class Wrapper(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = layers.Dense(2)

        def build(self):
            self.built = True

        def call(self, x):
            return self.inner(x)

    wrapper = Wrapper()
    assert wrapper(np.ones((1, 3), "float32")).shape == (1, 2)
    assert wrapper.built and len(wrapper.weights) == 2


def test_a_flag_given_by_position_is_refused_with_a_hint_as_keras():
    # Keras 2 code passes `training` by position; Keras 3 refuses it rather than guess.
    with pytest.raises(
        ValueError,
        match=r"Layer 'dropout' \(Dropout\) expects only tensors as positional arguments after "
        r"the inputs; received True \(bool\)\. Hint: pass it by keyword",
    ):
        layers.Dropout(0.5)(torch.ones(2, 3), True)


def test_tensors_arrays_and_none_may_follow_the_inputs_by_position():
    class Sum(layers.Layer):
        def call(self, x, y=None):
            return x if y is None else x + y

    layer = Sum()
    assert layer(torch.ones(2), np.ones(2, "float32")).tolist() == [2.0, 2.0]
    assert layer(torch.ones(2), None).tolist() == [1.0, 1.0]


def test_build_of_a_layer_without_its_own_build_leaves_it_built_as_keras():
    layer = lamina.layers.Rescaling(0.5)  # no weights, no build() of its own
    layer.build((2, 8, 8, 3))
    assert layer.built


def test_output_shape_that_cannot_be_worked_out_reads_as_absent():
    # A recurrent cell needs its states beside its input: `output_shape` fails as a property
    # must (AttributeError, not the probe's TypeError), so hasattr() and tools that walk a
    # module's attributes go on.
    model = lamina.Sequential([lamina.Input((4, 5)), layers.LSTM(3)])
    cell = model.layers[0].cell
    assert not hasattr(cell, "output_shape")
    dense = layers.Dense(2)
    dense.build((None, 3))  # built, never called: still worked out from its input shape
    assert dense.output_shape == (None, 2)


def test_torch_float_conversions_change_what_the_layers_compute_in():
    # torch's `.double()` (gradcheck's habit), `.half()`, `.to(dtype)`: the layers then compute
    # in that dtype, as ones built with dtype="float64" do; weightless layers follow too.
    model = lamina.Sequential(
        [lamina.Input((4,)), layers.Dense(3), layers.Dropout(0.1), layers.Dense(2)]
    )
    model.double()
    assert [layer.dtype_policy.name for layer in model.layers] == ["float64"] * 3
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))
    assert model(torch.randn(2, 4)).dtype == torch.float64  # float32 inputs are cast, as Keras
    model.to(torch.bfloat16)
    assert model(torch.randn(2, 4)).dtype == torch.bfloat16
    model.float().to("cpu")
    assert model.layers[0].dtype_policy.name == "float32"
    assert model(torch.randn(2, 4)).dtype == torch.float32


def test_mixed_policy_layers_keep_their_policy_across_device_moves():
    dense = layers.Dense(2, dtype="mixed_bfloat16")
    dense.build((None, 3))
    dense.to("cpu")
    assert dense.dtype_policy.name == "mixed_bfloat16"


def test_no_layer_shadows_a_torch_module_method():
    # A method named like one of torch.nn.Module's is called by torch (`model.to()` runs every
    # submodule's `_apply(fn)`): a lamina layer may override one only with its signature.
    for info in pkgutil.walk_packages(lamina.__path__, "lamina."):
        importlib.import_module(info.name)
    allowed = {"forward", "compile"}  # forward: the call's own arguments; compile: Keras's
    pending, shadowing = list(layer_module.Layer.__subclasses__()), []
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        for name, value in vars(cls).items():
            if name.startswith("__") or name in allowed or not hasattr(torch.nn.Module, name):
                continue
            if cls.__name__ == "FeatureSpace" and name == "float":  # Keras's feature factory
                continue
            ours, torchs = (
                inspect.signature(value),
                inspect.signature(getattr(torch.nn.Module, name)),
            )
            if list(ours.parameters) != list(torchs.parameters):
                shadowing.append(f"{cls.__qualname__}.{name}{ours}")
    assert shadowing == []


@pytest.mark.parametrize("policy", ["RandAugment", "AugMix"])
def test_augmentation_policies_move_with_their_model(policy):
    model = lamina.Sequential(
        [lamina.Input((8, 8, 3)), getattr(layers, policy)(), layers.Conv2D(2, 3)]
    )
    model.to("cpu").float()  # ran every submodule's _apply, which a policy once shadowed
    assert model(torch.rand(2, 8, 8, 3), training=True).shape == (2, 6, 6, 2)


def test_a_nested_list_of_numbers_is_one_input():
    # Keras's preprocessing layers read `layer([1.0, 2.0])` as one input's values; lamina's
    # layers all do (Dense failed inside its call: "int() argument must be ... not 'list'").
    assert tuple(lamina.layers.Dense(3)([[1.0, 2.0, 3.0, 4.0]]).shape) == (1, 3)
    from tests.parity import reference

    rescaled = lamina.layers.Rescaling(2.0)([1.0, 2.0])
    expected = reference.keras.layers.Rescaling(2.0)([1.0, 2.0])
    np.testing.assert_allclose(rescaled.numpy(), np.asarray(expected.cpu()))
    assert lamina.layers.IntegerLookup(vocabulary=[1, 2, 3])([1, 2, 3]).tolist() == [1, 2, 3]
