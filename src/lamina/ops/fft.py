"""Fourier transforms and framing (Keras's `fft`, `rfft`, `stft`, ... in `ops`).

Keras passes complex numbers as `(real, imag)` pairs of real tensors; these ops take and return
such pairs and use `torch.fft` in between.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lamina.engine import errors
from lamina.ops.core import floating, symbolic_op, tensor


def _complex(x, who, rank=1):
    """The complex tensor of a `(real, imag)` pair, checked as Keras checks it."""
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise errors.value_error(
            f"{who}() argument `x`", "a pair (real, imag) of tensors", type(x).__name__
        )
    real, imag = floating(tensor(x[0])), tensor(x[1])
    if real.shape != imag.shape or real.dim() < rank:
        raise errors.value_error(
            f"{who}() argument `x`",
            f"real and imaginary parts of the same shape, of rank >= {rank}",
            f"shapes {tuple(real.shape)} and {tuple(imag.shape)}",
        )
    return torch.complex(real, imag.to(real.dtype))


def _pair(z):
    return z.real.contiguous(), z.imag.contiguous()


@symbolic_op("fft")
def fft(x):
    """The discrete Fourier transform over the last axis.

    Complex values travel as `(real, imag)` pairs of real tensors, as in Keras.

    Args:
        x: a pair `(real, imag)` of tensors of the same shape.

    Returns:
        A pair `(real, imag)` of tensors shaped like the inputs.

    Example:
        >>> real, imag = lamina.ops.fft((torch.tensor([1.0, 0.0, 0.0, 0.0]), np.zeros(4)))
        >>> real
        tensor([1., 1., 1., 1.])
    """
    return _pair(torch.fft.fft(_complex(x, "fft")))


@symbolic_op("fft2")
def fft2(x):
    """The 2-D discrete Fourier transform over the last two axes.

    Complex values travel as `(real, imag)` pairs of real tensors, as in Keras.

    Args:
        x: a pair `(real, imag)` of tensors of the same shape, with at least 2 axes.

    Returns:
        A pair `(real, imag)` of tensors shaped like the inputs.

    Example:
        >>> real, imag = lamina.ops.fft2((torch.ones(2, 2), torch.zeros(2, 2)))
        >>> real
        tensor([[4., 0.],
                [0., 0.]])
    """
    return _pair(torch.fft.fft2(_complex(x, "fft2", 2)))


@symbolic_op("ifft2")
def ifft2(x):
    """The inverse 2-D discrete Fourier transform over the last two axes.

    Complex values travel as `(real, imag)` pairs of real tensors, as in Keras.

    Args:
        x: a pair `(real, imag)` of tensors of the same shape, with at least 2 axes.

    Returns:
        A pair `(real, imag)` of tensors shaped like the inputs.

    Example:
        >>> spectrum = (torch.tensor([[4.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2))
        >>> real, imag = lamina.ops.ifft2(spectrum)
        >>> real
        tensor([[1., 1.],
                [1., 1.]])
    """
    return _pair(torch.fft.ifft2(_complex(x, "ifft2", 2)))


@symbolic_op("rfft")
def rfft(x, fft_length=None):
    """The discrete Fourier transform of a real signal over its last axis.

    Only the non-negative frequencies are returned: `fft_length // 2 + 1` bins. Integer inputs are
    computed in float32.

    Args:
        x: real tensor of signals along the last axis.
        fft_length: the transform size; the signal is cut or zero-padded to it (default None: the
            signal's length).

    Returns:
        A pair `(real, imag)` of tensors whose last axis has `fft_length // 2 + 1` bins.

    Example:
        >>> real, imag = lamina.ops.rfft(torch.tensor([1.0, 1.0, 1.0, 1.0]))
        >>> real, imag
        (tensor([4., 0., 0.]), tensor([0., 0., 0.]))
    """
    x = floating(tensor(x))
    if x.dim() < 1:
        raise errors.value_error("rfft() argument `x`", "a tensor of rank >= 1", "a scalar")
    return _pair(torch.fft.rfft(x, n=fft_length))


@symbolic_op("irfft")
def irfft(x, fft_length=None):
    """The inverse of `rfft`: a real signal from its non-negative frequency bins.

    Complex values travel as `(real, imag)` pairs of real tensors, as in Keras.

    Args:
        x: a pair `(real, imag)` of tensors of frequency bins along the last axis.
        fft_length: the number of output samples (default None: `2 * (bins - 1)`).

    Returns:
        A real tensor of `fft_length` samples along the last axis.

    Example:
        >>> lamina.ops.irfft((torch.tensor([4.0, 0.0, 0.0]), np.zeros(3)))
        tensor([1., 1., 1., 1.])
    """
    return torch.fft.irfft(_complex(x, "irfft"), n=fft_length)


def _window(window, length, dtype, device):
    if window is None:
        return None
    if isinstance(window, str):
        makers = {"hann": torch.hann_window, "hamming": torch.hamming_window}
        if window not in makers:
            raise ValueError(f"expected window in ['hann', 'hamming']; received {window!r}.")
        return makers[window](length, periodic=True, dtype=dtype, device=device)
    win = tensor(window).to(dtype)
    if tuple(win.shape) != (length,):
        raise errors.value_error(
            "window",
            f"a 1-D tensor of sequence_length={length} values",
            f"shape {tuple(win.shape)}",
        )
    return win


def _check_framing(who, sequence_length, sequence_stride, fft_length):
    """The framing arguments stft and istft share, checked as Keras checks them."""
    if isinstance(sequence_stride, bool) or not isinstance(sequence_stride, int):
        raise errors.value_error(
            f"{who}() argument `sequence_stride`", "a positive int", repr(sequence_stride)
        )
    if sequence_stride <= 0:
        raise errors.value_error(
            f"{who}() argument `sequence_stride`", "a positive int", str(sequence_stride)
        )
    if fft_length < sequence_length:
        raise errors.value_error(
            f"{who}() argument `fft_length`",
            f"a value >= sequence_length ({sequence_length})",
            str(fft_length),
        )


def _inverse_window(win, sequence_length, sequence_stride, fft_length):
    """The synthesis window of an inverse STFT (TensorFlow's `inverse_stft_window_fn`, which
    Keras follows): the window centred in `fft_length`, divided by the sum of its squares over
    the frames that overlap each sample's offset within a hop."""
    left = (fft_length - sequence_length) // 2
    win = F.pad(win, (left, fft_length - sequence_length - left))
    hops = -(-fft_length // sequence_stride)
    squares = F.pad(win.square(), (0, hops * sequence_stride - fft_length))
    denominator = squares.reshape(hops, sequence_stride).sum(0).repeat(hops)
    return win / denominator[:fft_length]


def _overlap_add(frames, sequence_stride):
    """Sum `(batch, frames, width)` frames placed every `sequence_stride` samples."""
    batch, count, width = frames.shape
    total = (count - 1) * sequence_stride + width
    out = F.fold(
        frames.transpose(1, 2), output_size=(1, total), kernel_size=(1, width),
        stride=(1, sequence_stride),
    )  # fmt: skip
    return out.reshape(batch, total)


@symbolic_op("stft")
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """The short-time Fourier transform of real signals over their last axis.

    The signal is cut into overlapping frames, each multiplied by `window` and transformed with
    `rfft`.

    Args:
        x: `(..., samples)` real signals (integers are computed in float32).
        sequence_length: the length of each frame (and of the window).
        sequence_stride: the step between the starts of consecutive frames.
        fft_length: the transform size, at least `sequence_length`; the window is centred in it.
        window: `"hann"` (default), `"hamming"`, a tensor of `sequence_length` values, or None (no
            window).
        center: whether to pad the signal by `fft_length // 2` on both sides (by reflection) first,
            so frames are centred on their times (default True).

    Returns:
        A pair `(real, imag)`, each `(..., frames, fft_length // 2 + 1)`.

    Example:
        >>> real, imag = lamina.ops.stft(torch.ones(16), 8, 4, 8)
        >>> lamina.ops.shape(real)
        (5, 5)
    """
    _check_framing("stft", sequence_length, sequence_stride, fft_length)
    x = floating(tensor(x))
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    win = _window(window, sequence_length, x.dtype, x.device)
    if win is None:
        win = torch.ones(sequence_length, dtype=x.dtype, device=x.device)
    z = torch.stft(
        flat,
        n_fft=fft_length,
        hop_length=sequence_stride,
        win_length=sequence_length,
        window=win,
        center=center,
        pad_mode="reflect",
        return_complex=True,
    )
    z = z.transpose(-1, -2).reshape(*lead, -1, fft_length // 2 + 1)
    return _pair(z)


@symbolic_op("istft")
def istft(
    x,
    sequence_length,
    sequence_stride,
    fft_length,
    length=None,
    window="hann",
    center=True,
):
    """The inverse of `stft`: signals rebuilt from their short-time spectra by overlap-add.

    With `sequence_length == fft_length`, `center=True` and a window, this is torch's inverse
    (the overlap-add normalized by the summed squared window); otherwise the frames are added
    under TensorFlow's synthesis window, as in Keras. `length` cuts the output (it does not pad).

    Args:
        x: a pair `(real, imag)`, each `(..., frames, fft_length // 2 + 1)`.
        sequence_length: the frame length used by `stft`.
        sequence_stride: the frame step used by `stft`.
        fft_length: the transform size used by `stft`.
        length: cut or pad the output to this many samples (default None: as many as the frames
            cover).
        window: the window used by `stft`: `"hann"` (default), `"hamming"`, a tensor, or None.
        center: whether `stft` padded the signal (default True); the padding is then removed.

    Returns:
        A real tensor `(..., samples)`.

    Example:
        >>> signal = torch.arange(16.0)
        >>> spectra = lamina.ops.stft(signal, 8, 4, 8)
        >>> torch.allclose(lamina.ops.istft(spectra, 8, 4, 8, length=16), signal, atol=1e-4)
        True
    """
    _check_framing("istft", sequence_length, sequence_stride, fft_length)
    z = _complex(x, "istft", 2)
    lead = z.shape[:-2]
    flat = z.reshape(-1, *z.shape[-2:])
    win = _window(window, sequence_length, z.real.dtype, z.device)
    if sequence_length == fft_length and center and win is not None:
        # torch's own inverse, normalized by the summed squared window sample by sample.
        out = torch.istft(
            flat.transpose(-1, -2),
            n_fft=fft_length,
            hop_length=sequence_stride,
            win_length=sequence_length,
            window=win,
            center=center,
            length=length,
        )
        return out.reshape(*lead, -1)
    # Otherwise overlap-add the frames under TensorFlow's synthesis window, as Keras does: it
    # needs no window overlap condition that torch.istft checks.
    frames = torch.fft.irfft(flat, n=fft_length)
    if win is not None:
        frames = frames * _inverse_window(win, sequence_length, sequence_stride, fft_length)
    out = _overlap_add(frames, sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        out = out[:, start : start + length]
    elif center:
        out = out[:, start : out.shape[-1] - fft_length // 2]
    return out.reshape(*lead, -1)


@symbolic_op("extract_sequences")
def extract_sequences(x, sequence_length, sequence_stride):
    """Cut the last axis into frames of `sequence_length` samples, one every `sequence_stride`.

    Only whole frames are kept; leftover samples at the end are dropped.

    Args:
        x: `(..., samples)` tensor.
        sequence_length: the length of each frame.
        sequence_stride: the step between the starts of consecutive frames.

    Returns:
        A `(..., frames, sequence_length)` tensor.

    Example:
        >>> lamina.ops.extract_sequences(np.arange(7), 3, 2)
        tensor([[0, 1, 2],
                [2, 3, 4],
                [4, 5, 6]])
    """
    return tensor(x).unfold(-1, sequence_length, sequence_stride)
