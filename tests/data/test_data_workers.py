"""Background work: prefetch overlaps with the consumer, stops cleanly, and reports errors."""

import subprocess
import sys
import threading
import traceback

import numpy as np
import pytest

from lamina.data import AUTOTUNE, Dataset


def data_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lamina-data")]


@pytest.fixture(autouse=True)
def no_threads_left_behind():
    yield
    for thread in data_threads():
        thread.join(timeout=5)
    assert data_threads() == []


def test_prefetch_yields_what_the_pipeline_yields():
    ds = Dataset.from_tensor_slices(np.arange(20)).map(lambda x: x + 1, AUTOTUNE).batch(6)
    plain = [b.tolist() for b in ds]
    assert [b.tolist() for b in ds.prefetch(2)] == plain
    assert [b.tolist() for b in ds.prefetch(AUTOTUNE)] == plain


def test_prefetch_prepares_the_next_element_while_the_consumer_works():
    produced = [threading.Event() for _ in range(3)]

    def mark(x):
        produced[int(x)].set()
        return x

    iterator = iter(Dataset.range(3).map(mark).prefetch(1))
    next(iterator)
    # The consumer holds element 0 and asks nothing: only a background worker can make element 1.
    assert produced[1].wait(timeout=10)
    assert [int(x) for x in iterator] == [1, 2]


def failing_map_function(x):
    if int(x) == 3:
        raise KeyError("element three is broken")
    return x


@pytest.mark.parametrize("calls", [None, 2], ids=["serial-map", "parallel-map"])
def test_worker_errors_reach_the_consumer_with_their_traceback(calls):
    ds = Dataset.range(6).map(failing_map_function, num_parallel_calls=calls).prefetch(2)
    with pytest.raises(KeyError, match="element three is broken") as caught:
        list(ds)
    frames = "".join(traceback.format_tb(caught.value.__traceback__))
    assert "failing_map_function" in frames


def test_breaking_out_stops_the_worker():
    ds = Dataset.range(10**9).map(lambda x: x, num_parallel_calls=2).prefetch(3)
    for index, _ in enumerate(ds):
        if index == 5:
            break
    # The fixture checks that every lamina-data thread is gone.


@pytest.mark.slow
def test_an_infinite_prefetching_pipeline_does_not_hang_the_process_at_exit():
    script = (
        "import numpy as np\n"
        "from lamina.data import Dataset\n"
        "ds = Dataset.from_tensor_slices(np.arange(5)).repeat().map(lambda x: x, 2).prefetch(4)\n"
        "it = iter(ds)\n"
        "print(int(next(it)))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"
