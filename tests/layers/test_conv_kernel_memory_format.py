"""Kernels in the memory format torch's convolution wants: Keras-shaped weights whose torch view
(`backend.conv_kernel_from_keras`, the view the layer's call takes) has channels_last strides for
channels-last layers (contiguous for channels-first ones), kept through training, loading, saving
and casts, so a training step makes no copy of a kernel (see `spatial.kernel_weight`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.profiler import profile

import lamina
from lamina import backend, layers, optimizers
from lamina.layers import spatial

# (layer of a data format, channels-last input shape); `_input_shape` gives the channels-first one.
KERNEL_CASES = {
    "Conv1D": (lambda fmt: layers.Conv1D(6, 3, data_format=fmt), (2, 9, 4)),
    "Conv2D": (lambda fmt: layers.Conv2D(6, 3, data_format=fmt), (2, 7, 7, 4)),
    "Conv3D": (lambda fmt: layers.Conv3D(6, 3, data_format=fmt), (2, 5, 5, 5, 4)),
    "Conv2D-groups": (lambda fmt: layers.Conv2D(6, 3, groups=2, data_format=fmt), (2, 7, 7, 4)),
    "Conv1DTranspose": (lambda fmt: layers.Conv1DTranspose(6, 3, data_format=fmt), (2, 5, 4)),
    "Conv2DTranspose": (lambda fmt: layers.Conv2DTranspose(6, 3, data_format=fmt), (2, 5, 5, 4)),
    "Conv3DTranspose": (
        lambda fmt: layers.Conv3DTranspose(6, 3, data_format=fmt),
        (2, 3, 3, 3, 4),
    ),
    "DepthwiseConv2D": (
        lambda fmt: layers.DepthwiseConv2D(3, depth_multiplier=2, data_format=fmt),
        (2, 7, 7, 4),
    ),
    "SeparableConv1D": (lambda fmt: layers.SeparableConv1D(6, 3, data_format=fmt), (2, 9, 4)),
    "SeparableConv2D": (lambda fmt: layers.SeparableConv2D(6, 3, data_format=fmt), (2, 7, 7, 4)),
    "ConvLSTM2D": (lambda fmt: layers.ConvLSTM2D(3, 3, data_format=fmt), (2, 2, 6, 6, 4)),
}


def _input_shape(case, data_format):
    shape = KERNEL_CASES[case][1]
    if data_format == "channels_last":
        return shape
    if case == "ConvLSTM2D":  # (batch, time, channels, h, w): time stays second
        return (*shape[:2], shape[-1], *shape[2:-1])
    return (shape[0], shape[-1], *shape[1:-1])


def _layout(tensor):
    """The strides of the axes longer than one: what AccumulateGrad compares (a unit axis's
    stride places no element, and torch's CPU kernels differ there by path and thread count)."""
    return [s for s, n in zip(tensor.stride(), tensor.shape, strict=True) if n != 1]


def _built(case, data_format):
    layer = KERNEL_CASES[case][0](data_format)
    layer(torch.randn(_input_shape(case, data_format)))
    return layer


def _kernels(layer):
    """The kernel weights, in Keras's shapes."""
    return [w for w in layer.trainable_weights if w.dim() >= 3]


def _torch_view(kernel):
    """The (out, in/groups, *k) view of a Keras-shaped kernel that the layer's call convolves
    with (a depthwise kernel is `kernel` in DepthwiseConv, `depthwise_kernel` in SeparableConv)."""
    if kernel.path.endswith("depthwise_kernel") or "depthwise_conv" in kernel.path:
        return backend.depthwise_kernel_from_keras(kernel)
    return backend.conv_kernel_from_keras(kernel)


def _in_channels_innermost(kernel):
    """Axis 1 (in channels) of the torch view innermost: torch.channels_last for 4-D kernels,
    channels_last_3d for 5-D, and for 3-D kernels the strides whose unsqueeze(-1) is
    channels_last."""
    return _torch_view(kernel).movedim(1, -1).is_contiguous()


@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_channels_last_layers_store_channels_last_kernels(case):
    kernels = _kernels(_built(case, "channels_last"))
    assert kernels
    for kernel in kernels:
        assert _in_channels_innermost(kernel), f"{tuple(kernel.shape)}: {kernel.stride()}"
        view = _torch_view(kernel)
        if view.dim() == 4:
            assert view.is_contiguous(memory_format=torch.channels_last)
        if view.dim() == 5:
            assert view.is_contiguous(memory_format=torch.channels_last_3d)


@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_channels_first_layers_store_contiguous_kernels(case):
    for kernel in _kernels(_built(case, "channels_first")):
        assert _torch_view(kernel).is_contiguous(), f"{tuple(kernel.shape)}: {kernel.stride()}"


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("case", sorted(KERNEL_CASES))
def test_gradients_come_back_with_the_kernels_strides(case, data_format):
    """AccumulateGrad copies a gradient laid out otherwise than its kernel."""
    layer = _built(case, data_format)
    layer(torch.randn(_input_shape(case, data_format))).sum().backward()
    for kernel in _kernels(layer):
        assert _layout(kernel.grad) == _layout(kernel), (kernel.shape, kernel.grad.stride())


def test_a_wide_kernel_is_not_both_layouts():
    """The two checks above can fail: a 3x3 kernel with 4 input channels is one or the other."""
    channels_last = _torch_view(_kernels(_built("Conv2D", "channels_last"))[0])
    channels_first = _torch_view(_kernels(_built("Conv2D", "channels_first"))[0])
    assert channels_last.stride() == (36, 1, 12, 4) and not channels_last.is_contiguous()
    assert channels_first.stride() == (36, 9, 3, 1)
    assert not channels_first.is_contiguous(memory_format=torch.channels_last)


def test_kernel_layout_keeps_the_values():
    kernel = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    for data_format in ("channels_last", "channels_first"):
        torch.testing.assert_close(spatial.kernel_layout(kernel, data_format), kernel)
    lifted = spatial.kernel_layout(kernel[..., 0], "channels_last").unsqueeze(-1)
    assert lifted.is_contiguous(memory_format=torch.channels_last)


def _mixed_model():
    """Every conv family in one channels-last Sequential (Reshape between ranks)."""
    return lamina.Sequential(
        [
            layers.Input((4, 6, 6, 2)),
            layers.Conv3D(3, 3, padding="same"),
            layers.Reshape((24, 6, 3)),
            layers.Conv2D(4, 3, padding="same"),
            layers.DepthwiseConv2D(3, padding="same"),
            layers.SeparableConv2D(4, 3, padding="same"),
            layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
            layers.Reshape((48 * 12, 4)),
            layers.Conv1D(2, 3),
            layers.GlobalAveragePooling1D(),
            layers.Dense(1),
        ]
    )


def _fitted(model, steps=1, jit_compile=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4 * steps, 4, 6, 6, 2)).astype("float32")
    y = rng.standard_normal((4 * steps, 1)).astype("float32")
    model.compile(optimizer=optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
    return x


def test_training_keeps_kernels_and_gradients_channels_last():
    """The gradient comes back in the kernel's layout (no AccumulateGrad copy), the update keeps
    the kernel (same Parameter, same strides) and Adam's slots are laid out as the kernel."""
    model = _mixed_model()
    kernels = {id(k): (k, k.stride()) for layer in model.layers for k in _kernels(layer)}
    assert len(kernels) == 7  # Conv3D, Conv2D, depthwise, separable (2), transpose, Conv1D
    _fitted(model)
    after = {id(k): k for layer in model.layers for k in _kernels(layer)}
    assert after.keys() == kernels.keys()
    for kernel, strides in kernels.values():
        shape = tuple(kernel.shape)
        assert kernel.stride() == strides, shape
        assert _in_channels_innermost(kernel), shape
        assert kernel.grad is not None and _layout(kernel.grad) == _layout(kernel), shape
        slots = model.optimizer.torch_optimizer.state[kernel]
        for name, slot in slots.items():
            if isinstance(slot, torch.Tensor) and slot.shape == kernel.shape:
                assert slot.stride() == strides, (shape, name)


def _kernel_copies(module, x, kernel, torch_shape):
    """aten::copy_ calls on a kernel-shaped tensor in one forward and backward (the profiler
    sees the copies inside torch's convolution, of `torch_shape`, and AccumulateGrad's, of the
    kernel's shape, which dispatch modes don't)."""
    module(x)
    kernel.grad = None
    with profile(record_shapes=True) as recorded:
        module(x).sum().backward()
    shapes = (list(kernel.shape), list(torch_shape))
    return [
        event
        for event in recorded.events()
        if event.name == "aten::copy_" and event.input_shapes and event.input_shapes[0] in shapes
    ]


def test_conv2d_step_copies_no_kernel():
    """The profile the change was measured on: Conv2D(64, 3) on (1, 8, 8, 64) made three kernel
    copies per forward and backward (two conversions, one AccumulateGrad copy)."""
    conv = layers.Conv2D(64, 3, padding="same", use_bias=False)
    x = torch.randn(1, 8, 8, 64)
    conv(x)
    torch_shape = (64, 64, 3, 3)
    assert tuple(conv.kernel.shape) == (3, 3, 64, 64)  # Keras's, over torch's memory
    assert _kernel_copies(conv, x, conv.kernel, torch_shape) == []
    with torch.no_grad():  # the counter sees them: the old contiguous torch kernel
        contiguous = backend.conv_kernel_from_keras(conv.kernel.data).contiguous()
        conv.kernel.data = backend.conv_kernel_to_keras(contiguous)
    assert len(_kernel_copies(conv, x, conv.kernel, torch_shape)) == 3


@pytest.mark.parametrize("shape", [(1, 8, 8, 64), (4, 8, 8, 16)], ids=["slow-path", "onednn"])
def test_conv2d_copies_no_more_than_torchs_channels_last_module(shape):
    """Against a torch Conv2d moved to channels_last, on both of torch's CPU kernels (its oneDNN
    backward converts the weight gradient once, in torch and in lamina alike)."""
    channels = shape[-1]
    conv = layers.Conv2D(channels, 3, padding="same", use_bias=False)
    x = torch.randn(shape)
    conv(x)
    reference = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False)
    reference = reference.to(memory_format=torch.channels_last)
    x_reference = x.movedim(-1, 1)  # the same channels_last NCHW view lamina's layer takes
    ours = len(_kernel_copies(conv, x, conv.kernel, reference.weight.shape))
    theirs = len(_kernel_copies(reference, x_reference, reference.weight, reference.weight.shape))
    assert ours <= theirs <= 1


