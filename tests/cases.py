"""The catalogue of (layer, config, input shape) cases shared by the contract and parity tests.

Every case names its awkward part in its id (`Conv2D-k4-s2-same`). `parity=False` marks a case
where Keras-on-torch itself deviates from Keras's documented (TensorFlow) semantics; those are
checked against a NumPy reference in tests/parity/test_conv_layers.py instead. Tolerance: 1e-5
for everything here (float32 convolutions over at most a few hundred products per output).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    layer: str
    config: dict
    input_shape: tuple
    name: str
    call_kwargs: dict = field(default_factory=dict)
    parity: bool = True  # False: Keras-on-torch deviates from TF; see the NumPy reference tests
    deterministic: bool = True  # False: noise layers, compared only in inference
    seed: int = 0


def case_id(case: Case) -> str:
    return f"{case.layer}-{case.name}"


def _c(layer, config, shape, name, **extra):
    return Case(layer, config, tuple(shape), name, **extra)


CF = {"data_format": "channels_first"}

CONVOLUTIONS = [
    _c("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3), "k3-valid"),
    _c(
        "Conv1D",
        {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same"},
        (2, 9, 3),
        "k4-s2-same",
    ),
    _c(
        "Conv1D",
        {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
        (2, 10, 2),
        "causal-d2",
    ),
    _c(
        "Conv1D",
        {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same", **CF},
        (2, 4, 9),
        "groups2-cf",
    ),
    _c(
        "Conv1D",
        {"filters": 2, "kernel_size": 1, "use_bias": False, "activation": "relu"},
        (3, 5, 4),
        "k1-nobias-relu",
    ),
    _c(
        "Conv2D",
        {"filters": 4, "kernel_size": (4, 3), "strides": (2, 1), "padding": "same"},
        (2, 9, 8, 3),
        "k4x3-s2x1-same",
    ),
    _c(
        "Conv2D",
        {"filters": 6, "kernel_size": 3, "groups": 3, "dilation_rate": 2, **CF},
        (2, 3, 9, 9),
        "groups3-d2-cf",
    ),
    _c(
        "Conv2D",
        {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same"},
        (2, 7, 7, 2),
        "k2-s2-same-odd",
    ),
    _c("Conv2D", {"filters": 3, "kernel_size": 3, "strides": 2, **CF}, (2, 2, 8, 7), "s2-valid-cf"),
    _c(
        "Conv3D",
        {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
        (1, 5, 4, 5, 2),
        "k2-s2-same",
    ),
    _c("Conv3D", {"filters": 3, "kernel_size": (3, 1, 2), **CF}, (1, 2, 4, 3, 4), "k312-cf"),
    _c(
        "Conv1DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 5, 2),
        "k3-s2-same-odd",
    ),
    _c(
        "Conv1DTranspose",
        {"filters": 3, "kernel_size": 2, "strides": 3},
        (2, 5, 2),
        "k2-s3-valid-gap",
    ),
    _c(
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 5, 4, 2),
        "k3-s2-same-odd",
    ),
    _c(
        "Conv2DTranspose",
        {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same", **CF},
        (2, 2, 5, 4),
        "k4-s2-same-cf",
    ),
    _c(
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1},
        (2, 4, 3, 2),
        "k3-s2-valid-op1",
    ),
    _c(
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
        (2, 4, 3, 2),
        "k3-s2-same-op1",
    ),
    _c(
        "Conv2DTranspose",
        {"filters": 2, "kernel_size": 3, "padding": "same", "dilation_rate": 2},
        (2, 5, 4, 2),
        "d2-same",
    ),
    _c(
        "Conv3DTranspose",
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        (1, 3, 4, 3, 2),
        "k3-s2-same",
    ),
    _c(
        "Conv3DTranspose",
        {"filters": 2, "kernel_size": 2, "strides": (1, 2, 2), **CF},
        (1, 2, 3, 2, 3),
        "s122-cf",
    ),
    _c("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 3}, (2, 7, 2), "m3"),
    _c(
        "DepthwiseConv1D",
        {"kernel_size": 2, "strides": 2, "padding": "same", **CF},
        (2, 3, 7),
        "s2-same-cf",
    ),
    _c(
        "DepthwiseConv2D",
        {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"},
        (2, 7, 7, 3),
        "m2-s2-same",
    ),
    _c("DepthwiseConv2D", {"kernel_size": 3, "dilation_rate": 2, **CF}, (2, 3, 7, 7), "d2-cf"),
    _c("SeparableConv1D", {"filters": 5, "kernel_size": 3, "strides": 2}, (2, 9, 3), "s2"),
    _c(
        "SeparableConv1D",
        {"filters": 2, "kernel_size": 3, "depth_multiplier": 2, "padding": "same", **CF},
        (2, 3, 8),
        "m2-same-cf",
    ),
    _c(
        "SeparableConv2D",
        {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"},
        (2, 7, 7, 3),
        "m2-same",
    ),
    _c(
        "SeparableConv2D",
        {"filters": 4, "kernel_size": 2, "use_bias": False, **CF},
        (2, 3, 6, 5),
        "k2-nobias-cf",
    ),
]

POOLING = [
    _c("MaxPooling1D", {}, (2, 9, 3), "default"),
    _c("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 10, 3), "p3-s2-same"),
    _c("AveragePooling1D", {"pool_size": 2, **CF}, (2, 3, 9), "p2-cf"),
    _c(
        "AveragePooling1D",
        {"pool_size": 3, "strides": 2, "padding": "same"},
        (2, 9, 3),
        "p3-s2-same-symmetric",
    ),
    _c(
        "MaxPooling2D",
        {"pool_size": 3, "strides": 2, "padding": "same", **CF},
        (2, 2, 7, 8),
        "p3-s2-same-cf",
    ),
    _c(
        "AveragePooling2D",
        {"pool_size": 3, "strides": 1, "padding": "same"},
        (2, 7, 8, 2),
        "p3-s1-same",
    ),
    _c(
        "AveragePooling2D",
        {"pool_size": 2, "strides": 1, "padding": "same"},
        (2, 5, 6, 2),
        "p2-s1-same-asymmetric",
        parity=False,
    ),
    _c("MaxPooling3D", {"pool_size": 2, "padding": "same"}, (1, 5, 4, 3, 2), "p2-same"),
    _c("AveragePooling3D", {"pool_size": 2, **CF}, (1, 2, 5, 4, 3), "p2-cf"),
    _c("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3), "keepdims"),
    _c("GlobalMaxPooling1D", CF, (2, 3, 5), "cf"),
    _c("GlobalAveragePooling2D", {}, (2, 4, 5, 3), "default"),
    _c("GlobalMaxPooling2D", {"keepdims": True, **CF}, (2, 3, 4, 5), "keepdims-cf"),
    _c("GlobalAveragePooling3D", CF, (2, 3, 2, 4, 2), "cf"),
    _c("GlobalMaxPooling3D", {"keepdims": True}, (2, 2, 3, 4, 2), "keepdims"),
]

RESHAPING = [
    _c("UpSampling1D", {"size": 3}, (2, 4, 3), "s3"),
    _c("UpSampling2D", {"size": (2, 3)}, (2, 4, 3, 2), "nearest-2x3"),
    _c("UpSampling2D", {"size": 2, "interpolation": "bilinear"}, (2, 4, 3, 2), "bilinear"),
    _c(
        "UpSampling2D",
        {"size": (3, 2), "interpolation": "bilinear", **CF},
        (2, 2, 4, 3),
        "bilinear-cf",
    ),
    _c("UpSampling3D", {"size": (2, 1, 3)}, (1, 2, 3, 2, 2), "s213"),
    _c("UpSampling3D", {"size": 2, **CF}, (1, 2, 2, 3, 2), "cf"),
    _c("ZeroPadding1D", {"padding": (1, 2)}, (2, 4, 3), "p12"),
    _c("ZeroPadding2D", {"padding": ((1, 0), (2, 3))}, (2, 4, 3, 2), "pairs"),
    _c("ZeroPadding2D", {"padding": (1, 2), **CF}, (2, 2, 4, 3), "sym-cf"),
    _c("ZeroPadding3D", {"padding": 1}, (1, 2, 3, 2, 2), "p1"),
    _c("Cropping1D", {"cropping": (1, 2)}, (2, 6, 3), "c12"),
    _c("Cropping2D", {"cropping": ((1, 0), (2, 1))}, (2, 4, 5, 2), "pairs"),
    _c("Cropping2D", {"cropping": 1, **CF}, (2, 2, 4, 3), "c1-cf"),
    _c("Cropping3D", {"cropping": ((1, 0), (0, 1), (1, 1))}, (1, 3, 3, 4, 2), "pairs"),
    _c("Permute", {"dims": (2, 1)}, (2, 4, 3), "21"),
    _c("Permute", {"dims": (3, 1, 2)}, (2, 4, 3, 5), "312"),
    _c("RepeatVector", {"n": 3}, (2, 4), "n3"),
]

NORMALIZATION = [
    _c("LayerNormalization", {}, (2, 5, 6), "last"),
    _c("LayerNormalization", {"axis": [-2, -1], "epsilon": 1e-5}, (2, 3, 4, 5), "last-two"),
    _c("LayerNormalization", {"center": False}, (3, 4), "no-center"),
    _c("LayerNormalization", {"scale": False, "axis": -1}, (2, 3, 4), "no-scale"),
    _c("LayerNormalization", {"rms_scaling": True}, (2, 5, 6), "rms-scaling"),
    # Keras-on-torch fails outright on non-trailing axes (torch's layer_norm wants trailing ones).
    _c("LayerNormalization", {"axis": 1}, (2, 5, 6), "axis1", parity=False),
    _c("LayerNormalization", {"axis": [1, 2]}, (2, 3, 4, 5), "axes12", parity=False),
    _c("GroupNormalization", {"groups": 2}, (2, 5, 6), "g2-1d"),
    _c("GroupNormalization", {"groups": -1, "axis": 1}, (2, 4, 5, 6), "instance-cf"),
    _c("GroupNormalization", {"groups": 3}, (2, 3, 4, 5, 6), "g3-3d"),
    _c("GroupNormalization", {"groups": 1, "center": False}, (3, 4), "g1-dense"),
    _c("GroupNormalization", {"groups": 2, "scale": False}, (2, 4, 4, 4), "g2-2d-no-scale"),
    _c("UnitNormalization", {}, (2, 5, 6), "last"),
    _c("UnitNormalization", {"axis": [1, 2]}, (2, 3, 4), "axes12"),
    _c("BatchNormalization", {"axis": 1}, (4, 3, 5, 5), "cf"),
    _c("BatchNormalization", {"center": False, "scale": False}, (4, 5, 3), "plain-1d"),
    _c("BatchNormalization", {"axis": 1, "momentum": 0.5}, (4, 3, 5), "cf-1d"),
    _c("BatchNormalization", {}, (4, 3, 4, 5, 2), "3d"),
    _c(
        "BatchNormalization",
        {"axis": 1},
        (4, 3, 5, 5),
        "cf-training",
        call_kwargs={"training": True},
    ),
    _c(
        "BatchNormalization",
        {"scale": False},
        (6, 4, 3),
        "1d-training",
        call_kwargs={"training": True},
    ),
]

REGULARIZATION = [
    _c("SpatialDropout1D", {"rate": 0.3}, (2, 5, 3), "inference"),
    _c("SpatialDropout2D", {"rate": 0.3, **CF}, (2, 3, 4, 4), "inference-cf"),
    _c("SpatialDropout3D", {"rate": 0.5}, (2, 2, 3, 2, 3), "inference"),
    _c("GaussianNoise", {"stddev": 0.1}, (2, 4), "inference"),
    _c("GaussianDropout", {"rate": 0.3}, (2, 4), "inference"),
    _c("ActivityRegularization", {"l1": 0.1, "l2": 0.01}, (2, 4), "l1-l2"),
]

ADAPTIVE_POOLING = [
    _c("AdaptiveAveragePooling1D", {"output_size": 4}, (2, 9, 3), "9to4-overlapping"),
    _c("AdaptiveAveragePooling1D", {"output_size": 3, **CF}, (2, 3, 9), "9to3-cf"),
    _c("AdaptiveAveragePooling2D", {"output_size": (3, 2)}, (2, 7, 5, 3), "7x5to3x2"),
    _c("AdaptiveAveragePooling2D", {"output_size": 4, **CF}, (2, 2, 6, 9), "upsample-free-cf"),
    _c("AdaptiveAveragePooling3D", {"output_size": 2}, (1, 5, 4, 3, 2), "to2"),
    _c("AdaptiveAveragePooling3D", {"output_size": (1, 2, 3), **CF}, (1, 2, 3, 5, 7), "123-cf"),
    _c("AdaptiveMaxPooling1D", {"output_size": 4}, (2, 10, 3), "10to4"),
    _c("AdaptiveMaxPooling2D", {"output_size": (2, 3)}, (2, 7, 8, 3), "7x8to2x3"),
    _c("AdaptiveMaxPooling2D", {"output_size": 3, **CF}, (2, 2, 7, 5), "to3-cf"),
    _c("AdaptiveMaxPooling3D", {"output_size": (2, 2, 1)}, (1, 5, 4, 3, 2), "221"),
    _c("AdaptiveMaxPooling3D", {"output_size": 2, **CF}, (1, 2, 3, 5, 4), "to2-cf"),
]

# Random initializers, so the parity check compares non-trivial weights.
_RANDOM = {"class_name": "RandomNormal", "config": {"seed": 3}}

CORE_EXTRA = [
    _c("PReLU", {"alpha_initializer": _RANDOM}, (2, 5, 3), "per-element"),
    _c("PReLU", {"alpha_initializer": _RANDOM, "shared_axes": [1, 2]}, (2, 4, 5, 3), "per-channel"),
    _c("PReLU", {}, (3, 4), "default-zeros"),
    _c("RMSNormalization", {}, (2, 5, 6), "last"),
    _c("RMSNormalization", {"axis": [-2, -1], "epsilon": 1e-3}, (2, 3, 4, 5), "last-two"),
    _c("RMSNormalization", {"axis": 1}, (2, 5, 6), "axis1", parity=False),
    _c("AlphaDropout", {"rate": 0.3}, (2, 4), "inference"),
    _c(
        "EinsumDense",
        {"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"},
        (3, 5),
        "dense",
    ),
    _c(
        "EinsumDense",
        {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"},
        (2, 4, 5),
        "heads",
    ),
    _c(
        "EinsumDense",
        {"equation": "...b,bc->...c", "output_shape": 3, "activation": "tanh"},
        (2, 3, 4, 5),
        "left-ellipsis-nobias",
    ),
    _c(
        "EinsumDense",
        {"equation": "abcd,cde->abe", "output_shape": (None, 6), "bias_axes": "e"},
        (2, 3, 4, 5),
        "contract-two",
    ),
    _c(
        "EinsumDense",
        {"equation": "ab...,bc->ac...", "output_shape": 3, "bias_axes": "c"},
        (2, 4, 5),
        "right-ellipsis",
    ),
]

_RECURRENT_RANDOM = {"kernel_initializer": _RANDOM, "bias_initializer": _RANDOM}

CONV_LSTM = [
    _c("ConvLSTM1D", {"filters": 3, "kernel_size": 3}, (2, 4, 7, 2), "k3-valid-last"),
    _c(
        "ConvLSTM1D",
        {"filters": 2, "kernel_size": 2, "padding": "same", "return_sequences": True, **CF},
        (2, 3, 2, 6),
        "k2-same-seq-cf",
    ),
    _c(
        "ConvLSTM2D",
        {"filters": 3, "kernel_size": 3, "padding": "same", **_RECURRENT_RANDOM},
        (2, 3, 5, 4, 2),
        "k3-same",
    ),
    _c(
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": (2, 3), "strides": 2, "return_sequences": True},
        (2, 3, 7, 8, 2),
        "k2x3-s2-seq",
    ),
    _c(
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "go_backwards": True, **CF},
        (1, 4, 2, 7, 7),
        "d2-backwards-cf",
    ),
    _c(
        "ConvLSTM2D",
        {"filters": 2, "kernel_size": 2, "padding": "same", "unit_forget_bias": False},
        (2, 3, 4, 5, 2),
        "k2-same-even-kernel",
    ),
    _c(
        "ConvLSTM3D",
        {"filters": 2, "kernel_size": 2, "padding": "same", "return_sequences": True},
        (1, 3, 3, 4, 3, 2),
        "k2-same-seq",
    ),
]

AUDIO = [
    _c("STFTSpectrogram", {"frame_length": 16, "frame_step": 8}, (2, 64, 1), "log"),
    _c(
        "STFTSpectrogram",
        {"mode": "magnitude", "frame_length": 12, "fft_length": 16, "padding": "same"},
        (2, 50, 2),
        "magnitude-same-2ch",
    ),
    _c(
        "STFTSpectrogram",
        {"mode": "psd", "frame_length": 8, "scaling": "spectrum"},
        (1, 40, 1),
        "psd",
    ),
    _c(
        "STFTSpectrogram",
        {"mode": "stft", "frame_length": 8, "window": "hamming", "periodic": True, **CF},
        (2, 3, 32),
        "stft-hamming-cf",
    ),
    _c(
        "STFTSpectrogram",
        {"mode": "real", "frame_length": 8, "expand_dims": True},
        (2, 32, 3),
        "real-expand",
    ),
    _c("STFTSpectrogram", {"mode": "imag", "frame_length": 8, "window": None}, (2, 32, 1), "imag"),
    _c(
        "MelSpectrogram",
        {"fft_length": 64, "sequence_stride": 16, "num_mel_bins": 10, "sampling_rate": 8000},
        (2, 256),
        "db",
    ),
    _c(
        "MelSpectrogram",
        {
            "fft_length": 32,
            "sequence_stride": 8,
            "sequence_length": 24,
            "num_mel_bins": 6,
            "power_to_db": False,
            "window": "hamming",
            "max_freq": 6000,
        },
        (3, 100),
        "power-hamming",
    ),
]

ALL = (
    CONVOLUTIONS
    + POOLING
    + RESHAPING
    + NORMALIZATION
    + REGULARIZATION
    + ADAPTIVE_POOLING
    + CORE_EXTRA
    + CONV_LSTM
    + AUDIO
)


def for_layer(*names: str) -> list[Case]:
    return [c for c in ALL if c.layer in names]


def parity_cases() -> list[Case]:
    return [c for c in ALL if c.parity]
