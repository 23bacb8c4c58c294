"""The one module that imports Keras: the reference lamina's numbers are checked against.

`assert_layer_matches_keras` builds the same layer in Keras (torch backend) and in lamina, copies
Keras's random weights into lamina through `set_weights(get_weights())` (the layout bridge under
test), and compares outputs, input gradients (against a random cotangent, never `.sum()`, whose
gradient through a normalised output is zero on both sides) and weight gradients.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
# The reference computes on the CPU; lamina runs on the suite's device (LAMINA_TEST_DEVICE), and
# the two are compared on CPU copies.
os.environ.setdefault("KERAS_TORCH_DEVICE", "cpu")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402


def _tensor(x, requires_grad=False, device="cpu"):
    return torch.tensor(np.asarray(x), requires_grad=requires_grad, device=device)


def _cpu(tensor):
    return None if tensor is None else tensor.detach().cpu()


def _flatten(out):
    if isinstance(out, (list, tuple)):
        result = []
        for item in out:
            result.extend(_flatten(item))
        return result
    return [out]


def assert_layer_matches_keras(
    layer_name: str,
    config: dict,
    input_shape,
    *,
    call_kwargs=None,
    atol=1e-5,
    rtol=1e-5,
    seed=0,
    input_dtype="float32",
    check_input_grad=True,
    check_weight_grads=True,
    keras_layer=None,
    lamina_layer=None,
    inputs=None,
):
    """Same config, Keras's weights in, outputs and gradients out: they must agree."""
    call_kwargs = call_kwargs or {}
    rng = np.random.default_rng(seed)
    if inputs is None:
        if input_dtype.startswith("int"):
            x = rng.integers(0, 10, size=input_shape).astype(input_dtype)
        else:
            x = rng.standard_normal(input_shape).astype(input_dtype)
        inputs = [x]
    floating = all(np.asarray(x).dtype.kind == "f" for x in inputs)
    check_input_grad = check_input_grad and floating

    reference = (
        keras_layer if keras_layer is not None else getattr(keras.layers, layer_name)(**config)
    )
    ours = (
        lamina_layer if lamina_layer is not None else getattr(lamina.layers, layer_name)(**config)
    )

    def call(layer, tensors):
        arg = tensors[0] if len(tensors) == 1 else list(tensors)
        return layer(arg, **call_kwargs)

    x_ref = [_tensor(x, requires_grad=check_input_grad) for x in inputs]
    y_ref = call(reference, x_ref)
    device = lamina.backend.default_device()
    call(ours, [_tensor(x, device=device) for x in inputs])  # builds ours
    ours.set_weights(reference.get_weights())

    x_ours = [_tensor(x, requires_grad=check_input_grad, device=device) for x in inputs]
    y_ours = call(ours, x_ours)

    refs, outs = _flatten(y_ref), _flatten(y_ours)
    assert len(refs) == len(outs), f"{len(outs)} outputs, Keras has {len(refs)}"
    for ref, out in zip(refs, outs, strict=False):
        assert tuple(out.shape) == tuple(ref.shape), (
            f"shape {tuple(out.shape)} != Keras {tuple(ref.shape)}"
        )
        torch.testing.assert_close(_cpu(out).float(), _cpu(ref).float(), atol=atol, rtol=rtol)

    float_outputs = [o for o in outs if o.is_floating_point() and o.requires_grad]
    if not float_outputs:
        return ours, reference
    cotangents = [torch.tensor(rng.standard_normal(tuple(o.shape)).astype("float32")) for o in outs]
    pairs = [
        (o, r, c)
        for o, r, c in zip(outs, refs, cotangents, strict=False)
        if o.is_floating_point() and o.requires_grad
    ]
    ours_cotangents = [p[2].to(p[0].device) for p in pairs]
    ours_weights = [w for w in ours.trainable_weights]
    ref_weights = [w.value for w in reference.trainable_weights]

    if check_input_grad:
        grads_ours = torch.autograd.grad(
            [p[0] for p in pairs],
            x_ours,
            ours_cotangents,
            retain_graph=True,
            allow_unused=True,
        )
        grads_ref = torch.autograd.grad(
            [p[1] for p in pairs],
            x_ref,
            [p[2] for p in pairs],
            retain_graph=True,
            allow_unused=True,
        )
        for g_ours, g_ref in zip(grads_ours, grads_ref, strict=False):
            if g_ref is None:
                continue
            torch.testing.assert_close(_cpu(g_ours), _cpu(g_ref), atol=atol * 10, rtol=rtol * 10)

    if check_weight_grads and ours_weights:
        grads_ours = torch.autograd.grad(
            [p[0] for p in pairs], ours_weights, ours_cotangents, allow_unused=True
        )
        grads_ref = torch.autograd.grad(
            [p[1] for p in pairs], ref_weights, [p[2] for p in pairs], allow_unused=True
        )
        # Map our gradients to Keras's layout through the same converters get_weights() uses.
        entries = {id(e[1]): e for e in ours._weight_entries()}
        for weight, g_ours, g_ref in zip(ours_weights, grads_ours, grads_ref, strict=False):
            if g_ref is None and g_ours is None:
                continue
            to_keras = entries[id(weight)][2]
            torch.testing.assert_close(
                _cpu(to_keras(g_ours)), _cpu(g_ref), atol=atol * 10, rtol=rtol * 10
            )
    return ours, reference


