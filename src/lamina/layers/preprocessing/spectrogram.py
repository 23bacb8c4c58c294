"""Audio front ends: STFTSpectrogram (a short-time Fourier transform as a convolution with DFT
kernels, which are weights as in Keras) and MelSpectrogram (torch's STFT, a mel filter bank,
decibels)."""

from __future__ import annotations

import math
import warnings

import torch
import torch.nn.functional as F

from lamina import backend
from lamina.engine import errors, hyperparameters
from lamina.engine.layer import Layer
from lamina.initializers import window_values
from lamina.layers import padding_rules
from lamina.layers.preprocessing.ops_backend import DataLayer

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def _hz_to_mel(hz):
    return _MEL_HIGH_Q * torch.log(1.0 + hz / _MEL_BREAK_HZ)


def mel_weight_matrix(num_mel_bins, num_spectrogram_bins, sampling_rate, low_hz, high_hz):
    """(num_spectrogram_bins, num_mel_bins) triangular filters on the HTK mel scale; the DC bin
    gets no weight (TensorFlow's `linear_to_mel_weight_matrix`)."""
    bins_hz = torch.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins)[1:]
    bins_mel = _hz_to_mel(bins_hz).unsqueeze(1)
    edges = torch.linspace(
        float(_hz_to_mel(torch.tensor(float(low_hz)))),
        float(_hz_to_mel(torch.tensor(float(high_hz)))),
        num_mel_bins + 2,
    )
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = torch.clamp(torch.minimum(rising, falling), min=0.0)
    return F.pad(weights, (0, 0, 1, 0))


