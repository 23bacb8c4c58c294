"""The one module that imports Keras: the reference lamina's numbers are checked against.

`assert_layer_matches_keras` builds the same layer in Keras (torch backend) and in lamina, copies
Keras's random weights into lamina through `set_weights(get_weights())` (the layout bridge under
test), and compares outputs, input gradients (against a random cotangent, never `.sum()`, whose
gradient through a normalised output is zero on both sides) and weight gradients.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402


def _tensor(x, requires_grad=False):
    return torch.tensor(np.asarray(x), requires_grad=requires_grad)


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
    call(ours, [_tensor(x) for x in inputs])  # builds ours
    ours.set_weights(reference.get_weights())

    x_ours = [_tensor(x, requires_grad=check_input_grad) for x in inputs]
    y_ours = call(ours, x_ours)

    refs, outs = _flatten(y_ref), _flatten(y_ours)
    assert len(refs) == len(outs), f"{len(outs)} outputs, Keras has {len(refs)}"
    for ref, out in zip(refs, outs):
        assert tuple(out.shape) == tuple(ref.shape), (
            f"shape {tuple(out.shape)} != Keras {tuple(ref.shape)}"
        )
        torch.testing.assert_close(out.detach().float(), ref.detach().float(), atol=atol, rtol=rtol)

    float_outputs = [o for o in outs if o.is_floating_point() and o.requires_grad]
    if not float_outputs:
        return ours, reference
    cotangents = [torch.tensor(rng.standard_normal(tuple(o.shape)).astype("float32")) for o in outs]
    pairs = [
        (o, r, c)
        for o, r, c in zip(outs, refs, cotangents)
        if o.is_floating_point() and o.requires_grad
    ]
    ours_weights = [w for w in ours.trainable_weights]
    ref_weights = [w.value for w in reference.trainable_weights]

    if check_input_grad:
        grads_ours = torch.autograd.grad(
            [p[0] for p in pairs],
            x_ours,
            [p[2] for p in pairs],
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
            torch.testing.assert_close(g_ours, g_ref, atol=atol * 10, rtol=rtol * 10)

    if check_weight_grads and ours_weights:
        grads_ours = torch.autograd.grad(
            [p[0] for p in pairs], ours_weights, [p[2] for p in pairs], allow_unused=True
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
            torch.testing.assert_close(to_keras(g_ours), g_ref, atol=atol * 10, rtol=rtol * 10)
    return ours, reference


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
