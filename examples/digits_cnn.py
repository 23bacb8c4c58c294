"""A Conv-BN-Pool CNN on the built-in 8x8 digits, with a confusion matrix printed as text.

Run: python examples/digits_cnn.py
"""

import numpy as np

import lamina
from lamina import layers, models

lamina.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
x_train, x_test = x_train[..., None] / 16.0, x_test[..., None] / 16.0

model = models.Sequential(
    [
        layers.Conv2D(32, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=15, batch_size=32, validation_split=0.1, verbose=2)
predicted = model.predict(x_test, verbose=0).argmax(axis=1)
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (y_test, predicted), 1)
print("confusion matrix (rows: true digit, columns: predicted)")
print(confusion)
print(f"test accuracy {np.trace(confusion) / confusion.sum():.3f}")
