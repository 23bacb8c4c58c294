"""The seeds' first network: a small MLP separating scikit-learn's two moons.

Run: python examples/make_moons_mlp.py
"""

from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

import lamina
from lamina import layers, models

lamina.utils.set_random_seed(0)
x, y = make_moons(n_samples=1000, noise=0.2, random_state=42)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=42)

model = models.Sequential(
    [
        layers.Dense(16, activation="relu", input_shape=(2,)),
        layers.Dense(8, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ]
)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, epochs=60, batch_size=32, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(
    f"test accuracy {accuracy:.3f} after {len(history.epoch)} epochs "
    f"(validation accuracy {history.history['val_accuracy'][-1]:.3f})"
)
