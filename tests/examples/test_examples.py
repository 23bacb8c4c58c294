"""lamina's own example programs run to the end (each in its own process, as a user runs them)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
# Examples that other test modules already run end to end with assertions of their own.
COVERED_ELSEWHERE = {"transfer_learning_digits.py", "image_folder_classification.py"}


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in COVERED_ELSEWHERE])
def test_example_runs(name, tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    completed = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "accuracy" in completed.stdout
    # Each example that reports a held-out accuracy must actually have learned its task.
    for value in re.findall(r"test accuracy (\d\.\d+)", completed.stdout):
        assert float(value) >= 0.85, completed.stdout[-2000:]
