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
    for ref, out in zip(refs, outs):
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
        for o, r, c in zip(outs, refs, cotangents)
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
        for g_ours, g_ref in zip(grads_ours, grads_ref):
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
        for weight, g_ours, g_ref in zip(ours_weights, grads_ours, grads_ref):
            if g_ref is None and g_ours is None:
                continue
            to_keras = entries[id(weight)][2]
            torch.testing.assert_close(
                _cpu(to_keras(g_ours)), _cpu(g_ref), atol=atol * 10, rtol=rtol * 10
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
