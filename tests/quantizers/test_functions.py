"""`lamina.quantizers`' functions against Keras's: same arrays in, same values and dtypes out."""

import numpy as np
import pytest
import torch

import lamina
from lamina import quantizers
from tests.parity import reference

RNG = np.random.default_rng(0)
KERNEL = RNG.standard_normal((5, 3)).astype("float32")


def _close(ours, theirs, atol=1e-6):
    ours = ours.detach().cpu().numpy() if isinstance(ours, torch.Tensor) else np.asarray(ours)
    assert ours.dtype == np.asarray(theirs).dtype
    np.testing.assert_allclose(ours.astype("float64"), np.asarray(theirs, "float64"), atol=atol)


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
@pytest.mark.parametrize("to_numpy", [False, True])
def test_abs_max_quantize_matches_keras(axis, to_numpy):
    ours = quantizers.abs_max_quantize(torch.tensor(KERNEL), axis, to_numpy=to_numpy)
    theirs = reference.keras_quantizer_call(
        "abs_max_quantize", torch.tensor(KERNEL), axis, to_numpy=to_numpy
    )
    _close(ours[0], theirs[0], atol=0)
    _close(ours[1], theirs[1], atol=0)  # a true division, as Keras's: bit for bit


def test_abs_max_quantize_custom_range_and_dtype():
    ours = quantizers.abs_max_quantize(KERNEL, -1, value_range=(-7, 7), dtype="int16")
    theirs = reference.keras_quantizer_call(
        "abs_max_quantize", torch.tensor(KERNEL), -1, value_range=(-7, 7), dtype="int16"
    )
    _close(ours[0], theirs[0], atol=0)
    assert ours[0].abs().max().item() == 7


@pytest.mark.parametrize("block_size", [2, 5, 8])
def test_grouped_zero_point_matches_keras(block_size):
    kernel = KERNEL.copy()
    kernel[:, 2] = 0.5  # a flat column: Keras widens its range by one each side
    ours = quantizers.abs_max_quantize_grouped_with_zero_point(torch.tensor(kernel), block_size)
    theirs = reference.keras_quantizer_call(
        "abs_max_quantize_grouped_with_zero_point", torch.tensor(kernel), block_size
    )
    for mine, keras_one in zip(ours, theirs, strict=True):
        _close(mine, keras_one)


@pytest.mark.parametrize("block_size", [4, 128])
def test_grouped_zero_point_host_path_matches_keras(block_size):
    # Keras's layers take the host path (to_numpy=True): the zero padding counts in the last
    # group's range, so an all-positive column quantizes otherwise than on the device path.
    kernel = np.abs(KERNEL) + 0.1
    kernel[:, 2] = 0.5
    ours = quantizers.abs_max_quantize_grouped_with_zero_point(
        torch.tensor(kernel), block_size, to_numpy=True
    )
    theirs = reference.keras_quantizer_call(
        "abs_max_quantize_grouped_with_zero_point", torch.tensor(kernel), block_size, to_numpy=True
    )
    for mine, keras_one in zip(ours, theirs, strict=True):
        _close(mine, keras_one, atol=0)


def test_grouped_zero_point_rejects_non_2d():
    with pytest.raises(ValueError, match="expects a 2-D"):
        quantizers.abs_max_quantize_grouped_with_zero_point(torch.zeros(2, 2, 2), 2)


@pytest.mark.parametrize("low_precision", ["float8_e4m3fn", "float8_e5m2"])
def test_quantize_and_dequantize_matches_keras(low_precision):
    x = torch.tensor(RNG.standard_normal(20).astype("float32") * 300)
    scale = torch.tensor(0.7)
    ours = quantizers.quantize_and_dequantize(x, scale, low_precision, "float32")
    theirs = reference.keras_quantizer_call(
        "quantize_and_dequantize", x, scale, low_precision, "float32"
    )
    _close(ours, theirs)


@pytest.mark.parametrize("amax", [3.5, 0.0, float("inf"), float("nan")])
@pytest.mark.parametrize("margin", [0, 2])
def test_compute_float8_scale_matches_keras(amax, margin):
    args = (torch.tensor(amax), torch.tensor(0.25), 448.0, margin)
    ours = quantizers.compute_float8_scale(*args)
    theirs = reference.keras_quantizer_call("compute_float8_scale", *args)
    _close(ours, theirs)


def test_compute_float8_amax_history_matches_keras():
    history = torch.tensor([1.0, 2.0, 3.0, 4.0])
    x = torch.tensor(KERNEL)
    ours = quantizers.compute_float8_amax_history(x, history)
    theirs = reference.keras_quantizer_call("compute_float8_amax_history", x, history)
    _close(ours, theirs)
    assert history.tolist() == [1.0, 2.0, 3.0, 4.0]  # the input history is not changed


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_pack_and_unpack_int4_match_keras(dtype, axis):
    low, high = (-8, 8) if dtype == "int8" else (0, 16)
    arr = torch.tensor(RNG.integers(low, high, size=(3, 5, 2)).astype(dtype))
    packed, shape, length = quantizers.pack_int4(arr, axis=axis, dtype=dtype)
    k_packed, k_shape, k_length = reference.keras_quantizer_call(
        "pack_int4", arr, axis=axis, dtype=dtype
    )
    _close(packed, k_packed, atol=0)
    assert (shape, length) == (tuple(k_shape), k_length)
    unpacked = quantizers.unpack_int4(packed, length, axis=axis, dtype=dtype)
    _close(unpacked, reference.keras_quantizer_call("unpack_int4", packed, length, axis, dtype))
    assert torch.equal(unpacked, arr)


