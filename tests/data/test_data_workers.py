"""Background work: prefetch overlaps with the consumer, stops cleanly, and reports errors."""

import gc
import subprocess
import sys
import threading
import traceback

import numpy as np
import pytest
import torch

import lamina
from lamina.data import AUTOTUNE, Dataset


def data_threads():
    return [t for t in threading.enumerate() if t.name.startswith("lamina-data")]


@pytest.fixture(autouse=True)
def no_threads_left_behind():
    # Only the threads a test starts are its own: a pipeline another file abandoned stops when
    # the garbage collector gets to its iterator, which this file's tests cannot wait for.
    before = set(data_threads())
    yield
    started = [thread for thread in data_threads() if thread not in before]
    for thread in started:
        thread.join(timeout=5)
    assert [thread for thread in started if thread.is_alive()] == []


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
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def threads_that_map_during_fit(torch_threads):
    """The names of the threads a Dataset's map function ran on during one fit()."""
    import lamina
    from lamina import layers
    from lamina.data import workers

    names = set()

    def record(x, y):
        names.add(threading.current_thread().name)
        return x * 2, y

    dataset = (
        Dataset.from_tensor_slices((np.ones((64, 3), "float32"), np.zeros(64)))
        .map(record, num_parallel_calls=AUTOTUNE)
        .batch(16)
        .prefetch(AUTOTUNE)
    )
    model = lamina.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(loss="mse")
    previous = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    try:
        model.fit(dataset, epochs=2, verbose=0)
    finally:
        torch.set_num_threads(previous)
    assert not workers.work_inline()  # the setting ends with fit
    return names


@pytest.mark.skipif(
    lamina.backend.default_device().type != "cpu",
    reason="a model on a GPU leaves the cores free: the pipeline keeps its background threads",
)
def test_fit_maps_inline_when_the_models_kernels_use_every_core():
    from lamina.data import workers

    assert threads_that_map_during_fit(workers.default_parallelism()) == {"MainThread"}


def test_fit_maps_in_background_threads_when_a_core_is_free():
    from lamina.data import workers

    if workers.default_parallelism() < 2:
        pytest.skip("needs a second core")
    names = threads_that_map_during_fit(1)
    # The batch that builds the model is peeked inline; the epochs map in the background.
    assert any(name.startswith("lamina-data") for name in names)


def test_prefetch_and_parallel_map_run_in_the_callers_thread_while_inline():
    from lamina.data import workers

    names = set()

    def record(x):
        names.add(threading.current_thread().name)
        return x

    dataset = Dataset.from_tensor_slices(np.arange(10)).map(record, AUTOTUNE).prefetch(2)
    before = set(data_threads())  # another file's abandoned pipeline may still be stopping
    with workers.inline_work_while(True):
        assert [int(x) for x in dataset] == list(range(10))
        assert set(data_threads()) <= before  # none started
    assert names == {threading.current_thread().name}


def endless_prefetching_dataset():
    x, y = np.ones((40, 3), "float32"), np.zeros((40, 1), "float32")
    return Dataset.from_tensor_slices((x, y)).batch(8).repeat().prefetch(2)


def test_fit_evaluate_and_predict_stop_the_pipelines_they_leave_unfinished():
    # An endless dataset is never exhausted: its pass ends when the call ends, not when the
    # garbage collector reaches an iterator caught in a cycle (it is disabled here to show it).
    from lamina.data import workers

    if workers.default_parallelism() < 2:
        pytest.skip("needs a second core for background threads")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(loss="mse")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # leaves a core free, so the pipeline runs in background threads
    gc.disable()
    try:
        before = set(data_threads())
        model.fit(
            endless_prefetching_dataset(),
            epochs=2,
            steps_per_epoch=3,
            validation_data=endless_prefetching_dataset(),
            validation_steps=2,
            verbose=0,
        )
        model.evaluate(endless_prefetching_dataset(), steps=2, verbose=0)
        model.predict(endless_prefetching_dataset().map(lambda x, y: x), steps=2, verbose=0)
        assert [t for t in data_threads() if t not in before and t.is_alive()] == []
    finally:
        gc.enable()
        torch.set_num_threads(previous)
