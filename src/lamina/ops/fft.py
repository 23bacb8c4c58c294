"""Fourier transforms and framing (Keras's `fft`, `rfft`, `stft`, ... in `ops`).

Keras passes complex numbers as `(real, imag)` pairs of real tensors; these ops take and return
such pairs and use `torch.fft` in between.
"""

from __future__ import annotations

import torch

from lamina.ops.core import floating, symbolic_op, tensor


def _complex(x):
    real, imag = x
    real = floating(tensor(real))
    return torch.complex(real, tensor(imag).to(real.dtype))


def _pair(z):
    return z.real.contiguous(), z.imag.contiguous()


@symbolic_op("fft")
def fft(x):
    """The FFT over the last axis of `(real, imag)`; returns `(real, imag)`."""
    return _pair(torch.fft.fft(_complex(x)))


@symbolic_op("fft2")
def fft2(x):
    """The 2-D FFT over the last two axes of `(real, imag)`."""
    return _pair(torch.fft.fft2(_complex(x)))


@symbolic_op("ifft2")
def ifft2(x):
    """The inverse 2-D FFT over the last two axes of `(real, imag)`."""
    return _pair(torch.fft.ifft2(_complex(x)))


@symbolic_op("rfft")
def rfft(x, fft_length=None):
    """The FFT of a real signal over its last axis: `fft_length // 2 + 1` bins as `(real, imag)`."""
    return _pair(torch.fft.rfft(floating(tensor(x)), n=fft_length))


@symbolic_op("irfft")
def irfft(x, fft_length=None):
    """The inverse of `rfft`: a real signal of `fft_length` samples from `(real, imag)` bins."""
    return torch.fft.irfft(_complex(x), n=fft_length)


def _window(window, length, dtype, device):
    if window is None:
        return None
    if isinstance(window, str):
        makers = {"hann": torch.hann_window, "hamming": torch.hamming_window}
        if window not in makers:
            raise ValueError(f"expected window in ['hann', 'hamming']; received {window!r}.")
        return makers[window](length, periodic=True, dtype=dtype, device=device)
    return tensor(window).to(dtype)


@symbolic_op("stft")
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform of real signals over their last axis.

    Args:
        x: `(..., samples)` real signals.
        sequence_length: the window length.
        sequence_stride: the hop between frames.
        fft_length: the FFT size (>= sequence_length; the window is centred in it).
        window: "hann", "hamming", a tensor of `sequence_length`, or None.
        center: pad the signal by `fft_length // 2` on both sides (reflection) first.

    Returns: `(real, imag)`, each `(..., frames, fft_length // 2 + 1)`.
    """
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
    """The inverse of `stft` (overlap-add, normalised by the summed squared window).

    Args:
        x: `(real, imag)`, each `(..., frames, fft_length // 2 + 1)`.
        sequence_length, sequence_stride, fft_length, window, center: as in `stft`.
        length: trim or pad the output to this many samples.
    """
    z = _complex(x)
    lead = z.shape[:-2]
    flat = z.reshape(-1, *z.shape[-2:]).transpose(-1, -2)
    win = _window(window, sequence_length, z.real.dtype, z.device)
    if win is None:
        win = torch.ones(sequence_length, dtype=z.real.dtype, device=z.device)
    out = torch.istft(
        flat,
        n_fft=fft_length,
        hop_length=sequence_stride,
        win_length=sequence_length,
        window=win,
        center=center,
        length=length,
    )
    return out.reshape(*lead, -1)


@symbolic_op("extract_sequences")
def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` samples every `sequence_stride` along the last axis.

    Returns: `(..., frames, sequence_length)`.
    """
    return tensor(x).unfold(-1, sequence_length, sequence_stride)
