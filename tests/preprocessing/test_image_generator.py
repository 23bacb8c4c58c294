"""ImageDataGenerator: flow batches, the transformations, statistics, subsets and fit()."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.preprocessing.image import ImageDataGenerator


def images(count=20, size=8, channels=3, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, channels))


def test_flow_batches_are_float32_numpy_with_their_targets():
    x, y = images(), np.arange(20)
    flow = ImageDataGenerator().flow(x, y, batch_size=8, shuffle=False)
    assert len(flow) == 3
    batch_x, batch_y = flow[2]
    assert batch_x.dtype == np.float32 and batch_x.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(batch_x, x[16:].astype(np.float32))
    np.testing.assert_array_equal(batch_y, y[16:])
    weights = ImageDataGenerator().flow(x, y, sample_weight=np.ones(20), batch_size=5)[0]
    assert len(weights) == 3
    assert ImageDataGenerator().flow(x, batch_size=5)[0].shape == (5, 8, 8, 3)


def test_shuffled_epochs_cover_every_sample_once():
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1) * np.ones((1, 2, 2, 1))
    flow = ImageDataGenerator().flow(x, np.arange(10), batch_size=4, seed=3)
    first = np.concatenate([y for _, y in flow])
    second = np.concatenate([y for _, y in flow])
    assert sorted(first.tolist()) == sorted(second.tolist()) == list(range(10))
    assert first.tolist() != second.tolist()
    np.testing.assert_array_equal(next(iter(flow))[0][:, 0, 0, 0], next(iter(flow))[1])


def test_next_cycles_forever_like_keras():
    flow = ImageDataGenerator().flow(images(5), np.arange(5), batch_size=2, shuffle=False)
    sizes = [len(next(flow)[1]) for _ in range(5)]
    assert sizes == [2, 2, 1, 2, 2]
    with pytest.raises(IndexError, match="Batch 3 requested from an iterator of 3 batches"):
        flow[3]


def test_the_same_seed_gives_the_same_augmentation():
    options = dict(
        rotation_range=30,
        width_shift_range=0.2,
        height_shift_range=2,
        zoom_range=0.2,
        shear_range=10,
        horizontal_flip=True,
        vertical_flip=True,
        brightness_range=(0.5, 1.5),
        channel_shift_range=20.0,
    )
    first = ImageDataGenerator(**options).flow(images(), np.arange(20), batch_size=8, seed=5)[1]
    second = ImageDataGenerator(**options).flow(images(), np.arange(20), batch_size=8, seed=5)[1]
    np.testing.assert_allclose(first[0], second[0])
    plain = ImageDataGenerator().flow(images(), np.arange(20), batch_size=8, seed=5)[1]
    np.testing.assert_array_equal(first[1], plain[1])
    assert not np.allclose(first[0], plain[0])


def test_flips_give_the_image_or_its_mirror():
    x = images(32)
    batch, order = ImageDataGenerator(horizontal_flip=True).flow(
        x, np.arange(32), batch_size=32, seed=0
    )[0]
    source = x[order].astype(np.float32)
    mirrored = [np.array_equal(b, s[:, ::-1]) for b, s in zip(batch, source, strict=True)]
    same = [np.array_equal(b, s) for b, s in zip(batch, source, strict=True)]
    assert all(m or s for m, s in zip(mirrored, same, strict=True)) and 4 < sum(mirrored) < 28


def test_integer_shift_moves_whole_pixels_and_nearest_fill_repeats_the_edge():
    x = np.tile(np.arange(6, dtype=np.float32)[None, None, :, None], (4, 6, 1, 1))
    generator = ImageDataGenerator(width_shift_range=1, interpolation_order=0)
    batch = generator.flow(x, batch_size=4, shuffle=False, seed=1)[0][:, 0, :, 0]
    for row in batch:
        shift = row[3] - 3
        assert shift in (-1.0, 0.0, 1.0)
        np.testing.assert_allclose(row, np.clip(np.arange(6) + shift, 0, 5))


def test_rescale_and_samplewise_normalisation():
    out = ImageDataGenerator(
        rescale=1 / 255, samplewise_center=True, samplewise_std_normalization=True
    ).flow(images(), batch_size=20)[0]
    np.testing.assert_allclose(out.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(1, 2, 3)), 1.0, atol=1e-3)


def test_featurewise_statistics_come_from_fit():
    x = images(50)
    generator = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    with pytest.raises(ValueError, match=r"call .fit\(x_train\) on sample images before flow"):
        generator.flow(x, batch_size=50)[0]
    generator.fit(x)
    out = generator.flow(x, batch_size=50)[0]
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1.0, atol=1e-3)


def test_zca_whitening_decorrelates_pixels():
    x = images(200, size=2, channels=1)
    x = x + x[:, :1, :1, :]  # correlated pixels
    generator = ImageDataGenerator(featurewise_center=True, zca_whitening=True)
    generator.fit(x)
    flat = generator.flow(x, batch_size=200, shuffle=False)[0].reshape(200, -1)
    covariance = flat.T @ flat / 200
    np.testing.assert_allclose(covariance, np.eye(4), atol=1e-2)


def test_validation_split_holds_out_the_first_samples():
    generator = ImageDataGenerator(validation_split=0.25)
    x, y = images(20), np.arange(20)
    validation = generator.flow(x, y, batch_size=100, subset="validation", shuffle=False)[0][1]
    training = generator.flow(x, y, batch_size=100, subset="training", shuffle=False)[0][1]
    assert validation.tolist() == list(range(5)) and training.tolist() == list(range(5, 20))


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: ImageDataGenerator().flow(np.zeros((4, 8, 8))), "x of rank 4.*x\\[..., None\\]"),
        (
            lambda: ImageDataGenerator().flow(np.zeros((4, 8, 8, 1)), np.zeros(3)),
            "4 images and 3 targets",
        ),
        (
            lambda: ImageDataGenerator().flow(np.zeros((4, 2, 2, 1)), subset="training"),
            "needs ImageDataGenerator\\(validation_split",
        ),
        (lambda: ImageDataGenerator(zoom_range="big"), "zoom_range as a float or a pair"),
        (lambda: ImageDataGenerator(fill_mode="mirror"), "fill_mode in"),
        (lambda: ImageDataGenerator(validation_split=1.0), "validation_split in \\[0, 1\\)"),
    ],
    ids=["rank", "lengths", "subset-without-split", "zoom", "fill-mode", "split"],
)
def test_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.slow
def test_flow_trains_a_model_directly_in_fit():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = np.where(y[:, None, None, None] == 1, 200.0, 30.0) + rng.normal(0, 10, (64, 8, 8, 1))
    model = lamina.Sequential(
        [
            layers.Input((8, 8, 1)),
            layers.Conv2D(4, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=lamina.optimizers.Adam(0.05),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    flow = ImageDataGenerator(rescale=1 / 255, horizontal_flip=True, rotation_range=10).flow(
        x, y, batch_size=16, seed=0
    )
    history = model.fit(flow, epochs=6, verbose=0)
    assert len(history.history["loss"]) == 6
    assert history.history["accuracy"][-1] > 0.9
