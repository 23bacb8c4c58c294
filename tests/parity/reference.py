"""The one module that imports Keras: the reference lamina's numbers are checked against.

`assert_layer_matches_keras` builds the same layer in Keras (torch backend) and in lamina, copies
Keras's random weights into lamina through `set_weights(get_weights())` (the layout bridge under
test), and compares outputs, input gradients (against a random cotangent, never `.sum()`, whose
gradient through a normalised output is zero on both sides) and weight gradients.
"""

from __future__ import annotations

import contextlib
import os
import re

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


def flat_by_path(tree, convert=np.asarray, prefix=""):
    """A nested dict (a state tree) as `{"a/b/c": convert(value)}`."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flat_by_path(value, convert, f"{prefix}{key}/"))
        else:
            flat[f"{prefix}{key}"] = convert(value)
    return flat


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
        # Every weight has Keras's shape, and so has its gradient.
        for g_ours, g_ref in zip(grads_ours, grads_ref, strict=False):
            if g_ref is None and g_ours is None:
                continue
            torch.testing.assert_close(_cpu(g_ours), _cpu(g_ref), atol=atol * 10, rtol=rtol * 10)
    return ours, reference


def assert_weights_equal_keras(ours, theirs) -> None:
    """`ours.get_weights()` is Keras's `theirs.get_weights()` exactly: same count, shapes, dtypes
    and values (quantized integer kernels and scales included)."""
    want = [np.asarray(w) for w in theirs.get_weights()]
    got = ours.get_weights()
    assert [(w.shape, w.dtype) for w in got] == [(w.shape, w.dtype) for w in want]
    for mine, keras_one in zip(got, want, strict=True):
        np.testing.assert_array_equal(mine, keras_one)


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
    for a, b in zip(g_ours[n:], g_ref[n:], strict=True):
        if a is None and b is None:
            continue
        torch.testing.assert_close(_cpu(a), _cpu(b), atol=atol * 10, rtol=atol * 10)
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


def keras_call_outcome(build, feed, method="call"):
    """What Keras does with `feed` given to `build(keras.layers, keras)`: `method` is "call"
    (`model(feed)`) or "predict".

    Returns (outputs as NumPy, or the text of the ValueError raised; the warnings' texts).
    """
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build(keras.layers, keras)
        caught.clear()  # the model's construction is not the feed's doing
        try:
            if method == "predict":
                result = model.predict(feed, verbose=0)
            else:
                result = keras.tree.map_structure(lambda t: t.detach().cpu().numpy(), model(feed))
        except ValueError as failure:
            result = str(failure)
    texts = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return result, [t for t in texts if "__array__" not in t]


def keras_functional_facts(build, feed) -> dict:
    """What a user sees of the order of `build(keras.layers, keras)`'s inputs and outputs: the
    layers behind `inputs` and `outputs`, `output_names`, `input_shape`, `output_shape`,
    `layers`, and the keys of what the model and `predict` return for `feed` (a dict or None)."""
    model = build(keras.layers, keras)
    called = model(feed)
    predicted = model.predict(feed, verbose=0)
    return {
        "inputs": [t._keras_history[0].name for t in model.inputs],
        "outputs": [t._keras_history[0].name for t in model.outputs],
        "output_names": list(model.output_names),
        "input_shape": model.input_shape,
        "output_shape": model.output_shape,
        "layers": [layer.name for layer in model.layers],
        "call_keys": list(called) if isinstance(called, dict) else None,
        "predict_keys": list(predicted) if isinstance(predicted, dict) else None,
    }


def keras_layer_io(build, layer_names) -> dict:
    """`layer.input` and `layer.output` of the named layers of `build(keras.layers, keras)`, each
    tensor told by the layer that made it and its shape: {name: (input, output)}, a list where
    Keras gives a list."""

    def describe(structure):
        if isinstance(structure, (list, tuple)):
            return [describe(item) for item in structure]
        return (structure._keras_history[0].name, tuple(structure.shape))

    model = build(keras.layers, keras)
    return {
        name: (describe(model.get_layer(name).input), describe(model.get_layer(name).output))
        for name in layer_names
    }


def keras_construction_warnings(build) -> list[str]:
    """The UserWarnings Keras gives while `build(keras.layers, keras)` makes its model."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(keras.layers, keras)
    return [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


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


# --------------------------------------------------------------------------------------------------
# plot_model: the text of the boxes Keras draws (read from its labels, so no pydot is needed).


def keras_plot_rows(build, **label_options) -> dict[str, list[str]]:
    """{layer name: the texts of its box, row by row and cell by cell} in Keras's `plot_model`
    of `build(keras.layers, keras)`: title, activation, shapes, dtype, trainable, tags removed."""
    from keras.src.utils import model_visualization

    model = build(keras.layers, keras)
    layers = model.layers if isinstance(model, keras.Sequential) else model._operations
    rows = {}
    for layer in layers:
        label = model_visualization.make_layer_label(layer, **label_options)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", label)
        rows[layer.name] = [re.sub(r"<[^>]+>", "", cell) for cell in cells]
    return rows


# keras.utils data helpers (tests/utils/): get_file on local files and split_dataset's sizes.


def keras_get_file(**kwargs) -> str:
    """`keras.utils.get_file(**kwargs)` (works offline on `file://` origins), its output muted."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        return keras.utils.get_file(**kwargs)


def keras_split_sizes(left_size, right_size, total: int):
    """`(len(left), len(right))` of Keras's split_dataset on `total` rows (its torch path, which
    needs no TensorFlow), or `(exception type name, message)` when Keras refuses the sizes."""
    try:
        left, right = keras.utils.split_dataset(
            np.arange(total), left_size, right_size, preferred_backend="torch"
        )
    except (TypeError, ValueError) as error:
        return type(error).__name__, str(error)
    return len(left), len(right)


def keras_parameters(path: str) -> list[tuple[str, object]]:
    """`[(name, default)]` of the Keras function at dotted `path` under `keras` ("utils.get_file");
    the default is `inspect.Parameter.empty` for a required argument."""
    import inspect

    target = keras
    for part in path.split("."):
        target = getattr(target, part)
    return [(p.name, p.default) for p in inspect.signature(target).parameters.values()]


# Top-level names (Variable, name_scope, remat, direct model calls): tests/engine/test_variable.py,
# test_scopes.py, test_remat.py, test_functional.py.


def keras_variable_results(initial, fns: dict, **variable_kwargs) -> dict:
    """{name: (NumPy value, dtype name)} of `fn(keras.Variable(initial, **variable_kwargs))` for
    each of `fns`; `fn` may use the variable and the `keras` module (`fn(v, keras)`)."""
    results = {}
    for name, fn in fns.items():
        variable = keras.Variable(initial, **variable_kwargs)
        out = fn(variable, keras)
        out = out.value if isinstance(out, keras.Variable) else out
        results[name] = (
            keras.ops.convert_to_numpy(out),
            keras.backend.standardize_dtype(out.dtype),
        )
    return results


def keras_variable_facts(initial, scopes=(), **variable_kwargs) -> dict:
    """name, path, shape, dtype, trainable of a keras.Variable created inside nested name scopes."""
    import contextlib

    with contextlib.ExitStack() as stack:
        for scope in scopes:
            stack.enter_context(keras.name_scope(scope))
        variable = keras.Variable(initial, **variable_kwargs)
    return {
        "name": variable.name,
        "path": variable.path,
        "shape": variable.shape,
        "dtype": variable.dtype,
        "trainable": variable.trainable,
    }


def keras_remat_values_and_grads(fn, x: np.ndarray, cotangent: np.ndarray):
    """`keras.remat(fn)(x)` and the gradient of `sum(out * cotangent)` wrt x, as NumPy."""
    tensor = torch.tensor(x, requires_grad=True)
    out = keras.remat(fn)(tensor)
    (grad,) = torch.autograd.grad(out, tensor, torch.tensor(cotangent))
    return out.detach().numpy(), grad.numpy()


def keras_direct_call(build, weights, x: np.ndarray) -> np.ndarray:
    """`model(x)`, called directly (not predict), of `build(keras.layers, keras)` with `weights`."""
    model = build(keras.layers, keras)
    model.set_weights(weights)
    return keras.ops.convert_to_numpy(model(x))


def keras_optimizer_trajectory(make_optimizer, initial, grads, names=None, stateless=False):
    """The weights after each step of a Keras optimizer applying `grads` (a list of per-step lists
    of arrays) to variables starting at `initial`, named `names` (their `path`s, which Muon and
    MultiOptimizer match). `make_optimizer(keras)` builds the optimizer. `stateless=True` runs
    `stateless_apply`, the pure-function update JAX uses, instead of the eager `apply`."""
    names = names or [f"w{i}" for i in range(len(initial))]
    variables = []
    for value, path in zip(initial, names, strict=True):
        *scopes, name = path.split("/")
        with contextlib.ExitStack() as stack:
            for scope in scopes or ["weights"]:
                stack.enter_context(keras.name_scope(scope))
            variables.append(keras.Variable(value, name=name))
    if any(v.path.removeprefix("weights/") != n for v, n in zip(variables, names, strict=True)):
        raise AssertionError(f"Keras named the variables {[v.path for v in variables]}.")
    optimizer = make_optimizer(keras)
    optimizer.build(variables)
    history = []
    if stateless:
        slots = [v.value for v in optimizer.variables]
        values = [v.value for v in variables]
    for step_grads in grads:
        tensors = [keras.ops.convert_to_tensor(g) for g in step_grads]
        if stateless:
            values, slots = optimizer.stateless_apply(slots, tensors, values)
            history.append([keras.ops.convert_to_numpy(v) for v in values])
        else:
            optimizer.apply(tensors, variables)
            history.append([keras.ops.convert_to_numpy(v) for v in variables])
    return history


def keras_load_and_step(path, x, y):
    """Load the `.keras` file at `path` in Keras (compiled), and return its optimizer's variables
    as loaded and its weights after one `train_on_batch(x, y)`."""
    model = keras.saving.load_model(path)
    loaded = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    model.train_on_batch(x, y)
    return loaded, model.get_weights()


def keras_weight_paths(build) -> list[list[str]]:
    """`variable.path` of each trainable weight of each model `build(keras)` returns (a list),
    built after `clear_session()`, so auto names count from zero."""
    keras.backend.clear_session()
    return [[v.path for v in model.trainable_weights] for model in build(keras)]


def keras_regressor_saved(path, make_optimizer, x, y):
    """Fit Keras's Sequential 'regressor' (Dense(16, tanh, 'hidden'), Dense(1, 'output_dense'))
    with `make_optimizer(keras)` for 2 epochs of batches of 16 on (x, y), save it to `path`, and
    return its optimizer's variables and its weights after one more `train_on_batch` on the first
    16 samples."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((x.shape[1],)),
            keras.layers.Dense(16, activation="tanh", name="hidden"),
            keras.layers.Dense(1, name="output_dense"),
        ],
        name="regressor",
    )
    model.compile(optimizer=make_optimizer(keras), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    model.save(path)
    variables = [keras.ops.convert_to_numpy(v) for v in model.optimizer.variables]
    model.train_on_batch(x[:16], y[:16])
    return variables, model.get_weights()


def keras_run(program):
    """`program(keras)` after `clear_session()`: a program written once for both frameworks (the
    test runs `program(lamina)` beside it), returning what it returns."""
    keras.backend.clear_session()
    return program(keras)


def keras_custom_layer(body: type):
    """An instance of a Keras layer class whose methods come from `body` (a mixin written once
    for both frameworks, the Keras 3 way)."""
    return type(f"Keras{body.__name__}", (body, keras.layers.Layer), {})()


def keras_bounding_boxes(name: str, *args, **kwargs):
    """`keras.utils.bounding_boxes.<name>(*args, **kwargs)` with tensors (also in dicts) as NumPy.

    Arguments are passed as given (NumPy arrays, lists, numbers); those Keras needs as tensors
    (the affine angles, the deltas to decode) are named in `tensor_args`: keyword names, or
    positions of positional arguments (a dict's values are converted one by one).
    """
    tensor_args = kwargs.pop("tensor_args", ())

    def to_tensor(value):
        if isinstance(value, dict):
            return {key: keras.ops.convert_to_tensor(item) for key, item in value.items()}
        return keras.ops.convert_to_tensor(value)

    args = [to_tensor(value) if i in tensor_args else value for i, value in enumerate(args)]
    kwargs = {
        key: to_tensor(value) if key in tensor_args else value for key, value in kwargs.items()
    }
    result = getattr(keras.utils.bounding_boxes, name)(*args, **kwargs)

    def to_numpy(value):
        if isinstance(value, dict):
            return {key: to_numpy(item) for key, item in value.items()}
        return keras.ops.convert_to_numpy(value)

    return to_numpy(result)


def keras_draw_segmentation_masks(images, masks, **kwargs) -> np.ndarray:
    """`keras.visualization.draw_segmentation_masks` (it needs no OpenCV), as NumPy."""
    result = keras.visualization.draw_segmentation_masks(images, masks, **kwargs)
    return keras.ops.convert_to_numpy(result)


# --------------------------------------------------------------------------------------------------
# Keras 2's config format (keras.legacy.saving), for tests/saving/test_legacy_serialization.py.


def keras_legacy_serialized(build):
    """Keras's `keras.legacy.saving.serialize_keras_object(build(keras))`."""
    return keras.legacy.saving.serialize_keras_object(build(keras))


def keras_legacy_deserialized_config(entry: dict, namespace: str) -> dict:
    """`get_config()` of what Keras's legacy deserializer builds from `entry`, looking names up
    in `keras.<namespace>`."""
    module_objects = vars(getattr(keras, namespace))
    return keras.legacy.saving.deserialize_keras_object(entry, module_objects).get_config()


# --------------------------------------------------------------------------------------------------
# KerasFileEditor, for tests/saving/test_file_editor.py.


def keras_save_dense_model(path, weights) -> None:
    """Save to `path` (.keras or .weights.h5) Keras's Sequential Dense(3), Dense(1) on (None, 2)
    inputs holding `weights`."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    model.set_weights(weights)
    model.save_weights(path) if str(path).endswith(".weights.h5") else model.save(path)


def keras_file_editor_weights(path) -> dict:
    """Keras's `KerasFileEditor(path).weights_dict`."""
    return keras.saving.KerasFileEditor(str(path)).weights_dict


# --------------------------------------------------------------------------------------------------
# scikit-learn wrappers, for tests/wrappers/.


def keras_sklearn_run(kind: str, weights, loss: str, X, y, X_test, **fit_kwargs) -> dict:
    """Fit Keras's `SKLearn<kind>` around a one-Dense-layer model (softmax for a classifier)
    holding `weights`, trained with SGD(0.1) and `loss`; its outputs on `X_test`."""
    units = weights[0].shape[1]

    def build(X, y):
        activation = "softmax" if kind == "Classifier" else None
        model = keras.Sequential(
            [keras.Input((X.shape[1],)), keras.layers.Dense(units, activation=activation)]
        )
        model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        return model

    estimator = getattr(keras.wrappers, f"SKLearn{kind}")(build, fit_kwargs=fit_kwargs)
    estimator.fit(X, y)
    result = {"predict": estimator.predict(X_test)}
    if kind == "Classifier":
        result["decision_function"] = estimator.decision_function(X_test)
        result["classes_"] = estimator.classes_
    return result


# --------------------------------------------------------------------------------------------------
# Knowledge distillation, for tests/distillation/.


def keras_distill_run(teacher_weights, student_weights, x, y, epochs=2) -> dict:
    """Keras's Distiller over teacher Dense(8, "h"), Dense(3) and student Dense(8, "hs"),
    Dense(3) on (None, 4) inputs, with LogitsDistillation(3.0) and FeatureDistillation(h -> hs)
    weighted 1.0 and 0.5, student_loss_weight 0.3, SGD(0.1), full batches in order: its
    history, the student's final weights and its metrics' names."""

    def mlp(hidden_name, weights):
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(8, activation="tanh", name=hidden_name),
                keras.layers.Dense(3),
            ]
        )
        model.set_weights(weights)
        return model

    student = mlp("hs", student_weights)
    distiller = keras.distillation.Distiller(
        mlp("h", teacher_weights),
        student,
        [
            keras.distillation.LogitsDistillation(temperature=3.0),
            keras.distillation.FeatureDistillation(teacher_layer_name="h", student_layer_name="hs"),
        ],
        distillation_loss_weights=[1.0, 0.5],
        student_loss_weight=0.3,
    )
    distiller.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = distiller.fit(x, y, epochs=epochs, batch_size=len(x), shuffle=False, verbose=0)
    return {
        "history": history.history,
        "student_weights": student.get_weights(),
        "metric_names": [m.name for m in distiller.metrics],
    }