def assert_call_matches_keras(reference, ours, inputs, call_kwargs=None, *, atol=1e-5, seed=0):
    """Two layers already built alike, called as `layer(*inputs, **call_kwargs)`: Keras's weights
    are copied into ours, then outputs, input gradients and weight gradients (against a random
    cotangent) must agree. For layers taking several positional tensors (attention)."""
    call_kwargs = call_kwargs or {}
    ours.set_weights(reference.get_weights())
    floating = [np.asarray(x).dtype.kind == "f" for x in inputs]
    x_ref = [_tensor(x, requires_grad=f) for x, f in zip(inputs, floating, strict=True)]
    device = lamina.backend.default_device()
    x_ours = [
        _tensor(x, requires_grad=f, device=device) for x, f in zip(inputs, floating, strict=True)
    ]
    refs = _flatten(reference(*x_ref, **call_kwargs))
    outs = _flatten(ours(*x_ours, **call_kwargs))
    assert len(refs) == len(outs), f"{len(outs)} outputs, Keras has {len(refs)}"
    for ref, out in zip(refs, outs, strict=True):
        assert tuple(out.shape) == tuple(ref.shape)
        torch.testing.assert_close(_cpu(out).float(), _cpu(ref).float(), atol=atol, rtol=atol)
    rng = np.random.default_rng(seed)
    cotangents = [torch.tensor(rng.standard_normal(tuple(o.shape)).astype("float32")) for o in outs]
    grad_inputs_ours = [x for x in x_ours if x.requires_grad]
    grad_inputs_ref = [x for x in x_ref if x.requires_grad]
    ours_weights = list(ours.trainable_weights)
    ref_weights = [w.value for w in reference.trainable_weights]
    g_ours = torch.autograd.grad(
        outs,
        grad_inputs_ours + ours_weights,
        [c.to(o.device) for c, o in zip(cotangents, outs, strict=True)],
        allow_unused=True,
    )
    g_ref = torch.autograd.grad(refs, grad_inputs_ref + ref_weights, cotangents, allow_unused=True)
    n = len(grad_inputs_ours)
    for a, b in zip(g_ours[:n], g_ref[:n], strict=True):
        if b is not None:
            torch.testing.assert_close(_cpu(a), _cpu(b), atol=atol * 10, rtol=atol * 10)
    entries = {id(e[1]): e for e in ours._weight_entries()}
    for weight, a, b in zip(ours_weights, g_ours[n:], g_ref[n:], strict=True):
        if a is None and b is None:
            continue
        torch.testing.assert_close(
            _cpu(entries[id(weight)][2](a)), _cpu(b), atol=atol * 10, rtol=atol * 10
        )
    return ours, reference


# --------------------------------------------------------------------------------------------------
# Keras's public API surface, for the completeness test (tests/api/test_completeness.py).


def keras_public_namespaces() -> list[str]:
    """Every public Keras namespace reachable from `keras` ("" is the top level), sorted.

    A namespace is a public submodule of Keras's generated API (`keras.ops.nn`, `keras.utils`,
    `keras.applications.resnet`, ...); `keras.src` (the implementation) is not public.
    """
    import types

    found = {""}

    def walk(module, path):
        for name in sorted(dir(module)):
            if name.startswith("_") or name == "src":
                continue
            value = getattr(module, name)
            if isinstance(value, types.ModuleType) and value.__name__.startswith("keras."):
                child = f"{path}.{name}" if path else name
                if child not in found:
                    found.add(child)
                    walk(value, child)

    walk(keras, "")
    return sorted(found)


