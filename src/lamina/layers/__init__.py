"""lamina.layers: every layer, re-exported explicitly (one module per family)."""

from lamina.engine.errors import missing_attribute as _missing_attribute
from lamina.engine.input_spec import InputSpec
from lamina.engine.layer import Layer
from lamina.engine.symbolic import Input, InputLayer
from lamina.layers.activation import ELU, LeakyReLU, ReLU, Softmax
from lamina.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from lamina.layers.alpha_dropout import AlphaDropout
from lamina.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
from lamina.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from lamina.layers.convolutional import Conv1D, Conv2D, Conv3D
from lamina.layers.core import Activation, Dense, Identity, Lambda, TorchModuleWrapper
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.embedding import Embedding, Masking
from lamina.layers.group_normalization import GroupNormalization
from lamina.layers.group_query_attention import GroupQueryAttention
from lamina.layers.layer_serialization import deserialize, serialize
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.normalization import (
    BatchNormalization,
    LayerNormalization,
    UnitNormalization,
)
from lamina.layers.pipeline import Pipeline
from lamina.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from lamina.layers.prelu import PReLU
from lamina.layers.preprocessing import (
    CenterCrop,
    Normalization,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
    Rescaling,
    Resizing,
)
from lamina.layers.preprocessing.bounding_boxes import MaxNumBoundingBoxes
from lamina.layers.preprocessing.category_encoding import CategoryEncoding
from lamina.layers.preprocessing.clahe import ContrastLimitedAdaptiveHistogramEqualization
from lamina.layers.preprocessing.color_augmentation import (
    AutoContrast,
    Equalization,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from lamina.layers.preprocessing.discretization import Discretization
from lamina.layers.preprocessing.elastic import RandomElasticTransform
from lamina.layers.preprocessing.filtering import RandomErasing, RandomGaussianBlur
from lamina.layers.preprocessing.geometric_augmentation import RandomPerspective, RandomShear
from lamina.layers.preprocessing.hashing import HashedCrossing, Hashing
from lamina.layers.preprocessing.lookups import IntegerLookup, StringLookup
from lamina.layers.preprocessing.mixing import CutMix, MixUp
from lamina.layers.preprocessing.policies import AugMix, RandAugment
from lamina.layers.preprocessing.spectrogram import MelSpectrogram, STFTSpectrogram
from lamina.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
)
from lamina.layers.recurrent.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lamina.layers.recurrent.stacked_cells import StackedRNNCells
from lamina.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from lamina.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from lamina.layers.reversible_embedding import ReversibleEmbedding
from lamina.layers.rms_normalization import RMSNormalization
from lamina.layers.separable_conv import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from lamina.layers.text_vectorization import TextVectorization
from lamina.layers.wrapper import SpectralNormalization, Wrapper
from lamina.layers.wrappers import Bidirectional, TimeDistributed

# Keras's aliases
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)

__all__ = [
    "ELU",
    "LeakyReLU",
    "ReLU",
    "Softmax",
    "ActivityRegularization",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "GaussianDropout",
    "GaussianNoise",
    "Permute",
    "RepeatVector",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    # sequence models
    "AdditiveAttention",
    "Attention",
    "Bidirectional",
    "Embedding",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "Masking",
    "MultiHeadAttention",
    "RNN",
    "SimpleRNN",
    "SimpleRNNCell",
    "TextVectorization",
    "TimeDistributed",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "Convolution1DTranspose",
    "Convolution2DTranspose",
    "Convolution3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "GroupNormalization",
    "LayerNormalization",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "UnitNormalization",
    # preprocessing
    "CenterCrop",
    "Normalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "Rescaling",
    "Resizing",
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "Activation",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "BatchNormalization",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Convolution1D",
    "Convolution2D",
    "Convolution3D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "Identity",
    "Input",
    "InputLayer",
    "InputSpec",
    "Lambda",
    "TorchModuleWrapper",
    "Layer",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Reshape",
    # issue 12: the rest of keras.layers
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "AlphaDropout",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "EinsumDense",
    "GroupQueryAttention",
    "Pipeline",
    "ReversibleEmbedding",
    "SpectralNormalization",
    "StackedRNNCells",
    "Wrapper",
    "deserialize",
    "CategoryEncoding",
    "Discretization",
    "HashedCrossing",
    "Hashing",
    "IntegerLookup",
    "StringLookup",
    "AutoContrast",
    "Equalization",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomGrayscale",
    "RandomHue",
    "RandomInvert",
    "RandomPosterization",
    "RandomSaturation",
    "RandomSharpness",
    "Solarization",
    "MelSpectrogram",
    "STFTSpectrogram",
    "CutMix",
    "MixUp",
    "RandomErasing",
    "RandomGaussianBlur",
    "RandomPerspective",
    "RandomShear",
    "AugMix",
    "MaxNumBoundingBoxes",
    "RandAugment",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "RandomElasticTransform",
    "serialize",
    "PReLU",
    "RMSNormalization",
]


# tf.keras 2.x code (DLwP 2nd ed.) spells `layers.experimental.preprocessing.Rescaling`; Keras 3
# moved those layers up to `layers.`.
_REMOVED_IN_KERAS_3 = {
    "experimental": (
        "`layers.experimental` is Keras 2 API that Keras 3 removed. Its preprocessing layers "
        "live in `layers` itself: use `layers.Rescaling`, `layers.RandomFlip`, "
        "`layers.TextVectorization`, ... instead."
    ),
}


def __getattr__(name):
    # Only reached for names this module lacks.
    raise _missing_attribute("lamina.layers", name, _REMOVED_IN_KERAS_3)