def keras_reuters_label_names() -> tuple:
    """Keras's Reuters topic names, by label id."""
    return tuple(keras.datasets.reuters.get_label_names())


def keras_quantizer_call(name: str, *args, **kwargs):
    """`keras.quantizers.<name>(*args, **kwargs)` with its tensors returned as NumPy arrays."""

    def to_numpy(value):
        if isinstance(value, (tuple, list)):
            return type(value)(to_numpy(v) for v in value)
        if isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        return value

    return to_numpy(getattr(keras.quantizers, name)(*args, **kwargs))


def keras_fake_quant_grads(x, min_vals, max_vals, cotangent, **kwargs):
    """Keras's fake-quant output and the gradients of `sum(output * cotangent)` by each input."""
    x, lo, hi = (_tensor(v, requires_grad=True) for v in (x, min_vals, max_vals))
    out = keras.quantizers.fake_quant_with_min_max_vars(x, lo, hi, **kwargs)
    (out * _tensor(cotangent)).sum().backward()
    return out.detach().numpy(), x.grad.numpy(), lo.grad.numpy(), hi.grad.numpy()


def keras_quantizer_object(identifier):
    """A Keras quantizer or quantization config as `(class name, get_config(), serialize())`."""
    obj = keras.quantizers.get(identifier)
    return type(obj).__name__, obj.get_config(), keras.quantizers.serialize(obj)


