"""Two gloo processes under torchrun against one process: same weights, logs, shards, resumes.

One torchrun launch (module fixture) runs tests/distribution/scenarios.py's `main` on 2 ranks;
each test compares a part of what the ranks pickled with the same scenario run here in one
process. Launches of two bare processes kill a rank mid-epoch, and end a rank's script while a
gloo worker thread is still busy.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.distribution import scenarios

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(scenarios.__file__)
LAUNCH_TIMEOUT_S = 240


# What a gloo rank printed when it aborted at exit after its work was done: a gloo worker thread
# asked for the GIL while the interpreter was finalizing (see process_group._destroy_own_group).
EXIT_ABORT = "terminate called without an active exception"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def torchrun(script, out, ranks: int, *arguments) -> list:
    """Launch `script out *arguments` on `ranks` gloo processes under torchrun; once it ended
    cleanly, what each rank pickled to `out/rank<r>.pkl`."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        str(ranks),
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(_free_port()),
        str(script),
        str(out),
        *arguments,
    ]
    done = subprocess.run(
        command,
        env=_environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=LAUNCH_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return [pickle.loads((Path(out) / f"rank{r}.pkl").read_bytes()) for r in range(ranks)]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    """(rank 0's findings, rank 1's findings, the run's folder), after a one-process backup was
    written for the 2-process run to resume."""
    out = tmp_path_factory.mktemp("two_ranks")
    scenarios.train(2, backup_dir=str(out / "backup_1p"))
    ranks = torchrun(SCENARIOS, out, 2, "main")
    return ranks[0], ranks[1], out


def _assert_weights_close(found, expected, atol=1e-5):
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


@pytest.fixture(scope="module")
def one_process():
    """The same training in this one process: 2 epochs and 4 epochs, uninterrupted."""
    two, history = scenarios.train(2)
    four, _ = scenarios.train(4)
    return {"two": two, "history": history, "four": four}


@pytest.mark.slow
def test_two_processes_end_with_the_weights_of_one(launched, one_process):
    rank0, rank1, _ = launched
    assert rank0["world"] == 2 and rank0["devices"] == ["cpu:0", "cpu:1"]
    expected = scenarios.weights(one_process["two"])
    _assert_weights_close(rank0["weights"], expected)
    _assert_weights_close(rank1["weights"], rank0["weights"], atol=0)


@pytest.mark.slow
def test_logs_are_global_and_equal_on_every_rank(launched, one_process):
    rank0, rank1, _ = launched
    assert rank0["history"] == rank1["history"]
    assert set(rank0["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in one_process["history"].items():
        np.testing.assert_allclose(rank0["history"][key], values, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_evaluate_and_predict_give_the_whole_result_in_order(launched, one_process):
    rank0, rank1, _ = launched
    xv, yv = scenarios.data(41, seed=1)
    model = one_process["two"]
    expected = model.evaluate(xv, yv, batch_size=16, verbose=0, return_dict=True)
    assert rank0["evaluate"] == rank1["evaluate"]
    for key, value in expected.items():
        assert rank0["evaluate"][key] == pytest.approx(value, rel=1e-5, abs=1e-6)
    prediction = model.predict(xv, batch_size=16, verbose=0)
    assert rank0["predict"].shape == (41, scenarios.CLASSES)
    np.testing.assert_allclose(rank0["predict"], prediction, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(rank1["predict"], rank0["predict"])


@pytest.mark.slow
def test_each_rank_trains_on_a_disjoint_share_covering_the_epoch(launched):
    rank0, rank1, _ = launched
    everything = set(range(scenarios.SAMPLES))
    for source, expected in (
        ("arrays", everything),
        ("evaluate", everything),
        ("generator", set(range(200))),  # 10 batches of 20: 5 turns each
        # 13 batches of 16 (the last of 11): 6 turns of 2; the 13th batch is dropped in training
        ("dataset", None),
    ):
        mine = [int(i) for batch in rank0["shards"][source] for i in batch]
        theirs = [int(i) for batch in rank1["shards"][source] for i in batch]
        assert not set(mine) & set(theirs), source
        assert len(set(mine)) == len(mine) and len(set(theirs)) == len(theirs), source
        if expected is not None:
            assert set(mine) | set(theirs) == expected, source
        else:
            assert len(mine) == len(theirs) == 6 * 16
    # Global batch 64 over 2 ranks: 32 each; the last global batch of 11 splits 6 + 5.
    assert [len(b) for b in rank0["shards"]["arrays"]] == [32, 32, 32, 6]
    assert [len(b) for b in rank1["shards"]["arrays"]] == [32, 32, 32, 5]


@pytest.mark.slow
def test_only_rank_zero_writes(launched):
    rank0, rank1, out = launched
    assert rank0["csv_epochs"] == 2 and rank1["csv_epochs"] == 0
    assert (out / "saved_by_0.keras").exists()
    assert not (out / "saved_by_1.keras").exists()
    assert len((out / "log.csv").read_text().strip().splitlines()) == 1 + 2


@pytest.mark.slow
def test_a_two_process_backup_resumes_in_one_process(launched, one_process):
    _, _, out = launched
    resumed, history = scenarios.train(4, backup_dir=str(out / "backup_2p"))
    assert len(history["loss"]) == 2  # epochs 3 and 4 only: the backup held 2
    _assert_weights_close(scenarios.weights(resumed), scenarios.weights(one_process["four"]))


@pytest.mark.slow
def test_a_one_process_backup_resumes_in_two_processes(launched, one_process):
    rank0, rank1, _ = launched
    _assert_weights_close(rank0["resumed_weights"], scenarios.weights(one_process["four"]))
    _assert_weights_close(rank1["resumed_weights"], rank0["resumed_weights"], atol=0)


@pytest.mark.slow
def test_synchronized_batchnorm_matches_one_process(launched):
    rank0, _, _ = launched
    model, history = scenarios.train(1, batchnorm=True)
    _assert_weights_close(rank0["batchnorm_weights"], scenarios.weights(model))
    np.testing.assert_allclose(rank0["batchnorm_loss"], history["loss"], rtol=1e-5)


def _two_bare_ranks(out, scenario, **extra):
    """Run scenarios.`scenario` on two processes started without a launcher; their exit codes,
    their stderr."""
    port = _free_port()
    common = dict(WORLD_SIZE=2, MASTER_ADDR="127.0.0.1", MASTER_PORT=port, **extra)
    processes = [
        subprocess.Popen(
            [sys.executable, str(SCENARIOS), str(out), scenario],
            env=_environment(RANK=rank, LOCAL_RANK=rank, **common),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for rank in (0, 1)
    ]
    try:
        # communicate, not wait: a full stderr pipe must not stall a rank
        errors = [p.communicate(timeout=LAUNCH_TIMEOUT_S)[1] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return [p.returncode for p in processes], errors


@pytest.mark.slow
def test_a_dead_rank_ends_the_job_with_a_clear_message(tmp_path):
    start = time.monotonic()
    codes, _ = _two_bare_ranks(tmp_path, "die", LAMINA_DISTRIBUTION_TIMEOUT=30)
    assert codes[1] == 3  # the rank that died
    assert codes[0] != 0  # the survivor failed instead of waiting forever
    assert time.monotonic() - start < LAUNCH_TIMEOUT_S
    seconds, message = (tmp_path / "failure.txt").read_text().split("\n", 1)
    assert float(seconds) < 30  # within the timeout, not after it
    assert "lamina.distribution: rank 0 of 2 could not all-reduce the gradients" in message
    assert "another rank died" in message


@pytest.mark.slow
def test_a_rank_ends_cleanly_while_a_gloo_worker_is_still_busy(tmp_path):
    # The exit-time abort made certain: rank 0's script ends while a gloo worker thread still runs
    # a collective's Python callback (2 s). lamina's teardown must end the group, joining that
    # thread, before the interpreter finalizes; a thread that asks for the GIL after that aborts
    # the process ("terminate called without an active exception").
    codes, errors = _two_bare_ranks(tmp_path, "exit_during_collective")
    assert EXIT_ABORT not in errors[0]
    assert codes == [0, 0], errors[0][-4000:]
    threads = (tmp_path / "threads_at_exit.txt").read_text().split()
    # gloo's workers, its socket loop and the store rank 0 hosted ended with the group: only the
    # main thread is left
    assert len(threads) == 1, threads


@pytest.mark.slow
def test_every_rank_ends_its_gloo_threads_before_the_interpreter_ends(launched):
    _, _, out = launched
    for rank in range(2):
        threads = (out / f"threads_at_exit_{rank}.txt").read_text().split()
        assert len(threads) == 1, (rank, threads)
