"""Transfer learning on the built-in digits, Keras's way, in a few seconds on 2 CPU cores.

1. Pretrain a small CNN on the digits 0-4 (every training image of those classes); save it whole
   (`model.save("pretrained.keras")`).
2. New task: the digits 5-9 with only 30 training images per class. Load the saved model, take its
   convolutional base, freeze it (`base.trainable = False`), call it with `training=False` (its
   BatchNormalization layers stay in inference mode for good) and train a new classifier head.
3. Unfreeze the top block only, recompile at a low learning rate, fine-tune.
4. Train the same architecture from scratch on the same 150 images, for as many epochs.

What it shows, measured (not hoped for): on these 8x8 digits the transferred model is only as good
as the one trained from scratch, both near 97% on the ~750 held-out images of 5-9. Thirty images
per class already teach a small CNN these strokes, and what the base learnt from 0-4 adds nothing
measurable; the same holds with the digits upsampled to 32x32x3, a wider base, a pooled head or
augmented pretraining (see the report in tests/examples/test_transfer_learning.py). Transfer pays
where the new task's data are too few for its difficulty, as with ImageNet features for photos.

Run: `python examples/transfer_learning_digits.py` (three seeds; prints both accuracies).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

import lamina
from lamina import layers

PER_CLASS = 30


def split_tasks(seed):
    """(pretraining 0-4, its held-out images, few-shot training 5-9, held-out 5-9); (n, 8, 8, 1).

    The few-shot images are drawn from all of 5-9; every other image of 5-9 is held out, so the
    accuracies are measured on about 750 images.
    """
    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    images = (np.concatenate([x_train, x_test]).reshape(-1, 8, 8, 1) / 16.0).astype("float32")
    labels = np.concatenate([y_train, y_test]).astype("int64")
    in_train = np.arange(len(labels)) < len(y_train)
    pretrain = np.flatnonzero(in_train & (labels < 5))
    pretest = np.flatnonzero(~in_train & (labels < 5))
    rng = np.random.default_rng(seed)
    few = np.concatenate(
        [
            rng.choice(np.flatnonzero(labels == digit), PER_CLASS, replace=False)
            for digit in range(5, 10)
        ]
    )
    held_out = np.setdiff1d(np.flatnonzero(labels >= 5), few)
    return (
        (images[pretrain], labels[pretrain]),
        (images[pretest], labels[pretest]),
        (images[few], labels[few] - 5),
        (images[held_out], labels[held_out] - 5),
    )


def conv_base(name="base"):
    """Two blocks; the second ('top_*') is the one fine-tuning unfreezes."""
    inputs = layers.Input((8, 8, 1))
    x = layers.Conv2D(32, 3, padding="same", name="low_conv")(inputs)
    x = layers.BatchNormalization(name="low_bn")(x)
    x = layers.Activation("relu", name="low_relu")(x)
    x = layers.MaxPooling2D(2, name="low_pool")(x)
    x = layers.Conv2D(64, 3, padding="same", name="top_conv")(x)
    x = layers.BatchNormalization(name="top_bn")(x)
    x = layers.Activation("relu", name="top_relu")(x)
    x = layers.Flatten(name="top_flatten")(x)
    return lamina.Model(inputs, x, name=name)


def classifier(base, training_base=None):
    inputs = layers.Input((8, 8, 1))
    features = base(inputs, training=training_base)
    x = layers.Dropout(0.3)(features)
    outputs = layers.Dense(5, activation="softmax", name="head")(x)
    return lamina.Model(inputs, outputs)


def compile_model(model, learning_rate):
    model.compile(
        optimizer=lamina.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def run(seed=0, pretrain_epochs=15, head_epochs=15, fine_tune_epochs=25, folder=None, verbose=0):
    """Train both ways; return a dict of accuracies and the base's weights at each stage."""
    lamina.utils.set_random_seed(seed)
    (x_pre, y_pre), (x_pretest, y_pretest), (x_few, y_few), (x_test, y_test) = split_tasks(seed)
    folder = folder or tempfile.mkdtemp(prefix="lamina-transfer-")
    saved = os.path.join(folder, "pretrained.keras")

    # 1. Pretrain on 0-4 and save the whole model.
    pretrained = classifier(conv_base())
    compile_model(pretrained, 3e-3)
    pretrained.fit(x_pre, y_pre, epochs=pretrain_epochs, batch_size=32, verbose=verbose)
    results = {"pretrained_0_4": pretrained.evaluate(x_pretest, y_pretest, verbose=0)[1]}
    pretrained.save(saved)

    # 2. Load it; freeze its base; a new head for 5-9. training=False keeps BatchNormalization in
    #    inference mode even after the top block is unfrozen below.
    base = lamina.models.load_model(saved).get_layer("base")
    results["loaded_base"] = base.get_weights()
    base.trainable = False
    model = classifier(base, training_base=False)
    compile_model(model, 3e-3)
    model.fit(x_few, y_few, epochs=head_epochs, batch_size=16, verbose=verbose)
    results["after_head"] = base.get_weights()
    results["head_only"] = model.evaluate(x_test, y_test, verbose=0)[1]

    # 3. Unfreeze the top block only; recompile (trainable changes take effect at compile).
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith("top_")
    compile_model(model, 1e-3)
    model.fit(x_few, y_few, epochs=fine_tune_epochs, batch_size=16, verbose=verbose)
    results["after_fine_tuning"] = {layer.name: layer.get_weights() for layer in base.layers}
    results["transferred"] = model.evaluate(x_test, y_test, verbose=0)[1]

    # 4. The same architecture from scratch on the same 150 images and epochs.
    scratch = classifier(conv_base("scratch_base"))
    compile_model(scratch, 3e-3)
    scratch.fit(x_few, y_few, epochs=head_epochs + fine_tune_epochs, batch_size=16, verbose=verbose)
    results["scratch"] = scratch.evaluate(x_test, y_test, verbose=0)[1]
    return results


if __name__ == "__main__":
    print(f"digits 5-9, {PER_CLASS} training images per class, accuracy on the held-out images:")
    print("seed  head only  transferred (top block fine-tuned)  from scratch")
    for seed in (0, 1, 2):
        r = run(seed)
        print(f"{seed:>4}  {r['head_only']:9.3f}  {r['transferred']:34.3f}  {r['scratch']:12.3f}")