@pytest.mark.parametrize("fmt", ["keras", "h5", "weights.h5", "state_dict"])
def test_save_and_load_keep_values_and_layout(tmp_path, fmt):
    model = _mixed_model()
    x = _fitted(model)
    expected = model.predict(x, verbose=0)
    path = tmp_path / f"model.{fmt}"
    if fmt in ("keras", "h5"):
        model.save(path)
        restored = lamina.models.load_model(path)
    else:
        restored = _mixed_model()
        if fmt == "weights.h5":
            model.save_weights(path)
            restored.load_weights(path)
        else:
            # Plain contiguous tensors (the names differ by the auto-name suffix only).
            values = [value.contiguous() for value in model.state_dict().values()]
            restored.load_state_dict(dict(zip(restored.state_dict(), values, strict=True)))
    np.testing.assert_allclose(restored.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    for layer in restored.layers:
        for kernel in _kernels(layer):
            assert _in_channels_innermost(kernel), (layer.name, kernel.stride())


def test_set_weights_and_dtype_cast_keep_layout():
    model = _mixed_model()
    model.set_weights(model.get_weights())  # Keras layouts in, copied into the kernels
    model.to(torch.float64)
    for layer in model.layers:
        for kernel in _kernels(layer):
            assert kernel.dtype == torch.float64
            assert _in_channels_innermost(kernel), (layer.name, kernel.stride())


def _image_model():
    """The 2-D conv families without Reshape, whose shape check dynamo cannot trace yet."""
    return lamina.Sequential(
        [
            layers.Input((6, 6, 2)),
            layers.Conv2D(4, 3, padding="same"),
            layers.DepthwiseConv2D(3, padding="same"),
            layers.SeparableConv2D(4, 3, padding="same"),
            layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(1),
        ]
    )


@pytest.mark.slow
def test_the_captured_step_updates_the_channels_last_kernels_in_place():
    """jit_compile=True: the compiled step updates the same kernels, strides kept, and lands on
    the eager step's weights."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 6, 6, 2)).astype("float32")
    y = rng.standard_normal((12, 1)).astype("float32")
    models = {}
    for jit_compile in (False, True):
        lamina.utils.set_random_seed(0)
        models[jit_compile] = model = _image_model()
        kernels = {id(k): (k, k.stride()) for layer in model.layers for k in _kernels(layer)}
        model.compile(optimizer=optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
        assert {id(k) for layer in model.layers for k in _kernels(layer)} == kernels.keys()
        for kernel, strides in kernels.values():
            assert kernel.stride() == strides, tuple(kernel.shape)
            assert _in_channels_innermost(kernel), tuple(kernel.shape)
    state = models[True]._compile_state.captured
    assert not state.disabled and state._compiled is not None
    for got, expected in zip(models[True].get_weights(), models[False].get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