class MelSpectrogram(DataLayer, Layer):
    """Audio `(batch, samples)` -> mel spectrogram `(batch, num_mel_bins, frames)`.

    Args:
        fft_length: FFT size (frequency bins: fft_length // 2 + 1).
        sequence_stride: hop between frames, in samples.
        sequence_length: window length (default fft_length).
        window: "hann" (default), "hamming" or None.
        sampling_rate: of the audio, in Hz.
        num_mel_bins: mel bands.
        min_freq, max_freq: band edges in Hz (max_freq default sampling_rate / 2).
        power_to_db: convert to decibels, floored at `top_db` below the batch's maximum.
        top_db, mag_exp (2: power), min_power, ref_power: the dB conversion's constants.

    Input shape: `(batch, samples)` or `(samples,)`. Output shape:
    `(batch, num_mel_bins, 1 + samples // sequence_stride)` (frames centred, reflect padding).

    Example:
        >>> layer = MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=32)
        >>> tuple(layer(torch.zeros(2, 1024)).shape)
        (2, 32, 9)
    """

    def __init__(
        self,
        fft_length=2048,
        sequence_stride=512,
        sequence_length=None,
        window="hann",
        sampling_rate=16000,
        num_mel_bins=128,
        min_freq=20.0,
        max_freq=None,
        power_to_db=True,
        top_db=80.0,
        mag_exp=2.0,
        min_power=1e-10,
        ref_power=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        hyperparameters.count(fft_length, "fft_length", errors.describe(self), 1)
        hyperparameters.number(
            sampling_rate, "sampling_rate", errors.describe(self), 0, open_low=True
        )
        self.fft_length = int(fft_length)
        self.sequence_stride = int(sequence_stride)
        self.sequence_length = int(sequence_length or fft_length)
        if self.sequence_length > self.fft_length:  # torch's stft would fail at the first call
            raise errors.value_error(
                self,
                "`fft_length` greater than or equal to `sequence_length`",
                f"fft_length={self.fft_length}, sequence_length={self.sequence_length}",
                "raise fft_length (a power of 2 at least the window) or shorten sequence_length.",
            )
        if window not in ("hann", "hamming", None):
            raise errors.value_error(self, "window 'hann', 'hamming' or None", f"{window!r}")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = int(num_mel_bins)
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = bool(power_to_db)
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        self._build_at_init(MelSpectrogram)

    def linear_to_mel_weight_matrix(
        self,
        num_mel_bins=20,
        num_spectrogram_bins=129,
        sampling_rate=8000,
        lower_edge_hertz=125.0,
        upper_edge_hertz=3800.0,
        dtype="float32",
    ) -> torch.Tensor:
        """The `(num_spectrogram_bins, num_mel_bins)` matrix that maps a linear spectrogram's
        bins (0 to sampling_rate / 2) to mel bands between the two edges: triangles peaking at
        1 on the HTK mel scale, none for the DC bin (Keras's method, with its defaults; `call`
        uses the layer's own settings)."""
        matrix = mel_weight_matrix(
            num_mel_bins, num_spectrogram_bins, sampling_rate, lower_edge_hertz, upper_edge_hertz
        )
        return matrix.to(backend.default_device(), backend.to_torch_dtype(dtype))

    def call(self, inputs):
        x = inputs if inputs.dtype in (torch.float32, torch.float64) else inputs.float()
        window = (
            torch.ones(self.sequence_length, dtype=x.dtype, device=x.device)
            if self.window is None
            else window_values(self.window, self.sequence_length, True).to(x.device, x.dtype)
        )
        spectrum = torch.stft(
            x.reshape(-1, x.shape[-1]),
            n_fft=self.fft_length,
            hop_length=self.sequence_stride,
            win_length=self.sequence_length,
            window=window,
            center=True,
            return_complex=True,
        )
        spectrum = spectrum.reshape(*x.shape[:-1], *spectrum.shape[-2:]).transpose(-1, -2)
        power = spectrum.abs() ** self.mag_exp
        matrix = mel_weight_matrix(
            self.num_mel_bins, power.shape[-1], self.sampling_rate, self.min_freq, self.max_freq
        ).to(power.device, power.dtype)
        mel = power @ matrix
        if self.power_to_db:
            mel = 10.0 * torch.log10(torch.clamp(mel, min=self.min_power))
            mel = mel - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
            mel = torch.maximum(mel, mel.max() - self.top_db)  # the whole batch's maximum
        out = mel.transpose(-1, -2).contiguous()
        return out.to(inputs.dtype if inputs.is_floating_point() else x.dtype)

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[-1] is None else 1 + input_shape[-1] // self.sequence_stride
        return (*input_shape[:-1], self.num_mel_bins, frames)

    def get_config(self):
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": self.window,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }


_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of each channel of a signal, as a strided convolution with
    windowed DFT kernels (`real_kernel`, `imag_kernel`: weights, trainable as in Keras).

    Args:
        mode: "log" (log magnitude, default), "magnitude", "psd", "real", "imag", "angle" or
            "stft" (real and imaginary parts, concatenated).
        frame_length: window size; frame_step: hop (default frame_length // 2).
        fft_length: DFT size (default the next power of two >= frame_length).
        window: a window name, an array, or None; periodic: a periodic (DFT-even) window.
        scaling: "density" (divide by the window's L2 norm), "spectrum" (by its L1 norm), None.
        padding: "valid" or "same" (TensorFlow's rule for the strided convolution).
        expand_dims: keep channels on their own axis: `(batch, frames, bins, channels)`.
        data_format: "channels_last" `(batch, samples, channels)` or "channels_first".

    Output shape (channels_last): `(batch, frames, bins * channels)`, bins = fft_length // 2 + 1
    (doubled in "stft" mode).

    Example:
        >>> layer = STFTSpectrogram(frame_length=64, frame_step=32)
        >>> tuple(layer(torch.zeros(2, 256, 1)).shape)
        (2, 7, 33)
    """

    def __init__(
        self,
        mode="log",
        frame_length=256,
        frame_step=None,
        fft_length=None,
        window="hann",
        periodic=False,
        scaling="density",
        padding="valid",
        expand_dims=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if frame_step is not None and not 1 <= frame_step <= frame_length:
            raise errors.value_error(
                self, f"frame_step in [1, frame_length={frame_length}]", f"{frame_step}"
            )
        if fft_length is not None and fft_length < frame_length:
            raise errors.value_error(self, "fft_length >= frame_length", f"{fft_length}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(
                "`fft_length` is recommended to be a power of two. "
                f"Received fft_length={fft_length}",
                stacklevel=2,
            )
        if mode not in _STFT_MODES:
            raise errors.value_error(self, f"mode in {_STFT_MODES}", f"{mode!r}")
        if scaling not in ("density", "spectrum", None):
            raise errors.value_error(self, "scaling 'density', 'spectrum' or None", f"{scaling!r}")
        if padding not in ("valid", "same"):
            raise errors.value_error(self, "padding 'valid' or 'same'", f"{padding!r}")
        if isinstance(window, str) and window not in ("hann", "hamming"):
            try:  # a name SciPy's catalogue lacks is refused now, not at the first call
                window_values(window, 8, bool(periodic))
            except ValueError as error:
                raise errors.value_error(
                    self, "a window SciPy's get_window knows", f"window={window!r}"
                ) from error
        self.mode = mode
        self.frame_length = int(frame_length)
        self.frame_step = frame_step
        self._frame_step = frame_step or self.frame_length // 2
        self.fft_length = fft_length
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(frame_length))
        self.window = window
        self.periodic = bool(periodic)
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = bool(expand_dims)
        self.data_format = backend.standardize_data_format(data_format)

    def _kernel(self, side):
        def initializer(shape, dtype=torch.float32):
            # Computed in the weight's dtype, step by step as Keras's STFT initializer does: in
            # float32 the angles (up to ~frame_length * pi) carry rounding that float64 would
            # not, and a fresh layer's weights and spectrogram must equal Keras's.
            dtype = backend.to_torch_dtype(dtype)
            frames, _, bins = shape
            time = torch.arange(frames, dtype=dtype).reshape(frames, 1, 1)
            freq = torch.arange(bins, dtype=dtype).reshape(1, 1, bins) / ((bins - 1) * 2)
            angles = (-2 * time) * freq * torch.arccos(torch.tensor(-1.0, dtype=dtype))
            kernel = torch.cos(angles) if side == "real" else torch.sin(angles)
            window = window_values(self.window, frames, self.periodic)
            if window is not None:
                window = window.to(dtype).reshape(frames, 1, 1)
                norm = {
                    "density": lambda: window.square().sum().sqrt(),
                    "spectrum": lambda: window.abs().sum(),
                    None: lambda: 1.0,
                }[self.scaling]()
                kernel = kernel * window / norm
            return kernel

        return initializer

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape, initializer=self._kernel("real")
            )
        if self.mode != "real":
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape, initializer=self._kernel("imag")
            )

    def _convolve(self, signals, kernel):
        """(N, 1, T) signals -> (N, bins, frames)."""
        if self.padding == "same":
            pads = padding_rules.same_padding(
                signals.shape[-1], self.frame_length, self._frame_step
            )
            signals = F.pad(signals, pads)
        return F.conv1d(signals, kernel.permute(2, 1, 0).to(signals.dtype), stride=self._frame_step)

    def call(self, inputs):
        if not inputs.is_floating_point():
            raise TypeError(errors.message(self, "a float16/32/64 signal", f"dtype {inputs.dtype}"))
        x = inputs.movedim(-1, 1) if self.data_format == "channels_last" else inputs
        batch, channels, samples = x.shape
        signals = x.reshape(batch * channels, 1, samples)
        real = self._convolve(signals, self.real_kernel) if self.mode != "imag" else None
        imag = self._convolve(signals, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag", "angle", "stft"):
            out = {
                "real": lambda: real,
                "imag": lambda: imag,
                "angle": lambda: torch.atan2(imag, real),
                "stft": lambda: torch.cat([real, imag], dim=1),
            }[self.mode]()
        else:
            power = real.square() + imag.square()
            if self.mode == "psd":  # one-sided: the inner bins count twice
                out = power + F.pad(power[:, 1:-1], (0, 0, 1, 1))
            else:
                out = torch.sqrt(torch.clamp(power, min=backend.epsilon()))
                if self.mode == "log":
                    out = torch.log(torch.clamp(out, min=backend.epsilon()))
        out = out.reshape(batch, channels, out.shape[1], out.shape[2])  # (B, C, bins, frames)
        if self.expand_dims:
            perm = (0, 3, 2, 1) if self.data_format == "channels_last" else (0, 1, 3, 2)
            return out.permute(*perm).contiguous()
        out = out.reshape(batch, channels * out.shape[2], out.shape[3])
        return out.transpose(1, 2).contiguous() if self.data_format == "channels_last" else out

    def get_config(self):
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": self.window,
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "expand_dims": self.expand_dims,
            "data_format": self.data_format,
        }
