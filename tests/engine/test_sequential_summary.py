"""Sequential's API and summary(): the seeds' printed tables, byte for byte."""

import pytest
import torch

import lamina
from lamina import layers, models

# The seeds' printed tables (002_61250ece564fcab7.txt, cells In [1] and In [9]) and the
# derived table of seed 000's CIFAR CNN (seed-summaries.md, A.000-cnn): rows end in spaces.
SEED_CONV1D = """Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
 conv1d (Conv1D)             (None, 62, 32)            128       
                                                                 
 max_pooling1d (MaxPooling1  (None, 31, 32)            0         
 D)                                                              
                                                                 
 flatten (Flatten)           (None, 992)               0         
                                                                 
 dense (Dense)               (None, 1)                 993       
                                                                 
Total params: 1121 (4.38 KB)
Trainable params: 1121 (4.38 KB)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________"""

SEED_GAP = """Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
 conv2d (Conv2D)             (None, 30, 30, 32)        896       
                                                                 
 global_average_pooling2d (  (None, 32)                0         
 GlobalAveragePooling2D)                                         
                                                                 
 dense (Dense)               (None, 10)                330       
                                                                 
Total params: 1226 (4.79 KB)
Trainable params: 1226 (4.79 KB)
Non-trainable params: 0 (0.00 Byte)
_________________________________________________________________"""

SEED_CIFAR_CNN = """Model: "sequential"
_________________________________________________________________
 Layer (type)                Output Shape              Param #   
 conv2d (Conv2D)             (None, 32, 32, 32)        896       
                                                                 
 batch_normalization (Batch  (None, 32, 32, 32)        128       
 Normalization)                                                  
                                                                 
 max_pooling2d (MaxPooling2  (None, 16, 16, 32)        0         
 D)                                                              
                                                                 
 dropout (Dropout)           (None, 16, 16, 32)        0         
                                                                 
 conv2d_1 (Conv2D)           (None, 16, 16, 64)        18496     
                                                                 
 batch_normalization_1 (Bat  (None, 16, 16, 64)        256       
 chNormalization)                                                
                                                                 
 max_pooling2d_1 (MaxPoolin  (None, 8, 8, 64)          0         
 g2D)                                                            
                                                                 
 dropout_1 (Dropout)         (None, 8, 8, 64)          0         
                                                                 
 flatten (Flatten)           (None, 4096)              0         
                                                                 
 dense (Dense)               (None, 128)               524416    
                                                                 
 dropout_2 (Dropout)         (None, 128)               0         
                                                                 
 dense_1 (Dense)             (None, 10)                1290      
                                                                 
Total params: 545482 (2.08 MB)
Trainable params: 545290 (2.08 MB)
Non-trainable params: 192 (768.00 Byte)
_________________________________________________________________"""


