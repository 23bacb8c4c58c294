"""bench/bench_host_overhead.py: its lamina and torch models are the same graphs (parameter
counts), and both stacks time every workload."""

import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    module = importlib.import_module("bench_host_overhead")
    monkeypatch.setattr(module, "STEPS", 3)
    monkeypatch.setattr(module, "EPOCHS", 2)
    # The script makes lamina's BatchNorm take torch's fused kernel (the CUDA path) in its own
    # child process; here that patch must not outlive the test.
    from lamina.layers import normalization

    monkeypatch.setattr(
        normalization, "_fused_kernel_is_accurate", normalization._fused_kernel_is_accurate
    )
    return module


@pytest.mark.parametrize("workload", ["cnn", "resnet", "lstm"])
def test_lamina_and_torch_models_have_the_same_parameters(bench, workload):
    mine = sum(int(w.numel()) for w in bench.lamina_model(workload).trainable_weights)
    torch_model = bench.torch_model(workload)
    # nn.LSTM keeps a second bias vector; Keras's LSTM has one.
    theirs = sum(p.numel() for name, p in torch_model.named_parameters() if "bias_hh" not in name)
    assert mine == theirs


@pytest.mark.parametrize("workload", ["cnn", "resnet", "lstm", "predict"])
def test_both_stacks_time_every_epoch(bench, workload):
    for times in (bench.run_torch(workload), bench.run_lamina(workload, cpu_batchnorm=True)):
        assert len(times) == bench.EPOCHS and all(t > 0 for t in times)
