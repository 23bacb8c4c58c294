"""examples/transfer_learning_digits.py, run end to end: transfer beats training from scratch.

The task (see the example's docstring): digits drawn 2x on a 24x24 canvas at a random place under
noise; pretrain on 0-4, then learn 5-9 from 30 images per class. What the test holds the example to:
the pretrained model learnt 0-4; the saved-and-loaded base stayed bit-identical while its head
trained (weights and BatchNormalization statistics); fine-tuning changed the top block only, with
its BatchNormalization statistics still frozen (`training=False`); and the transferred model beats
the same architecture trained from scratch on the same images, given the best of four budgets.

Measured (`python examples/transfer_learning_digits.py --seeds 0 1 2 3 4 5 6 7`, 1 torch thread):
transferred 0.942 0.921 0.932 0.936 0.925 0.910 0.916 0.929 (mean 0.926), from scratch (best of
three budgets) 0.878 0.893 0.769 0.873 0.866 0.791 0.847 0.869 (mean 0.848): ahead on all 8 seeds,
by 7.8 points on the mean and 2.8 at the least (seed 1). The test runs seeds 0 and 1 only (about
40 s on one core) and asserts the claim with margin: transferred ahead on every seed run, by at
least 3 points on their mean (measured: 4.6), and above 0.85.
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "transfer_learning_digits.py"
SEEDS = (0, 1)
MEAN_GAP = 0.03


def load_example():
    spec = importlib.util.spec_from_file_location("transfer_learning_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    example = load_example()
    return {
        seed: example.run(seed=seed, folder=str(tmp_path_factory.mktemp(f"seed{seed}")))
        for seed in SEEDS
    }


def test_the_frozen_base_stays_frozen_and_fine_tuning_moves_the_top_block_only(runs):
    results = runs[SEEDS[0]]
    assert results["pretrained_0_4"] > 0.9  # chance: 0.2

    # Phase 1: the frozen base did not move, BatchNormalization statistics included.
    assert same(results["loaded_base"], results["after_head"])

    # Phase 2: only the top block moved; its BatchNormalization kept its moving statistics.
    layer_weights = results["after_fine_tuning"]
    loaded = iter(results["loaded_base"])
    expected = {
        "low_conv": [False, False],
        "low_bn": [False] * 4,
        "mid_conv": [False, False],
        "mid_bn": [False] * 4,
        "top_conv": [True, True],
        "top_bn": [True, True, False, False],
    }
    for name, moved_expected in expected.items():
        before = [next(loaded) for _ in layer_weights[name]]
        moved = [not np.array_equal(a, b) for a, b in zip(before, layer_weights[name], strict=True)]
        assert moved == moved_expected, name
    assert next(loaded, None) is None  # every weight of the base was checked


def test_transferred_beats_training_from_scratch(runs):
    transferred = np.array([runs[seed]["transferred"] for seed in SEEDS])
    scratch = np.array([runs[seed]["scratch"] for seed in SEEDS])
    for seed in SEEDS:
        r = runs[seed]
        print(
            f"\nseed {seed}: digits 5-9, 30 images per class: "
            f"transferred {r['transferred']:.3f}, from scratch {r['scratch']:.3f} "
            f"(best of its budgets), head only {r['head_only']:.3f}"
        )
    print(
        f"mean over seeds {SEEDS}: transferred {transferred.mean():.3f}, "
        f"from scratch {scratch.mean():.3f}"
    )
    assert (transferred > scratch).all()
    assert transferred.mean() - scratch.mean() >= MEAN_GAP
    assert transferred.min() > 0.85