def keras_public_names(namespace: str) -> list[str]:
    """The public non-module names of one Keras namespace (`dir()` less `_names` and submodules)."""
    import importlib
    import types

    module = importlib.import_module(f"keras.{namespace}" if namespace else "keras")
    return sorted(
        name
        for name in dir(module)
        if not name.startswith("_") and not isinstance(getattr(module, name), types.ModuleType)
    )


def keras_nasnet_mobile(
    input_shape=None,
    include_top=True,
    weights=None,
    input_tensor=None,
    pooling=None,
    classes=1000,
    classifier_activation="softmax",
    name="nasnet_mobile",
):
    """Keras's NASNetMobile, built through its NASNet function: `keras.applications.NASNetMobile`
    refuses the torch backend (an "outstanding bug" its source names), though the graph it would
    build is the same (same arguments as NASNetMobile)."""
    from keras.src.applications import nasnet

    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return nasnet.NASNet(
        input_shape,
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        pooling=pooling,
        classes=classes,
        default_size=224,
        classifier_activation=classifier_activation,
        name=name,
    )


# --------------------------------------------------------------------------------------------------
# Layer-level behaviour: activity penalties, configs, nested structures.


def keras_activity_losses(layer_name: str, config: dict, x: np.ndarray) -> tuple[list, list]:
    """The penalties (floats) a Keras layer records in one call on `x`, and its weights.

    Returns `(losses, weights)`: `layer.losses` after the call and `get_weights()`, so that a lamina
    layer given the same weights can be compared.
    """
    layer = getattr(keras.layers, layer_name)(**config)
    layer(keras.ops.convert_to_tensor(x))
    losses = [float(keras.ops.convert_to_numpy(loss)) for loss in layer.losses]
    return losses, layer.get_weights()


def keras_layer_config(layer_name: str, config: dict) -> dict:
    """Keras's `get_config()` of `keras.layers.<layer_name>(**config)`."""
    return getattr(keras.layers, layer_name)(**config).get_config()


def keras_tree():
    """Keras's `keras.tree` module, for comparing nested-structure order."""
    return keras.tree


def keras_functional_dict_io(input_names, output_names):
    """A Keras functional model whose inputs and outputs are dicts keyed in the given orders.

    Input `name` has shape (1,); output `name` is input (len(name) - 1 mod inputs) times the
    output's position + 1, so every output is told apart by its value. Returns the model.
    """
    inputs = {name: keras.Input((1,), name=name) for name in input_names}
    ordered = list(inputs.values())
    outputs = {
        name: keras.layers.Rescaling(index + 1.0, name=f"out_{name}")(ordered[index % len(ordered)])
        for index, name in enumerate(output_names)
    }
    return keras.Model(inputs, outputs)


# --------------------------------------------------------------------------------------------------
# Whole-model references: the same model built with Keras, for compile/evaluate/summary parity.


def keras_evaluate(build, weights, x, y, sample_weight=None, class_weight=None, **compile_kwargs):
    """Keras's `evaluate(..., return_dict=True)` (and, with class_weight, one epoch of fit with
    lr 0 to read the metrics) of `build(keras.layers, keras)` holding `weights`.

    `build(layers, models)` is the same function that builds the lamina model, so the two models
    agree layer for layer.
    """
    model = build(keras.layers, keras)
    model.set_weights(weights)
    model.compile(**compile_kwargs)
    if class_weight is not None:
        history = model.fit(
            x, y, class_weight=class_weight, batch_size=len(x), epochs=1, verbose=0, shuffle=False
        )
        return {k: v[0] for k, v in history.history.items()}
    return model.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)


