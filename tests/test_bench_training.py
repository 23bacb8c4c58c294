"""bench/bench_training.py: the smoke run of its GPU workloads on the CPU, its refusal of a
missing CUDA device, and the same parameter counts in its lamina and torch models."""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import lamina

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"


@pytest.fixture
def bench(monkeypatch):
    """bench_training and training_workloads imported from bench/ (as the script sees them)."""
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("bench_training"), importlib.import_module("training_workloads")


@pytest.mark.slow
def test_tiny_resnet_and_lstm_run_in_torch_and_lamina():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "BENCH_THREADS": "1",
    }
    command = [sys.executable, str(BENCH / "bench_training.py"), "--device", "cpu"]
    command += ["--size", "tiny", "--workloads", "resnet,lstm", "--stacks", "torch,lamina"]
    command += ["--epochs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = re.findall(
        r"^(resnet|lstm)\s+(torch|lamina)\s+([0-9.]+)\s+([0-9.]+)x$", done.stdout, re.M
    )
    assert sorted((workload, stack) for workload, stack, _, _ in rows) == [
        ("lstm", "lamina"),
        ("lstm", "torch"),
        ("resnet", "lamina"),
        ("resnet", "torch"),
    ], done.stdout
    assert all(float(median) > 0 and float(ratio) > 0 for _, _, median, ratio in rows)
    assert "failed" not in done.stderr


def test_cuda_without_a_cuda_device_is_refused_at_once(bench, monkeypatch, capsys):
    bench_training, _ = bench
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        bench_training.parse_arguments(["--device", "cuda"])
    assert exit_info.value.code == 2
    assert re.search(
        r"--device cuda, but torch \S+ sees no CUDA device .*use --device cpu",
        capsys.readouterr().err,
    )


def test_unknown_workload_and_stack_are_refused(bench, capsys):
    bench_training, _ = bench
    with pytest.raises(SystemExit):
        bench_training.parse_arguments(["--workloads", "cnn,vgg"])
    assert "unknown workload vgg; choose from cnn, resnet, lstm, mlp, predict" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        bench_training.parse_arguments(["--stacks", "torch,jax"])
    assert "unknown stack jax" in capsys.readouterr().err


def test_cuda_defaults_are_the_gpu_workloads_at_gpu_sizes(bench, monkeypatch):
    bench_training, workloads = bench
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    args = bench_training.parse_arguments(["--device", "cuda"])
    assert args.size == "gpu" and args.workloads == ["cnn", "resnet", "lstm", "predict"]
    assert workloads.SIZES["gpu"]["cnn"] == (50000, 128)
    assert workloads.SIZES["gpu"]["predict"] == (50000, 1024)
    assert bench_training.parse_arguments([]).size == "cpu"


@pytest.mark.parametrize("workload", ["resnet", "lstm", "cnn"])
def test_lamina_and_torch_models_have_the_hand_counted_parameters(bench, workload):
    _, workloads = bench
    model = workloads.keras_like_model(lamina.layers, lamina, workload)
    lamina_count = sum(int(w.numel()) for w in model.trainable_weights)
    torch_count = workloads.torch_parameter_count(workloads.torch_model(workload))
    assert lamina_count == torch_count == workloads.PARAMETERS[workload]