def keras_serialized_quantizer(build):
    """`keras.quantizers.serialize(build(keras.quantizers))`: the same recipe run on Keras."""
    return keras.quantizers.serialize(build(keras.quantizers))


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


def keras_sgd_fit_run(build, weights, x, y, *, loss, learning_rate, batch_size, epochs=1) -> dict:
    """Keras's `fit` (SGD, batches in order) of `build(keras.layers, keras)` holding `weights`:
    its history and its final weights. `build(layers, models)` also builds the lamina model."""
    model = build(keras.layers, keras)
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=loss)
    history = model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=0)
    return {"history": history.history, "weights": model.get_weights()}


def training_log_facts(framework, build, weights, x, y, sample_weight, **compile_kwargs) -> dict:
    """The keys and orders a user sees from `framework` (the `keras` or `lamina` module) training
    `build(framework.layers, framework)` holding `weights`: fit's last batch and epoch logs (with
    validation) and History's keys, `metrics_names` before and after fit, `evaluate`'s dict keys
    and its list (values), `train_on_batch`'s dict keys.
    """
    seen = {}

    class Record(framework.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen["batch"] = list(logs)

        def on_epoch_end(self, epoch, logs=None):
            seen["epoch"] = list(logs)

    model = build(framework.layers, framework)
    model.set_weights(weights)
    model.compile(optimizer=framework.optimizers.SGD(0.0), **compile_kwargs)
    seen["names_before_fit"] = model.metrics_names
    history = model.fit(
        x,
        y,
        sample_weight=sample_weight,
        validation_data=(x, y, sample_weight),
        batch_size=len(x),
        epochs=1,
        verbose=0,
        callbacks=[Record()],
    )
    seen["history"] = list(history.history)
    seen["names"] = model.metrics_names
    evaluated = model.evaluate(x, y, sample_weight=sample_weight, verbose=0, return_dict=True)
    seen["evaluate_dict"] = list(evaluated)
    seen["evaluate_list"] = model.evaluate(x, y, sample_weight=sample_weight, verbose=0)
    batch = model.train_on_batch(x, y, sample_weight=sample_weight, return_dict=True)
    seen["train_on_batch"] = list(batch)
    return seen


def keras_training_log_facts(build, weights, x, y, sample_weight, **compile_kwargs) -> dict:
    """`training_log_facts` of Keras."""
    return training_log_facts(keras, build, weights, x, y, sample_weight, **compile_kwargs)


def custom_step_evaluate(framework) -> tuple[dict, list]:
    """`evaluate` (dict, then list, then the batch logs' keys a callback saw) of a
    `framework.Model` subclass whose `test_step` updates two metrics of its own, `zeta` (the mean
    of x) then `alpha` (the mean of y), listed in that order by its `metrics` property."""

    class TwoMeans(framework.Model):
        def __init__(self):
            super().__init__()
            self.dense = framework.layers.Dense(1)
            self.zeta = framework.metrics.Mean(name="zeta")
            self.alpha = framework.metrics.Mean(name="alpha")

        def call(self, x):
            return self.dense(x)

        @property
        def metrics(self):
            return [self.zeta, self.alpha]

        def test_step(self, data):
            x, y = data
            self.zeta.update_state(framework.ops.mean(x))
            self.alpha.update_state(framework.ops.mean(y))
            return {m.name: m.result() for m in self.metrics}

    model = TwoMeans()
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.full((4, 2), 3.0, "float32"), np.full((4, 1), 5.0, "float32")
    model(x)
    batch_keys = []
    record = framework.callbacks.LambdaCallback(
        on_test_batch_end=lambda batch, logs: batch_keys.append(list(logs))
    )
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[record])
    return as_dict, model.evaluate(x, y, verbose=0), batch_keys


