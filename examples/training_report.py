"""Train a small CNN on the built-in 8x8 digits and write an HTML report of the run: the model
summary, training curves, final metrics, confusion matrix with per-class precision / recall, and the
first convolution's feature maps, in one self-contained file to open in any browser.

Run: python examples/training_report.py [report.html]      (needs: pip install 'lamina[plot]')
"""

import sys

import lamina
from lamina import layers, models, visualization

lamina.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
x_train = (x_train / 16.0)[..., None].astype("float32")
x_test = (x_test / 16.0)[..., None].astype("float32")

model = models.Sequential(
    [
        layers.Conv2D(
            32, 3, padding="same", activation="relu", input_shape=(8, 8, 1), name="conv1"
        ),
        layers.BatchNormalization(),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
        layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ],
    name="digits_cnn",
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=12, batch_size=32, validation_split=0.1, verbose=2)

loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
probabilities = model.predict(x_test, verbose=0)  # rows of class probabilities: argmax is taken
print(f"test accuracy {accuracy:.3f}")

# Each figure is also a function of its own, returning a matplotlib Figure (path= writes a PNG):
# visualization.plot_history(history), visualization.plot_confusion_matrix(y_test, probabilities),
# visualization.plot_feature_maps(model, x_test[:1], layer_name="conv2").
path = visualization.html_report(
    sys.argv[1] if len(sys.argv) > 1 else "training_report.html",
    title="Digits CNN",
    history=history,
    model=model,
    y_true=y_test,
    y_pred=probabilities,
    class_names=[f"digit {d}" for d in range(10)],
    images=x_test[:1],
    extra={"test accuracy": accuracy, "test loss": loss, "test images": len(y_test)},
)
print(f"Report: {path}")