def test_pack_int4_errors():
    with pytest.raises(ValueError, match="expects 'int8' or 'uint8'; received 'int4'"):
        quantizers.pack_int4(torch.zeros(2, dtype=torch.int8), dtype="int4")
    with pytest.raises(TypeError, match="pack_int4 expects a int8 tensor; received int32"):
        quantizers.pack_int4(torch.zeros(2, dtype=torch.int32))
    with pytest.raises(TypeError, match="unpack_int4 expects an int8 or uint8 tensor"):
        quantizers.unpack_int4(torch.zeros(2), 2)


def _fake_quant_case(shape, lo, hi, seed, **kwargs):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2).astype("float32")
    cotangent = rng.standard_normal(shape).astype("float32")
    tensors = [torch.tensor(v, requires_grad=True) for v in (x, lo, hi)]
    out = quantizers.fake_quant_with_min_max_vars(*tensors, **kwargs)
    (out * torch.tensor(cotangent)).sum().backward()
    ours = [out.detach().numpy()] + [t.grad.numpy() for t in tensors]
    theirs = reference.keras_fake_quant_grads(x, lo, hi, cotangent, **kwargs)
    for mine, keras_one in zip(ours, theirs, strict=True):
        assert mine.shape == keras_one.shape
        np.testing.assert_allclose(mine, keras_one, atol=1e-6)
    return ours


@pytest.mark.parametrize("num_bits", [2, 4, 8])
@pytest.mark.parametrize("narrow_range", [False, True])
def test_fake_quant_per_tensor_matches_keras(num_bits, narrow_range):
    lo, hi = np.float32(-1.3), np.float32(2.1)
    ours = _fake_quant_case((4, 6), lo, hi, 1, num_bits=num_bits, narrow_range=narrow_range)
    assert ours[2] != 0 and ours[3] != 0  # values beyond both ends pass gradient to the range


@pytest.mark.parametrize("narrow_range", [False, True])
def test_fake_quant_per_channel_matches_keras(narrow_range):
    lo = np.array([-1.0, -0.5, -2.0], "float32")
    hi = np.array([1.0, 2.5, 0.3], "float32")
    _fake_quant_case((5, 3), lo, hi, 2, num_bits=8, narrow_range=narrow_range, axis=-1)


@pytest.mark.parametrize("axis", [None, -1])
def test_fake_quant_on_an_input_records_a_node_as_keras(axis):
    inputs = lamina.Input((3, 4))
    out = quantizers.fake_quant_with_min_max_vars(inputs, -3.0, 3.0, axis=axis)
    theirs = reference.keras.quantizers.fake_quant_with_min_max_vars(
        reference.keras.Input((3, 4)), -3.0, 3.0, axis=axis
    )
    assert (out.shape, out.dtype) == (theirs.shape, theirs.dtype)
    x = torch.tensor(RNG.standard_normal((2, 3, 4)).astype("float32") * 3)
    want = quantizers.fake_quant_with_min_max_vars(x, -3.0, 3.0, axis=axis)
    torch.testing.assert_close(lamina.Model(inputs, out)(x), want)


def test_fake_quant_hand_computed():
    # num_bits=2 on [-1, 2]: scale 1, levels -1, 0, 1, 2; round-half-up snaps 0.5 to 1.
    x = torch.tensor([-1.5, 0.4, 0.5, 3.0])
    out = quantizers.fake_quant_with_min_max_vars(x, -1.0, 2.0, num_bits=2)
    assert out.tolist() == [-1.0, 0.0, 1.0, 2.0]
    assert out.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.float16, torch.float64])
def test_half_and_double_inputs_match_keras(dtype):
    x = torch.tensor(KERNEL).to(dtype)
    q, scale = quantizers.abs_max_quantize(x, -1)
    k_q, k_scale = reference.keras_quantizer_call("abs_max_quantize", x, -1)
    _close(q, k_q, atol=0)
    _close(scale, k_scale, atol=0)
    grouped = quantizers.abs_max_quantize_grouped_with_zero_point(x, 2)
    k_grouped = reference.keras_quantizer_call("abs_max_quantize_grouped_with_zero_point", x, 2)
    for mine, keras_one in zip(grouped, k_grouped, strict=True):
        _close(mine, keras_one, atol=0)
    fake = quantizers.fake_quant_with_min_max_vars(x, -1.0, 1.0)
    _close(fake, reference.keras_quantizer_call("fake_quant_with_min_max_vars", x, -1.0, 1.0))
