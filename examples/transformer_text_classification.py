"""A small transformer encoder that learns to classify padded token sequences.

The seeds' transformer (positional embedding with a padding mask, multi-head self-attention,
feed-forward block, layer normalization, masked average pooling), trained on synthetic "reviews":
variable-length sequences padded with 0, labelled positive when words from a 'positive' set
outnumber words from a 'negative' set. A bag of words cannot see the padding; the mask keeps it
out of the attention and the pooling.

Run: python examples/transformer_text_classification.py
"""

import numpy as np

import lamina as keras
from lamina import layers, ops
from lamina.preprocessing.sequence import pad_sequences


class PositionalEmbedding(layers.Layer):
    def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=embed_dim)

    def call(self, inputs):
        positions = ops.arange(start=0, stop=ops.shape(inputs)[-1], step=1)
        return self.token_embeddings(inputs) + self.position_embeddings(positions)

    def compute_mask(self, inputs, mask=None):
        return ops.not_equal(inputs, 0)


class TransformerEncoder(layers.Layer):
    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)]
        )
        self.layernorm1 = layers.LayerNormalization()
        self.layernorm2 = layers.LayerNormalization()
        self.supports_masking = True

    def call(self, inputs, mask=None):
        attention_mask = None if mask is None else ops.cast(mask[:, None, :], dtype="bool")
        attended = self.attention(inputs, inputs, attention_mask=attention_mask)
        projected = self.layernorm1(inputs + attended)
        return self.layernorm2(projected + self.dense_proj(projected))


def synthetic_reviews(n, vocab_size, max_length, rng):
    positive_words, negative_words = np.arange(2, 12), np.arange(12, 22)
    sequences, labels = [], []
    for _ in range(n):
        length = rng.integers(8, max_length + 1)
        words = rng.integers(22, vocab_size, size=length)
        label = rng.integers(0, 2)
        cues = rng.integers(2, 5)
        pool = positive_words if label else negative_words
        other = negative_words if label else positive_words
        places = rng.choice(length, size=cues + 1, replace=False)
        words[places[:cues]] = rng.choice(pool, size=cues)
        words[places[cues]] = rng.choice(other)
        sequences.append(words.tolist())
        labels.append(label)
    return pad_sequences(sequences, maxlen=max_length, padding="post"), np.array(
        labels, dtype="int64"
    )


keras.utils.set_random_seed(0)
vocab_size, sequence_length, embed_dim = 200, 40, 32
rng = np.random.default_rng(0)
x_train, y_train = synthetic_reviews(1200, vocab_size, sequence_length, rng)
x_test, y_test = synthetic_reviews(300, vocab_size, sequence_length, rng)

inputs = keras.Input(shape=(sequence_length,), dtype="int32")
x = PositionalEmbedding(sequence_length, vocab_size, embed_dim)(inputs)
x = TransformerEncoder(embed_dim, dense_dim=64, num_heads=2)(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs, name="transformer_classifier")
model.summary()
model.compile(
    optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy", metrics=["accuracy"]
)
model.fit(x_train, y_train, epochs=8, batch_size=32, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f} (chance 0.5)")