def keras_summary_text(build, **summary_kwargs) -> str:
    """The text Keras's `summary(**summary_kwargs)` prints for `build(keras.layers, keras)`."""
    lines = []
    build(keras.layers, keras).summary(
        print_fn=lambda line, **_: lines.append(line), **summary_kwargs
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Mixed precision: Keras's dtype policies and loss scaling, for tests/mixed_precision/.


def keras_policy_facts(name: str) -> dict:
    """What Keras's `DTypePolicy(name)` reports: dtypes, repr and serialized config."""
    policy = keras.DTypePolicy(name)
    return {
        "name": policy.name,
        "compute_dtype": policy.compute_dtype,
        "variable_dtype": policy.variable_dtype,
        "quantization_mode": policy.quantization_mode,
        "repr": repr(policy),
        "serialized": keras.dtype_policies.serialize(policy),
    }


def keras_dense_policy_facts(dtype=None, global_policy: str | None = None) -> dict:
    """A Keras `Dense(2, dtype=dtype)` built on (1, 3) inputs, under `global_policy` if given:
    its dtype attributes, its config's `dtype`, and its output's and kernel's dtypes."""
    previous = keras.config.dtype_policy()
    if global_policy is not None:
        keras.config.set_dtype_policy(global_policy)
    try:
        layer = keras.layers.Dense(2, dtype=dtype)
        output = layer(np.ones((1, 3), dtype="float32"))
    finally:
        keras.config.set_dtype_policy(previous)
    return {
        "policy": layer.dtype_policy.name,
        "dtype": layer.dtype,
        "compute_dtype": layer.compute_dtype,
        "variable_dtype": layer.variable_dtype,
        "config_dtype": layer.get_config()["dtype"],
        "kernel_dtype": keras.backend.standardize_dtype(layer.kernel.dtype),
        "output_dtype": keras.backend.standardize_dtype(output.dtype),
    }


def keras_loss_scale_run(grad_sequence, initial_scale, growth_steps, learning_rate=0.5):
    """Keras's LossScaleOptimizer(SGD) on one weight [1, 2], applying each (scaled) gradient of
    `grad_sequence` in turn; the scale, step counter, iterations and weight after each."""
    weight = keras.Variable(np.array([1.0, 2.0], dtype="float32"))
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(learning_rate),
        initial_scale=initial_scale,
        dynamic_growth_steps=growth_steps,
    )
    optimizer.build([weight])
    history = []
    for grad in grad_sequence:
        optimizer.apply([keras.ops.convert_to_tensor(np.asarray(grad, dtype="float32"))], [weight])
        history.append(
            {
                "scale": float(optimizer.dynamic_scale.numpy()),
                "counter": int(optimizer.step_counter.numpy()),
                "iterations": int(optimizer.iterations.numpy()),
                "weight": np.asarray(weight.numpy()).tolist(),
            }
        )
    return history


def keras_loss_scale_config(learning_rate=0.5, initial_scale=2.0**15, growth_steps=2000) -> dict:
    """Keras's `LossScaleOptimizer(SGD(learning_rate), ...).get_config()`."""
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(learning_rate),
        initial_scale=initial_scale,
        dynamic_growth_steps=growth_steps,
    )
    return optimizer.get_config()


def keras_compiled_optimizer(policy: str, auto_scale_loss: bool = True) -> str:
    """The class name of the optimizer Keras's compile() keeps for a model under `policy`."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse", auto_scale_loss=auto_scale_loss)
    finally:
        keras.config.set_dtype_policy(previous)
    return type(model.optimizer).__name__


def keras_save_mixed_model(path, weights=None) -> None:
    """Save to `path` (.keras) a Keras Sequential: Dense(4, mixed_bfloat16, relu), Dense(3,
    mixed_float16), Activation(softmax, float32), on (None, 5) inputs; `weights` if given."""
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(4, activation="relu", dtype="mixed_bfloat16", name="hidden"),
            keras.layers.Dense(3, dtype="mixed_float16", name="logits"),
            keras.layers.Activation("softmax", dtype="float32", name="probabilities"),
        ],
        name="mixed",
    )
    if weights is not None:
        model.set_weights(weights)
    model.save(path)


def keras_save_compiled_dense(path, **compile_kwargs) -> None:
    """Save to `path` (.keras) a Keras Sequential Dense(2) on (None, 3) inputs, compiled with
    `optimizer="sgd", loss="mse"` and `compile_kwargs`."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse", **compile_kwargs)
    model.save(path)


def keras_loaded_execution_options(path) -> dict:
    """Keras's `run_eagerly` and `steps_per_execution` of the model it loads from `path`."""
    model = keras.models.load_model(path)
    return {"run_eagerly": model.run_eagerly, "steps_per_execution": model.steps_per_execution}