def keras_low_precision_dense_io(dtype: str, load_path=None, save_path=None, x=None) -> dict:
    """A Keras Sequential Input((4,)) -> Dense(3, dtype=`dtype`, name="dense"): loads the weights
    file `load_path` if given, saves its weights to `save_path` if given; returns its weights (as
    float32), its variables' dtypes and, given `x`, its prediction (float32)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, dtype=dtype, name="dense")], name="low"
    )
    if load_path is not None:
        model.load_weights(load_path)
    if save_path is not None:
        model.save_weights(save_path)
    facts = {
        "weights": [np.asarray(w, dtype="float32") for w in model.get_weights()],
        "dtypes": [str(v.dtype) for v in model.weights],
    }
    if x is not None:
        facts["prediction"] = np.asarray(model.predict(x, verbose=0), dtype="float32")
    return facts


def keras_dense_loss_and_grads(
    units, activation, weights, x, y, loss_class, loss_kwargs, sample_weight=None
):
    """Keras's (torch backend) loss of `Dense(units, activation)` holding `weights` on `(x, y)`,
    and its gradients with respect to the kernel and the bias, as NumPy arrays.

    Keras on torch computes cross-entropy from the probabilities (no saved logits), so on
    unsaturated data it is the reference the logits path must agree with.
    """
    layer = keras.layers.Dense(units, activation=activation)
    layer.build((None, x.shape[-1]))
    layer.set_weights(weights)
    loss_fn = getattr(keras.losses, loss_class)(**loss_kwargs)
    output = layer(torch.tensor(x))
    weight = None if sample_weight is None else torch.tensor(sample_weight)
    loss = loss_fn(torch.tensor(y), output, sample_weight=weight)
    loss.backward()
    grads = [v.value.grad.detach().cpu().numpy() for v in (layer.kernel, layer.bias)]
    return float(loss.detach()), grads


def weights_file_tree(path) -> dict[str, tuple]:
    """Every dataset of a `.weights.h5` file as `{path: shape}`, optimizer left out."""
    import h5py

    found = {}
    with h5py.File(path, "r") as file:
        file.visititems(
            lambda name, node: (
                found.__setitem__(name, node.shape)
                if isinstance(node, h5py.Dataset) and not name.startswith("optimizer")
                else None
            )
        )
    return found


def keras_weights_file_tree(build, path) -> dict[str, tuple]:
    """The dataset tree of the `.weights.h5` file Keras writes at `path` for `build(keras)`."""
    keras.backend.clear_session()
    build(keras).save_weights(str(path))
    return weights_file_tree(path)
