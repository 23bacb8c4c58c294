"""Test configuration: Keras (the reference) on its torch backend, seeds fixed, names reset."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

import lamina  # noqa: E402

# One intra-op thread: the tests' tensors are tiny, and on a shared 2-core machine a second
# thread that must wait for a busy core makes small ops 10-70x slower.
torch.set_num_threads(1)
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

# The device lamina builds weights on: the CPU unless LAMINA_TEST_DEVICE says otherwise
# (`LAMINA_TEST_DEVICE=cuda python -m pytest` runs the whole suite on a GPU).
TEST_DEVICE = torch.device(os.environ.get("LAMINA_TEST_DEVICE", "cpu"))
lamina.backend.set_default_device(TEST_DEVICE)


# The most pytest-xdist workers `-n auto` starts: each holds torch, Keras and lamina (about 1 GB),
# and past a few workers the suite waits on its longest files (the seed programs, the
# architectures against Keras), not on workers.
MAX_WORKERS = 8


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config):
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts from seed 0 and fresh auto-names (`dense`, not `dense_7`)."""
    lamina.utils.set_random_seed(0)
    lamina.backend.clear_session()
    yield