def cifar_cnn():
    return models.Sequential(
        [
            layers.Conv2D(32, (3, 3), padding="same", activation="relu", input_shape=(32, 32, 3)),
            layers.BatchNormalization(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Conv2D(64, (3, 3), padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )


def summary_text(model) -> str:
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def test_summary_matches_seed_conv1d_table():
    model = models.Sequential(
        [
            layers.Conv1D(32, 3, activation="relu", input_shape=(64, 1)),
            layers.MaxPooling1D(2),
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid"),
        ]
    )
    assert summary_text(model) == SEED_CONV1D


def test_summary_matches_seed_global_average_pooling_table():
    model = models.Sequential(
        [
            layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax"),
        ]
    )
    assert summary_text(model) == SEED_GAP


def test_summary_matches_cifar_cnn_with_non_trainable_batchnorm_statistics():
    assert summary_text(cifar_cnn()) == SEED_CIFAR_CNN


def test_summary_prints_to_stdout(capsys):
    cifar_cnn().summary()
    assert "Total params: 545482 (2.08 MB)" in capsys.readouterr().out


def test_add_pop_get_layer():
    model = models.Sequential()
    model.add(layers.Dense(8, activation="relu", input_shape=(4,)))
    model.add(layers.Dense(3))
    assert model.output_shape == (None, 3)
    assert model.get_layer(index=1).name == "dense_1"
    assert model.get_layer("dense") is model.layers[0]
    popped = model.pop()
    assert popped.name == "dense_1" and model.output_shape == (None, 8)
    with pytest.raises(ValueError, match="No layer named 'nope'"):
        model.get_layer("nope")


def test_input_first_and_deferred_build():
    with_input = models.Sequential([lamina.Input(shape=(5,)), layers.Dense(2)])
    assert with_input.built and with_input.count_params() == 12
    deferred = models.Sequential([layers.Dense(2)])
    assert not deferred.built
    deferred(torch.zeros(3, 7))
    assert deferred.built and deferred.input_shape == (None, 7)


def test_a_built_sequential_runs_a_longer_sequence_as_keras_does():
    # Keras's Sequential has no input spec: the layers judge sizes, so a token stack built for
    # 16 steps runs on 8 (call and predict); only the rank is the model's to check.
    model = models.Sequential([lamina.Input(shape=(16, 3)), layers.Dense(2)])
    assert tuple(model(torch.zeros(1, 8, 3)).shape) == (1, 8, 2)
    assert model.predict(torch.zeros(1, 8, 3).numpy(), verbose=0).shape == (1, 8, 2)
    deferred = models.Sequential([layers.Dense(2)])
    deferred(torch.zeros(2, 16, 3))
    assert tuple(deferred(torch.zeros(1, 8, 3)).shape) == (1, 8, 2)


def test_build_with_shape_as_keras():
    model = models.Sequential([layers.Dense(4), layers.Dense(1)])
    model.build((None, 10))
    assert model.count_params() == 10 * 4 + 4 + 5


def test_feature_extractor_from_sequential_layer_output():
    model = cifar_cnn()
    extractor = models.Model(inputs=model.input, outputs=model.get_layer("conv2d_1").output)
    features = extractor.predict(torch.randn(2, 32, 32, 3).numpy(), verbose=0)
    assert features.shape == (2, 16, 16, 64)


def test_a_layer_called_on_two_shapes_shows_multiple():
    shared = layers.Dense(3, name="shared")
    small, large = lamina.Input(shape=(2, 4)), lamina.Input(shape=(5, 4))
    model = models.Model([small, large], [shared(small), shared(large)])
    text = summary_text(model)
    assert "shared (Dense)" in text and "multiple" in text and "(m, u" not in text


# Keras 2's layout with show_trainable=True: one more column of 11 characters, "Y"/"N".
FROZEN_FIRST = """Model: "sequential"
____________________________________________________________________________
 Layer (type)                Output Shape              Param #   Trainable  
 dense (Dense)               (None, 2)                 10        N          
                                                                            
 head (Dense)                (None, 1)                 3         Y          
                                                                            
Total params: 13 (52.00 Byte)
Trainable params: 3 (12.00 Byte)
Non-trainable params: 10 (40.00 Byte)
____________________________________________________________________________"""


def test_show_trainable_adds_keras_2s_trainable_column():
    model = models.Sequential([layers.Input((4,)), layers.Dense(2), layers.Dense(1, name="head")])
    model.layers[0].trainable = False
    lines = []
    model.summary(show_trainable=True, print_fn=lines.append)
    assert "\n".join(lines) == FROZEN_FIRST


def test_show_trainable_follows_the_connections_column():
    inputs = layers.Input((4,))
    outputs = layers.Add()([layers.Dense(2)(inputs), layers.Dense(2)(inputs)])
    lines = []
    lamina.Model(inputs, outputs).summary(show_trainable=True, print_fn=lines.append)
    header = lines[2]
    assert len(header) == 98 + 11
    assert header.index("Connected to") == 68 and header.index("Trainable") == 98


class _FrozenMask(layers.Layer):
    """A float64 non-trainable mask and an int32 index beside a float32 kernel."""

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], 2))
        self.mask = self.add_weight(shape=(4, 4), dtype="float64", trainable=False)
        self.index = self.add_weight(shape=(4,), dtype="int32", trainable=False)

    def call(self, x):
        return x @ self.kernel


def test_summary_sizes_count_each_weight_by_its_dtype():
    # Keras: 6 float32 (24 B) trainable; 16 float64 + 4 int32 (144 B) non-trainable.
    model = models.Sequential([lamina.Input((3,)), _FrozenMask()])
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 26 (168.00 Byte)" in lines
    assert "Trainable params: 6 (24.00 Byte)" in lines
    assert "Non-trainable params: 20 (144.00 Byte)" in lines


def test_summary_rows_include_a_graphs_ops():
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(2)(inputs) + 1.0)
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith(" add (") for line in lines)
    assert [layer.name for layer in model.layers] == ["input_layer", "dense"]
