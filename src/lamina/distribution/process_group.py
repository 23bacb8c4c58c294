"""The process group lamina trains in: found (torchrun, your own `init_process_group`) or started.

`torchrun --nproc_per_node N script.py` starts N copies of a script with `RANK`, `WORLD_SIZE`,
`LOCAL_RANK`, `MASTER_ADDR` and `MASTER_PORT` in their environment. `initialize()` turns those into
a `torch.distributed` process group: NCCL with each process on the GPU `LOCAL_RANK` when CUDA is
present, gloo on CPUs. Every collective lamina makes goes through `collective()`, so a rank that
died or stopped answering ends the job with one clear message instead of a hang.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import gc
import os
import socket

import torch
import torch.distributed as dist

# Imported before any group exists, on purpose: its functions take `group=group.WORLD` as a default
# argument, evaluated when the module is first imported (torch._dynamo imports it, so the first
# model build would). Imported after `initialize`, those ten defaults hold the group, and its
# gloo threads, past `destroy_process_group` to the interpreter's end.
import torch.distributed.nn.functional  # noqa: F401

from lamina import backend

_TIMEOUT_VARIABLE = "LAMINA_DISTRIBUTION_TIMEOUT"
_DEFAULT_TIMEOUT_S = 600.0


class RankFailureError(RuntimeError):
    """A collective failed: another rank died, hung past the timeout, or the network broke."""


def launched_by_torchrun() -> bool:
    """Whether the environment holds a launcher's rendezvous (`WORLD_SIZE` above 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "RANK" in os.environ


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's global rank: the process group's, else the launcher's `RANK`, else 0."""
    if is_initialized():
        return dist.get_rank()
    return int(os.environ["RANK"]) if launched_by_torchrun() else 0


def world_size() -> int:
    """The number of processes training together: the process group's, else the launcher's
    `WORLD_SIZE`, else 1."""
    if is_initialized():
        return dist.get_world_size()
    return int(os.environ["WORLD_SIZE"]) if launched_by_torchrun() else 1


def is_chief() -> bool:
    """True on the process that writes files and prints progress: rank 0, or the only process.

    Example:
        >>> if lamina.distribution.is_chief():  # doctest: +SKIP
        ...     print("written once, not once per process")
    """
    return rank() == 0


def distributed() -> bool:
    """Whether a process group of more than one process is running (collectives are needed)."""
    return is_initialized() and dist.get_world_size() > 1


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def timeout_seconds(timeout=None) -> float:
    if timeout is not None:
        return float(timeout)
    return float(os.environ.get(_TIMEOUT_VARIABLE, _DEFAULT_TIMEOUT_S))


def select_local_device() -> None:
    """Under a launcher on a CUDA machine, make GPU `LOCAL_RANK` this process's device, so
    models built before `fit` already live there (called as lamina is imported)."""
    if "LOCAL_RANK" in os.environ and torch.cuda.is_available():
        index = local_rank()
        if index < torch.cuda.device_count():
            torch.cuda.set_device(index)
            backend.set_default_device(torch.device("cuda", index))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def initialize(job_addresses=None, num_processes=None, process_id=None, timeout=None) -> None:
    """Join (or start) the process group; a no-op when one is initialized already.

    Keras's signature, torch's machinery: the arguments default to torchrun's environment
    (`MASTER_ADDR:MASTER_PORT`, `WORLD_SIZE`, `RANK`); without a launcher a one-process group is
    started on a free local port. The backend is NCCL when CUDA is present, else gloo.

    Args:
        job_addresses: `"host:port"` of rank 0 (a comma-separated list is accepted: its first entry
            is used); default `MASTER_ADDR` and `MASTER_PORT`.
        num_processes: the world size; default `WORLD_SIZE`, or 1.
        process_id: this process's rank; default `RANK`, or 0.
        timeout: seconds a collective may wait for the other ranks before the job fails; default
            the `LAMINA_DISTRIBUTION_TIMEOUT` variable, or 600.

    Example:
        >>> lamina.distribution.initialize()  # doctest: +SKIP
        >>> lamina.distribution.list_devices()  # doctest: +SKIP
        ['cpu:0', 'cpu:1']
    """
    if is_initialized():
        return
    if job_addresses:
        host, _, port = job_addresses.split(",")[0].strip().rpartition(":")
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = host or "127.0.0.1", port
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", str(_free_port()))
    size = int(num_processes if num_processes is not None else os.environ.get("WORLD_SIZE", 1))
    index = int(process_id if process_id is not None else os.environ.get("RANK", 0))
    if not 0 <= index < size:
        raise ValueError(
            f"lamina.distribution.initialize expected a process_id in [0, {size}); "
            f"received {index}."
        )
    use_cuda = torch.cuda.is_available() and backend.default_device().type == "cuda"
    if use_cuda:
        select_local_device()
    dist.init_process_group(
        "nccl" if use_cuda else "gloo",
        rank=index,
        world_size=size,
        timeout=datetime.timedelta(seconds=timeout_seconds(timeout)),
        device_id=torch.device("cuda", torch.cuda.current_device()) if use_cuda else None,
    )
    # The group lamina started, lamina ends: a script run under torchrun never calls
    # destroy_process_group, and a gloo group left to interpreter shutdown can abort a rank
    # ("terminate called without an active exception") after its work is done.
    atexit.register(_destroy_own_group)


