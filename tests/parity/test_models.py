"""The seeds' models built from the foundation's layers: every layer's output shape and parameter
count, and the model's trainable / non-trainable totals, equal Keras's (same code, `L` is either
`keras.layers` or `lamina.layers`). Reference totals from seed-summaries.md are pinned too."""

import keras
import pytest

import lamina
from lamina.engine import summary


def cnn_000(L, M):  # 000:180-195, CIFAR-10 CNN
    return M.Sequential(
        [
            L.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(32, 32, 3)),
            L.BatchNormalization(),
            L.MaxPooling2D(pool_size=(2, 2)),
            L.Dropout(0.25),
            L.Conv2D(64, (3, 3), padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(pool_size=(2, 2)),
            L.Dropout(0.25),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )


def cnn_001(L, M):  # 001:91-117, 28x28x1 CNN with BatchNormalization
    return M.Sequential(
        [
            L.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
            L.BatchNormalization(),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(128, (3, 3), activation="relu"),
            L.Flatten(),
            L.Dense(128, activation="relu"),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ]
    )


def conv_valid_002(L, M):  # 002 In [2]
    return M.Sequential(
        [
            L.Conv2D(32, (3, 3), activation="relu", input_shape=(64, 64, 3)),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ]
    )


def conv_same_stride_002(L, M):  # 002 In [5]
    return M.Sequential(
        [
            L.Conv2D(
                32,
                (3, 3),
                activation="relu",
                padding="same",
                strides=(2, 2),
                input_shape=(64, 64, 3),
            ),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ]
    )


def two_blocks_002(L, M):  # 002 In [6]
    return M.Sequential(
        [
            L.Conv2D(32, (3, 3), activation="relu", input_shape=(64, 64, 3)),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Flatten(),
            L.Dense(10, activation="softmax"),
        ]
    )


def moons_004(L, M):  # 004:415-422
    return M.Sequential(
        [
            L.Dense(units=10, activation="relu", input_shape=(2,)),
            L.Dense(units=10, activation="relu"),
            L.Dense(units=1, activation="sigmoid"),
        ]
    )


def blobs_004(L, M):  # 004:580-585
    return M.Sequential(
        [
            L.Dense(units=32, activation="relu", input_shape=(2,)),
            L.Dense(units=16, activation="relu"),
            L.Dense(units=4, activation="softmax"),
        ]
    )


def cifar_add_004(L, M):  # 004:886-912, built with add()
    model = M.Sequential()
    model.add(L.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)))
    model.add(L.MaxPooling2D((2, 2)))
    model.add(L.Conv2D(64, (3, 3), activation="relu"))
    model.add(L.MaxPooling2D((2, 2)))
    model.add(L.Conv2D(64, (3, 3), activation="relu"))
    model.add(L.Flatten())
    model.add(L.Dense(64, activation="relu"))
    model.add(L.Dense(10))
    return model


def dropout_004(L, M):  # 004:2147-2153
    return M.Sequential(
        [
            L.Dense(128, activation="relu", input_shape=(784,)),
            L.Dropout(0.3),
            L.Dense(64, activation="relu"),
            L.Dropout(0.3),
            L.Dense(10, activation="softmax"),
        ]
    )


def l2_004(L, M, regularizers):  # 004:2168-2174
    return M.Sequential(
        [
            L.Dense(
                128,
                activation="relu",
                input_shape=(784,),
                kernel_regularizer=regularizers.l2(0.001),
            ),
            L.Dense(64, activation="relu", kernel_regularizer=regularizers.l2(0.001)),
            L.Dense(10, activation="softmax"),
        ]
    )


def bn_004(L, M):  # 004:2218-2226
    return M.Sequential(
        [
            L.Dense(128, input_shape=(784,)),
            L.BatchNormalization(),
            L.Activation("relu"),
            L.Dense(64),
            L.BatchNormalization(),
            L.Activation("relu"),
            L.Dense(10, activation="softmax"),
        ]
    )


def autoencoder_004(L, M):  # 004:2033-2053, encoder and decoder composed
    encoder_input = M.Input(shape=(784,))
    encoder = M.Model(
        encoder_input,
        L.Dense(32, activation="relu")(L.Dense(128, activation="relu")(encoder_input)),
    )
    decoder_input = M.Input(shape=(32,))
    decoder = M.Model(
        decoder_input,
        L.Dense(784, activation="sigmoid")(L.Dense(128, activation="relu")(decoder_input)),
    )
    autoencoder_input = M.Input(shape=(784,))
    return M.Model(autoencoder_input, decoder(encoder(autoencoder_input)))


# (builder, total, trainable, non-trainable) from seed-summaries.md
SEED_MODELS = [
    (cnn_000, 545482, 545290, 192),
    (cnn_001, 241930, 241738, 192),
    (conv_valid_002, 308426, 308426, 0),
    (conv_same_stride_002, 82826, 82826, 0),
    (two_blocks_002, 144842, 144842, 0),
    (moons_004, 151, 151, 0),
    (blobs_004, 692, 692, 0),
    (cifar_add_004, 122570, 122570, 0),
    (dropout_004, 109386, 109386, 0),
    (l2_004, 109386, 109386, 0),
    (bn_004, 110154, 109770, 384),
    (autoencoder_004, 209968, 209968, 0),
]


class KerasModels:
    Sequential = keras.Sequential
    Model = keras.Model
    Input = staticmethod(keras.Input)


class LaminaModels:
    Sequential = lamina.Sequential
    Model = lamina.Model
    Input = staticmethod(lamina.Input)


def build(builder, L, M, regularizers):
    return builder(L, M, regularizers) if builder is l2_004 else builder(L, M)


def weight_counts(model):
    trainable = sum(
        int(w.numel()) if hasattr(w, "numel") else int(w.size) for w in model.trainable_weights
    )
    total = sum(int(w.numel()) if hasattr(w, "numel") else int(w.size) for w in model.weights)
    return total, trainable, total - trainable


@pytest.mark.parity
@pytest.mark.parametrize("entry", SEED_MODELS, ids=[e[0].__name__ for e in SEED_MODELS])
def test_seed_model_counts_and_shapes_equal_keras(entry):
    builder, total, trainable, frozen = entry
    ours = build(builder, lamina.layers, LaminaModels, lamina.regularizers)
    reference = build(builder, keras.layers, KerasModels, keras.regularizers)
    assert ours.count_params() == reference.count_params() == total
    assert weight_counts(ours) == (total, trainable, frozen)
    ours_layers = [layer for layer in ours.layers if type(layer).__name__ != "InputLayer"]
    reference_layers = [layer for layer in reference.layers if type(layer).__name__ != "InputLayer"]
    assert [summary.class_label(layer) for layer in ours_layers] == [
        type(layer).__name__ for layer in reference_layers
    ]
    for mine, theirs in zip(ours_layers, reference_layers, strict=False):
        assert mine.count_params() == theirs.count_params(), mine.name
        assert tuple(mine.output.shape) == tuple(theirs.output.shape), mine.name