_releases_before_destroy = []


def release_before_destroy(release) -> None:
    """Have lamina's teardown call `release()` before it destroys the process group lamina
    started: the owner of an object that holds the group (a DistributedDataParallel wrapper)
    lets it go, so that destroying the group really ends it."""
    _releases_before_destroy.append(release)


def _destroy_own_group() -> None:
    """lamina's end of the group it started (atexit): every rank reaches the end, lamina lets go
    of what holds the group, and the group is destroyed while the interpreter is still whole.

    gloo runs each collective on a worker thread of its own, which drops its last reference to
    the collective's tensors after the caller has its result. A tensor made in Python (the ones
    `all_gather_object` makes, say) then needs the GIL to be freed, and a thread that asks for the
    GIL once the interpreter is finalizing is ended by pthread_exit, which aborts a C++ thread:
    "terminate called without an active exception". Destroying the group joins those threads,
    but only when nothing else holds it; while lamina's DDP wrapper did, `destroy_process_group`
    left the threads running into the interpreter's end.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    # Every rank reaches the end before any tears its group down. A bounded wait, so a rank whose
    # peer died still exits (the launcher has already reported the dead one).
    if dist.get_backend() == "gloo":
        with contextlib.suppress(RuntimeError):
            dist.monitored_barrier(timeout=datetime.timedelta(seconds=60))
    for release in _releases_before_destroy:
        release()
    gc.collect()  # a wrapper let go inside a reference cycle goes now, not at the very end
    dist.destroy_process_group()


def collective_device() -> torch.device:
    """Where tensors for a collective must live: the GPU with NCCL, the CPU with gloo."""
    if is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def failure_message(what: str, error: BaseException) -> str:
    return (
        f"lamina.distribution: rank {rank()} of {world_size()} could not {what}: another rank "
        f"died, stopped answering for longer than the timeout ({timeout_seconds():g} s), or the "
        "network failed. The job cannot continue. Hint: read the other ranks' logs for the "
        "first error; set LAMINA_DISTRIBUTION_TIMEOUT (seconds) to wait longer for slow ranks. "
        f"(torch.distributed said: {str(error).splitlines()[0] if str(error) else type(error)})"
    )


@contextlib.contextmanager
def collective(what: str):
    """Run collectives; turn a failed one into a `RankFailureError` that says what happened."""
    try:
        yield
    except RankFailureError:
        raise
    except (RuntimeError, ConnectionError, TimeoutError) as error:
        raise RankFailureError(failure_message(what, error)) from error


def barrier() -> None:
    """Wait until every rank reaches this point (nothing without a process group).

    Example:
        >>> if lamina.distribution.is_chief():  # doctest: +SKIP
        ...     model.save("model.keras")
        >>> lamina.distribution.barrier()  # now every rank can read it
    """
    if distributed():
        with collective("reach the barrier"):
            dist.barrier()
